"""One error contract: one code per fault on both fronts, the README's table generated from the
mapping, limits named, values never echoed whole, JSON typed, answered with a newline."""

from __future__ import annotations

import re
from collections.abc import Callable
from datetime import datetime
from pathlib import Path

import aiohttp
import grpc.aio
import pytest

from tests.gateway.conftest import API_KEY, GRPC_AUTH, Api, gateway_settings, scan
from tests.support.workers import WorkerProcess
from wamesh import errors
from wamesh.gateway import problems
from wamesh.gateway.app import running_gateway
from wamesh.rpc import errors as rpc_errors
from wamesh.v1 import session_pb2, session_pb2_grpc

README = Path(__file__).resolve().parents[2] / "README.md"
LINE = "/v1/sessions"
TABLE = re.compile(r"<!-- errors:start -->\n(.*?)<!-- errors:end -->", re.S)


class TestOneMapping:
    """Every code is one row of `wamesh.errors.CODES`, which both fronts and the README follow."""

    def test_the_readme_table_is_the_mapping(self) -> None:
        found = TABLE.search(README.read_text(encoding="utf-8"))
        assert found is not None, "README.md lacks the <!-- errors:start/end --> table"
        assert found[1] == errors.markdown_table(), (
            "README's error table differs from wamesh.errors.CODES; "
            "paste the output of `uv run python -m wamesh.errors`"
        )

    def test_every_error_class_has_a_row(self) -> None:
        classes = [
            c
            for c in vars(errors).values()
            if isinstance(c, type) and issubclass(c, errors.WameshError)
        ]
        assert {c.code for c in classes} <= set(errors.CODES)

    @pytest.mark.parametrize("code", sorted(errors.CODES))
    def test_both_fronts_answer_the_row_of_the_code(self, code: str) -> None:
        exc = errors.InvalidInput("x", None, code)
        row = errors.CODES[code]
        assert problems.status_for(exc) == row.http
        expected = row.grpc or ("INVALID_ARGUMENT" if row.http < 500 else "INTERNAL")
        assert rpc_errors.status_for(exc).name == expected


async def _ready_line(api: Api, spawn: Callable[..., WorkerProcess]) -> str:
    status, created = await api.call("POST", LINE, {"name": "errors"})
    assert status == 201, created
    line = str(created["session"]["id"])
    spawn(line).wait_registered()
    await scan(api, line)
    return line


class TestSameCodeOnBothFronts:
    """The same bad input answers the same code over REST and gRPC."""

    @pytest.mark.parametrize(
        ("text", "code"),
        [("", "invalid_value"), ("   ", "invalid_value"), ("x" * 65_537, "text_too_long")],
    )
    async def test_bad_text(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        grpc_channel: grpc.aio.Channel,
        text: str,
        code: str,
    ) -> None:
        line = await _ready_line(api, spawn)
        body = {"to": "4915112345678", "text": text}
        status, problem = await api.call("POST", f"{LINE}/{line}/messages", body)
        assert (status, problem["code"], problem["field"]) == (400, code, "text"), problem
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendMessage(
                session_pb2.SendMessageRequest(session_id=line, to="4915112345678", text=text),
                metadata=GRPC_AUTH,
            )
        trailers = dict(caught.value.trailing_metadata() or ())
        assert caught.value.code() == grpc.StatusCode.INVALID_ARGUMENT
        assert trailers["wamesh-error-code"] == code

    @pytest.mark.parametrize("to", ["", "4" * 101, "nobody"])
    async def test_bad_recipient(
        self,
        api: Api,
        spawn: Callable[..., WorkerProcess],
        grpc_channel: grpc.aio.Channel,
        to: str,
    ) -> None:
        line = await _ready_line(api, spawn)
        status, problem = await api.call("POST", f"{LINE}/{line}/messages", {"to": to, "text": "x"})
        assert (status, problem["code"], problem["field"]) == (400, "invalid_recipient", "to")
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await stub.SendMessage(
                session_pb2.SendMessageRequest(session_id=line, to=to, text="x"),
                metadata=GRPC_AUTH,
            )
        trailers = dict(caught.value.trailing_metadata() or ())
        assert trailers["wamesh-error-code"] == "invalid_recipient"


