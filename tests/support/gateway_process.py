"""A real `wamesh gateway` process for tests that need one outside the test's event loop."""

from __future__ import annotations

import os
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from wamesh.dev.servers import free_port


@dataclass(frozen=True)
class GatewayProcess:
    """Where the gateway listens."""

    base_url: str
    grpc_port: int
    proc: subprocess.Popen[bytes]


@contextmanager
def gateway_process(env: dict[str, str], log: Path) -> Iterator[GatewayProcess]:
    """Start `wamesh gateway` on free ports, wait for /healthz, stop it (SIGTERM) afterwards."""
    http_port, grpc_port = free_port(), free_port()
    full_env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "WAMESH_GATEWAY_HTTP_PORT": str(http_port),
        "WAMESH_GATEWAY_GRPC_PORT": str(grpc_port),
        "WAMESH_LOG_LEVEL": "warning",
        **env,
    }
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wamesh", "gateway"],
            env=full_env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    base = f"http://127.0.0.1:{http_port}"
    try:
        _wait_healthy(base, proc, log)
        yield GatewayProcess(base, grpc_port, proc)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def _wait_healthy(base: str, proc: subprocess.Popen[bytes], log: Path) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise AssertionError(f"gateway exited with {proc.returncode}:\n{log.read_text()}")
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=1) as resp:
                if resp.status == 200:
                    return
        except OSError:
            time.sleep(0.1)
    raise AssertionError(f"gateway not healthy within 30 s:\n{log.read_text()}")
