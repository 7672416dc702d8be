# OCI images (dockerTools, layered): `image-core` runs the gateway and the webhook worker,
# `image-session` runs session workers and carries Chromium. Both have /bin/sh (Railway's start
# commands may use it), certificates and a /tmp.
{ pkgs, lib, wrappers }:
let
  base = [ pkgs.dockerTools.binSh pkgs.dockerTools.caCertificates pkgs.coreutils ];
  image = name: contents: cmd: pkgs.dockerTools.streamLayeredImage {
    inherit name;
    tag = "latest";
    contents = base ++ contents;
    extraCommands = "mkdir -m 1777 -p tmp";
    config = {
      Cmd = cmd;
      Env = [ "WAMESH_LOG_FORMAT=json" "WAMESH_GRPC_BIND_HOST=::" "WAMESH_GATEWAY_HTTP_HOST=::" "HOME=/tmp" ];
      ExposedPorts = { "8080/tcp" = { }; "50051/tcp" = { }; };
    };
  };
in
lib.optionalAttrs pkgs.stdenv.isLinux {
  image-core = image "wamesh-core" [ wrappers.gateway wrappers.worker wrappers.migrate ] [ "/bin/wamesh-gateway" ];
  image-session = image "wamesh-session" [ wrappers.session pkgs.chromium pkgs.fontconfig pkgs.file ] [ "/bin/wamesh-session" ];
}
