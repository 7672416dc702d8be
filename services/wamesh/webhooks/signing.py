"""Standard Webhooks signatures: secrets, signing and verification.

A secret is `whsec_` + base64 of 32 random bytes. The signature of a delivery is
`v1,` + base64(HMAC-SHA256(secret bytes, f"{webhook_id}.{timestamp}.{body}")), sent in the
`webhook-signature` header beside `webhook-id` and `webhook-timestamp`; several signatures may be
sent separated by spaces. During a secret rotation a delivery is signed with the new and the old
secret (`SIGNING_SECRETS`: both, space-separated, until `webhook_secret_previous_until`), as the
spec's "Webhook headers" section describes for zero-downtime rotation
(standard-webhooks/standard-webhooks spec/standard-webhooks.md at 03f5f8c6): a receiver holding
either secret verifies it. Secrets are never logged.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import secrets
import time
from collections.abc import Mapping

from wamesh.constants import (
    WEBHOOK_ID_HEADER,
    WEBHOOK_SECRET_BYTES,
    WEBHOOK_SECRET_PREFIX,
    WEBHOOK_SIGNATURE_HEADER,
    WEBHOOK_TIMESTAMP_HEADER,
)

TOLERANCE_S = 300
# The claim's expression for a line's signing secrets (alias `s` = wamesh.sessions): the current
# secret, then the rotated-out one while its grace period lasts, separated by a space.
SIGNING_SECRETS = (
    "CASE WHEN s.webhook_secret_previous_until > now() "
    "THEN s.webhook_secret || ' ' || s.webhook_secret_previous ELSE s.webhook_secret END"
)


def generate_secret() -> str:
    """A new `whsec_` secret."""
    return (
        WEBHOOK_SECRET_PREFIX + base64.b64encode(secrets.token_bytes(WEBHOOK_SECRET_BYTES)).decode()
    )


def _key(secret: str) -> bytes:
    return base64.b64decode(secret.removeprefix(WEBHOOK_SECRET_PREFIX))


def sign(secret: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `v1,<base64>` signature of one request."""
    signed = f"{webhook_id}.{timestamp}.".encode() + body
    digest = hmac.new(_key(secret), signed, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode()


def signatures(secrets: str, webhook_id: str, timestamp: int, body: bytes) -> str:
    """The `webhook-signature` value: one signature per secret in `secrets` (space-separated)."""
    return " ".join(sign(secret, webhook_id, timestamp, body) for secret in secrets.split())


def headers(
    secret: str, webhook_id: str, body: bytes, timestamp: int | None = None
) -> dict[str, str]:
    """The three Standard Webhooks headers for `body`, signed with each of the space-separated
    secrets in `secret` (one, or two during a rotation)."""
    stamp = int(time.time()) if timestamp is None else timestamp
    return {
        WEBHOOK_ID_HEADER: webhook_id,
        WEBHOOK_TIMESTAMP_HEADER: str(stamp),
        WEBHOOK_SIGNATURE_HEADER: signatures(secret, webhook_id, stamp, body),
    }


def verify(secret: str, received: Mapping[str, str], body: bytes, now: float | None = None) -> bool:
    """True when one of the request's signatures matches and its timestamp is within 5 minutes."""
    try:
        webhook_id = received[WEBHOOK_ID_HEADER]
        stamp = int(received[WEBHOOK_TIMESTAMP_HEADER])
        offered = received[WEBHOOK_SIGNATURE_HEADER].split()
    except (KeyError, ValueError):
        return False
    if abs((time.time() if now is None else now) - stamp) > TOLERANCE_S:
        return False
    expected = sign(secret, webhook_id, stamp, body)
    return any(hmac.compare_digest(expected, candidate) for candidate in offered)
