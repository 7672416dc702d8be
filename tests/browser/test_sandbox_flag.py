"""WAMESH_BROWSER_SANDBOX decides whether Chromium is launched with --no-sandbox, through the same
settings module every role reads."""

from __future__ import annotations

import pytest

from wamesh.engines.browser.engine import CHROMIUM_FLAGS, chromium_args
from wamesh.errors import ConfigError
from wamesh.settings import Settings


class TestSandboxFlag:
    """Only root, or a user who turned it off, runs Chromium without its sandbox."""

    @pytest.mark.parametrize(
        ("value", "euid", "off"),
        [
            ("auto", 0, True),
            ("auto", 1000, False),
            ("off", 1000, True),
            ("on", 0, False),
            ("on", 1000, False),
        ],
    )
    def test_setting_decides_no_sandbox(self, value: str, euid: int, off: bool) -> None:
        settings = Settings.from_env({"WAMESH_BROWSER_SANDBOX": value})
        args = chromium_args(settings.browser_sandbox, euid)
        assert ("--no-sandbox" in args) is off
        assert args[: len(CHROMIUM_FLAGS)] == list(CHROMIUM_FLAGS)

    def test_default_is_auto(self) -> None:
        assert Settings.from_env({}).browser_sandbox == "auto"

    def test_unknown_value_names_the_variable(self) -> None:
        with pytest.raises(ConfigError, match="WAMESH_BROWSER_SANDBOX"):
            Settings.from_env({"WAMESH_BROWSER_SANDBOX": "maybe"})
