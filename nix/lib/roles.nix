# The roles wamesh runs as, and the wrapper script of each: pure Nix (builtins only), so the test
# suite can evaluate it with Nix 2.8 and no nixpkgs. flake.nix builds its apps from this table.
let
  roles = {
    session = {
      command = "session";
      chromium = true;
      whatsmeow = true;
      databases = false;
      description = "the worker of one line (--id <uuid> or SESSION_ID)";
    };
    worker = {
      command = "worker";
      chromium = false;
      whatsmeow = false;
      databases = false;
      description = "a webhook delivery worker";
    };
    gateway = {
      command = "gateway";
      chromium = false;
      whatsmeow = false;
      databases = false;
      description = "the REST and gRPC gateway";
    };
    # `wamesh dev` starts a private PostgreSQL and Redis from the binaries on PATH.
    dev = {
      command = "dev";
      chromium = true;
      whatsmeow = true;
      databases = true;
      description = "the whole mesh on one machine";
    };
    migrate = {
      command = "migrate";
      chromium = false;
      whatsmeow = false;
      databases = false;
      description = "apply the database migrations";
    };
  };

  # The body of a role's wrapper: environment for certificates, fonts, (for roles that may run the
  # browser engine) Nix's Chromium, (for roles that may run the whatsmeow engine) libmagic where
  # python-magic's ctypes lookup finds it (neonize imports python-magic), and (for dev) Nix's
  # PostgreSQL and Redis first on PATH, then exec the wamesh CLI with every argument passed on.
  script =
    {
      role,
      venv,
      chromium,
      cacert,
      fontconfig,
      libmagic ? "",
      databasesPath ? "",
    }:
    let
      r = roles.${role};
    in
    builtins.concatStringsSep "\n" (
      [
        "export SSL_CERT_FILE=\"\${SSL_CERT_FILE:-${cacert}}\""
        "export FONTCONFIG_FILE=\"\${FONTCONFIG_FILE:-${fontconfig}}\""
        "export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1"
      ]
      ++ (
        if r.chromium then
          [ "export WAMESH_CHROMIUM_PATH=\"\${WAMESH_CHROMIUM_PATH:-${chromium}}\"" ]
        else
          [ ]
      )
      ++ (
        if r.whatsmeow then
          (
            if libmagic == "" then
              throw "role ${role} needs libmagic (the directory holding libmagic.so.1)"
            else
              [ "export LD_LIBRARY_PATH=\"${libmagic}\${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}\"" ]
          )
        else
          [ ]
      )
      ++ (
        if r.databases then
          (
            if databasesPath == "" then
              throw "role ${role} needs databasesPath (PostgreSQL and Redis binaries)"
            else
              [ "export PATH=\"${databasesPath}\${PATH:+:$PATH}\"" ]
          )
        else
          [ ]
      )
      ++ [ "exec ${venv}/bin/wamesh ${r.command} \"$@\"" ]
    );
in
{
  inherit roles script;
  names = builtins.attrNames roles;
  # Roles whose image needs Chromium.
  withChromium = builtins.filter (name: roles.${name}.chromium) (builtins.attrNames roles);
}
