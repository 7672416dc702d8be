# Everything the flake exposes for one system: venv, role wrappers, apps, images, dev shell, checks.
{ system, nixpkgs, uv2nix, pyproject-nix, pyproject-build-systems, src }:
let
  pkgs = nixpkgs.legacyPackages.${system};
  inherit (pkgs) lib;
  roles = import ./lib/roles.nix;
  py = import ./python.nix { inherit pkgs lib uv2nix pyproject-nix pyproject-build-systems src; };
  chromium = "${pkgs.chromium}/bin/chromium";
  fontconfig = pkgs.makeFontsConf { fontDirectories = [ pkgs.dejavu_fonts pkgs.noto-fonts ]; };
  wrapper = role: pkgs.writeShellScriptBin "wamesh-${role}" (roles.script {
    inherit role chromium;
    venv = py.venv;
    cacert = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
    fontconfig = "${fontconfig}";
  });
  wrappers = lib.genAttrs roles.names wrapper;
  images = import ./images.nix { inherit pkgs lib wrappers; };
in
{
  packages = wrappers // images // {
    venv = py.venv;
    default = wrappers.gateway;
  };
  apps = lib.genAttrs roles.names (role: {
    type = "app";
    program = "${wrappers.${role}}/bin/wamesh-${role}";
    meta.description = roles.roles.${role}.description;
  }) // { default = { type = "app"; program = "${wrappers.gateway}/bin/wamesh-gateway"; }; };
  devShell = pkgs.mkShell {
    packages = [ py.devVenv pkgs.uv pkgs.postgresql pkgs.redis pkgs.chromium pkgs.grpcurl pkgs.nixfmt-rfc-style pkgs.file ];
    env = {
      UV_NO_SYNC = "1";
      UV_PYTHON = "${py.python}/bin/python";
      UV_PYTHON_DOWNLOADS = "never";
      WAMESH_CHROMIUM_PATH = chromium;
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
      # neonize imports python-magic, which finds libmagic (Nix: `file`) with ctypes.
      LD_LIBRARY_PATH = "${pkgs.file}/lib";
    };
  };
  checks = import ./checks.nix { inherit pkgs py src chromium; } // lib.optionalAttrs pkgs.stdenv.isLinux images;
  formatter = pkgs.nixfmt-rfc-style;
}
