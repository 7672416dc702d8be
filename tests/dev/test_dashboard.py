"""The dashboard in real headless Chromium: create a line, see its QR, scan, send, see the signed
delivery arrive in the dev inbox, verified; the line's chats, groups and typing, driven through the
sandbox's injections. Screenshots are saved under test-output/."""

from __future__ import annotations

import asyncio
import base64
import contextlib
import hashlib
import re
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Locator, Page, async_playwright, expect

from tests.dev.conftest import DevMesh
from tests.support.browser import CHROMIUM_ARGS, chromium_path

OUTPUT = Path(__file__).resolve().parents[2] / "test-output"


@contextlib.asynccontextmanager
async def dashboard_page() -> AsyncIterator[Page]:
    """A page of a fresh headless Chromium, closed afterwards."""
    async with async_playwright() as pw:
        browser = await pw.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS, headless=True
        )
        try:
            yield await browser.new_page()
        finally:
            await browser.close()


async def open_ready_line(page: Page, mesh: DevMesh, name: str) -> str:
    """A new sandbox line created and scanned in the dashboard; its id."""
    await page.goto(f"{mesh.base}/#key={mesh.api_key}")
    await page.get_by_label("Name").fill(name)
    await page.get_by_role("button", name="Create line").click()
    await page.get_by_role("button", name="Scan (sandbox phone)").click(timeout=20_000)
    await expect(page.locator("#detail-status")).to_have_text("ready", timeout=20_000)
    _, listed = await asyncio.to_thread(mesh.call, "GET", "/v1/sessions")
    [line] = [s["id"] for s in listed["sessions"] if s["name"] == name]
    return line


async def inject(mesh: DevMesh, line: str, what: str, body: dict[str, Any]) -> Any:
    """A sandbox injection (`what`: the path under .../sandbox/) that must succeed."""
    status, reply = await asyncio.to_thread(
        mesh.call, "POST", f"/v1/sessions/{line}/sandbox/{what}", body
    )
    assert status in (200, 201), reply
    return reply


def bubble(page: Page, text: str) -> Locator:
    """The message bubble of the open chat that shows `text`."""
    return page.locator("#chat-messages li.bubble", has_text=text)


async def open_chat(page: Page, name: str) -> None:
    """Select a chat in the chat list by its name."""
    await page.locator("#chat-list").get_by_role("button", name=name, exact=True).click()
    await expect(page.locator("#chat-title")).to_have_text(name)


STRANGER = "+4915112345678"


@pytest.mark.browser
async def test_dashboard_end_to_end(dev_mesh: DevMesh) -> None:
    OUTPUT.mkdir(exist_ok=True)
    async with dashboard_page() as page:
        await page.goto(f"{dev_mesh.base}/#key={dev_mesh.api_key}")
        await page.get_by_label("Name").fill("dashboard line")
        await page.get_by_role("button", name="Create line").click()
        await expect(page.get_by_role("img", name="QR code to scan with WhatsApp")).to_be_visible(
            timeout=20_000
        )
        await page.get_by_role("button", name="Scan (sandbox phone)").click()
        await expect(page.locator("#detail-status")).to_have_text("ready", timeout=20_000)
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
        inbox = page.locator("#inbox tbody")
        await expect(inbox).to_contain_text("message.sent", timeout=20_000)
        await expect(inbox).to_contain_text("verified")
        await expect(inbox).not_to_contain_text("INVALID")
        await expect(page.locator("#deliveries tbody")).to_contain_text("delivered", timeout=20_000)
        await page.screenshot(path=str(OUTPUT / "dashboard.png"), full_page=True)


@pytest.mark.browser
async def test_dashboard_links_a_line_with_a_pairing_code(dev_mesh: DevMesh) -> None:
    async with dashboard_page() as page:
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


# A 1x1 PNG.
PIXEL = base64.b64decode(
    "iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR4nGNgYGD4DwABBAEAwS2OUAAAAABJRU5ErkJggg=="
)


