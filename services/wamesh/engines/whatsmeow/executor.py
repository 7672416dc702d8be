"""The thread pool neonize's calls run on.

Every neonize call is `asyncio.to_thread(...)` (neonize/aioze/client.py `GoCode`), i.e. a thread
of the loop's default executor, and the call that connects (`Neonize()` in Go) keeps its thread
for the whole session. asyncio's default pool has min(32, cpu + 4) threads: 6 on a 2-core host,
so six sessions (or one session and five slow media uploads) starve every later call, sends
included. The engine therefore installs, once per event loop, a default executor of `THREADS`
threads; ThreadPoolExecutor starts threads only when work waits for one, so the size costs
nothing until used. Per line: 1 thread for the session, the rest for calls.
"""

from __future__ import annotations

import asyncio
import weakref
from concurrent.futures import ThreadPoolExecutor

THREADS = 64
_INSTALLED: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, ThreadPoolExecutor] = (
    weakref.WeakKeyDictionary()
)


def install(loop: asyncio.AbstractEventLoop, threads: int = THREADS) -> ThreadPoolExecutor:
    """Make a pool of `threads` the default executor of `loop` (once; later calls reuse it)."""
    executor = _INSTALLED.get(loop)
    if executor is None:
        executor = ThreadPoolExecutor(max_workers=threads, thread_name_prefix="whatsmeow")
        loop.set_default_executor(executor)
        _INSTALLED[loop] = executor
    return executor
