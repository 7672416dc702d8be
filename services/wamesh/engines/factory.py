"""Build the engine a line's `sessions.engine` names."""

from __future__ import annotations

from wamesh.engines.base import Engine
from wamesh.errors import ConfigError
from wamesh.settings import Settings


def create_engine(kind: str, session_id: str, settings: Settings) -> Engine:
    """The engine of `kind` for line `session_id`."""
    if kind == "sandbox":
        from wamesh.engines.sandbox import SandboxEngine

        return SandboxEngine.from_settings(session_id, settings)
    if kind == "browser":
        from wamesh.engines.browser.engine import BrowserEngine

        return BrowserEngine.from_settings(session_id, settings)
    if kind == "whatsmeow":
        from wamesh.engines.whatsmeow import WhatsmeowEngine

        return WhatsmeowEngine.from_settings(session_id, settings)
    raise ConfigError(
        f"engine {kind!r} is not available in this build (use sandbox, browser or whatsmeow)"
    )
