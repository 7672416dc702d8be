"""The REST front's contract: auth, problem+json errors with stable codes, OpenAPI that matches."""

from __future__ import annotations

import re

import aiohttp
import grpc.aio
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from tests.gateway.conftest import API_KEY, GRPC_AUTH, Api
from wamesh.gateway.app import RunningGateway
from wamesh.gateway.rest import operations
from wamesh.v1 import admin_pb2, admin_pb2_grpc

LINE = "/v1/sessions"


class TestAuth:
    """Everything but health, metrics and docs needs the API key, over REST and gRPC."""

    @pytest.mark.parametrize("path", ["/healthz", "/readyz", "/metrics", "/openapi.json", "/docs"])
    async def test_open_paths_need_no_key(self, api: Api, path: str) -> None:
        async with api.http.get(api.base + path) as resp:
            assert resp.status == 200

    async def test_missing_or_wrong_key_is_401_problem(self, api: Api) -> None:
        for headers in ({}, {"X-Api-Key": "wrong"}, {"Authorization": "Bearer wrong"}):
            async with api.http.get(api.base + LINE, headers=headers) as resp:
                assert resp.status == 401
                assert resp.content_type == "application/problem+json"
                assert (await resp.json(content_type=None))["code"] == "unauthenticated"

    async def test_bearer_token_is_accepted(self, api: Api) -> None:
        async with api.http.get(
            api.base + LINE, headers={"Authorization": f"Bearer {API_KEY}"}
        ) as resp:
            assert resp.status == 200

    async def test_grpc_admin_needs_the_key_but_health_is_open(
        self, grpc_channel: grpc.aio.Channel
    ) -> None:
        admin = admin_pb2_grpc.SessionAdminServiceStub(grpc_channel)
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await admin.ListSessions(admin_pb2.ListSessionsRequest())
        assert caught.value.code() == grpc.StatusCode.UNAUTHENTICATED
        reply = await admin.ListSessions(admin_pb2.ListSessionsRequest(), metadata=GRPC_AUTH)
        assert list(reply.sessions) == []
        check = await health_pb2_grpc.HealthStub(grpc_channel).Check(
            health_pb2.HealthCheckRequest()
        )
        assert check.status == health_pb2.HealthCheckResponse.SERVING


class TestErrors:
    """Every error is problem+json with a stable code."""

    @pytest.mark.parametrize(
        ("body", "code", "field"),
        [
            ({"name": 5}, "invalid_type", "name"),
            ({"name": "x", "colour": "red"}, "unknown_field", "colour"),
            ({}, "missing_field", "name"),
            ({"name": "x", "engine": "telegram"}, "invalid_value", "engine"),
            ({"name": "x", "webhook_url": "ftp://example.com"}, "invalid_value", "webhook_url"),
            (
                {"name": "x", "webhook_events": ["message.deleted"]},
                "invalid_value",
                "webhook_events.0",
            ),
        ],
    )
    async def test_bad_create_bodies(
        self, api: Api, body: dict[str, object], code: str, field: str
    ) -> None:
        status, problem = await api.call("POST", LINE, body)
        assert status == 400
        assert (problem["code"], problem["field"]) == (code, field)
        assert problem["type"] == f"urn:wamesh:problem:{code}"

    async def test_malformed_json(self, api: Api) -> None:
        headers = {**api.headers, "Content-Type": "application/json"}
        async with api.http.post(api.base + LINE, data=b"{name", headers=headers) as resp:
            assert resp.status == 400
            assert (await resp.json(content_type=None))["code"] == "malformed_json"

    async def test_bad_recipient_and_long_text(self, api: Api) -> None:
        _, created = await api.call("POST", LINE, {"name": "x"})
        url = f"{LINE}/{created['session']['id']}/messages"
        status, problem = await api.call("POST", url, {"to": "x" * 5, "text": "hi"})
        assert status == 400
        status, problem = await api.call("POST", url, {"to": "4915112345678", "text": "x" * 65_537})
        assert (status, problem["code"]) == (400, "text_too_long")

    async def test_body_over_the_limit_is_413_naming_the_limit(self, api: Api) -> None:
        headers = {**api.headers, "Content-Type": "application/json"}
        async with api.http.post(api.base + LINE, data=b"x" * 70_000, headers=headers) as resp:
            assert resp.status == 413
            problem = await resp.json(content_type=None)
        assert (problem["code"], problem["limit"]) == ("body_too_large", 65536)
        assert "65536 bytes" in problem["detail"]

    async def test_unknown_route_and_wrong_method(self, api: Api) -> None:
        status, problem = await api.call("GET", "/v1/nothing")
        assert (status, problem["code"]) == (404, "route_not_found")
        status, problem = await api.call("PUT", LINE)
        assert (status, problem["code"]) == (405, "method_not_allowed")


