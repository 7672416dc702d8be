"""Linking a line with a phone number through the gateway: REST and gRPC, sandbox workers."""

from __future__ import annotations

import asyncio
import re
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import grpc.aio
import pytest

from tests.gateway.conftest import GRPC_AUTH, Api, scan, wait_live
from tests.support.workers import WorkerProcess
from wamesh.v1 import common_pb2, session_pb2, session_pb2_grpc

CODE = re.compile(r"^[1-9A-HJ-NP-TV-Z]{4}-[1-9A-HJ-NP-TV-Z]{4}$")  # WhatsApp's pairing alphabet
PHONE = "+49 151-1234 5678"
DIGITS = "4915112345678"


async def _waiting_line(api: Api, spawn: Callable[..., WorkerProcess], **env: str) -> str:
    """A sandbox line with a webhook (so its events are outboxed), showing its QR code."""
    status, reply = await api.call(
        "POST", "/v1/sessions", {"name": "line", "webhook_url": "http://127.0.0.1:9/hook"}
    )
    assert status == 201, reply
    line = str(reply["session"]["id"])
    spawn(line, **env).wait_registered()
    await wait_live(api, line, "qr")
    return line


def _time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


async def _request_code(api: Api, line: str, phone: str = PHONE) -> tuple[int, Any]:
    return await api.call("POST", f"/v1/sessions/{line}/pairing-code", {"phone": phone})


async def _enter_code(api: Api, line: str, code: str) -> tuple[int, Any]:
    return await api.call("POST", f"/v1/sessions/{line}/sandbox/pairing-code", {"code": code})


async def _pairing_events(api: Api, line: str, count: int) -> list[dict[str, Any]]:
    """The line's `session.pairing_code` outbox rows, oldest first, once there are `count`."""
    async with asyncio.timeout(15):
        while True:
            status, reply = await api.call("GET", f"/v1/sessions/{line}/deliveries")
            assert status == 200, reply
            found = [
                d["payload"]
                for d in reply["deliveries"]
                if d["event_type"] == "session.pairing_code"
            ]
            if len(found) >= count:
                return list(reversed(found))
            await asyncio.sleep(0.05)


