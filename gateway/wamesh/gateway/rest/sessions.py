"""`/v1/sessions`: create, list, get (with its live worker), patch, delete, start, stop, rotate
the secret. Start and stop set the line's desired state (pool mode, wamesh.placement).

A line is read from PostgreSQL, its worker from Redis: while Redis is unreachable, lines are
still listed and shown, with `worker` and `live_status` null. `me_lid` (the own LID) is live only:
one line's answer asks its worker; lists and answers without a worker show null.
"""

from __future__ import annotations

import contextlib

from aiohttp import web

from wamesh import lines
from wamesh.constants import DESIRED_STARTED, DESIRED_STOPPED
from wamesh.errors import WameshError
from wamesh.gateway import schemas as s
from wamesh.gateway.api import BODY, Operation, Response
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import json_response, line_json
from wamesh.session.events import STATUS_FROM_PROTO
from wamesh.v1 import session_pb2, session_pb2_grpc


async def create_session(request: web.Request) -> web.StreamResponse:
    """Create a line; the webhook secret is in this answer only."""
    body = request[BODY]
    new = lines.NewLine(
        name=body["name"],
        engine=body.get("engine", gateway_of(request).settings.default_engine),
        webhook_url=body.get("webhook_url"),
        webhook_secret=body.get("webhook_secret"),
        webhook_events=body.get("webhook_events", ()),
        metadata=body.get("metadata", {}),
    )
    line, secret = await lines.create_line(gateway_of(request).pool, new)
    await gateway_of(request).router.wake_pool()
    return json_response({"session": line_json(line), "webhook_secret": secret}, 201)


async def list_sessions(request: web.Request) -> web.StreamResponse:
    """Every line with its registered worker."""
    gw = gateway_of(request)
    found = await lines.list_lines(gw.pool)
    workers = await gw.router.workers([line.id for line in found])
    return json_response(
        {"sessions": [line_json(line, w) for line, w in zip(found, workers, strict=True)]}
    )


async def get_session(request: web.Request) -> web.StreamResponse:
    """One line, its worker and the worker's live status (and the own LID it knows)."""
    gw = gateway_of(request)
    line = await lines.get_line(gw.pool, request.match_info["id"])
    [worker] = await gw.router.workers([line.id])
    live = me_lid = None
    if worker is not None:
        with contextlib.suppress(WameshError):
            reply = await gw.router.call(
                line.id,
                "GetStatus",
                lambda ch, md, t: session_pb2_grpc.SessionServiceStub(ch).GetStatus(
                    session_pb2.GetStatusRequest(session_id=line.id), metadata=md, timeout=t
                ),
                idempotent=True,
            )
            live, me_lid = STATUS_FROM_PROTO.get(reply.status), reply.lid or None
    if live is not None and live != line.status:  # changed while we asked: show the new row
        line = await lines.get_line(gw.pool, line.id)
    return json_response(line_json(line, worker, live, me_lid))


async def update_session(request: web.Request) -> web.StreamResponse:
    """Change name, webhook, filter, metadata or enable/disable the webhook."""
    body = request[BODY]
    patch = lines.LinePatch(
        name=body.get("name"),
        webhook_url=(body["webhook_url"] or "") if "webhook_url" in body else None,
        webhook_events=body.get("webhook_events"),
        metadata=body.get("metadata"),
        webhook_enabled=body.get("webhook_enabled"),
    )
    line = await lines.update_line(gateway_of(request).pool, request.match_info["id"], patch)
    return json_response(line_json(line))


async def delete_session(request: web.Request) -> web.StreamResponse:
    """Delete a line with its auth state, reminders and deliveries; its worker lets it go."""
    gw = gateway_of(request)
    line_id = lines.parse_line_id(request.match_info["id"])
    await lines.delete_line(gw.pool, line_id)
    await gw.router.release(line_id, deleted=True)
    return web.Response(status=204)


async def start_session(request: web.Request) -> web.StreamResponse:
    """The line wants a worker: a pool worker takes it (pool mode)."""
    gw = gateway_of(request)
    line = await lines.set_desired_state(gw.pool, request.match_info["id"], DESIRED_STARTED)
    await gw.router.wake_pool()
    return json_response(line_json(line))


async def stop_session(request: web.Request) -> web.StreamResponse:
    """The line wants no worker: its worker saves its auth state, writes `stopped` and lets it
    go."""
    gw = gateway_of(request)
    line = await lines.set_desired_state(gw.pool, request.match_info["id"], DESIRED_STOPPED)
    await gw.router.release(line.id)
    return json_response(line_json(line))


async def rotate_webhook_secret(request: web.Request) -> web.StreamResponse:
    """Replace the webhook secret; the new one is in this answer only."""
    gateway = gateway_of(request)
    secret = await lines.rotate_secret(
        gateway.pool,
        request.match_info["id"],
        gateway.settings.webhook_secret_rotation_grace_s,
    )
    return json_response({"webhook_secret": secret})


_TAG = "sessions"
_LINE = "/v1/sessions/{id}"
OPERATIONS = [
    Operation(
        "POST",
        "/v1/sessions",
        create_session,
        "Create a line",
        _TAG,
        ok=201,
        response=Response("The line and its webhook secret (shown once)", s.SESSION_CREATED),
        body=s.SESSION_CREATE,
        errors=(400,),
    ),
    Operation(
        "GET",
        "/v1/sessions",
        list_sessions,
        "List lines",
        _TAG,
        response=Response("Every line", s.SESSION_LIST),
    ),
    Operation(
        "GET",
        _LINE,
        get_session,
        "Get a line with its live worker",
        _TAG,
        response=Response("The line", s.SESSION),
        errors=(404,),
    ),
    Operation(
        "PATCH",
        _LINE,
        update_session,
        "Update a line",
        _TAG,
        response=Response("The updated line", s.SESSION),
        body=s.SESSION_PATCH,
        errors=(400, 404),
    ),
    Operation(
        "DELETE",
        _LINE,
        delete_session,
        "Delete a line",
        _TAG,
        ok=204,
        response=Response("Deleted", None),
        errors=(404,),
    ),
    Operation(
        "POST",
        _LINE + "/start",
        start_session,
        "Start a line: it wants a worker (pool mode takes it)",
        _TAG,
        response=Response("The line, desired_state started", s.SESSION),
        errors=(404,),
    ),
    Operation(
        "POST",
        _LINE + "/stop",
        stop_session,
        "Stop a line: its worker lets it go and no pool worker takes it",
        _TAG,
        response=Response("The line, desired_state stopped", s.SESSION),
        errors=(404,),
    ),
    Operation(
        "POST",
        _LINE + "/webhook-secret",
        rotate_webhook_secret,
        "Rotate the webhook secret",
        _TAG,
        response=Response("The new secret (shown once)", s.SECRET),
        errors=(404,),
    ),
]
