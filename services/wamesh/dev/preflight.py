"""What `wamesh dev` checks before it starts anything, and how it knows it is up.

- One instance per state folder: an exclusive `flock` on `<state>/dev.lock`, held for the run
  (the kernel drops it when the process dies, so a crashed run never blocks the next). A second
  `wamesh dev` on the same folder stops at once with one line naming the first one's pid.
- Free ports: the gateway's REST and gRPC ports are bound and released before any child starts,
  so a taken port is named with the flag that changes it (instead of a gateway crash-looping).
- Up means answering: the banner is printed only once the gateway answers `/readyz` (PostgreSQL
  and Redis reachable), within `READY_TIMEOUT_S`; otherwise the run stops with the gateway's log.
"""

from __future__ import annotations

import asyncio
import contextlib
import errno
import fcntl
import os
import socket
from collections.abc import Iterator
from pathlib import Path

import aiohttp

from wamesh.errors import ConfigError

READY_TIMEOUT_S = 60.0
_POLL_S = 0.2


@contextlib.contextmanager
def single_instance(state_dir: Path) -> Iterator[None]:
    """Hold the state folder's lock for the block; ConfigError when another run holds it."""
    state_dir.mkdir(parents=True, exist_ok=True)
    path = state_dir / "dev.lock"
    with path.open("a+") as handle:
        try:
            fcntl.flock(handle, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            handle.seek(0)
            holder = handle.read().strip() or "unknown"
            raise ConfigError(
                f"another `wamesh dev` (pid {holder}) is running on {state_dir}; stop it, "
                "or pass --state-dir for a second mesh (with other --http-port/--grpc-port)"
            ) from None
        handle.seek(0)
        handle.truncate()
        handle.write(str(os.getpid()))
        handle.flush()
        try:
            yield
        finally:
            fcntl.flock(handle, fcntl.LOCK_UN)


def require_free(host: str, port: int, what: str, flag: str) -> None:
    """ConfigError naming `flag` when `host:port` cannot be bound now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            probe.bind((host, port))
        except OSError as exc:
            if exc.errno != errno.EADDRINUSE:
                raise
            raise ConfigError(
                f"port {port} ({what}) is taken on {host}; pick another with {flag}"
            ) from None


async def wait_ready(base_url: str, log: Path, timeout_s: float = READY_TIMEOUT_S) -> None:
    """Return once `base_url/readyz` answers 200; ConfigError naming the gateway's log when the
    timeout passes first."""
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout_s
    async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=2)) as http:
        while loop.time() < deadline:
            with contextlib.suppress(aiohttp.ClientError, TimeoutError):
                async with http.get(base_url + "/readyz") as resp:
                    if resp.status == 200:
                        return
            await asyncio.sleep(_POLL_S)
    raise ConfigError(f"the gateway did not become ready in {timeout_s:.0f} s; see {log}")