class TestLimitsAndEchoes:
    """A problem names the limit broken and never carries a long value or a regex back."""

    async def test_a_60000_character_name_is_not_echoed(self, api: Api) -> None:
        status, problem = await api.call("POST", LINE, {"name": "n" * 60_000})
        assert (status, problem["code"], problem["field"]) == (400, "invalid_value", "name")
        assert "at most 200 characters (got 60000)" in problem["detail"]
        assert len(str(problem)) < 500

    async def test_a_bad_url_is_told_what_is_expected_in_words(self, api: Api) -> None:
        status, problem = await api.call(
            "POST", LINE, {"name": "x", "webhook_url": "ftp://" + "h" * 300}
        )
        assert (status, problem["code"], problem["field"]) == (400, "invalid_value", "webhook_url")
        assert "expected an http:// or https:// URL" in problem["detail"]
        assert "(306 characters)" in problem["detail"]
        assert "[A-Za-z0-9" not in problem["detail"]  # no regex
        assert len(problem["detail"]) < 300

    async def test_a_long_text_names_the_limit(self, api: Api) -> None:
        _, created = await api.call("POST", LINE, {"name": "x"})
        url = f"{LINE}/{created['session']['id']}/messages"
        body = {"to": "4915112345678", "text": "x" * 70_000}
        status, problem = await api.call("POST", url, body)
        assert (status, problem["code"]) == (400, "text_too_long")
        assert "at most 65536 characters (got 70000)" in problem["detail"]

    async def test_a_bad_time_is_echoed_short(self, api: Api) -> None:
        _, created = await api.call("POST", LINE, {"name": "x"})
        line = created["session"]["id"]
        status, problem = await api.call(
            "GET", f"{LINE}/{line}/reminders", params={"due_from": "y" * 1000}
        )
        assert (status, problem["code"], problem["field"]) == (400, "invalid_value", "due_from")
        assert len(problem["detail"]) < 200


