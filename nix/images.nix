# OCI images (dockerTools, layered): `image-core` runs the gateway, the webhook worker and the
# migrations; `image-session` runs session workers and carries Chromium. Both have /bin/sh (start
# commands may use it), certificates, a /tmp, and /etc/passwd and /etc/group with root and
# nobody (fakeNss), so a container run as a non-root user (Kubernetes runAsUser 65534) has a name
# and a home. The working folder is /tmp, so the relative scratch folders (.wamesh/...) are
# writable by any user.
{
  pkgs,
  lib,
  wrappers,
}:
let
  base = [
    pkgs.dockerTools.binSh
    pkgs.dockerTools.caCertificates
    pkgs.dockerTools.fakeNss
    pkgs.coreutils
  ];
  image =
    name: contents: cmd:
    pkgs.dockerTools.streamLayeredImage {
      inherit name;
      tag = "latest";
      contents = base ++ contents;
      extraCommands = "mkdir -m 1777 -p tmp";
      config = {
        Cmd = cmd;
        WorkingDir = "/tmp";
        Env = [
          "WAMESH_LOG_FORMAT=json"
          "WAMESH_GRPC_BIND_HOST=::"
          "WAMESH_GATEWAY_HTTP_HOST=::"
          "HOME=/tmp"
        ];
        ExposedPorts = {
          "8080/tcp" = { };
          "50051/tcp" = { };
        };
      };
    };
in
lib.optionalAttrs pkgs.stdenv.isLinux {
  image-core = image "wamesh-core" [
    wrappers.gateway
    wrappers.worker
    wrappers.migrate
  ] [ "/bin/wamesh-gateway" ];
  image-session = image "wamesh-session" [
    wrappers.session
    pkgs.chromium
    pkgs.fontconfig
    pkgs.file
  ] [ "/bin/wamesh-session" ];
}
