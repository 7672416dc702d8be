# Stand-in flake inputs for evaluating flake.nix offline with Nix 2.8 (real nixpkgs needs Nix >= 2.18
# and the network). Derivations are plain attribute sets with an outPath; only what the apps and
# wrappers touch is provided, so evaluating anything else fails loudly.
let
  drv = name: extra: { outPath = "/nix/store/stub-${name}"; inherit name; } // extra;
  lib = {
    genAttrs = names: f: builtins.listToAttrs (map (n: { name = n; value = f n; }) names);
    optionalAttrs = cond: attrs: if cond then attrs else { };
    composeManyExtensions = fs: final: prev: { };
  };
  pkgs = {
    inherit lib;
    stdenv = { isLinux = true; };
    chromium = drv "chromium" { };
    cacert = drv "cacert" { };
    dejavu_fonts = drv "dejavu" { };
    noto-fonts = drv "noto" { };
    python312 = drv "python3.12" { };
    makeFontsConf = _: drv "fonts.conf" { };
    writeShellScriptBin = name: text: drv name { inherit text; };
    callPackage = _: _: {
      overrideScope = _: { mkVirtualEnv = name: _: drv name { }; };
    };
  };
  system = "x86_64-linux";
in
{
  nixpkgs = { legacyPackages.${system} = pkgs; };
  pyproject-nix = { build.packages = null; };
  uv2nix = {
    lib.workspace.loadWorkspace = _: {
      mkPyprojectOverlay = _: (final: prev: { });
      deps = { default = { }; all = { }; };
    };
  };
  pyproject-build-systems = { overlays.default = final: prev: { }; };
}