class TestJsonAnswers:
    """JSON in: a JSON Content-Type or 415. JSON out: a trailing newline, ISO 8601 times."""

    @pytest.mark.parametrize(
        "content_type", [None, "text/plain", "application/x-www-form-urlencoded"]
    )
    async def test_a_json_route_without_a_json_type_is_415(
        self, api: Api, content_type: str | None
    ) -> None:
        headers = {**api.headers, **({"Content-Type": content_type} if content_type else {})}
        async with api.http.post(api.base + LINE, data=b'{"name": "x"}', headers=headers) as resp:
            problem = await resp.json(content_type=None)
            assert resp.status == 415
        assert (problem["code"], problem["field"]) == ("unsupported_media_type", "Content-Type")

    async def test_a_json_subtype_is_taken(self, api: Api) -> None:
        headers = {**api.headers, "Content-Type": "application/merge-patch+json"}
        async with api.http.post(api.base + LINE, data=b'{"name": "x"}', headers=headers) as resp:
            assert resp.status == 201

    async def test_answers_and_problems_end_with_a_newline(self, api: Api) -> None:
        for path in (LINE, "/v1/nothing", "/healthz"):
            async with api.http.get(api.base + path, headers=api.headers) as resp:
                body = await resp.read()
                assert body.endswith(b"}\n"), (path, body[-20:])
                assert int(resp.headers["Content-Length"]) == len(body)

    async def test_worker_started_at_is_iso_8601(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _ready_line(api, spawn)
        status, shown = await api.call("GET", f"{LINE}/{line}")
        assert status == 200
        started = shown["worker"]["started_at"]
        assert isinstance(started, str)
        assert started.endswith("Z")
        assert datetime.fromisoformat(started).tzinfo is not None


async def test_the_dev_inbox_says_received_at_in_iso_8601(
    database_url: str, redis_url: str
) -> None:
    settings = gateway_settings(database_url, redis_url, WAMESH_DEV="true")
    async with running_gateway(settings) as running, aiohttp.ClientSession() as http:
        api = Api(http, f"http://127.0.0.1:{running.http_port}")
        _, created = await api.call("POST", LINE, {"name": "inbox"})
        line = created["session"]["id"]
        async with http.post(f"{api.base}/dev/inbox/{line}", json={"type": "x"}) as resp:
            assert resp.status < 300, await resp.text()
        status, listed = await api.call("GET", "/dev/inbox", headers={"X-Api-Key": API_KEY})
        assert status == 200, listed
        received = listed["entries"][0]["received_at"]
        assert isinstance(received, str)
        assert datetime.fromisoformat(received).tzinfo is not None


class TestQrAnswers:
    """No QR shown: the same 409 `qr_unavailable` in JSON, PNG and SVG."""

    @pytest.mark.parametrize("fmt", ["json", "png", "svg"])
    async def test_a_ready_line_has_no_qr_in_any_format(
        self, api: Api, spawn: Callable[..., WorkerProcess], fmt: str
    ) -> None:
        line = await _ready_line(api, spawn)
        status, problem = await api.call("GET", f"{LINE}/{line}/qr", params={"format": fmt})
        assert (status, problem["code"], problem["session_status"]) == (
            409,
            "qr_unavailable",
            "ready",
        )


class TestEveryLimitIsNamed:
    """Each length or count limit in a problem's detail, never the value."""

    @pytest.mark.parametrize(
        ("body", "said"),
        [
            ({"name": "x", "metadata": {f"k{i}": 1 for i in range(51)}}, "at most 50 key(s)"),
            ({"name": "x", "metadata": {"k" * 101: 1}}, "at most 100 characters"),
            ({"name": ""}, "must not be empty"),
        ],
    )
    async def test_limits(self, api: Api, body: dict[str, object], said: str) -> None:
        status, problem = await api.call("POST", LINE, body)
        assert (status, problem["code"]) == (400, "invalid_value"), problem
        assert said in problem["detail"]


# 65,536 characters outside the Basic Multilingual Plane: aiohttp's `json=` escapes each as a
# surrogate pair ("\ud83d\ude00", 12 bytes), the largest JSON a text at the limit can take.
WIDEST_TEXT = "\U0001f600" * 65_536


class TestTheTextLimit:
    """A text (or caption) of WhatsApp's 65,536 characters goes through every route taking one,
    however the client escapes it; the body limit of those routes (1 MiB) leaves room for it."""

    async def test_a_text_at_the_limit_is_sent_whole(
        self, api: Api, spawn: Callable[..., WorkerProcess], grpc_channel: grpc.aio.Channel
    ) -> None:
        line = await _ready_line(api, spawn)
        body = {"to": "4915112345678", "text": WIDEST_TEXT}
        status, sent = await api.call("POST", f"{LINE}/{line}/messages", body)
        assert status == 201, sent
        stub = session_pb2_grpc.SessionServiceStub(grpc_channel)
        await stub.SendMessage(
            session_pb2.SendMessageRequest(session_id=line, to="4915112345678", text=WIDEST_TEXT),
            metadata=GRPC_AUTH,
        )
        status, recorded = await api.call("GET", f"{LINE}/{line}/sandbox/sent")
        assert status == 200
        assert [m["text"] for m in recorded["messages"]] == [WIDEST_TEXT, WIDEST_TEXT]

    async def test_an_edit_and_a_reminder_take_a_text_at_the_limit(
        self, api: Api, spawn: Callable[..., WorkerProcess]
    ) -> None:
        line = await _ready_line(api, spawn)
        status, sent = await api.call(
            "POST", f"{LINE}/{line}/messages", {"to": "4915112345678", "text": "draft"}
        )
        assert status == 201, sent
        edit = {"chat_id": "4915112345678", "text": WIDEST_TEXT}
        status, edited = await api.call(
            "PATCH", f"{LINE}/{line}/messages/{sent['message_id']}", edit
        )
        assert status == 200, edited
        reminder = {"recipient": "4915112345678", "text": WIDEST_TEXT, "delay_seconds": 3600}
        status, created = await api.call("POST", f"{LINE}/{line}/reminders", reminder)
        assert status == 201, created
        assert created["text"] == WIDEST_TEXT

    async def test_a_body_past_the_text_routes_limit_is_413(self, api: Api) -> None:
        _, created = await api.call("POST", LINE, {"name": "x"})
        url = f"{api.base}{LINE}/{created['session']['id']}/reminders"
        headers = {**api.headers, "Content-Type": "application/json"}
        async with api.http.post(url, data=b" " * (1024 * 1024 + 1), headers=headers) as resp:
            assert resp.status == 413
            problem = await resp.json(content_type=None)
        assert (problem["code"], problem["limit"]) == ("body_too_large", 1024 * 1024)
