"""The dev-mode webhook inbox: point a line's webhook at `/dev/inbox/{id}` and watch deliveries
arrive, each checked against the line's secret. Registered only when WAMESH_DEV is on."""

from __future__ import annotations

import json
import time
from dataclasses import asdict
from typing import Any

from aiohttp import web

from wamesh import lines
from wamesh.constants import WEBHOOK_ID_HEADER, WEBHOOK_SIGNATURE_HEADER, WEBHOOK_TIMESTAMP_HEADER
from wamesh.errors import SessionNotFound
from wamesh.gateway import schemas as s
from wamesh.gateway.api import Operation, Response, query_param
from wamesh.gateway.context import gateway_of
from wamesh.gateway.inbox import InboxEntry
from wamesh.gateway.render import epoch_iso, json_response
from wamesh.webhooks.signing import verify


async def _secret_of(request: web.Request, line_id: str) -> str:
    async with gateway_of(request).pool.connection() as conn:
        cursor = await conn.execute(
            "SELECT webhook_secret FROM wamesh.sessions WHERE id = %s", (line_id,)
        )
        row = await cursor.fetchone()
    if row is None:
        raise SessionNotFound(line_id)
    return str(row["webhook_secret"])


async def inbox_receive(request: web.Request) -> web.StreamResponse:
    """Receive a webhook for a line and check its signature."""
    line_id = lines.parse_line_id(request.match_info["id"])
    raw = await request.read()
    headers = {k.lower(): v for k, v in request.headers.items()}
    verified = verify(await _secret_of(request, line_id), headers, raw)
    try:
        body: Any = json.loads(raw)
    except ValueError:
        body = raw.decode(errors="replace")
    kind = body.get("type") if isinstance(body, dict) else None
    entry = InboxEntry(
        time.time(), line_id, headers.get(WEBHOOK_ID_HEADER, ""), kind, verified, body
    )
    inbox = gateway_of(request).inbox
    assert inbox is not None
    inbox.add(entry)
    return json_response({"verified": verified})


async def inbox_list(request: web.Request) -> web.StreamResponse:
    """What the inbox received, newest first (optionally for one line)."""
    inbox = gateway_of(request).inbox
    assert inbox is not None
    wanted = query_param(request, "session_id")
    entries = [
        {**asdict(e), "received_at": epoch_iso(e.received_at)}
        for e in inbox.entries
        if wanted is None or e.session_id == wanted
    ]
    return json_response({"entries": entries})


_ENTRY = {"type": "object"}
OPERATIONS = [
    Operation(
        "POST",
        "/dev/inbox/{id}",
        inbox_receive,
        "Dev inbox: receive a webhook",
        "dev",
        public=True,
        response=Response("Received; whether the signature verified", {"type": "object"}),
        errors=(404,),
    ),
    Operation(
        "GET",
        "/dev/inbox",
        inbox_list,
        "Dev inbox: received webhooks, newest first",
        "dev",
        response=Response(
            "Entries", s.obj({"entries": {"type": "array", "items": _ENTRY}}, ("entries",))
        ),
    ),
]
HEADERS_USED = (WEBHOOK_ID_HEADER, WEBHOOK_TIMESTAMP_HEADER, WEBHOOK_SIGNATURE_HEADER)
