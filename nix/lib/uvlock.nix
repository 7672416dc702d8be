# Facts read from uv.lock with builtins only (no nixpkgs): the locked version of a package.
# Used to keep Nix's Playwright driver expectations honest against the lock file.
lockFile:
let
  lock = builtins.fromTOML (builtins.readFile lockFile);
  find = name: builtins.filter (p: p.name == name) lock.package;
in
{
  version = name:
    let found = find name; in
    if found == [ ] then throw "uv.lock has no package ${name}" else (builtins.head found).version;
  names = map (p: p.name) lock.package;
}
