"""Settings: defaults, the original service's names, and errors that name the variable."""

from __future__ import annotations

import pytest

from wamesh.errors import ConfigError
from wamesh.settings import Settings, describe


class TestDefaults:
    """An empty environment gives the original service's defaults."""

    def test_webhook_defaults_match_the_original_service(self) -> None:
        s = Settings.from_env({})
        assert (s.webhook_queue_name, s.webhook_attempts) == ("webhooks", 5)
        assert (s.webhook_timeout_ms, s.webhook_backoff_ms) == (10_000, 2_000)
        assert s.redis_url == "redis://127.0.0.1:6379/0"

    def test_optional_values_default_to_none(self) -> None:
        s = Settings.from_env({})
        assert s.database_url is None
        assert s.session_id is None
        assert s.api_key is None


class TestNames:
    """Original and alias variable names are read."""

    def test_puppeteer_path_is_an_alias_of_the_chromium_path(self) -> None:
        s = Settings.from_env({"PUPPETEER_EXECUTABLE_PATH": "/usr/bin/chromium"})
        assert s.chromium_path == "/usr/bin/chromium"

    def test_wamesh_name_wins_over_the_alias(self) -> None:
        env = {"PUPPETEER_EXECUTABLE_PATH": "/a", "WAMESH_CHROMIUM_PATH": "/b"}
        assert Settings.from_env(env).chromium_path == "/b"

    def test_session_id_is_normalised(self) -> None:
        s = Settings.from_env({"SESSION_ID": "0E0C5F0A-0A7B-4D3D-9C61-3B7E36D86A11"})
        assert s.session_id == "0e0c5f0a-0a7b-4d3d-9c61-3b7e36d86a11"

    def test_railway_port_sets_the_gateway_port(self) -> None:
        assert Settings.from_env({"PORT": "9000"}).gateway_http_port == 9000


class TestErrors:
    """A bad value fails at start with the variable's name and what it expects."""

    @pytest.mark.parametrize(
        ("env", "expected"),
        [
            ({"WEBHOOK_ATTEMPTS": "abc"}, "WEBHOOK_ATTEMPTS='abc' is invalid: expected an integer"),
            ({"WEBHOOK_ATTEMPTS": "0"}, "at least 1"),
            ({"SESSION_ID": "line-1"}, "SESSION_ID='line-1' is invalid"),
            (
                {"REDIS_URL": "localhost:6379"},
                "REDIS_URL='localhost:6379' is invalid: expected a URL",
            ),
            ({"DATABASE_URL": "mysql://x"}, "DATABASE_URL='mysql://x' is invalid"),
            ({"WAMESH_DEV": "maybe"}, "WAMESH_DEV='maybe' is invalid: expected true or false"),
            ({"WAMESH_LOG_FORMAT": "xml"}, "expected one of json, text"),
        ],
    )
    def test_bad_value_names_the_variable(self, env: dict[str, str], expected: str) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(env)
        assert expected in caught.value.message

    def test_secret_values_are_not_echoed(self) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"WAMESH_API_KEY": "   "} | {"WEBHOOK_ATTEMPTS": "x"})
        assert "WEBHOOK_ATTEMPTS" in caught.value.message

    def test_a_bad_url_is_shown_without_its_password(self) -> None:
        with pytest.raises(ConfigError) as caught:
            Settings.from_env({"DATABASE_URL": "mysql://app:hunter2@db.example:5432/x"})
        assert "hunter2" not in caught.value.message
        assert "mysql://app:***@db.example:5432/x" in caught.value.message

    def test_repr_leaves_out_secrets_and_url_passwords(self) -> None:
        settings = Settings.from_env(
            {
                "DATABASE_URL": "postgresql://app:hunter2@db.example:5432/wamesh",
                "REDIS_URL": "redis://:redispass@cache.example:6379/0",
                "WAMESH_API_KEY": "api-key-value",
                "WAMESH_AUTH_KEY": "auth-key-value",
                "WAMESH_MESH_TOKEN": "mesh-token-value",
            }
        )
        shown = repr(settings)
        for secret in ("hunter2", "redispass", "api-key-value", "auth-key-value", "mesh-token"):
            assert secret not in shown
        assert "postgresql://app:***@db.example:5432/wamesh" in shown
        assert "webhook_attempts=5" in shown

    def test_supabase_pair_without_database_url_explains_what_to_use(self) -> None:
        env = {"SUPABASE_URL": "https://p.supabase.co", "SUPABASE_SERVICE_KEY": "k"}
        with pytest.raises(ConfigError) as caught:
            Settings.from_env(env)
        assert "DATABASE_URL" in caught.value.message
        assert "Postgres connection string" in caught.value.message

    def test_supabase_pair_with_database_url_is_fine(self) -> None:
        env = {"SUPABASE_URL": "https://p.supabase.co", "DATABASE_URL": "postgresql://h/db"}
        assert Settings.from_env(env).database_url == "postgresql://h/db"

    def test_require_names_the_missing_variable(self) -> None:
        with pytest.raises(ConfigError, match="DATABASE_URL is required"):
            Settings.from_env({}).require("database_url")


class TestReadme:
    """The README documents every variable the settings module reads."""

    def test_every_variable_is_in_the_readme(self, repo_root) -> None:  # type: ignore[no-untyped-def]
        readme = (repo_root / "README.md").read_text()
        missing = [n for v in describe() for n in v.names if f"`{n}`" not in readme]
        assert missing == []
