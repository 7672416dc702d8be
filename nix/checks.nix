# `nix flake check`: lint and the test suite (the suite starts its own PostgreSQL and Redis from
# nixpkgs' binaries and uses nixpkgs' Chromium).
{ pkgs, py, src, chromium }:
let
  devEnv = py.devVenv;
  run = name: command: pkgs.runCommand "wamesh-${name}" {
    nativeBuildInputs = [ devEnv pkgs.postgresql pkgs.redis pkgs.chromium pkgs.nix ];
    WAMESH_CHROMIUM_PATH = chromium;
    PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD = "1";
  } ''
    cp -r ${src} source && chmod -R u+w source && cd source
    export HOME=$TMPDIR
    ${command}
    touch $out
  '';
in
{
  lint = run "lint" "ruff check . && ruff format --check . && mypy services gateway";
  tests = run "tests" "pytest -q -m 'not browser' -p no:cacheprovider";
}
