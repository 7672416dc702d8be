# Everything the flake exposes for one system: venvs, role wrappers, apps, images, dev shell,
# checks, formatter.
{
  system,
  nixpkgs,
  uv2nix,
  pyproject-nix,
  pyproject-build-systems,
  root,
}:
let
  pkgs = nixpkgs.legacyPackages.${system};
  inherit (pkgs) lib;
  roles = import ./lib/roles.nix;
  py = import ./python.nix {
    inherit
      pkgs
      lib
      uv2nix
      pyproject-nix
      pyproject-build-systems
      root
      ;
  };
  chromium = "${pkgs.chromium}/bin/chromium";
  fontconfig = pkgs.makeFontsConf {
    fontDirectories = [
      pkgs.dejavu_fonts
      pkgs.noto-fonts
    ];
  };
  wrapper =
    role:
    pkgs.writeShellScriptBin "wamesh-${role}" (
      roles.script {
        inherit role chromium;
        venv = py.venv;
        cacert = "${pkgs.cacert}/etc/ssl/certs/ca-bundle.crt";
        fontconfig = "${fontconfig}";
        libmagic = "${pkgs.file}/lib";
        databasesPath = lib.makeBinPath [
          pkgs.postgresql
          pkgs.redis
        ];
      }
    );
  wrappers = lib.genAttrs roles.names wrapper;
  images = import ./images.nix { inherit pkgs lib wrappers; };
  app = role: {
    type = "app";
    program = "${wrappers.${role}}/bin/wamesh-${role}";
    meta.description = roles.roles.${role}.description;
  };
in
{
  packages =
    wrappers
    // images
    // {
      venv = py.venv;
      default = wrappers.gateway;
    };
  apps = lib.genAttrs roles.names app // {
    default = app "gateway";
  };
  devShell = pkgs.mkShell {
    packages = [
      py.editableVenv
      pkgs.uv
      pkgs.postgresql
      pkgs.redis
      pkgs.pgbouncer
      pkgs.chromium
      pkgs.grpcurl
      pkgs.nixfmt
      pkgs.file
      pkgs.git
    ];
    env = {
      UV_NO_SYNC = "1";
      UV_PYTHON = py.editableSet.python.interpreter;
      UV_PYTHON_DOWNLOADS = "never";
      WAMESH_CHROMIUM_PATH = chromium;
      PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
      # neonize imports python-magic, which finds libmagic (Nix: `file`) with ctypes.
      LD_LIBRARY_PATH = "${pkgs.file}/lib";
    };
    # As uv2nix's template: the editable install points at this checkout.
    shellHook = ''
      unset PYTHONPATH
      export REPO_ROOT=$(git rev-parse --show-toplevel)
    '';
  };
  checks =
    import ./checks.nix {
      inherit pkgs lib chromium;
      inherit (py) devVenv;
      src = root;
    }
    // images;
  formatter = pkgs.nixfmt;
}
