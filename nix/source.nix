# The sources the wamesh wheel is built from: pyproject.toml and the three package roots hatchling
# packs (pyproject.toml [tool.hatch.build.targets.wheel]), filtered per package as uv2nix advises
# (doc/src/patterns/source-filtering.md at uv2nix 49dac8d; builtins.path rather than lib.fileset,
# so Nix 2.8 evaluates it too). pyproject.toml names README.md as the readme, which hatchling reads
# into the wheel's metadata; a one-line stand-in is written instead of the real file, so a README
# edit does not rebuild the package, the venvs and the images.
{
  pkgs,
  lib,
  root,
}:
let
  top = toString root;
  kept = [
    "/pyproject.toml"
    "/proto/wamesh"
    "/services/wamesh"
    "/gateway/wamesh"
  ];
  # Kept: the listed paths, what is under them and the folders above them; never bytecode a
  # local run left behind (a flake's copy has none: it is git's files).
  wanted =
    path: _type:
    let
      rel = lib.removePrefix top (toString path);
    in
    !(lib.hasSuffix ".pyc" rel)
    && baseNameOf rel != "__pycache__"
    && lib.any (k: rel == k || lib.hasPrefix "${k}/" rel || lib.hasPrefix "${rel}/" k) kept;
  code = builtins.path {
    path = root;
    name = "wamesh-code";
    filter = wanted;
  };
in
pkgs.runCommand "wamesh-source" { } ''
  cp -r ${code} $out
  chmod -R u+w $out
  echo "wamesh: see the repository's README.md" > $out/README.md
''
