"""A session worker started while PostgreSQL cannot be reached (restarting, not up yet) waits,
saying so calmly with the cause, and serves as soon as it can connect; SIGTERM ends the wait;
a URL that no wait can mend (a database that does not exist) still exits at once.

PostgreSQL is reached through a TCP forwarder of the test's own on a port where, until the test
starts it, nothing listens: the worker meets a refused connection, as it would while the server
restarts."""

from __future__ import annotations

import asyncio
import contextlib
import signal
import socket
import time
from collections.abc import AsyncIterator, Callable
from urllib.parse import urlsplit, urlunsplit

import grpc.aio

from tests.support.session_fixtures import SpawnWorker
from tests.support.workers import WorkerProcess
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _with_address(url: str, port: int, path: str | None = None) -> str:
    parts = urlsplit(url)
    netloc = parts.netloc.rsplit("@", 1)
    user = f"{netloc[0]}@" if len(netloc) == 2 else ""
    return urlunsplit(parts._replace(netloc=f"{user}127.0.0.1:{port}", path=path or parts.path))


async def _pipe(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
    with contextlib.suppress(ConnectionError):
        while data := await reader.read(65536):
            writer.write(data)
            await writer.drain()
    writer.close()


@contextlib.asynccontextmanager
async def _forwarder(port: int, target: str) -> AsyncIterator[None]:
    """Listen on `port` and forward every connection to `target` (host:port); on exit every
    forwarded connection is closed and its pipes have ended."""
    host, target_port = target.rsplit(":", 1)
    writers: list[asyncio.StreamWriter] = []
    pipes: list[asyncio.Future[object]] = []

    async def handle(client_r: asyncio.StreamReader, client_w: asyncio.StreamWriter) -> None:
        server_r, server_w = await asyncio.open_connection(host, int(target_port))
        writers.extend((client_w, server_w))
        both = asyncio.gather(_pipe(client_r, server_w), _pipe(server_r, client_w))
        pipes.append(both)
        await both

    server = await asyncio.start_server(handle, "127.0.0.1", port)
    try:
        yield
    finally:
        server.close()
        for writer in writers:
            writer.close()
        await asyncio.gather(*pipes, return_exceptions=True)


def _refusals(worker: WorkerProcess) -> list[str]:
    """The worker's log lines naming the refused connection (psycopg_pool's, let through once
    per interval, then the opener's "cannot connect to PostgreSQL ...; waiting N s")."""
    return [x for x in worker.output().splitlines() if "Connection refused" in x]


async def _shows_qr(address: str, line: str) -> float:
    """Seconds until the worker at `address` says `line` shows a QR."""
    started = time.monotonic()
    async with grpc.aio.insecure_channel(address) as channel, asyncio.timeout(20):
        stub = session_pb2_grpc.SessionServiceStub(channel)
        while True:
            reply = await stub.GetStatus(session_pb2.GetStatusRequest(session_id=line))
            if reply.status == common_pb2.SESSION_STATUS_QR:
                return time.monotonic() - started
            await asyncio.sleep(0.05)


class TestPostgresAwayAtStart:
    async def test_the_worker_waits_then_serves(
        self, database_url: str, make_line: Callable[..., str], spawn: SpawnWorker
    ) -> None:
        line = make_line()
        port = _free_port()
        worker = spawn(line, DATABASE_URL=_with_address(database_url, port))
        await asyncio.sleep(4)
        assert worker.proc.poll() is None, f"the worker exited:\n{worker.output()}"
        # Calm: the cause said once, not once per reconnect (every 2 s at most).
        assert len(_refusals(worker)) == 1, worker.output()
        assert "Traceback" not in worker.output()
        async with _forwarder(port, urlsplit(database_url).netloc.rsplit("@", 1)[-1]):
            back = time.monotonic()
            address = await asyncio.to_thread(worker.wait_registered, 40)
            registered = time.monotonic() - back
            to_qr = await _shows_qr(address, line)
        print(
            f"\nregistered {registered:.2f} s after PostgreSQL could be reached, qr {to_qr:.2f} s later"
        )
        assert registered < 5

    async def test_sigterm_ends_the_wait(
        self, database_url: str, make_line: Callable[..., str], spawn: SpawnWorker
    ) -> None:
        worker = spawn(make_line(), DATABASE_URL=_with_address(database_url, _free_port()))
        await asyncio.sleep(2)
        assert worker.proc.poll() is None, worker.output()
        worker.proc.send_signal(signal.SIGTERM)
        started = time.monotonic()
        code = await asyncio.to_thread(worker.proc.wait, 15)
        took = time.monotonic() - started
        print(f"\nexited {took:.2f} s after SIGTERM")
        assert code == 0, worker.output()
        assert took < 3, "the wait for PostgreSQL (a connect attempt included) must end on SIGTERM"

    async def test_a_database_that_does_not_exist_exits_at_once(
        self, database_url: str, make_line: Callable[..., str], spawn: SpawnWorker
    ) -> None:
        port = int(urlsplit(database_url).port or 5432)
        url = _with_address(database_url, port, "/wamesh_no_such_database")
        worker = spawn(make_line(), DATABASE_URL=url)
        code = await asyncio.to_thread(worker.proc.wait, 20)
        assert code != 0
        assert "does not exist" in worker.output()
        assert "waiting" not in worker.output()