@pytest.mark.browser
async def test_dashboard_sends_an_image_and_shows_received_media(dev_mesh: DevMesh) -> None:
    async with dashboard_page() as page:
        line = await open_ready_line(page, dev_mesh, "media line")
        await page.get_by_label("Image (optional)").set_input_files(
            files=[{"name": "pixel.png", "mimeType": "image/png", "buffer": PIXEL}]
        )
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
        _, sent = await asyncio.to_thread(dev_mesh.call, "GET", f"/v1/sessions/{line}/sandbox/sent")
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
        await expect(page.get_by_role("img", name="image from me")).to_be_visible()
        await open_chat(page, "+4915112345678")
        received = page.get_by_role("img", name="image from 4915112345678@s.whatsapp.net")
        await expect(received).to_be_visible(timeout=10_000)
        await expect(page.get_by_role("img", name="image from me")).to_have_count(0)
        html = b"<script>document.title = 'owned'</script>"
        document = {"from": STRANGER, "type": "document", "mimetype": "text/html"}
        document |= {"filename": "page.html", "media": base64.b64encode(html).decode()}
        await inject(dev_mesh, line, "inbound", document)
        link = page.get_by_role("link", name=f"Download document ({len(html)} bytes)")
        await expect(link).to_have_attribute("href", re.compile("^blob:"), timeout=10_000)
        await expect(link).to_have_attribute("download", "page.html")
        # a stranger's HTML is served as bytes to download, never as a page of this origin
        served = await link.evaluate("a => fetch(a.href).then((r) => r.blob()).then((b) => b.type)")
        assert served == "application/octet-stream"
        await page.screenshot(path=str(OUTPUT / "dashboard-media.png"), full_page=True)


@pytest.mark.browser
async def test_dashboard_shows_chats_with_sides_replies_reactions_and_typing(
    dev_mesh: DevMesh,
) -> None:
    async with dashboard_page() as page:
        line = await open_ready_line(page, dev_mesh, "chat line")
        hello = "Hi <b>there</b> <img src=x onerror=alert(1)>"
        first = await inject(dev_mesh, line, "inbound", {"from": STRANGER, "text": hello})
        await inject(dev_mesh, line, "inbound", {"from": "+4915199999999", "text": "other"})
        await open_chat(page, STRANGER)
        theirs = bubble(page, hello)
        await expect(theirs).to_have_class(re.compile(r"\btheirs\b"), timeout=10_000)
        await expect(theirs.locator("b, img")).to_have_count(0)  # text, never markup
        await expect(page.locator("#chat-messages")).not_to_contain_text("other")
        await expect(page.get_by_label("To (phone number or JID)")).to_have_value(
            "4915112345678@s.whatsapp.net"
        )
        await page.get_by_label("Text (the caption of an image)").fill("Hello back")
        await page.get_by_role("button", name="Send", exact=True).click()
        mine = bubble(page, "Hello back")
        await expect(mine).to_have_class(re.compile(r"\bmine\b"), timeout=10_000)
        await expect(mine.locator(".ack")).to_have_attribute("title", "read", timeout=10_000)
        await expect(theirs.locator(".ack")).to_have_count(0)
        _, sent = await asyncio.to_thread(dev_mesh.call, "GET", f"/v1/sessions/{line}/sandbox/sent")
        [record] = sent["messages"]
        assert record["chat_id"] == "4915112345678@s.whatsapp.net"

        reply = {"from": STRANGER, "text": "Quoting you", "reply_to": record["id"]}
        await inject(dev_mesh, line, "inbound", reply)
        await expect(bubble(page, "Quoting you").locator(".quote")).to_contain_text("Hello back")
        message_id = first["message"]["id"]
        reaction = {"from": STRANGER, "message_id": message_id, "emoji": "\N{THUMBS UP SIGN}"}
        await inject(dev_mesh, line, "reaction", reaction)
        await expect(theirs.locator(".reactions")).to_have_text("\N{THUMBS UP SIGN}")
        await inject(dev_mesh, line, "reaction", {**reaction, "emoji": ""})
        await expect(theirs.locator(".reactions")).to_have_count(0)

        presence = {"chat_id": STRANGER, "jid": STRANGER, "presence": "typing"}
        await inject(dev_mesh, line, "presence", presence)
        await expect(page.locator("#chat-typing")).to_have_text("typing\u2026")
        await inject(dev_mesh, line, "presence", {**presence, "presence": "paused"})
        await expect(page.locator("#chat-typing")).to_have_text("")
        await inject(dev_mesh, line, "presence", {**presence, "presence": "recording"})
        await expect(page.locator("#chat-typing")).to_have_text("recording\u2026")

        edit = {"from": STRANGER, "message_id": message_id, "text": "Hi, edited"}
        await inject(dev_mesh, line, "edit", edit)
        await expect(bubble(page, "Hi, edited")).to_contain_text("edited")
        await inject(dev_mesh, line, "revoke", {"from": STRANGER, "message_id": message_id})
        await expect(page.locator("#chat-messages .revoked")).to_have_text(
            "This message was deleted"
        )
        await page.screenshot(path=str(OUTPUT / "dashboard-chats.png"), full_page=True)


