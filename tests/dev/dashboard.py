"""What the dashboard tests share: a `wamesh dev` mesh whose unscanned sandbox lines fail soon,
a headless Chromium page, the steps a user takes, and screenshots at a desktop's and a phone's
width (each also checked for horizontal scrolling)."""

from __future__ import annotations

import asyncio
import contextlib
import tempfile
from collections.abc import AsyncIterator, Iterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, ViewportSize, async_playwright, expect

from tests.dev.conftest import DevMesh, start_dev, stop_dev
from tests.support.browser import CHROMIUM_ARGS, chromium_path

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"
WIDE: ViewportSize = {"width": 1280, "height": 900}
PHONE: ViewportSize = {"width": 390, "height": 844}  # an iPhone 12-15's CSS width
# launch_dev rotates sandbox QR codes every 5 s; after this many unscanned codes the line fails
# with qr_timeout, as a real line does when nobody scans (WAMESH_SANDBOX_QR_MAX_ROTATIONS).
QR_ROTATIONS_BEFORE_FAILING = 3
STRANGER = "+4915112345678"


def dashboard_mesh() -> Iterator[DevMesh]:
    """A `wamesh dev` in a scratch folder whose unscanned lines fail after 15 s, then stopped."""
    folder = Path(tempfile.mkdtemp(prefix="wamesh-dashboard-test-"))
    folder.chmod(0o755)  # initdb runs as the postgres user when the tests run as root
    with pytest.MonkeyPatch.context() as env:
        env.setenv("WAMESH_SANDBOX_QR_MAX_ROTATIONS", str(QR_ROTATIONS_BEFORE_FAILING))
        mesh = start_dev(folder)
    try:
        yield mesh
    finally:
        stop_dev(mesh)


@contextlib.asynccontextmanager
async def dashboard_page(mesh: DevMesh, viewport: ViewportSize = WIDE) -> AsyncIterator[Page]:
    """The dashboard, with the dev API key, in a fresh headless Chromium (closed afterwards);
    at the end no script error was thrown and the page's notice is not showing an error."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page(viewport=viewport)
            errors: list[str] = []
            page.on("pageerror", lambda error: errors.append(str(error)))
            await page.goto(f"{mesh.base}/#key={mesh.api_key}")
            yield page
            assert not errors, f"the dashboard's scripts failed: {errors}"
            await expect(page.locator("#notice")).not_to_have_class("bad")  # no failed call shown
        finally:
            await browser.close()


def card(page: Page, name: str) -> Locator:
    """A line's card, found as a user (or a screen reader) finds it: by the line's name."""
    return page.get_by_role("article", name=name, exact=True)


async def create_line(page: Page, name: str) -> None:
    """Create a line in the form; the link dialog opens for it."""
    await page.get_by_label("Name", exact=True).fill(name)
    await page.get_by_role("button", name="Create line").click()
    await expect(page.get_by_role("dialog", name=f"Link {name}")).to_be_visible()


async def scan_in_dialog(page: Page, name: str) -> None:
    """Scan the QR in the open link dialog with the sandbox phone; the dialog closes when ready."""
    dialog = page.get_by_role("dialog", name=f"Link {name}")
    await dialog.get_by_role("button", name="Scan (sandbox phone)").click(timeout=20_000)
    await expect(dialog).to_be_hidden(timeout=20_000)
    await expect(card(page, name).get_by_text("ready", exact=True)).to_be_visible()


async def line_id(mesh: DevMesh, name: str) -> str:
    """The id of the line called `name`."""
    _, listed = await asyncio.to_thread(mesh.call, "GET", "/v1/sessions")
    [found] = [s["id"] for s in listed["sessions"] if s["name"] == name]
    return str(found)


async def open_ready_line(page: Page, mesh: DevMesh, name: str) -> str:
    """A new sandbox line created and scanned in the dashboard (so selected); its id."""
    await create_line(page, name)
    await scan_in_dialog(page, name)
    return await line_id(mesh, name)


async def inject(mesh: DevMesh, line: str, what: str, body: dict[str, Any]) -> Any:
    """A sandbox injection (`what`: the path under .../sandbox/) that must succeed."""
    status, reply = await asyncio.to_thread(
        mesh.call, "POST", f"/v1/sessions/{line}/sandbox/{what}", body
    )
    assert status in (200, 201), reply
    return reply


async def horizontal_overflow(page: Page) -> int:
    """How many CSS pixels the page is wider than the window (0: no horizontal scrolling)."""
    wider: int = await page.evaluate(
        "Math.max(0, document.documentElement.scrollWidth - window.innerWidth)"
    )
    return wider


async def screenshots(page: Page, stem: str, focus: Locator | None = None) -> None:
    """`test-output/<stem>-wide.png` and `<stem>-390.png` (full pages); at 390 px the page must
    not scroll sideways. With `focus`, that part alone is also saved at 390 px, readable at its
    size, as `<stem>-390-detail.png`."""
    OUTPUT.mkdir(exist_ok=True)
    before = page.viewport_size or WIDE
    for size, suffix in ((WIDE, "wide"), (PHONE, "390")):
        await page.set_viewport_size(size)
        await page.evaluate("new Promise((done) => requestAnimationFrame(() => done(null)))")
        assert await horizontal_overflow(page) == 0, f"{stem} scrolls sideways at {size}"
        await page.screenshot(path=str(OUTPUT / f"{stem}-{suffix}.png"), full_page=True)
        if focus is not None and size == PHONE:
            await focus.screenshot(path=str(OUTPUT / f"{stem}-{suffix}-detail.png"))
    await page.set_viewport_size(before)
