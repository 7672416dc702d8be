"""REST handlers, one module per resource; `operations()` is the whole route table."""

from __future__ import annotations

from wamesh.gateway.api import Operation


def operations(*, dev_mode: bool = False) -> list[Operation]:
    """Every REST operation, in documentation order (the dev inbox only in dev mode)."""
    from wamesh.gateway.rest import (
        chats,
        contacts,
        dashboard,
        deliveries,
        docs,
        inbox,
        media,
        messaging,
        ops,
        reminders,
        sandbox,
        sessions,
    )

    dev = inbox.OPERATIONS if dev_mode else []
    return [
        *dashboard.OPERATIONS,
        *ops.OPERATIONS,
        *docs.OPERATIONS,
        *sessions.OPERATIONS,
        *messaging.OPERATIONS,
        *contacts.OPERATIONS,
        *chats.OPERATIONS,
        *media.OPERATIONS,
        *sandbox.OPERATIONS,
        *reminders.OPERATIONS,
        *deliveries.OPERATIONS,
        *dev,
    ]
