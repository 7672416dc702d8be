# The flake's inputs for evaluating it with Nix 2.8 offline: uv2nix's and pyproject.nix's real
# libraries, build-system-pkgs' real overlays and nixpkgs' real lib (all vendored under ../vendor
# at the revisions flake.lock pins, see ../vendor/SOURCES.md), and a model of nixpkgs' packages
# (./nixpkgs.nix) in place of nixpkgs itself.
let
  vendor = ../vendor;
  lib = import (vendor + "/nixpkgs/lib");
  systems = [
    "x86_64-linux"
    "aarch64-linux"
  ];
  pyproject-nix = import (vendor + "/pyproject.nix") { inherit lib; };
  uv2nix = {
    lib = import (vendor + "/uv2nix/lib") { inherit lib pyproject-nix; };
  };
  pyproject-build-systems = {
    overlays = import (vendor + "/build-system-pkgs") { inherit lib pyproject-nix uv2nix; };
  };
in
{
  nixpkgs = {
    inherit lib;
    legacyPackages = lib.genAttrs systems (system: import ./nixpkgs.nix { inherit lib system; });
  };
  inherit pyproject-nix uv2nix pyproject-build-systems;
}
