"""Memory of one sandbox session worker process: RSS after start (QR shown) and when ready.

Run with `make bench` (or `uv run python -m tests.bench.bench_worker_memory`). The baseline is a
bare Python interpreter that imports nothing of ours, measured in the same run.
"""

from __future__ import annotations

import asyncio
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import grpc.aio

from tests.support.infra import fresh_database, fresh_redis, start_infra
from tests.support.memory import pss_kib
from tests.support.workers import create_line, spawn_worker, worker_env
from wamesh.v1 import session_pb2, session_pb2_grpc


def uss_kib(pid: int) -> int:
    """Unique set size (pages no other process shares): what one more line costs, in KiB."""
    fields = {}
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        name, _, rest = line.partition(":")
        if name in ("Private_Clean", "Private_Dirty"):
            fields[name] = int(rest.split()[0])
    return sum(fields.values())


def rss_kib(pid: int) -> int:
    """Resident set size of a process, in KiB."""
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise RuntimeError(f"no VmRSS for pid {pid}")


async def _scan(address: str, session_id: str) -> None:
    async with grpc.aio.insecure_channel(address) as channel:
        await session_pb2_grpc.SandboxServiceStub(channel).Scan(
            session_pb2.ScanRequest(session_id=session_id)
        )


def main() -> None:
    """Print the RSS of a worker idle with a QR and idle when ready, against a bare interpreter."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-bench-"))
    workdir.chmod(0o755)
    with (
        start_infra(workdir / "servers") as infra,
        fresh_database(infra) as db,
        fresh_redis(infra) as rds,
    ):
        line = create_line(db)
        worker = spawn_worker(line, worker_env(db, rds, workdir), workdir / "logs")
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(30)"])
        try:
            address = worker.wait_registered()
            time.sleep(2)
            qr_rss = rss_kib(worker.proc.pid)
            asyncio.run(_scan(address, line))
            time.sleep(2)
            ready_rss = rss_kib(worker.proc.pid)
            base = rss_kib(bare.pid)
        finally:
            bare.kill()
            worker.kill()
    print("sandbox worker memory (RSS)")
    print(f"  bare python interpreter : {base / 1024:7.1f} MiB (baseline)")
    for label, kib in (("worker, showing a QR", qr_rss), ("worker, ready and idle", ready_rss)):
        print(f"  {label:<24}: {kib / 1024:7.1f} MiB ({kib / base:.1f}x baseline)")


FLEET = 4


def whatsmeow_pss() -> None:
    """PSS of offline whatsmeow workers (their proxy a closed loopback port) beside a sandbox
    worker and a bare interpreter, all measured in the same run: one worker alone, then the mean
    of FLEET workers side by side (the Go library's and Python's shared pages are then split
    between them, as on a machine serving many lines), and the unique pages of each (USS: what
    one more line costs when many run on one machine)."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-bench-"))
    workdir.chmod(0o755)
    with (
        start_infra(workdir / "servers") as infra,
        fresh_database(infra) as db,
        fresh_redis(infra) as rds,
    ):
        env = worker_env(db, rds, workdir, WAMESH_WHATSMEOW_PROXY="socks5://127.0.0.1:9")
        meow = spawn_worker(create_line(db, engine="whatsmeow"), env, workdir / "logs")
        sandbox = spawn_worker(create_line(db), env, workdir / "logs")
        bare = subprocess.Popen([sys.executable, "-c", "import time; time.sleep(120)"])
        fleet = []
        try:
            meow.wait_registered(timeout=60)
            sandbox.wait_registered(timeout=60)
            time.sleep(10)  # a few reconnect attempts behind it
            figures = {
                "bare python interpreter": pss_kib(bare.pid),
                "sandbox worker (QR shown)": pss_kib(sandbox.proc.pid),
                "whatsmeow worker (offline)": pss_kib(meow.proc.pid),
            }
            for _ in range(FLEET - 1):
                fleet.append(
                    spawn_worker(create_line(db, engine="whatsmeow"), env, workdir / "logs")
                )
            for worker in fleet:
                worker.wait_registered(timeout=60)
            time.sleep(10)
            pids = [meow.proc.pid, *(w.proc.pid for w in fleet)]
            figures[f"whatsmeow, mean of {FLEET}"] = sum(pss_kib(pid) for pid in pids) // FLEET
            figures["whatsmeow, unique (USS)"] = sum(uss_kib(pid) for pid in pids) // FLEET
            figures["sandbox, unique (USS)"] = uss_kib(sandbox.proc.pid)
        finally:
            bare.kill()
            for worker in (meow, sandbox, *fleet):
                worker.kill()
    base = figures["bare python interpreter"]
    print("worker memory (PSS)")
    for label, kib in figures.items():
        print(f"  {label:<28}: {kib / 1024:7.1f} MiB ({kib / base:.1f}x baseline)")


if __name__ == "__main__":
    main()
    whatsmeow_pss()