class TestSessionsAdmin:
    """Create returns the secret once; reads never show it; patch, rotate and delete work."""

    async def test_lifecycle_of_a_line(self, api: Api) -> None:
        status, created = await api.call(
            "POST", LINE, {"name": "shop", "webhook_url": "https://example.com/h"}
        )
        assert status == 201
        secret = created["webhook_secret"]
        assert secret.startswith("whsec_")
        line = created["session"]["id"]
        status, listed = await api.call("GET", LINE)
        assert [s["id"] for s in listed["sessions"]] == [line]
        assert secret not in str(listed)
        status, patched = await api.call(
            "PATCH", f"{LINE}/{line}", {"name": "shop 2", "webhook_events": ["message.received"]}
        )
        assert (patched["name"], patched["webhook_events"]) == ("shop 2", ["message.received"])
        status, rotated = await api.call("POST", f"{LINE}/{line}/webhook-secret")
        assert rotated["webhook_secret"].startswith("whsec_")
        assert rotated["webhook_secret"] != secret
        assert (await api.call("DELETE", f"{LINE}/{line}"))[0] == 204
        assert (await api.call("GET", f"{LINE}/{line}"))[0] == 404


class TestOpenApi:
    """The document and the router agree."""

    async def test_every_route_is_documented_and_every_documented_route_exists(
        self, api: Api, gateway: RunningGateway
    ) -> None:
        status, doc = await api.call("GET", "/openapi.json")
        assert status == 200
        assert doc["openapi"].startswith("3.1")
        documented = {(m.upper(), p) for p, ops in doc["paths"].items() for m in ops}
        async with aiohttp.ClientSession() as session:
            del session
        declared = {(op.method, op.path) for op in operations()}
        assert documented == declared

    async def test_docs_assets_are_served_locally(self, api: Api) -> None:
        async with api.http.get(api.base + "/docs") as resp:
            page = await resp.text()
        assert "https://" not in page
        for asset in (
            "/docs/static/swagger-ui-bundle.js",
            "/docs/static/swagger-ui.css",
            "/docs/init.js",
        ):
            async with api.http.get(api.base + asset) as resp:
                assert resp.status == 200, asset

    async def test_dashboard_serves_every_script_its_page_loads_and_nothing_else(
        self, api: Api
    ) -> None:
        async with api.http.get(api.base + "/") as resp:
            page = await resp.text()
        assets = re.findall(r'(?:src|href)="(/ui/[^"]+)"', page)
        assert len(assets) >= 5, assets  # four scripts and the style
        for asset in assets:
            async with api.http.get(api.base + asset) as resp:
                assert resp.status == 200, asset
                assert resp.content_type in ("application/javascript", "text/css"), asset
        for bad in ("/ui/missing.js", "/ui/..%2Fapi.py", "/ui/index.html", "/ui/APP.JS"):
            async with api.http.get(api.base + bad) as resp:
                assert resp.status == 404, bad


class TestOperations:
    """Readiness and metrics."""

    async def test_readyz_reports_both_dependencies(self, api: Api) -> None:
        status, body = await api.call("GET", "/readyz")
        assert (status, body["postgres"], body["redis"]) == (200, "ok", "ok")

    async def test_metrics_count_requests_by_route_and_status(self, api: Api) -> None:
        await api.call("GET", LINE)
        status, text = await api.call("GET", "/metrics")
        assert status == 200
        assert b'wamesh_http_requests_total{method="GET",route="/v1/sessions",status="200"}' in text

    async def test_request_id_is_echoed(self, api: Api) -> None:
        async with api.http.get(api.base + "/healthz", headers={"X-Request-Id": "abc-123"}) as resp:
            assert resp.headers["X-Request-Id"] == "abc-123"
