"""The dashboard's chats in real headless Chromium: create a line, scan its QR in the link
dialog, send from the send box (a text, a file) and see it as a bubble with its media preview,
see the signed delivery arrive in the dev inbox; the line's chats, groups, typing, locations,
contact cards and polls, driven through the sandbox's injections. Screenshots (a desktop's and a
phone's width) are saved under test-output/."""

from __future__ import annotations

import asyncio
import base64
import hashlib
import re
import struct
import zlib
from collections.abc import Iterator

import pytest
from playwright.async_api import Locator, Page, expect

from tests.dev.conftest import DevMesh
from tests.dev.dashboard import (
    STRANGER,
    card,
    create_line,
    dashboard_mesh,
    dashboard_page,
    inject,
    open_ready_line,
    scan_in_dialog,
    screenshots,
)


@pytest.fixture(scope="module")
def dev_mesh() -> Iterator[DevMesh]:
    """One `wamesh dev` for the module's tests."""
    yield from dashboard_mesh()


def bubble(page: Page, text: str) -> Locator:
    """The message bubble of the open chat that shows `text`."""
    return page.locator("#chat-messages li.bubble", has_text=text)


async def open_chat(page: Page, name: str) -> None:
    """Select a chat in the chat list by its name."""
    await (
        page.get_by_role("navigation", name="Chats")
        .get_by_role("button", name=name, exact=True)
        .click()
    )
    await expect(page.locator("#chat-title")).to_have_text(name)


async def send_text(page: Page, to: str, text: str) -> None:
    """Send a text from the send box."""
    await page.get_by_label("To (phone number or JID)").first.fill(to)
    await page.get_by_label("Message (a file's caption)").fill(text)
    await page.get_by_role("button", name="Send", exact=True).click()


