"""Domain objects as JSON for the REST API."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from typing import Any

from aiohttp import web
from google.protobuf.timestamp_pb2 import Timestamp

from wamesh.lines import LineRecord
from wamesh.registry import WorkerRecord


def iso(moment: datetime | None) -> str | None:
    """ISO 8601 with a Z, or None."""
    if moment is None:
        return None
    return moment.isoformat().replace("+00:00", "Z")


def epoch_iso(seconds: float) -> str:
    """An epoch time (time.time()) as ISO 8601 with a Z, to the millisecond."""
    moment = datetime.fromtimestamp(seconds, tz=UTC)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def line_json(
    line: LineRecord,
    worker: WorkerRecord | None = None,
    live: str | None = None,
    me_lid: str | None = None,
) -> dict[str, Any]:
    """A line; `worker` and `live_status` when a worker serves it, `me_lid` (the own LID, never
    stored) when its worker knows it."""
    return {
        "id": line.id,
        "name": line.name,
        "engine": line.engine,
        "status": line.status,
        "qr": line.qr,
        "qr_expires_at": iso(line.qr_expires_at),
        "me": line.me,
        "me_lid": me_lid,
        "webhook_url": line.webhook_url,
        "webhook_events": line.webhook_events,
        "webhook_enabled": line.webhook_enabled,
        "metadata": line.metadata,
        "last_error": line.last_error,
        "created_at": iso(line.created_at),
        "updated_at": iso(line.updated_at),
        "desired_state": line.desired_state,
        "worker": worker_json(worker),
        "live_status": live,
    }


def worker_json(worker: WorkerRecord | None) -> dict[str, Any] | None:
    """The registry record without its owner token."""
    if worker is None:
        return None
    return {
        "address": worker.address,
        "host": worker.host,
        "pid": worker.pid,
        "started_at": epoch_iso(worker.started_at),
    }


def json_response(body: Any, status: int = 200) -> web.Response:
    """JSON with `application/json`."""
    return web.Response(
        status=status, text=json.dumps(body, default=str), content_type="application/json"
    )


def proto_time(stamp: Timestamp) -> str | None:
    """A protobuf Timestamp as ISO 8601, or None when unset."""
    if stamp.seconds == 0 and stamp.nanos == 0:
        return None
    return stamp.ToJsonString()
