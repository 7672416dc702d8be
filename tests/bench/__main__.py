"""Run every `bench_*.py` module's `main()` (`make bench`), or those named as arguments."""

from __future__ import annotations

import importlib
import pkgutil
import signal
import sys

import tests.bench


def main() -> None:
    """Run the benchmarks in name order (SIGTERM still runs their clean-up)."""
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    wanted = set(sys.argv[1:])
    for info in sorted(pkgutil.iter_modules(tests.bench.__path__), key=lambda m: m.name):
        if info.name.startswith("bench_") and (not wanted or info.name in wanted):
            print(f"== {info.name}", flush=True)
            importlib.import_module(f"tests.bench.{info.name}").main()


main()
