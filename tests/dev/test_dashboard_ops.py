"""The dashboard's operator parts in real headless Chromium: a line's reminders (created, sent by
the line's worker, cancelled), its webhook deliveries with every attempt shown inline and a failed
one redelivered, and the whole page on a phone's width without sideways scrolling. Screenshots (a
desktop's and a phone's width) are saved under test-output/."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from playwright.async_api import Locator, Page, expect

from tests.dev.conftest import DevMesh
from tests.dev.dashboard import (
    PHONE,
    STRANGER,
    card,
    create_line,
    dashboard_mesh,
    dashboard_page,
    horizontal_overflow,
    inject,
    open_ready_line,
    screenshots,
)


@pytest.fixture(scope="module")
def dev_mesh() -> Iterator[DevMesh]:
    """One `wamesh dev` for the module's tests."""
    yield from dashboard_mesh()


def reminders(page: Page) -> Locator:
    """The reminder list's items."""
    return page.get_by_role("list", name="Reminders").get_by_role("listitem")


async def local_time(page: Page, seconds_ahead: int) -> str:
    """A time `seconds_ahead` from now as a datetime-local field takes it, in the browser's zone."""
    moment: str = await page.evaluate(
        "(ahead) => { const t = new Date(Date.now() + ahead * 1000);"
        " return new Date(t - t.getTimezoneOffset() * 60000).toISOString().slice(0, 19); }",
        seconds_ahead,
    )
    return moment


async def create_reminder(page: Page, text: str, due: str, repeat: str = "") -> None:
    """Fill the new-reminder form and submit it."""
    form = page.get_by_role("form", name="New reminder")
    await form.get_by_label("To (phone number or JID)").fill(STRANGER)
    await form.get_by_label("Text").fill(text)
    await form.get_by_label("Due (your time)").fill(due)
    if repeat:
        await form.get_by_label("Repeat unit").select_option(repeat)
        await form.get_by_label("every").fill("2")
    await form.get_by_role("button", name="Create reminder").click()
    await expect(page.locator("#notice")).to_contain_text("Reminder set for")


@pytest.mark.browser
async def test_reminders_are_listed_created_sent_and_cancelled(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        await open_ready_line(page, dev_mesh, "reminder line")
        await create_reminder(page, "Pay the rent", await local_time(page, 3600), repeat="days")
        await create_reminder(page, "Water the plants", await local_time(page, 7200))
        await create_reminder(page, "Stand up", await local_time(page, 2))
        rent = reminders(page).filter(has_text="Pay the rent")
        await expect(rent).to_contain_text("every 2 days, #1")
        await expect(rent.get_by_text("pending", exact=True)).to_be_visible()
        sent = reminders(page).filter(has_text="Stand up")
        await expect(sent.locator(".badge")).to_have_text("sent", timeout=20_000)
        await expect(sent.get_by_role("button")).to_have_count(0)  # nothing left to cancel

        await rent.get_by_role("button", name="Cancel reminder: Pay the rent").click()
        await expect(page.locator("#notice")).to_have_text(
            "Cancelled the reminder to +4915112345678"
        )
        await expect(rent.get_by_text("cancelled", exact=True)).to_be_visible()
        await expect(rent.get_by_role("button")).to_have_count(0)
        await page.get_by_label("Show reminders").select_option("pending")
        await expect(reminders(page)).to_have_count(1)
        await expect(reminders(page)).to_contain_text("Water the plants")
        await page.get_by_label("Show reminders").select_option("")
        await expect(reminders(page)).to_have_count(3)
        # the line's worker really sent the due one
        await expect(page.locator("#chat-messages")).to_contain_text("Stand up")
        await screenshots(page, "dashboard-reminders", focus=page.locator("#reminders-view"))


def deliveries(page: Page) -> Locator:
    """The delivery log's items."""
    return page.get_by_role("list", name="Deliveries, newest first").get_by_role("listitem")


@pytest.mark.browser
async def test_a_failed_delivery_shows_its_attempts_and_is_redelivered(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh) as page:
        line = await open_ready_line(page, dev_mesh, "webhook line")
        # A URL that answers 404 (the dev inbox of no line): the worker gives up at once.
        webhook = page.get_by_role("form", name="Webhook")
        nowhere = f"{dev_mesh.base}/dev/inbox/{uuid.uuid4()}"
        await webhook.get_by_label("Webhook URL (empty: none)").fill(nowhere)
        await webhook.get_by_role("button", name="Save webhook").click()
        await expect(page.locator("#notice")).to_have_text(f"Webhooks go to {nowhere}")
        await inject(dev_mesh, line, "inbound", {"from": STRANGER, "text": "Anyone there?"})
        await page.get_by_label("Show deliveries").select_option("failed")
        failed = deliveries(page).filter(has_text="message.received")
        await expect(failed.get_by_text("failed", exact=True)).to_be_visible(timeout=20_000)
        attempts = failed.get_by_role("list", name="Attempts").get_by_role("listitem")
        await expect(attempts).to_have_count(1)
        await expect(attempts).to_contain_text("HTTP 404")
        await expect(failed).to_contain_text("Gave up:")

        await webhook.get_by_role("button", name="Use the dev inbox").click()
        await expect(page.locator("#notice")).to_contain_text(f"/dev/inbox/{line}")
        await page.get_by_label("Show deliveries").select_option("")
        redo = deliveries(page).filter(has_text="message.received")
        await redo.get_by_role("button", name="Redeliver message.received").click()
        await expect(page.locator("#notice")).to_have_text("Queued message.received again")
        await expect(redo.get_by_text("delivered", exact=True)).to_be_visible(timeout=20_000)
        tries = redo.get_by_role("list", name="Attempts").get_by_role("listitem")
        await expect(tries).to_have_count(2)
        await expect(tries.nth(0)).to_contain_text("HTTP 404")
        await expect(tries.nth(1)).to_contain_text("HTTP 200")
        inbox = page.get_by_role("list", name="Received webhooks").get_by_role("listitem")
        await expect(inbox.filter(has_text="message.received")).to_contain_text("verified")
        await screenshots(page, "dashboard-deliveries", focus=page.locator("#deliveries-view"))


@pytest.mark.browser
async def test_the_dashboard_fits_a_phone_without_sideways_scrolling(dev_mesh: DevMesh) -> None:
    async with dashboard_page(dev_mesh, PHONE) as page:
        long_name = "a-line-whose-name-never-breaks-" * 6
        await create_line(page, long_name)
        await page.keyboard.press("Escape")
        line = await open_ready_line(page, dev_mesh, "phone line")
        unbroken = "x" * 300
        await inject(dev_mesh, line, "inbound", {"from": STRANGER, "text": unbroken})
        await expect(page.locator("#chat-messages")).to_contain_text(unbroken, timeout=10_000)
        await expect(page.get_by_role("list", name="Received webhooks")).to_contain_text(
            "message.received", timeout=20_000
        )
        assert await horizontal_overflow(page) == 0
        scroll_width = await page.evaluate("document.documentElement.scrollWidth")
        assert scroll_width <= PHONE["width"]
        # the cards stack: one column, one under the other
        first = await card(page, long_name).bounding_box()
        second = await card(page, "phone line").bounding_box()
        assert first is not None
        assert second is not None
        assert first["x"] == second["x"]
        assert second["y"] >= first["y"] + first["height"]
        assert first["x"] + first["width"] <= PHONE["width"]
        await screenshots(page, "dashboard-phone")
