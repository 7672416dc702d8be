# A model of the parts of nixpkgs the flake touches, for evaluating the flake with Nix 2.8 and
# without nixpkgs (which cannot be fetched here). `lib` is nixpkgs' real lib (vendored, see
# ../vendor/SOURCES.md); platforms are lib.systems.elaborate's. A derivation is a plain attribute
# set with its attributes, passthru on top, a store path made from its name, and overrideAttrs
# (both argument forms). Every package name below exists in nixpkgs at the pinned revision's
# branch (README, "Reproducible builds", lists the sources); anything else the flake asks for is
# missing here and fails the evaluation, naming it.
{ lib, system }:
let
  platform = lib.systems.elaborate system;
  storePath = name: "/nix/store/${builtins.substring 0 32 (builtins.hashString "sha256" name)}-${name}";

  make =
    f:
    let
      attrs = f drv;
      name = attrs.name or "${attrs.pname}-${attrs.version}";
      drv =
        attrs
        // (attrs.passthru or { })
        // {
          inherit name;
          type = "derivation";
          outPath = storePath name;
          drvAttrs = attrs;
          meta = attrs.meta or { };
          overrideAttrs =
            g:
            make (
              self:
              let
                prev = f self;
              in
              prev // lib.toExtension g self prev
            );
        };
    in
    drv;
  mkDerivation = arg: make (if builtins.isFunction arg then arg else (_: arg));
  package =
    pname: extra:
    mkDerivation (
      {
        inherit pname;
        version = "model";
      }
      // extra
    );

  # glibc: nixos-unstable has carried 2.42 since before this pin (NixOS/nixpkgs#502924, 2026-03,
  # "glibc: 2.42 -> 2.43" was opened against it); wheels are selected for 2.42 here, so a newer
  # glibc selects at least the same ones.
  glibc = {
    pname = "glibc";
    version = "2.42";
    linuxHeaders.version = "6.12";
  };
  stdenv = {
    inherit mkDerivation;
    hostPlatform = platform;
    buildPlatform = platform;
    targetPlatform = platform;
    inherit (platform) isLinux isDarwin;
    cc.libc = glibc;
  };

  # nixpkgs' python312 (pkgs/development/interpreters/python/default.nix: passthruFun gives
  # implementation, pythonVersion, sourceVersion, executable, sitePackages, interpreter). Any
  # 3.12.x: uv.lock's markers split only at 3.11.3, 3.11.5, 3.13 and 3.15 (tests/nix checks it).
  python312 =
    let
      self = package "python3" {
        version = "3.12.11";
        passthru = {
          implementation = "cpython";
          pythonVersion = "3.12";
          sourceVersion = {
            major = "3";
            minor = "12";
            patch = "11";
            suffix = "";
          };
          executable = "python3.12";
          sitePackages = "lib/python3.12/site-packages";
          isPy3 = true;
          interpreter = "${self}/bin/python3.12";
          pythonOnBuildForHost = self;
          pythonAtLeast = lib.versionAtLeast "3.12";
          pythonOlder = lib.versionOlder "3.12";
          inherit stdenv;
        };
      };
    in
    self;

  fetchurl =
    {
      url,
      hash ? null,
      name ? baseNameOf url,
      ...
    }:
    mkDerivation {
      inherit name;
      passthru = { inherit url hash; };
    };

  # Builders: what they were given is kept, so tests read a wrapper's text or a check's inputs.
  writeShellScriptBin =
    name: text:
    mkDerivation {
      inherit name;
      passthru = { inherit text; };
      meta.mainProgram = name;
    };
  runCommand =
    name: env: buildCommand:
    mkDerivation (env // { inherit name buildCommand; });
  mkShell = attrs: mkDerivation ({ name = "nix-shell"; } // attrs);
  streamLayeredImage =
    args:
    mkDerivation {
      name = "stream-${args.name}";
      passthru = {
        imageName = args.name;
        imageTag = args.tag;
        inherit (args) contents config;
      };
    };

  pkgs = {
    inherit
      lib
      stdenv
      mkDerivation
      python312
      fetchurl
      writeShellScriptBin
      runCommand
      mkShell
      ;
    inherit (lib) callPackageWith;
    callPackage = lib.callPackageWith pkgs;
    newScope = extra: lib.callPackageWith (pkgs // extra);
    buildPackages = pkgs;
    pkgs = pkgs;
    makeFontsConf = { fontDirectories }: package "fonts.conf" { passthru = { inherit fontDirectories; }; };
    dockerTools = {
      inherit streamLayeredImage;
      binSh = package "bin-sh" { };
      caCertificates = package "ca-certificates" { };
      fakeNss = package "fake-nss" { };
    };
    autoPatchelfHook = package "auto-patchelf-hook" { };
    unzip = package "unzip" { };
    pythonManylinuxPackages = {
      manylinux1 = [ ];
      manylinux2010 = [ ];
      manylinux2014 = [ ];
    };
    python3Packages = { };
  }
  // lib.genAttrs [
    "bash"
    "cacert"
    "chromium"
    "coreutils"
    "curl"
    "dejavu_fonts"
    "file"
    "fontconfig"
    "git"
    "gnutar"
    "grpcurl"
    "kubectl"
    "nixfmt"
    "noto-fonts"
    "pgbouncer"
    "postgresql"
    "redis"
    "uv"
  ] (name: package name { });
in
pkgs
