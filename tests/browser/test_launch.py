"""A browser line on a machine without Chromium fails with a reason that says what to install."""

from __future__ import annotations

from pathlib import Path

import pytest

from wamesh.engines.browser.engine import BrowserConfig, BrowserEngine
from wamesh.errors import EngineError


async def test_missing_chromium_is_named_with_how_to_install_it(tmp_path: Path) -> None:
    missing = str(tmp_path / "no-such-chromium")
    engine = BrowserEngine(
        BrowserConfig(
            session_id="no-chromium",
            profile=tmp_path / "profile",
            chromium=missing,
            url="about:blank",
        )
    )
    with pytest.raises(EngineError) as caught:
        await engine.start(None)
    message = str(caught.value)
    assert missing in message
    assert "apt-get install -y chromium" in message
    assert "WAMESH_CHROMIUM_PATH" in message
