"""A PgBouncer in transaction mode for the tests of this folder."""

from __future__ import annotations

import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.gateway.conftest import api, gateway, grpc_channel
from tests.support.infra import Infra
from tests.support.pgbouncer import PgBouncer, start_pgbouncer
from tests.webhooks.conftest import receiver, spawn_webhook_worker

__all__ = ["api", "gateway", "grpc_channel", "receiver", "spawn_webhook_worker"]


@pytest.fixture(scope="session")
def pgbouncer(infra: Infra) -> Iterator[PgBouncer]:
    """One pooler in front of the test server for the whole run."""
    workdir = Path(tempfile.mkdtemp(prefix="wamesh-test-pgbouncer-"))
    workdir.chmod(0o755)
    try:
        with start_pgbouncer(workdir, infra.pg_admin_url) as bouncer:
            yield bouncer
    finally:
        shutil.rmtree(workdir, ignore_errors=True)
