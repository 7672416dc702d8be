"""The browser engine: one persistent Chromium per line on WhatsApp Web, through Playwright.

Start: the profile folder is wiped and rebuilt from the auth state PostgreSQL gave (profile.py),
Chromium is launched with `executable_path` (Debian's or Nix's; never Playwright's download),
the bridge is installed as an init script and its binding exposed, and WhatsApp Web is opened.
Events come from the bridge (events.py); commands go through `page.evaluate` with a timeout.

A watchdog pings the page; when Chromium crashes, closes or stops answering it reports
`Disconnected`, relaunches on the same profile with back-off (1, 2, 4 ... 30 s), and the line
returns to ready from the profile. `export_auth_state` archives the profile (the worker saves it
after ready, later again, periodically, and on stop).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import os
import shutil
from collections.abc import AsyncIterator
from dataclasses import dataclass
from importlib import resources
from pathlib import Path
from typing import Any

from playwright.async_api import BrowserContext, Page, Playwright, async_playwright
from playwright.async_api import Error as PlaywrightError

from wamesh.engines.base import (
    Disconnected,
    Engine,
    EngineEvent,
    Message,
    PairingCode,
    PairsByCode,
)
from wamesh.engines.browser import profile
from wamesh.engines.browser.events import Translator, pairing_code_from
from wamesh.engines.browser.rich import BrowserRich
from wamesh.engines.rich import Outgoing
from wamesh.errors import EngineError
from wamesh.settings import Settings

_LOGGER = logging.getLogger(__name__)
WHATSAPP_WEB_URL = "https://web.whatsapp.com/"
DEFAULT_USER_AGENT = (
    "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) "
    "Chrome/134.0.0.0 Safari/537.36"
)
CHROMIUM_FLAGS = (
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
    "--disable-dev-shm-usage",
    "--disable-gpu",
    "--disable-blink-features=AutomationControlled",
)
BINDING = "__wameshEmit"
BACKOFF_MAX_S = 30.0


def chromium_args(sandbox: str, euid: int) -> list[str]:
    """Chromium's flags: it refuses to run as root with its sandbox, and without unprivileged
    user namespaces (WAMESH_BROWSER_SANDBOX=off for such hosts) it cannot start one."""
    off = sandbox == "off" or (sandbox == "auto" and euid == 0)
    return [*CHROMIUM_FLAGS, *(["--no-sandbox"] if off else [])]


def bridge_script() -> str:
    """The bridge's source."""
    return (resources.files("wamesh.engines.browser") / "bridge.js").read_text()


@dataclass(frozen=True)
class BrowserConfig:
    """How one line's browser runs."""

    session_id: str
    profile: Path
    chromium: str
    url: str = WHATSAPP_WEB_URL
    user_agent: str = DEFAULT_USER_AGENT
    proxy: str | None = None
    takeover_on_conflict: bool = False
    sandbox: str = "auto"  # WAMESH_BROWSER_SANDBOX: auto | on | off
    command_timeout_s: float = 30.0
    watchdog_interval_s: float = 5.0
    # How long OPENING / PAIRING / TIMEOUT may last after ready before it counts as disconnected.
    transient_grace_s: float = 30.0

    def bridge_options(self) -> str:
        """The bridge's options, as the script line that sets them before it runs."""
        options = {
            "takeover": self.takeover_on_conflict,
            "transientGraceMs": int(self.transient_grace_s * 1000),
        }
        return f"window.__wameshOptions = {json.dumps(options)};\n"


