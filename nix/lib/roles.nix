# The roles wamesh runs as, and the wrapper script of each: pure Nix (builtins only), so the test
# suite can evaluate it with Nix 2.8 and no nixpkgs. flake.nix builds its apps from this table.
let
  roles = {
    session = { command = "session"; chromium = true; description = "the worker of one line (--id <uuid> or SESSION_ID)"; };
    worker = { command = "worker"; chromium = false; description = "a webhook delivery worker"; };
    gateway = { command = "gateway"; chromium = false; description = "the REST and gRPC gateway"; };
    dev = { command = "dev"; chromium = true; description = "the whole mesh on one machine"; };
    migrate = { command = "migrate"; chromium = false; description = "apply the database migrations"; };
  };

  # The body of a role's wrapper: environment for certificates, fonts and (for roles that may run
  # the browser engine) Nix's Chromium, then exec the wamesh CLI with every argument passed on.
  script = { role, venv, chromium, cacert, fontconfig }:
    let r = roles.${role}; in
    builtins.concatStringsSep "\n" ([
      "export SSL_CERT_FILE=\"\${SSL_CERT_FILE:-${cacert}}\""
      "export FONTCONFIG_FILE=\"\${FONTCONFIG_FILE:-${fontconfig}}\""
      "export PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1"
    ] ++ (if r.chromium then [ "export WAMESH_CHROMIUM_PATH=\"\${WAMESH_CHROMIUM_PATH:-${chromium}}\"" ] else [ ])
    ++ [ "exec ${venv}/bin/wamesh ${r.command} \"$@\"" ]);
in
{
  inherit roles script;
  names = builtins.attrNames roles;
  # Roles whose image needs Chromium.
  withChromium = builtins.filter (name: roles.${name}.chromium) (builtins.attrNames roles);
}