class TestRestPairing:
    """A code from the REST front, typed on the sandbox phone, pairs the line like a scan."""

    async def test_code_entered_on_the_phone_makes_the_line_ready(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(api, spawn)
        status, pairing = await _request_code(api, line)
        assert status == 200, pairing
        assert CODE.match(pairing["code"]), pairing
        assert pairing["phone"] == DIGITS
        remaining = _time(pairing["expires_at"]) - datetime.now(UTC)
        assert timedelta(seconds=170) < remaining <= timedelta(seconds=180)
        status, qr = await api.call("GET", f"/v1/sessions/{line}/qr")  # the code replaced the QR
        assert (status, qr["code"], qr["session_status"]) == (409, "qr_unavailable", "qr")
        status, paired = await _enter_code(api, line, pairing["code"].lower())
        assert (status, paired["status"]) == (200, "ready"), paired
        assert (await wait_live(api, line, "ready"))["me"] == paired["me"]

    async def test_the_code_is_a_webhook_event(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(api, spawn)
        _, pairing = await _request_code(api, line)
        [envelope] = await _pairing_events(api, line, 1)
        assert envelope["type"] == "session.pairing_code"
        assert envelope["session_id"] == line
        data = envelope["data"]
        assert (data["code"], data["phone"]) == (pairing["code"], DIGITS)
        assert abs(_time(data["expires_at"]) - _time(pairing["expires_at"])) < timedelta(
            milliseconds=1
        )

    async def test_wrong_code_is_422_and_the_line_stays_unpaired(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(api, spawn)
        _, pairing = await _request_code(api, line)
        wrong = "2222-2222" if pairing["code"] != "2222-2222" else "3333-3333"
        for typed in (wrong, " ", "not a code at all"):
            status, problem = await _enter_code(api, line, typed)
            assert status == 422, problem  # well formed (the document allows it), not the code
            assert (problem["code"], problem["field"]) == ("unprocessable", "code")
            assert problem["detail"] == "wrong or expired pairing code"
        assert (await wait_live(api, line, "qr"))["status"] == "qr"

    async def test_expired_code_is_refused_and_a_fresh_one_pairs(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(
            api,
            spawn,
            WAMESH_SANDBOX_PAIRING_CODE_TTL_S="1",
            WAMESH_SANDBOX_QR_MAX_ROTATIONS="30",
        )
        _, first = await _request_code(api, line)
        events = await _pairing_events(api, line, 2)
        assert events[0]["data"]["code"] == first["code"]
        fresh = events[1]["data"]
        assert (fresh["phone"], fresh["code"] != first["code"]) == (DIGITS, True)
        status, problem = await _enter_code(api, line, first["code"])
        assert (status, problem["detail"]) == (422, "wrong or expired pairing code")
        latest = (await _pairing_events(api, line, 2))[-1]["data"]
        status, paired = await _enter_code(api, line, latest["code"])
        if status == 422:  # a fresh code came between reading and typing (every second here)
            latest = (await _pairing_events(api, line, 2))[-1]["data"]
            status, paired = await _enter_code(api, line, latest["code"])
        assert (status, paired["status"]) == (200, "ready"), paired

    async def test_scan_is_refused_while_a_code_is_shown(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(api, spawn)
        await _request_code(api, line)
        status, problem = await api.call("POST", f"/v1/sessions/{line}/sandbox/scan")
        assert (status, problem["code"]) == (409, "conflict")  # the line's state, not the input
        assert "pairing code" in problem["detail"]

    @pytest.mark.parametrize(
        "phone",
        ["123456", "1234567890123456", "+49 (151) 1234567", "4915112345678x", "01511234567", "+"],
    )
    async def test_bad_phone_is_400_invalid_value(self, api: Api, phone: str) -> None:
        _, created = await api.call("POST", "/v1/sessions", {"name": "line"})
        status, problem = await _request_code(api, created["session"]["id"], phone)
        assert status == 400, problem
        assert (problem["code"], problem["field"]) == ("invalid_value", "phone")

    async def test_paired_line_answers_409_already_paired(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _waiting_line(api, spawn)
        await scan(api, line)
        status, problem = await _request_code(api, line)
        assert status == 409, problem
        assert (problem["code"], problem["session_status"]) == ("already_paired", "ready")
        status, problem = await _enter_code(api, line, "2222-2222")
        assert (status, problem["code"]) == (409, "already_paired")  # the phone: the same answer
        status, problem = await api.call("POST", f"/v1/sessions/{line}/sandbox/scan")
        assert (status, problem["code"]) == (409, "already_paired")

    async def test_line_without_a_worker_answers_503(self, api: Api) -> None:
        _, created = await api.call("POST", "/v1/sessions", {"name": "line"})
        status, problem = await _request_code(api, created["session"]["id"])
        assert (status, problem["code"]) == (503, "session_offline")


class TestGrpcPairing:
    """The gateway's gRPC front routes RequestPairingCode and EnterPairingCode to the worker."""

    async def test_request_and_enter_through_the_grpc_front(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await _waiting_line(api, spawn)
        session = session_pb2_grpc.SessionServiceStub(grpc_channel)
        reply = await session.RequestPairingCode(
            session_pb2.RequestPairingCodeRequest(session_id=line, phone=PHONE),
            metadata=GRPC_AUTH,
        )
        assert CODE.match(reply.code)
        assert reply.phone == DIGITS
        remaining = reply.expires_at.ToDatetime(tzinfo=UTC) - datetime.now(UTC)
        assert timedelta(seconds=170) < remaining <= timedelta(seconds=180)
        [envelope] = await _pairing_events(api, line, 1)
        assert envelope["data"]["code"] == reply.code
        paired = await session_pb2_grpc.SandboxServiceStub(grpc_channel).EnterPairingCode(
            session_pb2.EnterPairingCodeRequest(session_id=line, code=reply.code),
            metadata=GRPC_AUTH,
        )
        assert paired.status == common_pb2.SESSION_STATUS_READY
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await session.RequestPairingCode(
                session_pb2.RequestPairingCodeRequest(session_id=line, phone=PHONE),
                metadata=GRPC_AUTH,
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert "already paired" in (caught.value.details() or "")

    async def test_bad_phone_is_invalid_argument_and_wrong_code_failed_precondition(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await _waiting_line(api, spawn)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await session_pb2_grpc.SessionServiceStub(grpc_channel).RequestPairingCode(
                session_pb2.RequestPairingCodeRequest(session_id=line, phone="12"),
                metadata=GRPC_AUTH,
            )
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await session_pb2_grpc.SandboxServiceStub(grpc_channel).EnterPairingCode(
                session_pb2.EnterPairingCodeRequest(session_id=line, code="2222-2222"),
                metadata=GRPC_AUTH,
            )
        assert caught.value.code() == grpc.StatusCode.FAILED_PRECONDITION
        assert caught.value.details() == "wrong or expired pairing code"
