# What tests/nix/test_nix.py evaluates: the real flake.nix and nix/*.nix on the inputs of
# ./model/inputs.nix (uv2nix, pyproject.nix, build-system-pkgs and nixpkgs' lib for real, nixpkgs'
# packages modelled), for one system.
{ system }:
let
  inputs = import ./model/inputs.nix;
  flake = (import ../../flake.nix).outputs (inputs // { self = flake; });
  pkgs = inputs.nixpkgs.legacyPackages.${system};
  inherit (pkgs) lib;
  py = import ../../nix/python.nix {
    inherit pkgs lib;
    inherit (inputs) uv2nix pyproject-nix pyproject-build-systems;
    root = ../..;
  };
  # The packages uv2nix resolved from uv.lock for this system: the overlay's own attributes.
  resolved = lib.attrNames (py.overlay py.pythonSet py.pythonSet);
  remote = lib.filter (name: name != "wamesh") resolved;
  source = drv: {
    inherit (drv) version;
    inherit (drv.passthru) format;
    file = drv.src.name;
    url = drv.src.passthru.url or null;
  };
  drvSummary = drv: {
    inherit (drv) name;
    path = drv.outPath;
  };
  paths = drvs: map (d: "${d}") drvs;
in
{
  inherit flake py;
  # uv2nix's choice for every resolved package.
  selection = lib.genAttrs remote (name: source py.pythonSet.${name});
  # Build systems come from pyproject-build-systems' `wheel` overlay, as in uv2nix's templates.
  buildSystems = lib.genAttrs [ "hatchling" "setuptools" ] (name: py.pythonSet.${name}.passthru.format);
  wamesh = {
    src = "${py.pythonSet.wamesh.src}";
    editableRoot = py.editableSet.wamesh.EDITABLE_ROOT or null;
    editableDependencies = lib.attrNames py.editableSet.wamesh.passthru.dependencies;
  };
  venvs = {
    default = py.venv.NIX_PYPROJECT_DEPS;
    dev = py.devVenv.NIX_PYPROJECT_DEPS;
    editable = py.editableVenv.NIX_PYPROJECT_DEPS;
  };
  apps = lib.mapAttrs (_: app: {
    inherit (app) type program;
    description = app.meta.description or null;
  }) flake.apps.${system};
  packages = lib.mapAttrs (_: drvSummary) flake.packages.${system};
  images = lib.mapAttrs (_: image: {
    inherit (image) imageName imageTag;
    contents = paths image.contents;
    contentNames = map (d: d.name) image.contents;
    inherit (image) config;
  }) (lib.filterAttrs (name: _: lib.hasPrefix "image-" name) flake.packages.${system});
  devShell = {
    packages = map (d: d.name) flake.devShells.${system}.default.packages;
    inherit (flake.devShells.${system}.default) env shellHook;
  };
  checks = lib.mapAttrs (_: check: {
    inherit (check) name;
    inputs = map (d: d.name) (check.nativeBuildInputs or [ ]);
    command = check.buildCommand or null;
    programs = lib.attrNames (check.passthru.programs or { });
    excluded = check.passthru.excluded or { };
    markers = check.passthru.markers or null;
    pytestArgs = check.passthru.pytestArgs or null;
  }) flake.checks.${system};
  formatter = flake.formatter.${system}.name;
  wrappers = lib.genAttrs flake.lib.names (role: flake.packages.${system}.${role}.text);
}
