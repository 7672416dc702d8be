"""The dashboard in real headless Chromium: create a line, see its QR, scan, send, see the signed
delivery arrive in the dev inbox, verified. A screenshot is saved under test-output/."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
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


@pytest.mark.browser
async def test_dashboard_links_a_line_with_a_pairing_code(dev_mesh: DevMesh) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{dev_mesh.base}/#key={dev_mesh.api_key}")
            await page.get_by_label("Name").fill("pairing line")
            await page.get_by_role("button", name="Create line").click()
            qr = page.get_by_role("img", name="QR code to scan with WhatsApp")
            await expect(qr).to_be_visible(timeout=20_000)
            await page.get_by_label("Phone number (with country code)").fill("+1 555 000 1111")
            await page.get_by_role("button", name="Get pairing code").click()
            code = page.locator("#pairing-code")
            await expect(code).to_have_text(
                re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$"), timeout=10_000
            )
            await expect(qr).to_be_hidden(timeout=10_000)  # the code replaced the QR
            await expect(page.locator("#notice")).to_have_text("Pairing code for +15550001111")
            # a code issued elsewhere (here: another API client) shows up live, from the events
            _, listed = await asyncio.to_thread(dev_mesh.call, "GET", "/v1/sessions")
            [line] = [s["id"] for s in listed["sessions"] if s["name"] == "pairing line"]
            status, fresh = await asyncio.to_thread(
                dev_mesh.call, "POST", f"/v1/sessions/{line}/pairing-code", {"phone": "15550002222"}
            )
            assert status == 200, fresh
            await expect(code).to_have_text(fresh["code"], timeout=10_000)
            await page.screenshot(path=str(OUTPUT / "dashboard-pairing-code.png"), full_page=True)
            await page.get_by_role("button", name="Enter code (sandbox phone)").click()
            await expect(page.locator("#detail-status")).to_have_text("ready", timeout=20_000)
            await expect(page.locator("#pairing")).to_be_hidden()
        finally:
            await browser.close()


# A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


@pytest.mark.browser
async def test_dashboard_sends_an_image_and_shows_received_media(dev_mesh: DevMesh) -> None:
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            page = await browser.new_page()
            await page.goto(f"{dev_mesh.base}/#key={dev_mesh.api_key}")
            await page.get_by_label("Name").fill("media line")
            await page.get_by_role("button", name="Create line").click()
            await page.get_by_role("button", name="Scan (sandbox phone)").click(timeout=20_000)
            await expect(page.locator("#detail-status")).to_have_text("ready", timeout=20_000)
            await page.get_by_label("Image (optional)").set_input_files(
                files=[{"name": "pixel.png", "mimeType": "image/png", "buffer": PIXEL}]
            )
            await page.get_by_role("button", name="Send", exact=True).click()
            await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
            _, listed = await asyncio.to_thread(dev_mesh.call, "GET", "/v1/sessions")
            [line] = [s["id"] for s in listed["sessions"] if s["name"] == "media line"]
            _, sent = await asyncio.to_thread(
                dev_mesh.call, "GET", f"/v1/sessions/{line}/sandbox/sent"
            )
            [record] = sent["messages"]
            assert record["type"] == "image"
            assert record["media"]["sha256"] == hashlib.sha256(PIXEL).hexdigest()
            inbound = {
                "from": "+4915112345678",
                "type": "image",
                "media": base64.b64encode(PIXEL).decode(),
                "mimetype": "image/png",
            }
            status, reply = await asyncio.to_thread(
                dev_mesh.call, "POST", f"/v1/sessions/{line}/sandbox/inbound", inbound
            )
            assert status == 201, reply
            received = page.get_by_role("img", name="image from 4915112345678@s.whatsapp.net")
            await expect(received).to_be_visible(timeout=10_000)
            await expect(page.get_by_role("img", name="image from me")).to_be_visible()
            await page.screenshot(path=str(OUTPUT / "dashboard-media.png"), full_page=True)
        finally:
            await browser.close()
