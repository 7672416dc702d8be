"""Process-level helpers shared by every long-running command.

Cheap to import (no asyncio): `wamesh.cli` imports it first, to turn the collector off before
anything else loads."""

from __future__ import annotations

import contextlib
import gc
import signal
from collections.abc import Iterator
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    import asyncio


def install_stop_signals(stop: asyncio.Event) -> None:
    """SIGTERM and SIGINT set `stop` (the command then shuts down in its documented order)."""
    import asyncio  # loaded by the caller already; not at the top (see the module docstring)

    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with contextlib.suppress(NotImplementedError):
            loop.add_signal_handler(sig, stop.set)


@contextlib.contextmanager
def no_collection_while_starting() -> Iterator[None]:
    """Start-up (imports, set-up) makes objects that live as long as the process and little
    garbage, so the cyclic collector's passes over them are wasted (about a tenth of the CPU a
    session worker's imports take): collect nothing meanwhile, then move what was made out of
    its sight (`gc.freeze`), so later passes skip it too."""
    gc.disable()
    try:
        yield
    finally:
        gc.freeze()
        gc.enable()