@pytest.mark.browser
async def test_dashboard_end_to_end(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        await create_line(page, "dashboard line")
        dialog = page.get_by_role("dialog", name="Link dashboard line")
        await expect(dialog.get_by_role("img", name="QR code to scan with WhatsApp")).to_be_visible(
            timeout=20_000
        )
        await scan_in_dialog(page, "dashboard line")
        await expect(page.get_by_role("status").first).to_contain_text("Linked dashboard line as +")
        await send_text(page, "+15550001111", "Hello from wamesh")
        await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
        inbox = page.get_by_role("list", name="Received webhooks")
        sent = inbox.get_by_role("listitem").filter(has_text="message.sent")
        await expect(sent).to_contain_text("verified", timeout=20_000)
        await expect(inbox).not_to_contain_text("INVALID")
        deliveries = page.get_by_role("list", name="Deliveries, newest first")
        delivered = deliveries.get_by_role("listitem").filter(has_text="message.sent").first
        await expect(delivered).to_contain_text("delivered", timeout=20_000)
        await expect(delivered.get_by_role("list", name="Attempts")).to_contain_text("HTTP 200")
        await screenshots(page, "dashboard")


def png(width: int, height: int) -> bytes:
    """A PNG of diagonal stripes (big enough to be seen in a screenshot), written by hand."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        body = kind + data
        return struct.pack(">I", len(data)) + body + struct.pack(">I", zlib.crc32(body))

    rows = b"".join(
        b"\x00"
        + b"".join(
            bytes((40, 120, 220) if (x + y) // 8 % 2 else (250, 200, 40)) for x in range(width)
        )
        for y in range(height)
    )
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(rows))
        + chunk(b"IEND", b"")
    )


PICTURE = png(96, 64)
PDF = b"%PDF-1.4\n1 0 obj <<>> endobj\ntrailer <<>>\n%%EOF\n"


@pytest.mark.browser
async def test_dashboard_sends_files_and_shows_media_previews(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        line = await open_ready_line(page, dev_mesh, "media line")
        attach = page.get_by_label("Attach a file")
        await attach.set_input_files(
            files=[{"name": "stripes.png", "mimeType": "image/png", "buffer": PICTURE}]
        )
        await expect(page.get_by_text("image: stripes.png (")).to_be_visible()
        await send_text(page, STRANGER, "Our stripes")
        await expect(page.locator("#notice")).to_contain_text("Sent 3EB0", timeout=10_000)
        mine = bubble(page, "Our stripes")
        await expect(mine.get_by_role("img", name="image from me")).to_be_visible(timeout=10_000)
        await attach.set_input_files(
            files=[{"name": "terms.pdf", "mimeType": "application/pdf", "buffer": PDF}]
        )
        await page.get_by_role("button", name="Send", exact=True).click()
        await expect(
            page.get_by_role("link", name=f"Download document ({len(PDF)} bytes)")
        ).to_be_visible(timeout=10_000)
        _, sent = await asyncio.to_thread(dev_mesh.call, "GET", f"/v1/sessions/{line}/sandbox/sent")
        image, document = sent["messages"]
        assert (image["type"], image["text"]) == ("image", "Our stripes")
        assert image["media"]["sha256"] == hashlib.sha256(PICTURE).hexdigest()
        assert document["type"] == "document"
        assert document["media"]["sha256"] == hashlib.sha256(PDF).hexdigest()

        inbound = {"from": STRANGER, "type": "image", "text": "Theirs", "mimetype": "image/png"}
        await inject(
            dev_mesh, line, "inbound", inbound | {"media": base64.b64encode(PICTURE).decode()}
        )
        received = bubble(page, "Theirs").get_by_role(
            "img", name="image from 4915112345678@s.whatsapp.net"
        )
        await expect(received).to_be_visible(timeout=10_000)
        await expect(received).to_have_js_property("naturalWidth", 96)  # the picture, loaded
        await screenshots(page, "dashboard-chat-media", focus=page.locator("#chats-view"))

        html = b"<script>document.title = 'owned'</script>"
        stranger_page = {"from": STRANGER, "type": "document", "mimetype": "text/html"}
        stranger_page |= {"filename": "page.html", "media": base64.b64encode(html).decode()}
        await inject(dev_mesh, line, "inbound", stranger_page)
        link = page.get_by_role("link", name=f"Download document ({len(html)} bytes)")
        await expect(link).to_have_attribute("href", re.compile("^blob:"), timeout=10_000)
        await expect(link).to_have_attribute("download", "page.html")
        # a stranger's HTML is served as bytes to download, never as a page of this origin
        served = await link.evaluate("a => fetch(a.href).then((r) => r.blob()).then((b) => b.type)")
        assert served == "application/octet-stream"


@pytest.mark.browser
async def test_dashboard_shows_chats_with_sides_replies_reactions_and_typing(
    dev_mesh: DevMesh,
) -> None:
    async with dashboard_page(dev_mesh) as page:
        line = await open_ready_line(page, dev_mesh, "chat line")
        hello = "Hi <b>there</b> <img src=x onerror=alert(1)>"
        first = await inject(dev_mesh, line, "inbound", {"from": STRANGER, "text": hello})
        await inject(dev_mesh, line, "inbound", {"from": "+4915199999999", "text": "other"})
        await open_chat(page, STRANGER)
        theirs = bubble(page, hello)
        await expect(theirs).to_have_class(re.compile(r"\btheirs\b"), timeout=10_000)
        await expect(theirs.locator("b, img")).to_have_count(0)  # text, never markup
        await expect(page.locator("#chat-messages")).not_to_contain_text("other")
        await expect(page.get_by_label("To (phone number or JID)").first).to_have_value(
            "4915112345678@s.whatsapp.net"
        )
        await page.get_by_label("Message (a file's caption)").fill("Hello back")
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
        await screenshots(page, "dashboard-chats", focus=page.locator("#chats-view"))


@pytest.mark.browser
async def test_dashboard_shows_group_authors_and_participants(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
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
        await screenshots(page, "dashboard-groups", focus=page.locator("#groups-view"))


VCARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Ada Lovelace\nitem1.TEL;waid=4915100000009:+49 151 00000009\nTEL;TYPE=HOME:+44 20 7946 0000\nEND:VCARD"


@pytest.mark.browser
async def test_dashboard_renders_locations_contacts_and_polls_with_votes(
    dev_mesh: DevMesh,
) -> None:
    async with dashboard_page(dev_mesh) as page:
        line = await open_ready_line(page, dev_mesh, "structured line")
        place = {"latitude": 52.5163, "longitude": 13.3777, "name": "Brandenburger Tor"}
        place |= {"address": "Pariser Platz, Berlin", "url": "https://maps.example/tor"}
        located = {"from": STRANGER, "type": "location", "location": place}
        await inject(dev_mesh, line, "inbound", located)
        shared = {"from": STRANGER, "type": "contact"}
        shared["contacts"] = [{"name": "Ada Lovelace", "vcard": VCARD}]
        await inject(dev_mesh, line, "inbound", shared)
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
        await screenshots(page, "dashboard-structured", focus=page.locator("#chats-view"))

        # A fresh page shows the line's recent chat, replayed by the worker.
        await page.reload()
        await card(page, "structured line").get_by_role("button", name="structured line").click()
        await open_chat(page, STRANGER)
        await expect(page.locator("#chat-messages .poll")).to_contain_text("Dinner?")
        await expect(page.locator("#chat-messages .location")).to_contain_text("Berlin")
