"""Logging setup: one line per record, JSON by default, with the request id and the line id
when there are ones (`request_id` is set per REST request and per gRPC call, from the gateway's
`x-request-id` metadata in a worker; `line_id` once per session worker).

Secrets never reach a log line: callers never pass them, and `redact` masks the values of keys
that look secret in any mapping logged as `extra`.
"""

from __future__ import annotations

import contextvars
import json
import logging
import sys
import time
from typing import Any

request_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("request_id", default=None)
line_id: contextvars.ContextVar[str | None] = contextvars.ContextVar("line_id", default=None)

_SECRET_WORDS = ("secret", "key", "token", "password", "authorization", "auth_state")
_STANDARD = frozenset(logging.makeLogRecord({}).__dict__) | {"message", "asctime"}


def redact(fields: dict[str, Any]) -> dict[str, Any]:
    """A copy with the values of secret-looking keys masked."""
    return {
        k: "***" if any(w in k.lower() for w in _SECRET_WORDS) else v for k, v in fields.items()
    }


class JsonFormatter(logging.Formatter):
    """`{"ts","level","logger","msg",...extra}` per line."""

    def format(self, record: logging.LogRecord) -> str:
        """Render one record."""
        line: dict[str, Any] = {
            "ts": time.strftime("%Y-%m-%dT%H:%M:%S", time.gmtime(record.created))
            + f".{int(record.msecs):03d}Z",
            "level": record.levelname.lower(),
            "logger": record.name,
            "msg": record.getMessage(),
        }
        rid = request_id.get()
        if rid:
            line["request_id"] = rid
        lid = line_id.get()
        if lid:
            line["line_id"] = lid
        extra = {k: v for k, v in record.__dict__.items() if k not in _STANDARD}
        line.update(redact(extra))
        if record.exc_info:
            line["exc"] = self.formatException(record.exc_info)
        return json.dumps(line, default=str)


class TextFormatter(logging.Formatter):
    """`time level logger: message [line=... request=...]`, the ids only when there are ones."""

    def __init__(self) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s: %(message)s")

    def format(self, record: logging.LogRecord) -> str:
        """Render one record, then the ids of the line and request it belongs to."""
        text = super().format(record)
        ids = [f"{name}={value}" for name, value in _ids()]
        return f"{text} [{' '.join(ids)}]" if ids else text


def _ids() -> list[tuple[str, str]]:
    """The line and request ids of the running task, those that are set."""
    found = (("line", line_id.get()), ("request", request_id.get()))
    return [(name, value) for name, value in found if value]


def configure(level: str = "info", fmt: str = "json") -> None:
    """Install the root handler once per process."""
    handler = logging.StreamHandler(sys.stderr)
    if fmt == "json":
        handler.setFormatter(JsonFormatter())
    else:
        handler.setFormatter(TextFormatter())
    root = logging.getLogger()
    root.handlers[:] = [handler]
    root.setLevel(level.upper())
    for noisy in ("aiohttp.access", "taskiq.receiver.receiver", "psycopg.pool"):
        logging.getLogger(noisy).setLevel(max(root.level, logging.WARNING))


class OncePer:
    """Lets a repeated warning through once per `interval_s`, counting the ones held back, so an
    outage is said once per interval instead of once per retry."""

    def __init__(self, logger: logging.Logger, interval_s: float) -> None:
        self._logger = logger
        self._interval_s = interval_s
        self._next = 0.0
        self._held = 0

    def warning(self, message: str, *args: object) -> None:
        """Log now if the interval has passed, else count it."""
        now = time.monotonic()
        if now < self._next:
            self._held += 1
            return
        if self._held:
            message += f" ({self._held} more like it since the last)"
        self._logger.warning(message, *args)
        self._next, self._held = now + self._interval_s, 0

    def recovered(self, message: str) -> None:
        """Say once that the trouble is over (only if a warning was logged)."""
        if self._next:
            self._logger.info(message)
        self._next, self._held = 0.0, 0
