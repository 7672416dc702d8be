"""What an unpaired sandbox line shows: rotating QR codes, or pairing codes for a phone number.

QR codes rotate every `qr_interval_s`; the line fails after `qr_max_rotations` unscanned codes.
Pairing by phone number replaces them with an 8-character code of WhatsApp's pairing alphabet
shown as `XXXX-XXXX` (whatsmeow's pair-code.go: five random bytes in base32 over
"123456789ABCDEFGHJKLMNPQRSTVWXYZ"), valid `pairing_code_ttl_s` (180 s: whatsapp-web.js asks for a
fresh code every 180000 ms). While the line stays unpaired a fresh code replaces it at expiry, up
to `qr_max_rotations` codes, then the line fails as it does unscanned; asking again starts over
with a new code.
"""

from __future__ import annotations

import asyncio
import secrets
from collections.abc import Callable
from datetime import UTC, datetime, timedelta

from wamesh.engines.base import EngineEvent, Failed, PairingCode, Qr
from wamesh.engines.sandbox.config import SandboxConfig
from wamesh.errors import Conflict, Unprocessable

PAIRING_CODE_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTVWXYZ"


def new_pairing_code() -> str:
    """Eight random characters of WhatsApp's pairing alphabet (40 bits), shown as `XXXX-XXXX`."""
    code = "".join(secrets.choice(PAIRING_CODE_ALPHABET) for _ in range(8))
    return f"{code[:4]}-{code[4:]}"


class PairingScreen:
    """The QR codes or pairing codes one unpaired line shows, each on its own timer."""

    def __init__(self, config: SandboxConfig, emit: Callable[[EngineEvent], None]) -> None:
        self._config = config
        self._emit = emit
        self._qr_task: asyncio.Task[None] | None = None
        self._code_task: asyncio.Task[None] | None = None
        self._pairing: PairingCode | None = None

    def show_qr(self) -> None:
        """Start showing rotating QR codes."""
        self._qr_task = asyncio.create_task(self._rotate_qr(), name="sandbox-qr")

    def show_codes(self, phone: str) -> PairingCode:
        """Show pairing codes for `phone` instead of what the line shows now."""
        if not (_running(self._qr_task) or _running(self._code_task)):
            raise Conflict("the line is not waiting to be paired")
        self.hide()
        pairing = self._show_code(phone)
        self._code_task = asyncio.create_task(self._rotate_codes(phone), name="sandbox-code")
        return pairing

    def check_scan(self) -> None:
        """InvalidInput unless a QR code is showing."""
        if self._pairing is not None:
            raise Conflict("the line shows a pairing code, not a QR code")
        if not _running(self._qr_task):
            raise Conflict("the line is not showing a QR code")

    def check_code(self, code: str) -> None:
        """InvalidInput unless `code`, as typed, is the unexpired code showing."""
        pending = self._pairing
        if (
            pending is None
            or datetime.now(UTC) >= pending.expires_at
            or not secrets.compare_digest(_typed_code(code), _typed_code(pending.code))
        ):
            raise Unprocessable("wrong or expired pairing code", "code")

    def hide(self) -> None:
        """Stop showing codes (the line paired, or shows something else)."""
        for task in (self._qr_task, self._code_task):
            if task is not None:
                task.cancel()
        self._pairing = None

    def timers(self) -> list[asyncio.Task[None]]:
        """The timer tasks started so far, for the engine to await when it stops."""
        return [t for t in (self._qr_task, self._code_task) if t is not None]

    def _show_code(self, phone: str) -> PairingCode:
        expires = datetime.now(UTC) + timedelta(seconds=self._config.pairing_code_ttl_s)
        expires = expires.replace(microsecond=expires.microsecond // 1000 * 1000)  # as events say
        self._pairing = PairingCode(new_pairing_code(), phone, expires)
        self._emit(self._pairing)
        return self._pairing

    async def _rotate_qr(self) -> None:
        interval = self._config.qr_interval_s
        for rotation in range(1, self._config.qr_max_rotations + 1):
            expires = datetime.now(UTC) + timedelta(seconds=interval)
            code = f"2@{secrets.token_urlsafe(24)},{secrets.token_urlsafe(32)},sandbox,{rotation}"
            self._emit(Qr(code, expires, rotation))
            await asyncio.sleep(interval)
        rotations = self._config.qr_max_rotations
        self._emit(Failed(f"QR code not scanned after {rotations} rotations", "qr_timeout"))

    async def _rotate_codes(self, phone: str) -> None:
        codes = self._config.qr_max_rotations
        for _ in range(codes - 1):
            await asyncio.sleep(self._config.pairing_code_ttl_s)
            self._show_code(phone)
        await asyncio.sleep(self._config.pairing_code_ttl_s)
        self._pairing = None
        self._emit(Failed(f"pairing code not entered after {codes} codes", "qr_timeout"))


def _typed_code(code: str) -> bytes:
    """A code as typed, compared without case, spaces or the dash."""
    return code.strip().upper().replace("-", "").replace(" ", "").encode()


def _running(task: asyncio.Task[None] | None) -> bool:
    return task is not None and not task.done()
