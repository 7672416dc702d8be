"""A real `wamesh dev` mesh for the dev-mode tests, started once per module in a scratch folder."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest

from wamesh.dev.servers import free_port


@dataclass
class DevMesh:
    """A running `wamesh dev`."""

    proc: subprocess.Popen[bytes]
    folder: Path
    http_port: int
    log: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.http_port}"

    @property
    def api_key(self) -> str:
        return (self.folder / ".wamesh" / "api-key").read_text()

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """A JSON call with the dev API key."""
        data = None if body is None else json.dumps(body).encode()
        request = urllib.request.Request(
            self.base + path,
            data=data,
            method=method,
            headers={"X-Api-Key": self.api_key, "Content-Type": "application/json"},
        )
        try:
            with urllib.request.urlopen(request, timeout=15) as resp:
                raw = resp.read()
                return resp.status, json.loads(raw) if raw else None
        except urllib.error.HTTPError as exc:
            return exc.code, json.loads(exc.read() or b"null")

    def output(self) -> str:
        return self.log.read_text(errors="replace")


def descendants(pid: int) -> set[int]:
    """Every process whose ancestry includes `pid` (children start their own sessions)."""
    parents: dict[int, int] = {}
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            parents[int(entry.name)] = int(fields[1])
    found, frontier = set(), {pid}
    while frontier:
        frontier = {child for child, parent in parents.items() if parent in frontier} - found
        found |= frontier
    return found


def alive(pids: set[int]) -> set[int]:
    """The pids still running (zombies count as gone)."""
    living = set()
    for pid in pids:
        try:
            state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
        except OSError:
            continue
        if state != "Z":
            living.add(pid)
    return living


def launch_dev(folder: Path, *extra: str, http_port: int = 0, grpc_port: int = 0) -> DevMesh:
    """`wamesh dev` started in `folder` (free ports unless given; private servers)."""
    http_port, grpc_port = http_port or free_port(), grpc_port or free_port()
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL")}
    env["WAMESH_SANDBOX_QR_INTERVAL_S"] = "5"
    log = folder / f"dev-{time.monotonic_ns()}.log"
    ports = ["--http-port", str(http_port), "--grpc-port", str(grpc_port)]
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wamesh", "dev", *ports, "--no-terminal-qr", *extra],
            cwd=folder,
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return DevMesh(proc, folder, http_port, log)


def start_dev(folder: Path) -> DevMesh:
    """`wamesh dev` in `folder`, once it says it is up; by then it must answer (no retries)."""
    mesh = launch_dev(folder)
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        if mesh.proc.poll() is not None:
            raise AssertionError(f"wamesh dev exited with {mesh.proc.returncode}:\n{mesh.output()}")
        if "wamesh dev is up." in mesh.output():
            with urllib.request.urlopen(mesh.base + "/readyz", timeout=5) as resp:
                assert resp.status == 200, mesh.output()
            return mesh
        time.sleep(0.1)
    raise AssertionError(f"wamesh dev did not say it was up within 120 s:\n{mesh.output()}")


def stop_dev(mesh: DevMesh) -> None:
    """SIGTERM and wait."""
    if mesh.proc.poll() is None:
        mesh.proc.send_signal(signal.SIGTERM)
        try:
            mesh.proc.wait(timeout=90)
        except subprocess.TimeoutExpired:
            os.killpg(mesh.proc.pid, signal.SIGKILL)
            mesh.proc.wait()


@pytest.fixture(scope="module")
def dev_mesh() -> Iterator[DevMesh]:
    """One `wamesh dev` for the module's tests."""
    folder = Path(tempfile.mkdtemp(prefix="wamesh-dev-test-"))
    folder.chmod(0o755)
    mesh = start_dev(folder)
    try:
        yield mesh
    finally:
        stop_dev(mesh)
