"""A process's resident memory from /proc: its current size, a peak that can be reset, its
proportional share."""

from __future__ import annotations

from pathlib import Path


def status_kib(pid: int, field: str) -> int:
    """A KiB field of /proc/<pid>/status (VmRSS: resident now; VmHWM: peak since the reset)."""
    for row in Path(f"/proc/{pid}/status").read_text().splitlines():
        if row.startswith(field + ":"):
            return int(row.split()[1])
    raise AssertionError(f"no {field} in /proc/{pid}/status")


def reset_peak(pid: int) -> None:
    """Reset VmHWM to the current VmRSS, so it then reports the peak from now on."""
    Path(f"/proc/{pid}/clear_refs").write_text("5")


def pss_kib(pid: int) -> int:
    """Proportional set size of a process (shared pages split fairly), in KiB."""
    for line in Path(f"/proc/{pid}/smaps_rollup").read_text().splitlines():
        if line.startswith("Pss:"):
            return int(line.split()[1])
    raise RuntimeError(f"no Pss for pid {pid}")
