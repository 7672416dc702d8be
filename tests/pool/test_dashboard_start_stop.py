"""The dashboard's Start/Stop buttons on a line's card, in real headless Chromium against
`wamesh dev` (whose supervisor runs a worker only for lines that want one): Stop lets the line's
worker go (status `stopped`, no worker), Start gives it one again, still paired (its auth state
was saved on the way out)."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import expect

from tests.dev.conftest import DevMesh
from tests.dev.dashboard import card, dashboard_mesh, dashboard_page, open_ready_line


@pytest.fixture(scope="module")
def dev_mesh() -> Iterator[DevMesh]:
    """One `wamesh dev` for the module's tests."""
    yield from dashboard_mesh()


@pytest.mark.browser
async def test_stop_and_start_a_line_from_its_card(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        line = await open_ready_line(page, dev_mesh, "switched line")
        shown = card(page, "switched line")
        await expect(shown).to_contain_text("Wants a worker" + "yes")

        await shown.get_by_role("button", name="Stop").click()
        await expect(page.locator("#notice")).to_have_text("Stopped switched line: stopped")
        await expect(shown.get_by_text("stopped", exact=True)).to_be_visible(timeout=20_000)
        await expect(shown).to_contain_text("none running", timeout=20_000)
        await expect(shown).to_contain_text("Wants a workerno (stopped)")
        await expect(shown.get_by_role("button", name="Restart")).to_have_count(0)
        # It stays stopped: the supervisor does not bring its worker back.
        await asyncio.sleep(3)
        _, reply = await asyncio.to_thread(dev_mesh.call, "GET", f"/v1/sessions/{line}")
        assert (reply["desired_state"], reply["worker"]) == ("stopped", None)

        await shown.get_by_role("button", name="Start").click()
        await expect(page.locator("#notice")).to_have_text("Started switched line: started")
        await expect(shown.get_by_text("ready", exact=True)).to_be_visible(timeout=30_000)
        await expect(shown).to_contain_text(re.compile(r"Worker127\.0\.0\.1:\d+ \(pid \d+\)"))
        await expect(shown.get_by_role("button", name="Stop")).to_be_visible()
