{
  description = "wamesh: many WhatsApp lines at once (session workers, a routing gateway, webhook workers)";

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

  outputs = { self, nixpkgs, pyproject-nix, uv2nix, pyproject-build-systems, ... }:
    let
      systems = [ "x86_64-linux" "aarch64-linux" ];
      forAllSystems = f: builtins.listToAttrs (map (system: {
        name = system;
        value = f (import ./nix/packages.nix {
          inherit system nixpkgs pyproject-nix uv2nix pyproject-build-systems;
          src = ./.;
        });
      }) systems);
    in
    {
      # Pure helpers (no nixpkgs needed): the role table the apps are built from.
      lib = import ./nix/lib/roles.nix;
      packages = forAllSystems (p: p.packages);
      apps = forAllSystems (p: p.apps);
      devShells = forAllSystems (p: { default = p.devShell; });
      checks = forAllSystems (p: p.checks);
      formatter = forAllSystems (p: p.formatter);
    };
}
