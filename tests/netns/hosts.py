"""Hosts for tests: network namespaces joined by veth pairs on one private segment.

Layout (every address on the test's own veths, in a private /24 that no route of the machine
uses): a hub namespace holds a bridge with no address; each host namespace, and the root
namespace, has one veth whose peer is a port of that bridge. The root namespace's veth gets
`.1`: what the hosts reach PostgreSQL and Redis through (socat forwarders bound to that address
only, to the servers on 127.0.0.1). No sysctl, route or address outside these veths is touched.
Needs root (CAP_NET_ADMIN), `ip` (iproute2) and `socat`; a missing one fails the test saying so.
"""

from __future__ import annotations

import contextlib
import ipaddress
import os
import shutil
import signal
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

# RFC 1918 segments tried in order; the first that no route of the machine overlaps is used.
CANDIDATE_NETS = ("10.231.7.0/24", "10.232.7.0/24", "172.30.231.0/24", "192.168.231.0/24")
INSTALL_HINT = {
    "ip": "install iproute2 (apt-get install iproute2)",
    "socat": "install socat (apt-get install socat)",
}


class NetnsUnavailable(RuntimeError):
    """Network namespaces cannot be made here."""


def _run(*args: str) -> str:
    result = subprocess.run(args, capture_output=True, text=True, check=False)
    if result.returncode != 0:
        raise NetnsUnavailable(f"`{' '.join(args)}` failed: {result.stderr.strip()}")
    return result.stdout


def require_tools() -> None:
    """Fail clearly when `ip` or `socat` is missing, or namespaces cannot be created."""
    for tool, hint in INSTALL_HINT.items():
        if shutil.which(tool) is None:
            raise NetnsUnavailable(f"`{tool}` not found: {hint}")
    if os.geteuid() != 0:
        raise NetnsUnavailable(
            "network namespaces need root (CAP_NET_ADMIN): run this test as root, e.g. in a "
            "container started with --cap-add NET_ADMIN"
        )


def free_subnet() -> ipaddress.IPv4Network:
    """A candidate /24 that overlaps no route of the root namespace."""
    used = []
    for line in _run("ip", "-4", "route", "show", "table", "all").splitlines():
        word = line.split()[0] if line.split() else ""
        if word in {"default", "broadcast", "local", "unreachable"}:
            continue
        try:
            used.append(ipaddress.ip_network(word, strict=False))
        except ValueError:
            continue
    for candidate in CANDIDATE_NETS:
        net = ipaddress.IPv4Network(candidate)
        if not any(net.overlaps(u) for u in used if u.prefixlen > 0):
            return net
    raise NetnsUnavailable(f"every candidate subnet {CANDIDATE_NETS} overlaps a route here")


@dataclass
class Segment:
    """The namespaces made, and the address of each."""

    net: ipaddress.IPv4Network
    tag: str
    hub: str
    root_veth: str
    root_address: str
    hosts: dict[str, str] = field(default_factory=dict)  # namespace -> address
    veths: dict[str, str] = field(default_factory=dict)  # namespace -> its veth's name

    def exec_prefix(self, host: str) -> list[str]:
        """Run a command inside host `host`'s namespace."""
        return ["ip", "netns", "exec", host]

    def unplug(self, host: str) -> None:
        """Take host `host` off the network (its veth down): packets to it get no answer."""
        _run("ip", "-n", host, "link", "set", self.veths[host], "down")


def _veth(segment: Segment, name: str) -> tuple[str, str]:
    index = len(segment.veths) + 1
    inner, port = f"w{segment.tag}v{index}", f"w{segment.tag}p{index}"
    _run("ip", "link", "add", inner, "type", "veth", "peer", "name", port)
    _run("ip", "link", "set", port, "netns", segment.hub)
    _run("ip", "-n", segment.hub, "link", "set", port, "master", "br0", "up")
    segment.veths[name] = inner
    return inner, port


def _add_host(segment: Segment, name: str, address: str) -> None:
    _run("ip", "netns", "add", name)
    inner, _ = _veth(segment, name)
    _run("ip", "link", "set", inner, "netns", name)
    _run("ip", "-n", name, "addr", "add", f"{address}/{segment.net.prefixlen}", "dev", inner)
    _run("ip", "-n", name, "link", "set", inner, "up")
    _run("ip", "-n", name, "link", "set", "lo", "up")
    segment.hosts[name] = address


@contextmanager
def segment(host_names: list[str]) -> Iterator[Segment]:
    """Make the hub, the root's veth and one namespace per host name; remove them all after."""
    require_tools()
    net = free_subnet()
    tag = f"{os.getpid() % 10000:04d}"
    addresses = [str(a) for a in net.hosts()]
    hub = f"w{tag}hub"
    made: list[str] = []
    seg = Segment(net, tag, hub, "", addresses[0])
    try:
        _run("ip", "netns", "add", hub)
        made.append(hub)
        _run("ip", "-n", hub, "link", "add", "br0", "type", "bridge")
        _run("ip", "-n", hub, "link", "set", "br0", "up")
        root_veth, _ = _veth(seg, "root")
        seg.root_veth = root_veth
        _run("ip", "addr", "add", f"{addresses[0]}/{net.prefixlen}", "dev", root_veth)
        _run("ip", "link", "set", root_veth, "up")
        for i, host in enumerate(host_names, start=1):
            name = f"w{tag}{host}"
            made.append(name)
            _add_host(seg, name, addresses[9 + i])
        yield seg
    finally:
        subprocess.run(["ip", "link", "del", seg.root_veth or "none"], capture_output=True)
        for name in reversed(made):
            subprocess.run(["ip", "netns", "del", name], capture_output=True)


@contextmanager
def forward(listen: str, port: int, target_port: int) -> Iterator[None]:
    """socat: `listen:port` (the root's veth address) -> 127.0.0.1:`target_port`."""
    proc = subprocess.Popen(
        [
            "socat",
            f"TCP-LISTEN:{port},bind={listen},reuseaddr,fork",
            f"TCP:127.0.0.1:{target_port}",
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        start_new_session=True,  # its own group: `fork` leaves a child per connection
    )
    try:
        yield
    finally:
        # The children hold their connections (a worker whose namespace is gone never closes
        # its side), so the whole group goes, or later tests meet them on the shared servers.
        with contextlib.suppress(ProcessLookupError):
            os.killpg(proc.pid, signal.SIGTERM)
        proc.wait(timeout=10)
