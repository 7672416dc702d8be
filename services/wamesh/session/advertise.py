"""The address a worker registers for the gateway to call (WAMESH_ADVERTISE_HOST).

`auto` means this worker's own address on the network that reaches Redis: the source address
the kernel picks for a UDP socket connected to REDIS_URL's host (connecting a UDP socket sends
nothing). That is what a replica of a pool service advertises where no per-replica name exists
(Railway's private domain names the whole service; a Kubernetes pod may use its pod IP instead):
the gateway reaches Redis on the same network, so it reaches this address too.
"""

from __future__ import annotations

import socket
from urllib.parse import urlsplit

from wamesh.constants import ADVERTISE_AUTO, DEFAULT_REDIS_PORT
from wamesh.errors import ConfigError
from wamesh.settings import Settings


def own_address_towards(host: str, port: int) -> str:
    """This machine's source address for traffic to `host:port` (IPv6 in brackets)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_DGRAM)
    except OSError as exc:
        raise ConfigError(
            f"WAMESH_ADVERTISE_HOST=auto: cannot resolve Redis host {host!r} ({exc})"
        ) from exc
    family, kind, proto, _, sockaddr = infos[0]
    with socket.socket(family, kind, proto) as sock:
        sock.connect(sockaddr)
        address = str(sock.getsockname()[0])
    return f"[{address}]" if ":" in address else address


def advertised_host(settings: Settings) -> str:
    """WAMESH_ADVERTISE_HOST, with `auto` resolved (see the module docstring)."""
    if settings.advertise_host != ADVERTISE_AUTO:
        return settings.advertise_host
    parts = urlsplit(settings.redis_url)
    if not parts.hostname:
        raise ConfigError("WAMESH_ADVERTISE_HOST=auto needs REDIS_URL with a host")
    return own_address_towards(parts.hostname, parts.port or DEFAULT_REDIS_PORT)
