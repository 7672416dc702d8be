"""The dashboard's lines in real headless Chromium: cards with live status, a line that fails as a
real one does (its QR not scanned in time) shows why and is restarted from the dashboard, log out
and delete ask first in a dialog, and the link dialog (QR, pairing code) is a keyboard-friendly
modal. Screenshots (a desktop's and a phone's width) are saved under test-output/."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Iterator

import pytest
from playwright.async_api import Page, expect
from playwright.async_api import TimeoutError as PlaywrightTimeoutError

from tests.dev.conftest import DevMesh
from tests.dev.dashboard import (
    PHONE,
    QR_ROTATIONS_BEFORE_FAILING,
    card,
    create_line,
    dashboard_mesh,
    dashboard_page,
    line_id,
    open_ready_line,
    scan_in_dialog,
    screenshots,
)

# launch_dev's 5 s QR interval times the rotations, plus room for a loaded machine.
FAILS_WITHIN_MS = (5 * QR_ROTATIONS_BEFORE_FAILING + 30) * 1000
# What the sandbox engine says (wamesh/engines/sandbox/pairing.py), as the line's last_error.
QR_TIMEOUT_REASON = r"qr_timeout: QR code not scanned after \d+ rotations?"


@pytest.fixture(scope="module")
def dev_mesh() -> Iterator[DevMesh]:
    """One `wamesh dev` for the module's tests."""
    yield from dashboard_mesh()


async def notice(page: Page) -> str:
    """What the page's status line says."""
    return await page.locator("#notice").inner_text()


@pytest.mark.browser
async def test_a_line_not_scanned_in_time_shows_why_and_restarts_from_its_card(
    dev_mesh: DevMesh,
) -> None:
    async with dashboard_page(dev_mesh) as page:
        await create_line(page, "doomed line")
        dialog = page.get_by_role("dialog", name="Link doomed line")
        await expect(
            dialog.get_by_role("img", name="QR code to scan with WhatsApp")
        ).to_be_visible()
        # Nobody scans: the dialog says why the line failed and offers a restart.
        await expect(dialog).to_contain_text(
            re.compile(f"failed: {QR_TIMEOUT_REASON}"), timeout=FAILS_WITHIN_MS
        )
        await expect(dialog.get_by_role("img")).to_be_hidden()
        await expect(dialog.get_by_role("button", name="Restart the line")).to_be_visible()
        await page.keyboard.press("Escape")
        await expect(dialog).to_be_hidden()
        await expect(page.get_by_role("button", name="Create line")).to_be_focused()  # its opener

        doomed = card(page, "doomed line")
        await expect(doomed.get_by_text("failed", exact=True)).to_be_visible()
        await expect(doomed).to_contain_text(re.compile(f"Reason: {QR_TIMEOUT_REASON}"))
        await expect(doomed.get_by_role("button", name="Log out")).to_have_count(0)
        await screenshots(page, "dashboard-line-failed", focus=page.locator("#lines-view"))

        await doomed.get_by_role("button", name="Restart").click()
        await expect(page.locator("#notice")).to_have_text(
            re.compile(r"^Restarted doomed line: (starting|qr)$")
        )
        await expect(doomed.get_by_text("qr", exact=True)).to_be_visible(timeout=20_000)
        await expect(doomed).not_to_contain_text("Reason:")
        await doomed.get_by_role("button", name="Link (QR or code)").click()
        await expect(
            dialog.get_by_role("img", name="QR code to scan with WhatsApp")
        ).to_be_visible()
        await scan_in_dialog(page, "doomed line")
        await expect(doomed.get_by_role("button", name="Log out")).to_be_visible()
        _, line = await asyncio.to_thread(
            dev_mesh.call, "GET", f"/v1/sessions/{await line_id(dev_mesh, 'doomed line')}"
        )
        assert (line["status"], line["last_error"]) == ("ready", None)
        await screenshots(page, "dashboard-line-restarted", focus=page.locator("#lines-view"))


@pytest.mark.browser
async def test_log_out_and_delete_ask_first_then_act_on_the_card(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        await open_ready_line(page, dev_mesh, "short-lived line")
        line = card(page, "short-lived line")
        confirm = page.get_by_role("dialog", name=re.compile("^Log out short-lived line"))
        await line.get_by_role("button", name="Log out").click()
        await expect(confirm).to_be_visible()
        await expect(confirm.get_by_role("button", name="Cancel")).to_be_focused()
        await page.keyboard.press("Escape")  # changes nothing
        await expect(confirm).to_be_hidden()
        await expect(line.get_by_role("button", name="Log out")).to_be_focused()
        await expect(line.get_by_text("ready", exact=True)).to_be_visible()

        await line.get_by_role("button", name="Log out").click()
        await confirm.get_by_role("button", name="Log out").click()
        await expect(line.get_by_text("logged_out", exact=True)).to_be_visible(timeout=10_000)
        await expect(line).to_contain_text("Reason: logged out by request")
        await expect(line.get_by_text("not linked", exact=True)).to_be_visible()

        await line.get_by_role("button", name="Delete").click()
        deleting = page.get_by_role("dialog", name=re.compile("^Delete short-lived line"))
        await deleting.get_by_role("button", name="Delete").click()
        await expect(line).to_have_count(0)
        assert await notice(page) == "Deleted short-lived line"
        _, listed = await asyncio.to_thread(dev_mesh.call, "GET", "/v1/sessions")
        assert "short-lived line" not in [s["name"] for s in listed["sessions"]]


@pytest.mark.browser
async def test_the_link_dialog_pairs_by_code_and_fits_a_phone(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh, PHONE) as page:
        await create_line(page, "pairing line")
        dialog = page.get_by_role("dialog", name="Link pairing line")
        qr = dialog.get_by_role("img", name="QR code to scan with WhatsApp")
        await expect(qr).to_be_visible(timeout=20_000)
        # modal: the focus is inside, the page behind is inert
        assert await dialog.evaluate("(d) => d.contains(document.activeElement)")
        with pytest.raises(PlaywrightTimeoutError):  # the backdrop takes the click
            await page.get_by_role("button", name="Create line").click(trial=True, timeout=1000)
        box = await dialog.bounding_box()
        assert box is not None
        assert box["x"] >= 0, box
        assert box["x"] + box["width"] <= PHONE["width"], box
        assert box["y"] >= 0, box
        assert box["y"] + box["height"] <= PHONE["height"], box

        await dialog.get_by_label("Phone number (with country code)").fill("+1 555 000 1111")
        await dialog.get_by_role("button", name="Get pairing code").click()
        code = dialog.locator("output")
        await expect(code).to_have_text(
            re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$"), timeout=10_000
        )
        await expect(qr).to_be_hidden(timeout=10_000)  # the code replaced the QR
        await expect(page.locator("#notice")).to_have_text("Pairing code for +15550001111")
        # a code issued elsewhere (here: another API client) shows up live, from the events
        line = await line_id(dev_mesh, "pairing line")
        status, fresh = await asyncio.to_thread(
            dev_mesh.call, "POST", f"/v1/sessions/{line}/pairing-code", {"phone": "15550002222"}
        )
        assert status == 200, fresh
        await expect(code).to_have_text(fresh["code"], timeout=10_000)
        await screenshots(page, "dashboard-pairing-code", focus=dialog)
        await dialog.get_by_role("button", name="Enter code (sandbox phone)").click()
        await expect(dialog).to_be_hidden(timeout=20_000)
        await expect(card(page, "pairing line").get_by_text("ready", exact=True)).to_be_visible()
