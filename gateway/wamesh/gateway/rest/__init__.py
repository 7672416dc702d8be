"""REST handlers, one module per resource; `operations()` is the whole route table."""

from __future__ import annotations

from wamesh.gateway.api import Operation


def operations() -> list[Operation]:
    """Every REST operation, in documentation order."""
    from wamesh.gateway.rest import deliveries, docs, messaging, ops, sandbox, sessions

    return [
        *ops.OPERATIONS,
        *docs.OPERATIONS,
        *sessions.OPERATIONS,
        *messaging.OPERATIONS,
        *sandbox.OPERATIONS,
        *deliveries.OPERATIONS,
    ]
