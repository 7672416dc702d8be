{
  description = "wamesh: many WhatsApp lines at once (session workers, a routing gateway, webhook workers)";

  # Pinned by flake.lock: nixpkgs and pyproject.nix at the revisions uv2nix 49dac8d's own
  # flake.lock is tested with, uv2nix 49dac8d, build-system-pkgs 5c4cc96 (README, "Reproducible
  # builds").
  inputs = {
    nixpkgs.url = "github:NixOS/nixpkgs/nixos-unstable";
    pyproject-nix = {
      url = "github:pyproject-nix/pyproject.nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    uv2nix = {
      url = "github:pyproject-nix/uv2nix";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
    pyproject-build-systems = {
      url = "github:pyproject-nix/build-system-pkgs";
      inputs.pyproject-nix.follows = "pyproject-nix";
      inputs.uv2nix.follows = "uv2nix";
      inputs.nixpkgs.follows = "nixpkgs";
    };
  };

  outputs =
    {
      nixpkgs,
      pyproject-nix,
      uv2nix,
      pyproject-build-systems,
      ...
    }:
    let
      inherit (nixpkgs) lib;
      systems = [
        "x86_64-linux"
        "aarch64-linux"
      ];
      perSystem = lib.genAttrs systems (
        system:
        import ./nix/packages.nix {
          inherit
            system
            nixpkgs
            pyproject-nix
            uv2nix
            pyproject-build-systems
            ;
          root = ./.;
        }
      );
      pick = attr: lib.mapAttrs (_: outputs: outputs.${attr}) perSystem;
    in
    {
      # Pure helpers (no nixpkgs needed): the role table the apps are built from.
      lib = import ./nix/lib/roles.nix;
      packages = pick "packages";
      apps = pick "apps";
      devShells = lib.mapAttrs (_: outputs: { default = outputs.devShell; }) perSystem;
      checks = pick "checks";
      formatter = pick "formatter";
    };
}
