# The virtualenvs, built by uv2nix from uv.lock (wheels preferred) on nixpkgs' Python 3.12, the
# way uv2nix's own template does it (templates/hello-world/flake.nix at uv2nix 49dac8d):
# build systems from pyproject-build-systems' `wheel` overlay, and an editable overlay for the
# dev shell. `root` is the repository (uv2nix reads pyproject.toml and uv.lock from it while
# evaluating); the wamesh package itself is built from `wameshSrc` only, so editing the README or
# the tests rebuilds nothing (uv2nix doc/src/patterns/source-filtering.md: filter per package,
# never the workspace root).
{
  pkgs,
  lib,
  uv2nix,
  pyproject-nix,
  pyproject-build-systems,
  root,
}:
let
  workspace = uv2nix.lib.workspace.loadWorkspace { workspaceRoot = root; };
  overlay = workspace.mkPyprojectOverlay { sourcePreference = "wheel"; };
  # Editable installs point at the checkout named by $REPO_ROOT when the dev shell starts.
  editableOverlay = workspace.mkEditablePyprojectOverlay { root = "$REPO_ROOT"; };
  overrides = import ./overrides.nix { inherit pkgs lib; };
  wameshSrc = import ./source.nix { inherit pkgs lib root; };
  ownSource = _final: prev: {
    wamesh = prev.wamesh.overrideAttrs (_old: {
      src = wameshSrc;
    });
  };
  python = pkgs.python312;
  pythonSet =
    (pkgs.callPackage pyproject-nix.build.packages { inherit python; }).overrideScope
      (
        lib.composeManyExtensions [
          pyproject-build-systems.overlays.wheel
          overlay
          overrides
          ownSource
        ]
      );
  editableSet = pythonSet.overrideScope (
    lib.composeManyExtensions [
      editableOverlay
      ownSource
    ]
  );
in
{
  inherit
    pythonSet
    editableSet
    python
    workspace
    overlay
    wameshSrc
    ;
  venv = pythonSet.mkVirtualEnv "wamesh-env" workspace.deps.default;
  # Everything the tests and lint need; wamesh itself editable from $REPO_ROOT.
  devVenv = pythonSet.mkVirtualEnv "wamesh-dev-env" workspace.deps.all;
  editableVenv = editableSet.mkVirtualEnv "wamesh-editable-env" workspace.deps.all;
}
