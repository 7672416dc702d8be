"""WAMESH_ADVERTISE_HOST=auto: the worker's own address towards Redis (the netns test shows it
on separate hosts; here, on one)."""

from __future__ import annotations

import pytest

from wamesh.errors import ConfigError
from wamesh.session.advertise import advertised_host
from wamesh.settings import Settings


def test_auto_towards_a_loopback_redis_is_loopback() -> None:
    settings = Settings.from_env(
        {"WAMESH_ADVERTISE_HOST": "auto", "REDIS_URL": "redis://127.0.0.1:6379/0"}
    )
    assert advertised_host(settings) == "127.0.0.1"


def test_a_given_host_is_kept() -> None:
    settings = Settings.from_env({"WAMESH_ADVERTISE_HOST": "worker-3.internal"})
    assert advertised_host(settings) == "worker-3.internal"


def test_auto_with_an_unresolvable_redis_host_names_the_setting() -> None:
    settings = Settings.from_env(
        {"WAMESH_ADVERTISE_HOST": "auto", "REDIS_URL": "redis://no-such-host.invalid:6379/0"}
    )
    with pytest.raises(ConfigError, match="WAMESH_ADVERTISE_HOST=auto"):
        advertised_host(settings)
