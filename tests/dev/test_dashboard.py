"""The dashboard in real headless Chromium: create a line, see its QR, scan, send, see the signed
delivery arrive in the dev inbox, verified. A screenshot is saved under test-output/."""

from __future__ import annotations

from pathlib import Path

import pytest
from playwright.async_api import async_playwright, expect

from tests.dev.conftest import DevMesh
from tests.support.browser import CHROMIUM_ARGS, chromium_path

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@pytest.mark.browser
async def test_dashboard_end_to_end(dev_mesh: DevMesh) -> None:
    OUTPUT.mkdir(exist_ok=True)
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{dev_mesh.base}/#key={dev_mesh.api_key}")
            await page.get_by_label("Name").fill("dashboard line")
            await page.get_by_role("button", name="Create line").click()
            await expect(
                page.get_by_role("img", name="QR code to scan with WhatsApp")
            ).to_be_visible(timeout=20_000)
            await page.get_by_role("button", name="Scan (sandbox phone)").click()
            await expect(page.locator("#detail-status")).to_have_text("ready", timeout=20_000)
            await page.get_by_role("button", name="Send", exact=True).click()
            await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
            inbox = page.locator("#inbox tbody")
            await expect(inbox).to_contain_text("message.sent", timeout=20_000)
            await expect(inbox).to_contain_text("verified")
            await expect(inbox).not_to_contain_text("INVALID")
            await expect(page.locator("#deliveries tbody")).to_contain_text(
                "delivered", timeout=20_000
            )
            await page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)
        finally:
            await browser.close()
