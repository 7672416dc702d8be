"""Refuse outbound connections (webhooks, media URLs) to non-public addresses, at connect time.

Checking the URL is not enough (a public name can resolve to 127.0.0.1, and IP literals skip the
resolver), so the check sits in the connector's socket factory: every address aiohttp is about to
connect to must be globally routable (IPv4-mapped IPv6 is unwrapped first). Allowed when
WEBHOOK_ALLOW_PRIVATE or dev mode says so (`allows_private`); `guarded_connector` is the one
connector every outbound client builds on.
"""

from __future__ import annotations

import ipaddress
import socket
from typing import Any

import aiohttp
from aiohappyeyeballs import AddrInfoType

from wamesh.settings import Settings

_BLOCKED = "is not public (set WEBHOOK_ALLOW_PRIVATE to allow)"


class BlockedAddress(OSError):
    """The URL resolved to an address we do not connect to."""


def is_blocked(exc: BaseException) -> bool:
    """Whether a connection error came from the guard (happy eyeballs merges the errors of
    several addresses into one OSError that keeps only their messages)."""
    seen: BaseException | None = exc
    while seen is not None:
        if isinstance(seen, BlockedAddress) or _BLOCKED in str(seen):
            return True
        seen = seen.__cause__ or seen.__context__
    return False


def is_public(host: str) -> bool:
    """True for globally routable unicast addresses."""
    address = ipaddress.ip_address(host.split("%", 1)[0])
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        address = address.ipv4_mapped
    return address.is_global and not address.is_multicast


def guarded_socket(addr_info: AddrInfoType) -> socket.socket:
    """A socket for `addr_info`, or BlockedAddress when its address is not public."""
    family, type_, proto, _, sockaddr = addr_info
    host = str(sockaddr[0])
    if not is_public(host):
        raise BlockedAddress(f"address {host} {_BLOCKED}")
    return socket.socket(family=family, type=type_, proto=proto)


def allows_private(settings: Settings) -> bool:
    """Whether outbound connections may reach loopback/private addresses."""
    return settings.webhook_allow_private or settings.dev_mode


def guarded_connector(settings: Settings, **options: Any) -> aiohttp.TCPConnector:
    """A connector that refuses non-public addresses at connect time, unless allowed."""
    guard = None if allows_private(settings) else guarded_socket
    return aiohttp.TCPConnector(socket_factory=guard, **options)
