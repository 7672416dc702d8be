"""Shared pieces of the benchmarks: servers, percentiles, CPU time, a loopback receiver process."""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

from tests.support.infra import Infra, start_infra
from wamesh.dev.servers import free_port

RECEIVER = """
import json, sys, time
from aiohttp import web
arrivals = {}
async def hook(request):
    await request.read()
    arrivals[request.headers.get("webhook-id", str(len(arrivals)))] = time.time()
    return web.Response(status=204)
async def stats(request):
    return web.json_response(arrivals)
app = web.Application()
app.router.add_post("/hook", hook)
app.router.add_get("/stats", stats)
web.run_app(app, host="127.0.0.1", port=int(sys.argv[1]), print=None, access_log=None)
"""


def percentile(values: list[float], pct: float) -> float:
    """The pct-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(pct / 100 * len(ordered)) - 1))]


def summary(latencies_s: list[float]) -> str:
    """p50/p99 in milliseconds."""
    p50, p99 = percentile(latencies_s, 50) * 1000, percentile(latencies_s, 99) * 1000
    return f"p50 {p50:.1f} ms, p99 {p99:.1f} ms"


@contextmanager
def bench_infra() -> Iterator[tuple[Infra, Path]]:
    """Private PostgreSQL and Redis in a throw-away folder."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-bench-"))
    workdir.chmod(0o755)
    with start_infra(workdir / "servers") as infra:
        yield infra, workdir


@contextmanager
def receiver_process(script: str = RECEIVER) -> Iterator[str]:
    """A loopback webhook receiver (`script`, given its port, answering `/stats`) in its own
    process; yields its base URL."""
    port = free_port()
    proc = subprocess.Popen([sys.executable, "-c", script, str(port)])
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            try:
                urllib.request.urlopen(base + "/stats", timeout=1).close()
                break
            except OSError:
                time.sleep(0.05)
        yield base
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def median(values: list[float]) -> float:
    """The median."""
    return statistics.median(values)


def cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (/proc/<pid>/stat utime + stime)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
