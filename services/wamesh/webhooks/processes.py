"""`wamesh worker --processes N`: N delivery processes sharing the stream, under one parent.

Each child is a whole webhook worker (`worker.run_worker`): its own consumer in the stream's one
consumer group, so Redis hands each kick to one child; its own pools, claims, circuits and
reconciler. Nothing is delivered twice because a row is claimed in PostgreSQL before its POST (a
second kick of it does nothing), and nothing is lost when a child dies: its claims expire, its
held lines lapse, and the reconciler of the others (SKIP LOCKED, so they never kick the same rows
in one round) kicks those rows again, exactly as when a single worker dies. Per-line places and
an endpoint's circuit are each child's own: a line may have N x WEBHOOK_PER_SESSION_INFLIGHT
attempts in flight, and a new or failing endpoint N at a time.

The parent holds no connection. It restarts a child that exits on its own (back-off
RESTART_FIRST_S doubling to RESTART_MAX_S), forwards SIGTERM/SIGINT to every child and waits for
them, and its children die with it (PR_SET_PDEATHSIG on Linux): a kill -9 of the parent is a
kill -9 of the whole worker, never orphans delivering on their own.
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import math
import os
import signal
import sys
from pathlib import Path

from wamesh.process import install_stop_signals

_LOGGER = logging.getLogger(__name__)
DEFAULT_MAX = 4
RESTART_FIRST_S = 1.0
RESTART_MAX_S = 30.0
CHILD_GRACE_S = 30.0  # beyond the child's own SHUTDOWN_WAIT_S
PR_SET_PDEATHSIG = 1
CGROUP_CPU_MAX = Path("/sys/fs/cgroup/cpu.max")


def default_count() -> int:
    """One process per CPU this process may use, leaving one for the rest (PostgreSQL, Redis,
    the OS), at least 1 and at most DEFAULT_MAX."""
    return max(1, min(DEFAULT_MAX, usable_cpus() - 1))


def usable_cpus() -> int:
    """CPUs this process may run on, within its cgroup's CPU quota (a container limited to 1 CPU
    on a 16-core host has 1)."""
    try:
        cpus = len(os.sched_getaffinity(0))
    except AttributeError:  # not Linux
        cpus = os.cpu_count() or 1
    quota = _cgroup_quota()
    return max(1, min(cpus, math.ceil(quota))) if quota else cpus


def _cgroup_quota(path: Path = CGROUP_CPU_MAX) -> float | None:
    """cgroup v2's `cpu.max` as CPUs (quota / period); None when unlimited or unknown."""
    try:
        quota, period = path.read_text().split()[:2]
    except (OSError, ValueError):
        return None
    if quota == "max":
        return None
    return int(quota) / int(period)


def _die_with_parent() -> None:
    """In the child, before exec: be killed when the parent dies (Linux only)."""
    with contextlib.suppress(OSError, AttributeError):
        libc = ctypes.CDLL(None, use_errno=True)
        libc.prctl(PR_SET_PDEATHSIG, signal.SIGKILL)
    if os.getppid() == 1:  # the parent died before the call above
        os._exit(1)


async def _run_child(index: int, stop: asyncio.Event) -> None:
    """Keep child `index` running until `stop`, then stop it."""
    env = {**os.environ, "WEBHOOK_PROCESSES": "1"}
    delay = RESTART_FIRST_S
    while not stop.is_set():
        proc = await asyncio.create_subprocess_exec(
            sys.executable,
            "-m",
            "wamesh",
            "worker",
            env=env,
            preexec_fn=_die_with_parent,  # the parent runs no other thread
        )
        exited = asyncio.ensure_future(proc.wait())
        stopping = asyncio.ensure_future(stop.wait())
        await asyncio.wait({exited, stopping}, return_when=asyncio.FIRST_COMPLETED)
        stopping.cancel()
        if not exited.done():
            await _stop_child(proc, exited)
            return
        _LOGGER.warning(
            "webhook worker process %d exited with %s; starting it again in %.0f s",
            index,
            proc.returncode,
            delay,
        )
        with contextlib.suppress(TimeoutError):
            await asyncio.wait_for(stop.wait(), delay)
        delay = min(RESTART_MAX_S, delay * 2)


async def _stop_child(proc: asyncio.subprocess.Process, exited: asyncio.Future[int]) -> None:
    """SIGTERM, then SIGKILL if it has not exited within its grace."""
    with contextlib.suppress(ProcessLookupError):
        proc.send_signal(signal.SIGTERM)
    try:
        await asyncio.wait_for(asyncio.shield(exited), CHILD_GRACE_S)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await exited


async def supervise(count: int) -> int:
    """Run `count` worker processes until SIGTERM/SIGINT."""
    stop = asyncio.Event()
    install_stop_signals(stop)
    _LOGGER.info("webhook worker: %d processes", count)
    await asyncio.gather(*(_run_child(i, stop) for i in range(count)))
    return 0
