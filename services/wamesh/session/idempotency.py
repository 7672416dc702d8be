"""Client message ids: one send per id, and an id reused for other content refused.

A send stores the SHA-256 of its content beside its client message id (`sent_messages`,
migration 0011). A later call with the same id answers the first message (`duplicate: true`)
when its content hashes alike, and 409 `idempotency_conflict` when it does not: a client that
reuses an id for a new message learns it at once instead of believing the new text was sent.
"""

from __future__ import annotations

import hashlib

from wamesh.errors import IdempotencyConflict, shorten
from wamesh.session.store import SentRecord


def fingerprint(*content: object) -> str:
    """The SHA-256 of `content`'s repr (dataclasses, tuples and strings: a stable repr)."""
    return hashlib.sha256(repr(content).encode("utf-8", "surrogatepass")).hexdigest()


def check_same(known: SentRecord, client_message_id: str, content_sha256: str) -> None:
    """Refuse a reuse of `client_message_id` for content other than what it first sent."""
    if known.content_sha256 is not None and known.content_sha256 != content_sha256:
        raise IdempotencyConflict(
            f"client_message_id {shorten(client_message_id)} already sent message "
            f"{known.message_id} with different content; use a new id for a new message",
            known.message_id,
        )
