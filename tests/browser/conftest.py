"""The stand-in WhatsApp Web on loopback, and browser engines pointed at it."""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from aiohttp import web
from playwright.async_api import Page, async_playwright

from tests.support.browser import CHROMIUM_ARGS, chromium_path
from wamesh.engines.base import EngineEvent
from wamesh.engines.browser.engine import BrowserConfig, BrowserEngine
from wamesh.settings import Settings

STANDIN = Path(__file__).resolve().parent / "standin"


class Standin:
    """The stand-in's server: its URL and the log of remote-control commands its pages poll."""

    def __init__(self) -> None:
        self.url = ""
        self.log: list[dict[str, Any]] = []
        self._added = asyncio.Event()

    async def control(self, cmd: str, *args: Any) -> None:
        """Run `window.__standin.<cmd>(*args)` in every open stand-in page."""
        self.log.append({"cmd": cmd, "args": list(args)})
        self._added.set()
        self._added = asyncio.Event()

    async def _next(self, request: web.Request) -> web.Response:
        after = int(request.query.get("after", "-1"))
        if after < 0:
            return web.json_response({"seq": len(self.log), "commands": []})
        if len(self.log) <= after:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._added.wait(), timeout=1.0)
        return web.json_response({"seq": len(self.log), "commands": self.log[after:]})


@pytest.fixture
async def standin() -> AsyncIterator[Standin]:
    """The stand-in WhatsApp Web on loopback (QR refs rotate every 1.5 s)."""
    served = Standin()
    app = web.Application()

    async def index(request: web.Request) -> web.FileResponse:
        return web.FileResponse(STANDIN / "index.html")

    app.router.add_get("/", index)
    app.router.add_get("/__control/next", served._next)
    app.router.add_static("/", STANDIN)
    # A page that goes away must not take a queued command with it: cancel its pending poll.
    runner = web.AppRunner(app, shutdown_timeout=0.5, handler_cancellation=True)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    served.url = f"http://127.0.0.1:{runner.addresses[0][1]}/?ref_ms=1500"
    yield served
    await runner.cleanup()


@pytest.fixture
def standin_url(standin: Standin) -> str:
    """The stand-in page's URL."""
    return standin.url


PageSetup = Callable[[Page], Awaitable[None]]


@pytest.fixture
async def standin_pages(standin: Standin) -> AsyncIterator[Callable[..., Awaitable[Page]]]:
    """`await standin_pages(query, setup=None)`: a plain Playwright page on the stand-in.

    Each page gets its own fresh browser context (an empty profile); `query` replaces the
    stand-in URL's query string; `setup(page)` runs before the page loads the stand-in.
    """
    async with async_playwright() as playwright:
        browser = await playwright.chromium.launch(
            executable_path=chromium_path(), args=CHROMIUM_ARGS
        )

        async def open_page(query: str = "", setup: PageSetup | None = None) -> Page:
            context = await browser.new_context()
            page = await context.new_page()
            if setup is not None:
                await setup(page)
            base = standin.url.split("?", 1)[0]
            await page.goto(f"{base}?{query}" if query else standin.url)
            return page

        try:
            yield open_page
        finally:
            await browser.close()


class EngineRun:
    """A started engine with its events collected in the background."""

    def __init__(self, engine: BrowserEngine) -> None:
        self.engine = engine
        self.events: list[EngineEvent] = []
        self._arrived = asyncio.Event()
        self._task = asyncio.create_task(self._collect())

    async def _collect(self) -> None:
        async for event in self.engine.events():
            self.events.append(event)
            self._arrived.set()

    async def wait_for(self, kind: type, timeout: float = 30) -> Any:
        """The first event of `kind` (waiting for it)."""
        async with asyncio.timeout(timeout):
            while True:
                found = [e for e in self.events if isinstance(e, kind)]
                if found:
                    return found[0]
                self._arrived.clear()
                await self._arrived.wait()

    async def count(self, kind: type, n: int, timeout: float = 30) -> list[Any]:
        """Wait for `n` events of `kind`."""
        async with asyncio.timeout(timeout):
            while len(found := [e for e in self.events if isinstance(e, kind)]) < n:
                self._arrived.clear()
                await self._arrived.wait()
            return found

    async def page(self, script: str, arg: Any = None) -> Any:
        """Run the stand-in's control API in the page."""
        page = self.engine._page
        assert page is not None
        return await page.evaluate(script, arg)

    async def stop(self) -> None:
        await self.engine.stop()
        await self._task


@pytest.fixture
async def start_engine(standin_url: str, tmp_path: Path) -> AsyncIterator[Callable[..., Any]]:
    """`await start_engine(auth_state=None, profile=...)` runs a BrowserEngine on the stand-in."""
    runs: list[EngineRun] = []

    async def start(
        auth_state: bytes | None = None, profile: Path | None = None, **extra: Any
    ) -> EngineRun:
        config = BrowserConfig(
            session_id="browser-test",
            profile=profile or tmp_path / "profile",
            chromium=chromium_path(),
            url=extra.pop("url", standin_url),
            watchdog_interval_s=1.0,
            # WAMESH_BROWSER_SANDBOX=off for a non-root run on a host without user namespaces
            sandbox=Settings.from_env(os.environ).browser_sandbox,
            **extra,
        )
        engine = BrowserEngine(config)
        await engine.start(auth_state)
        run = EngineRun(engine)
        runs.append(run)
        return run

    yield start
    for run in runs:
        await run.stop()
