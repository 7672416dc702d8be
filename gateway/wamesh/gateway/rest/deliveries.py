"""`/v1/sessions/{id}/deliveries`: the webhook delivery log, the dead letters and replay."""

from __future__ import annotations

from dataclasses import asdict
from typing import Any

from aiohttp import web

from wamesh import delivery_log, lines
from wamesh.gateway import schemas as s
from wamesh.gateway.api import (
    BODY,
    LIMIT_QUERY,
    Operation,
    Query,
    Response,
    parse_time,
    query_int,
    query_param,
    query_time,
    time_query,
)
from wamesh.gateway.context import gateway_of
from wamesh.gateway.render import iso, json_response


def delivery_json(d: delivery_log.Delivery, *, with_attempts: bool = False) -> dict[str, Any]:
    """A delivery as JSON."""
    body: dict[str, Any] = {
        "id": d.id,
        "session_id": d.session_id,
        "event_type": d.event_type,
        "status": d.status,
        "attempts": d.attempts,
        "last_error": d.last_error,
        "last_status_code": d.last_status_code,
        "created_at": iso(d.created_at),
        "updated_at": iso(d.updated_at),
        "delivered_at": iso(d.delivered_at),
        "payload": d.payload,
    }
    if with_attempts:
        body["attempt_log"] = [
            {**asdict(a), "started_at": iso(a.started_at)} for a in d.attempt_log
        ]
    return body


async def _line(request: web.Request) -> str:
    line = await lines.get_line(gateway_of(request).pool, request.match_info["id"])
    return line.id


async def list_deliveries(request: web.Request) -> web.StreamResponse:
    """The line's deliveries, newest first, filtered by status and creation time."""
    session_id = await _line(request)
    where = delivery_log.DeliveryFilter(
        status=query_param(request, "status"),
        since=query_time(request, "since"),
        until=query_time(request, "until"),
        limit=query_int(request, "limit", 100, 1, 1000),
    )
    found = await delivery_log.list_deliveries(gateway_of(request).pool, session_id, where)
    return json_response({"deliveries": [delivery_json(d) for d in found]})


async def get_delivery(request: web.Request) -> web.StreamResponse:
    """One delivery with its attempts."""
    session_id = await _line(request)
    found = await delivery_log.get_delivery(
        gateway_of(request).pool, session_id, request.match_info["did"]
    )
    return json_response(delivery_json(found, with_attempts=True))


async def redeliver(request: web.Request) -> web.StreamResponse:
    """Deliver one delivery again (same webhook-id, new attempts)."""
    gw = gateway_of(request)
    session_id = await _line(request)
    delivery_id = request.match_info["did"]
    await delivery_log.redeliver(gw.pool, gw.kicker, session_id, delivery_id)
    found = await delivery_log.get_delivery(gw.pool, session_id, delivery_id)
    return json_response(delivery_json(found), 202)


async def redeliver_failed(request: web.Request) -> web.StreamResponse:
    """Deliver again every failed delivery of the line created since a time."""
    session_id = await _line(request)
    since = parse_time(request[BODY]["since"], "since")
    gw = gateway_of(request)
    count = await delivery_log.redeliver_failed(gw.pool, gw.kicker, session_id, since)
    return json_response({"count": count}, 202)


_TAG = "deliveries"
_BASE = "/v1/sessions/{id}/deliveries"
OPERATIONS = [
    Operation(
        "GET",
        _BASE,
        list_deliveries,
        "List webhook deliveries",
        _TAG,
        response=Response("Deliveries, newest first", s.DELIVERY_LIST),
        query=(
            Query(
                "status",
                "pending, delivering, delivered or failed",
                {"type": "string", "enum": list(delivery_log.DELIVERY_STATUSES)},
            ),
            time_query("since", "created at or after (ISO 8601)"),
            time_query("until", "created before (ISO 8601)"),
            LIMIT_QUERY,
        ),
        errors=(400, 404),
    ),
    Operation(
        "GET",
        _BASE + "/{did}",
        get_delivery,
        "Get a delivery with its attempts",
        _TAG,
        response=Response("The delivery", s.DELIVERY),
        errors=(404,),
    ),
    Operation(
        "POST",
        _BASE + "/{did}/redeliver",
        redeliver,
        "Redeliver one delivery",
        _TAG,
        ok=202,
        response=Response("Queued again", s.DELIVERY),
        errors=(404,),
    ),
    Operation(
        "POST",
        _BASE + "/redeliver",
        redeliver_failed,
        "Redeliver every failed delivery since a time",
        _TAG,
        ok=202,
        response=Response("How many were queued again", s.REDELIVERED),
        body=s.REDELIVER_FAILED,
        errors=(400, 404),
    ),
]
