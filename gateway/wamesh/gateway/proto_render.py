"""Domain objects as wire messages for the gateway's gRPC admin services."""

from __future__ import annotations

from typing import Any

from google.protobuf import struct_pb2

from wamesh.delivery_log import Delivery
from wamesh.lines import LineRecord
from wamesh.session.events import STATUS_TO_PROTO, timestamp
from wamesh.v1 import admin_pb2


def _struct(values: dict[str, Any]) -> struct_pb2.Struct:
    struct = struct_pb2.Struct()
    struct.update(values)
    return struct


def line_to_proto(line: LineRecord, worker_address: str = "") -> admin_pb2.Session:
    """A line on the wire."""
    return admin_pb2.Session(
        id=line.id,
        name=line.name,
        engine=line.engine,
        status=STATUS_TO_PROTO[line.status],
        qr=line.qr or "",
        qr_expires_at=timestamp(line.qr_expires_at),
        me=line.me or "",
        webhook_url=line.webhook_url or "",
        webhook_events=line.webhook_events,
        metadata=_struct(line.metadata),
        last_error=line.last_error or "",
        created_at=timestamp(line.created_at),
        updated_at=timestamp(line.updated_at),
        worker_address=worker_address,
        webhook_enabled=line.webhook_enabled,
        desired_state=line.desired_state,
    )


def delivery_to_proto(d: Delivery) -> admin_pb2.Delivery:
    """A delivery on the wire, with its attempts when loaded."""
    return admin_pb2.Delivery(
        id=d.id,
        session_id=d.session_id,
        event_type=d.event_type,
        status=d.status,
        attempts=d.attempts,
        last_error=d.last_error or "",
        created_at=timestamp(d.created_at),
        delivered_at=timestamp(d.delivered_at),
        payload=_struct(d.payload),
        attempt_log=[
            admin_pb2.Attempt(
                number=a.attempt,
                at=timestamp(a.started_at),
                status_code=a.status_code or 0,
                latency_ms=a.latency_ms,
                error=a.error or "",
                response_snippet=a.response_snippet or "",
            )
            for a in d.attempt_log
        ],
    )
