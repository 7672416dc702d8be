# The virtualenv, built by uv2nix from uv.lock (wheels preferred), on nixpkgs' Python 3.12.
{ pkgs, lib, uv2nix, pyproject-nix, pyproject-build-systems, src }:
let
  workspace = uv2nix.lib.workspace.loadWorkspace { workspaceRoot = src; };
  overlay = workspace.mkPyprojectOverlay { sourcePreference = "wheel"; };
  overrides = import ./overrides.nix { inherit pkgs lib; };
  python = pkgs.python312;
  pythonSet = (pkgs.callPackage pyproject-nix.build.packages { inherit python; }).overrideScope (
    lib.composeManyExtensions [
      pyproject-build-systems.overlays.default
      overlay
      overrides
    ]
  );
in
{
  inherit pythonSet python workspace;
  venv = pythonSet.mkVirtualEnv "wamesh-env" workspace.deps.default;
  devVenv = pythonSet.mkVirtualEnv "wamesh-dev-env" workspace.deps.all;
}
