"""A line made the original service's way, by inserting a row into `sessions` with only `id` and
`name` (a table editor, plain SQL), is a complete line: its worker starts and shows a QR, and the
row got a Standard Webhooks secret of its own that the API accepts."""

from __future__ import annotations

import uuid
from collections.abc import Callable

import psycopg

from tests.session.conftest import SpawnWorker, Stubs
from tests.session.test_worker_lifecycle import _wait_status
from wamesh.lines import check_secret
from wamesh.v1 import common_pb2


class TestLinesFromSql:
    """`INSERT INTO wamesh.sessions (id, name)` is enough."""

    async def test_a_row_with_id_and_name_reaches_qr_with_its_own_secret(
        self, database_url: str, spawn: SpawnWorker, connect: Callable[[str], Stubs]
    ) -> None:
        lines = [str(uuid.uuid4()), str(uuid.uuid4())]
        with psycopg.connect(database_url) as conn:
            for line in lines:
                conn.execute(
                    "INSERT INTO wamesh.sessions (id, name) VALUES (%s, 'from sql')", (line,)
                )
            secrets = [
                conn.execute(
                    "SELECT webhook_secret FROM wamesh.sessions WHERE id = %s", (line,)
                ).fetchone()[0]  # type: ignore[index]
                for line in lines
            ]
        assert secrets[0] != secrets[1]
        for secret in secrets:
            assert check_secret(secret) == secret  # whsec_ and 24..50 bytes, as the API requires
        stubs = connect(spawn(lines[0]).wait_registered())
        await _wait_status(stubs, lines[0], common_pb2.SESSION_STATUS_QR)