@pytest.mark.browser
async def test_dashboard_shows_group_authors_and_participants(dev_mesh: DevMesh) -> None:
    async with dashboard_page() as page:
        line = await open_ready_line(page, dev_mesh, "group line")
        members = [{"jid": "+4915100000001", "is_admin": True}, {"jid": "+4915100000002"}]
        group = {"subject": "Climbing club", "participants": members}
        created = await inject(dev_mesh, line, "groups", group)
        said = {"from": created["group_id"], "author": "+4915100000002", "text": "Who is in?"}
        await inject(dev_mesh, line, "inbound", said)
        await open_chat(page, "Climbing club")
        await expect(bubble(page, "Who is in?").locator(".author")).to_have_text("+4915100000002")
        await page.get_by_role("button", name="Climbing club (2 participants)").click()
        rows = page.locator("#group-participants tbody tr")
        await expect(rows).to_have_count(2)
        await expect(rows.filter(has_text="+4915100000001")).to_contain_text("admin")
        await expect(rows.filter(has_text="+4915100000002")).to_contain_text("member")
        change = {"action": "add", "participants": ["+4915100000003"]}
        await inject(dev_mesh, line, f"groups/{created['group_id']}/participants", change)
        await expect(rows).to_have_count(3)  # the group.participants event refreshed it
        presence = {"chat_id": created["group_id"], "jid": "+4915100000001"}
        await inject(dev_mesh, line, "presence", {**presence, "presence": "typing"})
        await expect(page.locator("#chat-typing")).to_have_text("+4915100000001 is typing\u2026")
        await page.screenshot(path=str(OUTPUT / "dashboard-groups.png"), full_page=True)


VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada Lovelace\nitem1.TEL;waid=4915100000009:+49 151 00000009\nTEL;TYPE=HOME:+44 20 7946 0000\nEND:VCARD"


@pytest.mark.browser
async def test_dashboard_renders_locations_contacts_and_polls_with_votes(
    dev_mesh: DevMesh,
) -> None:
    async with dashboard_page() as page:
        line = await open_ready_line(page, dev_mesh, "structured line")
        place = {"latitude": 52.5163, "longitude": 13.3777, "name": "Brandenburger Tor"}
        place |= {"address": "Pariser Platz, Berlin", "url": "https://maps.example/tor"}
        located = {"from": STRANGER, "type": "location", "location": place}
        await inject(dev_mesh, line, "inbound", located)
        card = {"from": STRANGER, "type": "contact"}
        card["contacts"] = [{"name": "Ada Lovelace", "vcard": VCARD}]
        await inject(dev_mesh, line, "inbound", card)
        question = {"question": "Dinner?", "options": ["Pizza", "Sushi"], "selectable_count": 1}
        poll = await inject(
            dev_mesh, line, "inbound", {"from": STRANGER, "type": "poll", "poll": question}
        )
        await open_chat(page, STRANGER)
        where = page.locator("#chat-messages .location")
        await expect(where).to_contain_text("Brandenburger Tor")
        await expect(where).to_contain_text("Pariser Platz, Berlin")
        osm = where.get_by_role("link", name=re.compile("OpenStreetMap"))
        await expect(osm).to_have_attribute(
            "href",
            re.compile(r"^https://www\.openstreetmap\.org/\?mlat=52\.5163&mlon=13\.3777"),
        )
        await expect(where.get_by_role("link", name="https://maps.example/tor")).to_have_attribute(
            "href", "https://maps.example/tor"
        )
        contact = page.locator("#chat-messages .contacts li")
        await expect(contact).to_contain_text("Ada Lovelace")
        await expect(contact.locator(".phone")).to_have_text(
            ["+49 151 00000009", "+44 20 7946 0000"]
        )
        options = page.locator("#chat-messages .poll li")
        await expect(page.locator("#chat-messages .poll")).to_contain_text("Dinner?")
        await expect(options).to_have_text(["Pizza0 votes", "Sushi0 votes"])
        vote = {"from": STRANGER, "chat_id": STRANGER, "message_id": poll["message"]["id"]}
        await inject(dev_mesh, line, "poll-vote", {**vote, "selected": ["Sushi"]})
        await expect(options).to_have_text(["Pizza0 votes", "Sushi1 vote"])
        await inject(dev_mesh, line, "poll-vote", {**vote, "selected": ["Pizza"]})
        await expect(options).to_have_text(["Pizza1 vote", "Sushi0 votes"])  # replaced
        await inject(dev_mesh, line, "poll-vote", {**vote, "selected": []})
        await expect(options).to_have_text(["Pizza0 votes", "Sushi0 votes"])  # withdrawn
        await page.screenshot(path=str(OUTPUT / "dashboard-structured.png"), full_page=True)

        # A fresh page shows the line's recent chat, replayed by the worker.
        await page.reload()
        await page.locator("#lines").get_by_role("button", name="structured line").click()
        await open_chat(page, STRANGER)
        await expect(page.locator("#chat-messages .poll")).to_contain_text("Dinner?")
        await expect(page.locator("#chat-messages .location")).to_contain_text("Berlin")
