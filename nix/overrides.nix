# Fix-ups for wheels that assume a normal Linux: psycopg's binary wheel and grpcio need nothing;
# Playwright's wheel ships a Node driver that must find its runtime libraries (autoPatchelf), and
# never downloads browsers (the wrappers point WAMESH_CHROMIUM_PATH at nixpkgs' Chromium).
{ pkgs, lib }:
final: prev: {
  playwright = prev.playwright.overrideAttrs (old: {
    nativeBuildInputs = (old.nativeBuildInputs or [ ]) ++ [ pkgs.autoPatchelfHook ];
    buildInputs = (old.buildInputs or [ ]) ++ [ pkgs.stdenv.cc.cc.lib ];
  });
}