class BrowserEngine(BrowserRich, Engine, PairsByCode):
    """A line on WhatsApp Web."""

    kind = "browser"

    def __init__(self, config: BrowserConfig) -> None:
        self._config = config
        self._queue: asyncio.Queue[EngineEvent | None] = asyncio.Queue()
        self._translator = Translator(self.media_download)
        self._playwright: Playwright | None = None
        self._context: BrowserContext | None = None
        self._page: Page | None = None
        self._watchdog: asyncio.Task[None] | None = None
        self._broken = asyncio.Event()
        self._stopping = False

    @classmethod
    def from_settings(cls, session_id: str, settings: Settings) -> BrowserEngine:
        """Configured from WAMESH_* settings."""
        return cls(
            BrowserConfig(
                session_id=session_id,
                profile=Path(settings.profile_dir).resolve() / session_id,
                chromium=settings.chromium_path or "chromium",
                url=settings.whatsapp_web_url,
                user_agent=settings.browser_user_agent or DEFAULT_USER_AGENT,
                proxy=settings.browser_proxy,
                takeover_on_conflict=settings.browser_takeover_on_conflict,
                sandbox=settings.browser_sandbox,
            )
        )

    async def start(self, auth_state: bytes | None) -> None:
        """Rebuild the profile, launch Chromium, open WhatsApp Web, start the watchdog."""
        if auth_state is None:
            await asyncio.to_thread(profile.wipe, self._config.profile)
        else:
            await asyncio.to_thread(profile.restore, self._config.profile, auth_state)
        if shutil.which(self._config.chromium) is None:
            raise EngineError(
                f"Chromium not found at {self._config.chromium!r}: install it (Debian: apt-get"
                " install -y chromium; `make dev ARGS='--engine browser'` does it)"
                " or set WAMESH_CHROMIUM_PATH"
            )
        self._playwright = await async_playwright().start()
        await self._launch()
        self._watchdog = asyncio.create_task(
            self._watch(), name=f"browser-watchdog-{self._config.session_id}"
        )

    async def stop(self) -> None:
        """Close Chromium and end the event stream."""
        if self._stopping:
            return
        self._stopping = True
        if self._watchdog is not None:
            self._watchdog.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._watchdog
        await self._close()
        if self._playwright is not None:
            with contextlib.suppress(Exception):
                await self._playwright.stop()
        self._queue.put_nowait(None)

    async def events(self) -> AsyncIterator[EngineEvent]:
        """Events until `stop`."""
        while (event := await self._queue.get()) is not None:
            yield event

    async def send_text(self, chat_id: str, text: str, message_id: str) -> Message:
        """Send through WhatsApp Web's own send action (a known message id is returned again).

        A phone number that is not on WhatsApp is refused as `not_on_whatsapp`."""
        return await self.send_message(Outgoing(chat_id, message_id, text))

    async def request_pairing_code(self, phone: str) -> PairingCode:
        """A code to type on the phone, through WhatsApp Web's alternative device linking;
        WhatsApp Web issues a fresh one every 3 minutes while the line stays unpaired."""
        code = await self._command("([p]) => window.__wamesh.requestPairingCode(p, true)", [phone])
        return pairing_code_from({"code": code, "phone": phone})

    async def logout(self) -> None:
        """Log out through WhatsApp Web; a LoggedOut event follows."""
        await self._command("() => window.__wamesh.logout()", None)

    async def export_auth_state(self) -> bytes | None:
        """The profile's IndexedDB and Local Storage, archived."""
        return await asyncio.to_thread(profile.pack, self._config.profile)

    async def _command(self, script: str, arg: Any) -> Any:
        page = self._page
        if page is None:
            raise EngineError("the browser is not running")
        try:
            return await asyncio.wait_for(
                page.evaluate(script, arg), self._config.command_timeout_s
            )
        except TimeoutError:
            raise EngineError(
                f"WhatsApp Web did not answer within {self._config.command_timeout_s} s"
            ) from None
        except PlaywrightError as exc:
            raise EngineError(
                f"WhatsApp Web refused the command: {exc.message.splitlines()[0]}"
            ) from None

    async def _launch(self) -> None:
        assert self._playwright is not None
        cfg = self._config
        args = chromium_args(cfg.sandbox, os.geteuid())
        context = await self._playwright.chromium.launch_persistent_context(
            user_data_dir=str(cfg.profile),
            executable_path=cfg.chromium,
            headless=True,
            args=args,
            user_agent=cfg.user_agent,
            proxy={"server": cfg.proxy} if cfg.proxy else None,
        )
        await context.expose_binding(BINDING, self._on_emit)
        await context.add_init_script(script=cfg.bridge_options() + bridge_script())
        context.on("close", lambda _: self._broken.set())
        page = context.pages[0] if context.pages else await context.new_page()
        page.on("crash", lambda _: self._broken.set())
        self._context, self._page = context, page
        self._broken.clear()
        await page.goto(cfg.url, wait_until="domcontentloaded")

    def _on_emit(self, source: dict[str, Any], payload: str) -> None:
        data = json.loads(payload)
        for event in self._translator.translate(data):
            self._queue.put_nowait(event)

    async def _close(self) -> None:
        context, self._context, self._page = self._context, None, None
        if context is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(context.close(), 15)

    async def _watch(self) -> None:
        delay = 1.0
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._broken.wait(), self._config.watchdog_interval_s)
            if not self._broken.is_set() and await self._answers():
                delay = 1.0
                continue
            self._queue.put_nowait(
                Disconnected("the browser crashed or stopped answering; restarting it")
            )
            await self._close()
            await asyncio.sleep(delay)
            try:
                await self._launch()
            except PlaywrightError as exc:
                _LOGGER.error("restarting the browser failed: %s", exc.message.splitlines()[0])
                self._broken.set()
            delay = min(BACKOFF_MAX_S, delay * 2)

    async def _answers(self) -> bool:
        page = self._page
        if page is None:
            return False
        try:
            await asyncio.wait_for(page.evaluate("() => 1"), self._config.command_timeout_s)
        except (TimeoutError, PlaywrightError):
            return False
        return True
