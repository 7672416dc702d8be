"""Child processes of `wamesh dev`: each in its own process group, restarted with back-off.

A child that exits is started again after 1, 2, 4 ... 30 seconds (reset after a minute of good
health), unless its exit code says not to (`final_codes`). Stopping sends SIGTERM to the whole
group, waits, then SIGKILLs the group, so no grandchild (Chromium, taskiq's workers) stays
behind. On Linux each child also gets SIGTERM if `wamesh dev` itself dies (PR_SET_PDEATHSIG).
"""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import logging
import os
import signal
import sys
import time
from collections.abc import Callable, Sequence
from pathlib import Path

_LOGGER = logging.getLogger(__name__)
_PR_SET_PDEATHSIG = 1
BACKOFF_START_S = 1.0
BACKOFF_MAX_S = 30.0
HEALTHY_AFTER_S = 60.0
STOP_GRACE_S = 15.0


def _die_with_parent() -> None:
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


def wamesh_command(*args: str) -> list[str]:
    """`python -m wamesh ARGS` with this interpreter."""
    return [sys.executable, "-m", "wamesh", *args]


class Child:
    """One supervised process."""

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        env: dict[str, str],
        log_dir: Path,
        *,
        final_codes: frozenset[int] = frozenset(),
        on_exit: Callable[[Child, int], None] | None = None,
    ) -> None:
        self.name = name
        self._argv = list(argv)
        self._env = env
        self._log = log_dir / f"{name}.log"
        self._final_codes = final_codes
        self._on_exit = on_exit
        self._proc: asyncio.subprocess.Process | None = None
        self._task: asyncio.Task[None] | None = None
        self._stopping = False

    @property
    def pid(self) -> int | None:
        """The running process's pid."""
        return self._proc.pid if self._proc and self._proc.returncode is None else None

    def start(self) -> None:
        """Run and keep running until `stop`."""
        self._task = asyncio.create_task(self._run(), name=f"child-{self.name}")

    async def stop(self) -> None:
        """SIGTERM the group, wait, SIGKILL what is left."""
        self._stopping = True
        proc = self._proc
        if proc is not None and proc.returncode is None:
            _signal_group(proc.pid, signal.SIGTERM)
            try:
                await asyncio.wait_for(proc.wait(), STOP_GRACE_S)
            except TimeoutError:
                _LOGGER.warning("%s did not stop in %ss; killing it", self.name, STOP_GRACE_S)
            _signal_group(proc.pid, signal.SIGKILL)
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def stopping(self) -> bool:
        """True once `stop` was called."""
        return self._stopping

    async def _run(self) -> None:
        delay = BACKOFF_START_S
        while not self._stopping:
            started = time.monotonic()
            code = await self._run_once()
            if self.stopping():
                return
            if self._on_exit is not None:
                self._on_exit(self, code)
            if code in self._final_codes:
                _LOGGER.info("%s exited with %s; not restarting", self.name, code)
                return
            delay = (
                BACKOFF_START_S
                if time.monotonic() - started > HEALTHY_AFTER_S
                else min(delay * 2, BACKOFF_MAX_S)
            )
            _LOGGER.warning(
                "%s exited with %s; restarting in %.0fs (log: %s)",
                self.name,
                code,
                delay,
                self._log,
            )
            await asyncio.sleep(delay)

    async def _run_once(self) -> int:
        self._log.parent.mkdir(parents=True, exist_ok=True)
        with self._log.open("ab") as out:
            self._proc = await asyncio.create_subprocess_exec(
                *self._argv,
                env=self._env,
                stdout=out,
                stderr=out,
                start_new_session=True,
                preexec_fn=_die_with_parent,
            )
        code = await self._proc.wait()
        _signal_group(self._proc.pid, signal.SIGKILL)
        return code


def _signal_group(pid: int, sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(pid, sig)


def base_env(extra: dict[str, str]) -> dict[str, str]:
    """This process's environment with `extra` on top."""
    return {**os.environ, **extra}
