"""Magic names in one place: Redis keys, TTLs, header and metadata names, limits."""

from __future__ import annotations

from typing import Final

# Redis keys. Redis holds only what may be lost (DESIGN.md §4).
KEY_PREFIX: Final = "wamesh"
WORKER_KEY: Final = KEY_PREFIX + ":worker:{session_id}"  # -> JSON WorkerRecord, with a lease TTL
WORKER_KEY_PATTERN: Final = KEY_PREFIX + ":worker:*"

# Worker lease: refreshed every LEASE_TTL / LEASE_REFRESH_DIVISOR (an idle line's one regular
# wake-up besides gRPC's own threads: README, "Budgets"); a failed refresh is retried every
# LEASE_RETRY_S for the other half of the TTL before the key can expire.
DEFAULT_LEASE_TTL_MS: Final = 15_000
LEASE_REFRESH_DIVISOR: Final = 2
LEASE_RETRY_S: Final = 0.5  # refresh retries while Redis cannot be reached (lease suspended)
LEASE_CALL_TIMEOUT_S: Final = 1.0  # one refresh, or a command's confirmation, at most
LEASE_PROBE_TIMEOUT_S: Final = 1.0  # a takeover's TCP probe of the holder's address

# Pool mode (wamesh.session.pool): a line's desired state, and how idle pool workers are woken.
DESIRED_STARTED: Final = "started"
DESIRED_STOPPED: Final = "stopped"
DESIRED_STATES: Final = (DESIRED_STARTED, DESIRED_STOPPED)
# A list idle pool workers block on (BLPOP); the gateway pushes one token per line that starts
# wanting a worker, a pool worker one per line it lets go while the line still wants one.
POOL_WAKE_KEY: Final = "wamesh:pool:wake"
POOL_WAKE_KEEP: Final = 64  # tokens kept at most (LTRIM): nobody listening must not grow it
POOL_POLL_MS_DEFAULT: Final = 5_000  # the safety net: idle scan, and a served line's row check
POOL_BLOCK_MAX_S: Final = 8.0  # one BLPOP at most (under the Redis client's 10 s socket timeout)
ADVERTISE_AUTO: Final = "auto"  # WAMESH_ADVERTISE_HOST: the address that reaches Redis
DEFAULT_REDIS_PORT: Final = 6379
POOL_CANDIDATES: Final = 50  # lines read per scan, longest waiting first

# PostgreSQL.
DB_SCHEMA_DEFAULT: Final = "wamesh"  # WAMESH_DB_SCHEMA; statements are written naming this one
LEGACY_SCHEMA: Final = "public"  # where migrations 0001-0008 put an install made before 0009
MIGRATION_LOCK_ID: Final = 0x77616D657368  # "wamesh" as an advisory lock key
NOTIFY_SESSIONS_CHANNEL: Final = "wamesh_sessions"

# A warning repeated while a dependency is down is logged at most this often, with a count of the
# ones held back (wamesh.logs.OncePer).
TROUBLE_LOG_INTERVAL_S: Final = 60.0

# gRPC metadata (lower case, as gRPC requires).
MESH_TOKEN_METADATA: Final = "x-wamesh-mesh-token"
API_KEY_METADATA: Final = "x-api-key"
AUTHORIZATION_METADATA: Final = "authorization"
REQUEST_ID_METADATA: Final = "x-request-id"

# HTTP headers.
API_KEY_HEADER: Final = "X-Api-Key"
REQUEST_ID_HEADER: Final = "X-Request-Id"

# Standard Webhooks headers.
WEBHOOK_ID_HEADER: Final = "webhook-id"
WEBHOOK_TIMESTAMP_HEADER: Final = "webhook-timestamp"
WEBHOOK_SIGNATURE_HEADER: Final = "webhook-signature"
WEBHOOK_SECRET_PREFIX: Final = "whsec_"
WEBHOOK_SECRET_BYTES: Final = 32

# Event types, as webhooks and StreamEvents name them.
EVENT_SESSION_STATUS: Final = "session.status"
EVENT_SESSION_QR: Final = "session.qr"
EVENT_SESSION_PAIRING_CODE: Final = "session.pairing_code"
EVENT_MESSAGE_RECEIVED: Final = "message.received"
EVENT_MESSAGE_SENT: Final = "message.sent"
EVENT_MESSAGE_ACK: Final = "message.ack"
EVENT_MESSAGE_REACTION: Final = "message.reaction"
EVENT_MESSAGE_EDITED: Final = "message.edited"
EVENT_MESSAGE_REVOKED: Final = "message.revoked"
EVENT_POLL_VOTE: Final = "poll.vote"
EVENT_GROUP_PARTICIPANTS: Final = "group.participants"
EVENT_PRESENCE_UPDATE: Final = "presence.update"
EVENT_REMINDER_SENT: Final = "reminder.sent"
EVENT_REMINDER_FAILED: Final = "reminder.failed"
EVENT_TYPES: Final = (
    EVENT_SESSION_STATUS,
    EVENT_SESSION_QR,
    EVENT_SESSION_PAIRING_CODE,
    EVENT_MESSAGE_RECEIVED,
    EVENT_MESSAGE_SENT,
    EVENT_MESSAGE_ACK,
    EVENT_MESSAGE_REACTION,
    EVENT_MESSAGE_EDITED,
    EVENT_MESSAGE_REVOKED,
    EVENT_POLL_VOTE,
    EVENT_GROUP_PARTICIPANTS,
    EVENT_PRESENCE_UPDATE,
    EVENT_REMINDER_SENT,
    EVENT_REMINDER_FAILED,
)

# Where the gateway serves a line's stored media (event data's `media.url`).
MEDIA_URL_PATH: Final = "/v1/sessions/{session_id}/media/{media_id}"

# Line lifecycle (sessions.status) and engines (sessions.engine).
STATUSES: Final = ("starting", "qr", "ready", "disconnected", "logged_out", "failed", "stopped")
ENGINES: Final = ("sandbox", "browser", "whatsmeow")

# Media: how often the gateway deletes expired media.
MEDIA_PURGE_INTERVAL_S: Final = 600.0

# Limits. A text (or caption) of at most 65,536 characters (Unicode code points): what a linked
# device sends (the Cloud API's 4,096 is that API's own limit; README "The text limit").
MAX_TEXT_LENGTH: Final = 65_536
# A JSON body carrying such a text: each character may be escaped as a surrogate pair
# ("\ud83d\ude00", 12 bytes), so 65,536 of them take 786,432 bytes before the other fields.
MAX_TEXT_BODY_BYTES: Final = 1024 * 1024
MAX_NAME_LENGTH: Final = 200
PHONE_DIGITS: Final = (7, 15)  # E.164: at most 15 digits with the country code

# Metrics: the gateway reads its PostgreSQL gauges at most once per METRICS_DB_CACHE_S; a pending
# reminder due more than REMINDER_LATE_S ago counts as late.
METRICS_DB_CACHE_S: Final = 5.0
REMINDER_LATE_S: Final = 60
