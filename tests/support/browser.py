"""Debian's Chromium for Playwright (Playwright's own browser download cannot work here)."""

from __future__ import annotations

import os
import shutil

CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-dev-shm-usage",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]


def chromium_path() -> str:
    """The Chromium binary, or an error that says how to install it."""
    path = (
        os.environ.get("WAMESH_CHROMIUM_PATH")
        or shutil.which("chromium")
        or shutil.which("chromium-browser")
    )
    if path is None:
        raise RuntimeError(
            "Chromium is needed for this test: apt-get install -y chromium (make test does it)"
        )
    return path
