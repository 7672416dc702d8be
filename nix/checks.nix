# `nix flake check`: lint and the test suite in the build sandbox. The suite starts its own
# PostgreSQL, Redis and PgBouncer from the binaries on PATH; every other program a test runs is
# either among `programs` below or its test is in `excluded`, with the reason (and where that test
# runs instead). tests/nix/test_nix.py checks this against the suite's sources.
{
  pkgs,
  lib,
  devVenv,
  src,
  chromium,
}:
let
  # Programs the tests run, by the name they look for (stdenv adds coreutils, grep, sed, tar...).
  programs = {
    initdb = pkgs.postgresql; # the tests' private PostgreSQL (services/wamesh/dev/servers.py)
    postgres = pkgs.postgresql;
    redis-server = pkgs.redis;
    pgbouncer = pkgs.pgbouncer; # tests/budget, tests/foundation/test_migrate.py
    curl = pkgs.curl; # tests/dev/test_dev_mesh.py runs the README's quickstart
    bash = pkgs.bash;
    tar = pkgs.gnutar;
    kubectl = pkgs.kubectl; # tests/deploy renders deploy/kubernetes with kubectl kustomize
  };
  # Tests that cannot run in the sandbox, each with why; `make test` (.ci/run) and the workflow's
  # jobs run them.
  excluded = {
    "tests/nix" = "evaluates Nix expressions with nix-instantiate, which needs a Nix store of its own; `nix flake check` evaluates the real flake instead";
    "tests/dev/test_bootstrap.py" = "tests scripts/bootstrap, Debian's installer (apt-get, dpkg)";
    "tests/whatsmeow/test_offline.py" = "needs `unshare -n` (root) for a network namespace";
    "tests/netns" = "creates network namespaces and veths with `ip` (root, CAP_NET_ADMIN) and forwards with socat";
  };
  # Browser tests launch Chromium, whose sandbox needs user namespaces the build sandbox lacks;
  # the workflow's `playwright` job launches Nix's Chromium outside it.
  markers = "not browser";
  pytestArgs = "-q -m '${markers}' -p no:cacheprovider ${
    lib.concatMapStringsSep " " (path: "--ignore=${path}") (lib.attrNames excluded)
  }";
  run =
    name: command:
    pkgs.runCommand "wamesh-${name}"
      {
        nativeBuildInputs = [ devVenv ] ++ lib.unique (lib.attrValues programs);
        WAMESH_CHROMIUM_PATH = chromium;
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
        LD_LIBRARY_PATH = "${pkgs.file}/lib";
        passthru = {
          inherit
            programs
            excluded
            markers
            pytestArgs
            ;
        };
      }
      ''
        cp -r ${src} source && chmod -R u+w source && cd source
        export HOME=$TMPDIR
        ${command}
        touch $out
      '';
in
{
  lint = run "lint" "ruff check . && ruff format --check . && mypy services gateway";
  tests = run "tests" "pytest ${pytestArgs}";
}
