"""Log lines carry the line id and the request id: the one a REST or gRPC client sent, or one the
gateway made, passed on to the worker with the call."""

from __future__ import annotations

import asyncio
import contextlib
import io
import logging
import re
import uuid
from collections.abc import Callable, Iterator

import grpc.aio
import pytest

from tests.gateway.conftest import GRPC_AUTH, Api, scan
from tests.support.workers import WorkerProcess
from wamesh import logs
from wamesh.v1 import session_pb2, session_pb2_grpc

LINE = "/v1/sessions"
UNKNOWN_MESSAGE = "3EB0" + "A" * 16


async def _ready_line(api: Api, spawn: Callable[..., WorkerProcess]) -> tuple[str, WorkerProcess]:
    status, created = await api.call("POST", LINE, {"name": "ids"})
    assert status == 201, created
    line = str(created["session"]["id"])
    worker = spawn(line)
    worker.wait_registered()
    await scan(api, line)
    return line, worker


async def _edit_unknown(
    channel: grpc.aio.Channel, line: str, metadata: tuple[tuple[str, str], ...]
) -> None:
    """Edit a message the line never sent: the worker refuses it (message_not_found)."""
    request = session_pb2.EditMessageRequest(
        session_id=line, chat_id="4915112345678", message_id=UNKNOWN_MESSAGE, text="new"
    )
    await session_pb2_grpc.SessionServiceStub(channel).EditMessage(request, metadata=metadata)


async def _logged(worker: WorkerProcess, pattern: str) -> re.Match[str]:
    """The first line of the worker's log matching `pattern` (it may take a moment to flush)."""
    for _ in range(50):
        found = re.search(pattern, worker.output())
        if found is not None:
            return found
        await asyncio.sleep(0.1)
    raise AssertionError(f"no log line matches {pattern!r}:\n{worker.output()[-2000:]}")


class TestIdsInTheWorkersLog:
    async def test_a_rest_clients_request_id_reaches_the_workers_log(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line, worker = await _ready_line(api, spawn)
        rid = f"trace-{uuid.uuid4().hex[:12]}"
        status, problem = await api.call(
            "PATCH",
            f"{LINE}/{line}/messages/{UNKNOWN_MESSAGE}",
            {"chat_id": "4915112345678", "text": "new"},
            headers={"X-Request-Id": rid},
        )
        assert status == 404, problem
        found = await _logged(worker, rf"EditMessage refused: (\w+) \[line=(\S+) request={rid}\]")
        assert found[1] == problem["code"]
        assert found[2] == line

    async def test_a_grpc_call_without_an_id_gets_one(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line, worker = await _ready_line(api, spawn)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await _edit_unknown(grpc_channel, line, GRPC_AUTH)
        code = dict(caught.value.trailing_metadata() or ())["wamesh-error-code"]
        found = await _logged(worker, rf"EditMessage refused: {code} \[line=(\S+) request=(\S+)\]")
        assert found[1] == line
        assert re.fullmatch(r"[0-9a-f]{32}", found[2]), found[2]


@contextlib.contextmanager
def _lines_of(logger_name: str) -> Iterator[io.StringIO]:
    """What `logger_name` logs at INFO meanwhile, in the text format."""
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    handler.setFormatter(logs.TextFormatter())
    logger = logging.getLogger(logger_name)
    level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.INFO)
    try:
        yield stream
    finally:
        logger.removeHandler(handler)
        logger.setLevel(level)


class TestIdsInTheGatewaysLog:
    async def test_a_rest_access_line_carries_both(self, api: Api) -> None:
        _, created = await api.call("POST", LINE, {"name": "ids"})
        line = created["session"]["id"]
        with _lines_of("wamesh.gateway.app") as said:
            status, _ = await api.call("GET", f"{LINE}/{line}", headers={"X-Request-Id": "rid-7"})
        assert status == 200
        assert f"GET /v1/sessions/{{id}} 200 [line={line} request=rid-7]" in said.getvalue()

    async def test_a_refused_grpc_call_carries_both(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line, _ = await _ready_line(api, spawn)
        with _lines_of("wamesh.rpc.errors") as said, pytest.raises(grpc.aio.AioRpcError):
            await _edit_unknown(grpc_channel, line, (*GRPC_AUTH, ("x-request-id", "rid-8")))
        assert f"[line={line} request=rid-8]" in said.getvalue()


class TestTextFormat:
    """The text format ends a line with the ids that are set, and only those."""

    def _format(self) -> str:
        record = logging.makeLogRecord({"name": "t", "levelname": "INFO", "msg": "hello"})
        return logs.TextFormatter().format(record)

    def test_no_ids_no_brackets(self) -> None:
        assert self._format().endswith("INFO t: hello")

    def test_both_ids(self) -> None:
        line_token = logs.line_id.set("L1")
        request_token = logs.request_id.set("R1")
        try:
            assert self._format().endswith("INFO t: hello [line=L1 request=R1]")
        finally:
            logs.request_id.reset(request_token)
            logs.line_id.reset(line_token)
