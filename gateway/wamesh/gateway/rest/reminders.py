"""`/v1/sessions/{id}/reminders`: scheduled messages (sent by the line's own worker)."""

from __future__ import annotations

from typing import Any

from aiohttp import web

from wamesh.constants import MAX_TEXT_BODY_BYTES
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
from wamesh.gateway.render import json_response
from wamesh.reminders import service
from wamesh.reminders.model import STATUSES
from wamesh.reminders.schedule import every_seconds


def _repeat(body: dict[str, Any] | None) -> service.Repeat | None:
    if body is None:
        return None
    until = parse_time(body["until"], "repeat.until") if "until" in body else None
    return service.Repeat(every_seconds(body["every"], body["unit"]), until, body.get("count"))


async def create_reminder(request: web.Request) -> web.StreamResponse:
    """Schedule a message (201; 200 when `client_key` was used before)."""
    body = request[BODY]
    new = service.NewReminder(
        recipient=body["recipient"],
        text=body["text"],
        due_at=parse_time(body["due_at"], "due_at") if "due_at" in body else None,
        delay_s=body.get("delay_seconds"),
        repeat=_repeat(body.get("repeat")),
        client_key=body.get("client_key"),
    )
    gateway = gateway_of(request)
    reminder, created = await service.create_reminder(gateway.pool, request.match_info["id"], new)
    await gateway.router.wake_reminders(reminder.session_id)
    return json_response(reminder.to_json(), 201 if created else 200)


async def list_reminders(request: web.Request) -> web.StreamResponse:
    """A line's reminders in due order, filtered by status and due range."""
    where = service.ReminderFilter(
        status=query_param(request, "status"),
        due_from=query_time(request, "due_from"),
        due_to=query_time(request, "due_to"),
        limit=query_int(request, "limit", 100, 1, service.MAX_LIST),
    )
    found = await service.list_reminders(gateway_of(request).pool, request.match_info["id"], where)
    return json_response({"reminders": [r.to_json() for r in found]})


async def get_reminder(request: web.Request) -> web.StreamResponse:
    """One reminder."""
    found = await service.get_reminder(
        gateway_of(request).pool, request.match_info["id"], request.match_info["rid"]
    )
    return json_response(found.to_json())


async def update_reminder(request: web.Request) -> web.StreamResponse:
    """Edit a pending reminder."""
    body = request[BODY]
    patch = service.ReminderPatch(
        recipient=body.get("recipient"),
        text=body.get("text"),
        due_at=parse_time(body["due_at"], "due_at") if "due_at" in body else None,
    )
    gateway = gateway_of(request)
    found = await service.update_reminder(
        gateway.pool, request.match_info["id"], request.match_info["rid"], patch
    )
    await gateway.router.wake_reminders(found.session_id)
    return json_response(found.to_json())


async def cancel_reminder(request: web.Request) -> web.StreamResponse:
    """Cancel a pending reminder (and the rest of its series)."""
    pool = gateway_of(request).pool
    found = await service.cancel_reminder(pool, request.match_info["id"], request.match_info["rid"])
    return json_response(found.to_json())


_TAG = "reminders"
_BASE = "/v1/sessions/{id}/reminders"
OPERATIONS = [
    Operation(
        "POST",
        _BASE,
        create_reminder,
        "Schedule a message",
        _TAG,
        ok=201,
        response=Response("The reminder", s.REMINDER),
        body=s.REMINDER_CREATE,
        max_json_bytes=MAX_TEXT_BODY_BYTES,
        errors=(400, 404, 422),
        extra_responses={200: Response("Already created with this client_key", s.REMINDER)},
    ),
    Operation(
        "GET",
        _BASE,
        list_reminders,
        "List reminders",
        _TAG,
        response=Response("Reminders", s.REMINDER_LIST),
        query=(
            Query(
                "status",
                "pending, sent, failed or cancelled",
                {"type": "string", "enum": list(STATUSES)},
            ),
            time_query("due_from", "due at or after (ISO 8601)"),
            time_query("due_to", "due before (ISO 8601)"),
            LIMIT_QUERY,
        ),
        errors=(400, 404),
    ),
    Operation(
        "GET",
        _BASE + "/{rid}",
        get_reminder,
        "Get a reminder",
        _TAG,
        response=Response("The reminder", s.REMINDER),
        errors=(404,),
    ),
    Operation(
        "PATCH",
        _BASE + "/{rid}",
        update_reminder,
        "Edit a pending reminder",
        _TAG,
        response=Response("The reminder", s.REMINDER),
        body=s.REMINDER_PATCH,
        max_json_bytes=MAX_TEXT_BODY_BYTES,
        errors=(400, 404, 409, 422),
    ),
    Operation(
        "DELETE",
        _BASE + "/{rid}",
        cancel_reminder,
        "Cancel a pending reminder",
        _TAG,
        response=Response("The cancelled reminder", s.REMINDER),
        errors=(404, 409),
    ),
]
