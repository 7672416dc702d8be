"""Refuse webhook connections to non-public addresses, at connect time.

Checking the URL is not enough (a public name can resolve to 127.0.0.1, and IP literals skip the
resolver), so the check sits in the connector's socket factory: every address aiohttp is about to
connect to must be globally routable (IPv4-mapped IPv6 is unwrapped first). Allowed when
WEBHOOK_ALLOW_PRIVATE or dev mode says so.
"""

from __future__ import annotations

import ipaddress
import socket

from aiohappyeyeballs import AddrInfoType


class BlockedAddress(OSError):
    """The webhook URL resolved to an address we do not send to."""


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
        raise BlockedAddress(
            f"webhook address {host} is not public (set WEBHOOK_ALLOW_PRIVATE to allow)"
        )
    return socket.socket(family=family, type=type_, proto=proto)
