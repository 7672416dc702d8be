"""Domain errors of wamesh: every failure a caller can act on is one of these.

    WameshError                      code             (what the caller should do)
    ├── ConfigError                  config_invalid   fix the named environment variable
    ├── InvalidInput                 invalid_value    fix the named field (or a narrower
    │   │                                             code: invalid_recipient, text_too_long, ...)
    │   ├── Unprocessable            unprocessable    the field is well formed but cannot be
    │   │                                             carried out (or a narrower code, e.g.
    │   │                                             invalid_media_url); HTTP 422
    │   └── MediaTooLarge            media_too_large  over WAMESH_MEDIA_MAX_BYTES
    ├── Unauthenticated              unauthenticated  send the API key / mesh token
    ├── NotFound                     not_found
    │   ├── SessionNotFound          session_not_found
    │   ├── ReminderNotFound         reminder_not_found
    │   ├── MediaNotFound            media_not_found  (absent, expired, or another line's)
    │   ├── MessageNotFound          message_not_found  (not in the chat named)
    │   └── DeliveryNotFound         delivery_not_found
    ├── Conflict                     conflict
    │   ├── LeaseHeld                lease_held       another worker serves the line
    │   ├── WrongSession             wrong_session    this worker serves another line
    │   ├── IdempotencyConflict      idempotency_conflict  client_message_id reused with
    │   │                                             different content
    │   ├── AlreadyPaired            already_paired   the line is linked; log out to pair again
    │   └── QrUnavailable            qr_unavailable   the line shows no QR now (status attached)
    ├── SessionNotReady              session_not_ready  wait for `ready` (status attached)
    ├── SessionOffline               session_offline  no worker serves the line (status attached)
    ├── LeaseLost                    lease_lost       the worker must stop at once
    ├── AuthStateError               auth_state_invalid  stored auth state cannot be decrypted
    ├── NotSupported                 not_supported    this line's engine cannot do that
    ├── EngineError                  engine_error
    │   └── EngineIncompatible       engine_incompatible  WhatsApp Web changed; modules named
    └── Unavailable                  unavailable      a dependency is down; retry
        └── DependencyUnavailable    dependency_unavailable  PostgreSQL or Redis (named in
                                                      `dependency`) cannot be reached; retry

Every `code` (these and the narrower ones) is a row of `CODES`: its HTTP status, its gRPC status
and what it means. Both fronts translate through that one table (`wamesh.rpc.errors`, the
gateway's `problems`), so a fault has one code over REST and gRPC; the README's error table is
generated from it (`wamesh.errors.markdown_table`). Messages never carry secrets, and a value
echoed back is cut to ECHO_MAX_CHARS (`shorten`).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Final

from wamesh.constants import MAX_TEXT_LENGTH

ECHO_MAX_CHARS: Final = 40


def shorten(value: object) -> str:
    """`value` as repr, cut to ECHO_MAX_CHARS with the full length said, for echoing in errors."""
    text = repr(value)
    if len(text) <= ECHO_MAX_CHARS:
        return text
    length = f" ({len(value)} characters)" if isinstance(value, str) else ""
    return f"{text[:ECHO_MAX_CHARS]}…{length}"


@dataclass(frozen=True)
class ErrorCode:
    """One row of the error contract: HTTP status, gRPC status name (None: REST only), meaning."""

    http: int
    grpc: str | None
    meaning: str


_REST_ONLY = None
CODES: Final[dict[str, ErrorCode]] = {
    # bad input (400 / INVALID_ARGUMENT): fix the field named in `field`
    "invalid_value": ErrorCode(400, "INVALID_ARGUMENT", "a field's value is not allowed"),
    "invalid_recipient": ErrorCode(400, "INVALID_ARGUMENT", "not a phone number or WhatsApp id"),
    "text_too_long": ErrorCode(
        400, "INVALID_ARGUMENT", f"a text or caption over {MAX_TEXT_LENGTH} characters"
    ),
    "malformed_json": ErrorCode(400, _REST_ONLY, "the body is not a JSON object"),
    "malformed_body": ErrorCode(400, _REST_ONLY, "a body aiohttp cannot parse (multipart)"),
    "unknown_field": ErrorCode(400, _REST_ONLY, "a field the document does not have"),
    "invalid_type": ErrorCode(400, _REST_ONLY, "a field of the wrong JSON type"),
    "missing_field": ErrorCode(400, _REST_ONLY, "a required field is absent"),
    "unprocessable": ErrorCode(
        422, "FAILED_PRECONDITION", "well formed but cannot be done (e.g. a time past)"
    ),
    "invalid_media_url": ErrorCode(422, "FAILED_PRECONDITION", "the media URL cannot be fetched"),
    "not_on_whatsapp": ErrorCode(422, "FAILED_PRECONDITION", "the recipient has no WhatsApp"),
    "media_too_large": ErrorCode(413, "INVALID_ARGUMENT", "media over WAMESH_MEDIA_MAX_BYTES"),
    "body_too_large": ErrorCode(413, _REST_ONLY, "a request body over the limit in `limit`"),
    "unsupported_media_type": ErrorCode(
        415, _REST_ONLY, "a JSON route called without Content-Type: application/json"
    ),
    "range_not_satisfiable": ErrorCode(416, _REST_ONLY, "a Range outside the media"),
    "unauthenticated": ErrorCode(401, "UNAUTHENTICATED", "send the API key / mesh token"),
    "route_not_found": ErrorCode(404, _REST_ONLY, "no such route"),
    "method_not_allowed": ErrorCode(405, _REST_ONLY, "the route exists; the method does not"),
    "not_found": ErrorCode(404, "NOT_FOUND", "the thing named does not exist"),
    "session_not_found": ErrorCode(404, "NOT_FOUND", "no line with this id"),
    "reminder_not_found": ErrorCode(404, "NOT_FOUND", "no reminder with this id on the line"),
    "media_not_found": ErrorCode(404, "NOT_FOUND", "no such media (or expired, or another line's)"),
    "message_not_found": ErrorCode(404, "NOT_FOUND", "no such message in the chat named"),
    "delivery_not_found": ErrorCode(404, "NOT_FOUND", "no such webhook delivery on the line"),
    "conflict": ErrorCode(409, "ALREADY_EXISTS", "conflicts with the current state"),
    "idempotency_conflict": ErrorCode(
        409, "ALREADY_EXISTS", "client_message_id reused with different content"
    ),
    "lease_held": ErrorCode(409, "ALREADY_EXISTS", "another worker serves the line"),
    "wrong_session": ErrorCode(409, "PERMISSION_DENIED", "this worker serves another line"),
    "already_paired": ErrorCode(
        409, "FAILED_PRECONDITION", "the line is linked; log out to pair again"
    ),
    "qr_unavailable": ErrorCode(
        409, "FAILED_PRECONDITION", "the line shows no QR now (status in `session_status`)"
    ),
    "session_not_ready": ErrorCode(409, "FAILED_PRECONDITION", "wait for `ready` (status given)"),
    "session_offline": ErrorCode(503, "UNAVAILABLE", "no worker serves the line; retry"),
    "lease_lost": ErrorCode(503, "UNAVAILABLE", "the worker lost its line; retry"),
    "unavailable": ErrorCode(503, "UNAVAILABLE", "a dependency is down; retry"),
    "dependency_unavailable": ErrorCode(
        503, "UNAVAILABLE", "PostgreSQL or Redis (in `dependency`) unreachable; retry"
    ),
    "not_supported": ErrorCode(501, "UNIMPLEMENTED", "the line's engine cannot do that"),
    "engine_error": ErrorCode(502, "INTERNAL", "the engine failed to do it"),
    "engine_incompatible": ErrorCode(502, "INTERNAL", "WhatsApp Web changed; modules named"),
    "config_invalid": ErrorCode(500, "FAILED_PRECONDITION", "a setting is wrong (named)"),
    "auth_state_invalid": ErrorCode(500, "INTERNAL", "stored auth state cannot be decrypted"),
    "internal": ErrorCode(500, "INTERNAL", "a defect"),
    "internal_error": ErrorCode(500, _REST_ONLY, "a defect of the gateway; see its log"),
}


def code_row(code: str) -> ErrorCode:
    """The contract row of `code` (an unknown code is a defect: answered as `internal`)."""
    return CODES.get(code, CODES["internal"])


def markdown_table() -> str:
    """The README's error table, generated from CODES."""
    lines = ["| code | HTTP | gRPC | meaning |", "|---|---|---|---|"]
    for code, row in CODES.items():
        grpc = f"`{row.grpc}`" if row.grpc else "— (REST only)"
        lines.append(f"| `{code}` | {row.http} | {grpc} | {row.meaning} |")
    return "\n".join(lines) + "\n"


class WameshError(Exception):
    """Base of every wamesh error; `code` is stable and part of the API."""

    code = "internal"

    def __init__(self, message: str) -> None:
        super().__init__(message)
        self.message = message


class ConfigError(WameshError):
    """A setting is missing or malformed; the message names the variable."""

    code = "config_invalid"


class InvalidInput(WameshError):
    """A request field is malformed; `code` may be narrowed (e.g. `invalid_recipient`)."""

    code = "invalid_value"

    def __init__(self, message: str, field: str | None = None, code: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        if code is not None:
            self.code = code


class Unprocessable(InvalidInput):
    """Input the API document allows that cannot be carried out: what no schema can say, as a
    time already past, a repeat that ends before it starts, a media URL that cannot be fetched,
    a number that is not on WhatsApp, a vote for an option the poll does not have. Input the
    document refuses stays plain InvalidInput (400)."""

    code = "unprocessable"


class MediaTooLarge(InvalidInput):
    """Media over the size cap; nothing was kept."""

    code = "media_too_large"

    def __init__(self, max_bytes: int, field: str | None = None) -> None:
        super().__init__(f"media is larger than {max_bytes} bytes", field, "media_too_large")
        self.max_bytes = max_bytes


class Unauthenticated(WameshError):
    """Missing or wrong credentials."""

    code = "unauthenticated"


class NotFound(WameshError):
    """The named thing does not exist."""

    code = "not_found"


class SessionNotFound(NotFound):
    """No line with this id."""

    code = "session_not_found"

    def __init__(self, session_id: str) -> None:
        super().__init__(f"no session (line) with id {session_id}")
        self.session_id = session_id


class ReminderNotFound(NotFound):
    """No reminder with this id on this line."""

    code = "reminder_not_found"


class MediaNotFound(NotFound):
    """No media with this id on this line (or it expired)."""

    code = "media_not_found"


class MessageNotFound(NotFound):
    """No message with this id in the chat named."""

    code = "message_not_found"


class DeliveryNotFound(NotFound):
    """No webhook delivery with this id on this line."""

    code = "delivery_not_found"


class Conflict(WameshError):
    """The request conflicts with the current state."""

    code = "conflict"


class LeaseHeld(Conflict):
    """Another worker holds the line's lease."""

    code = "lease_held"

    def __init__(self, session_id: str, holder: str) -> None:
        super().__init__(f"session {session_id} is already served by {holder}")
        self.session_id = session_id
        self.holder = holder


class WrongSession(Conflict):
    """A request named a line this worker does not serve."""

    code = "wrong_session"

    def __init__(self, requested: str, served: str) -> None:
        super().__init__(f"this worker serves session {served}, not {requested}")


class IdempotencyConflict(Conflict):
    """A client message id already named a send with different content (`message_id`)."""

    code = "idempotency_conflict"

    def __init__(self, message: str, message_id: str = "") -> None:
        super().__init__(message)
        self.message_id = message_id


class AlreadyPaired(Conflict):
    """The line is already linked to a phone, so there is nothing to pair (status attached)."""

    code = "already_paired"

    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(
            f"session {session_id} is already paired (status: {status}); log it out to pair again"
        )
        self.session_id = session_id
        self.status = status


class QrUnavailable(Conflict):
    """The line shows no QR code now (starting, ready, replaced by a pairing code...)."""

    code = "qr_unavailable"

    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(f"session {session_id} shows no QR code now (status: {status})")
        self.session_id = session_id
        self.status = status


class SessionNotReady(WameshError):
    """The line exists and is served, but is not ready to send."""

    code = "session_not_ready"

    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(f"session {session_id} is not ready (status: {status})")
        self.session_id = session_id
        self.status = status


class SessionOffline(WameshError):
    """No worker serves the line now."""

    code = "session_offline"

    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(f"no worker serves session {session_id} (last status: {status})")
        self.session_id = session_id
        self.status = status


class LeaseLost(WameshError):
    """This worker's lease on its line was taken or expired: stop at once."""

    code = "lease_lost"


class AuthStateError(WameshError):
    """Stored auth state cannot be decrypted or unpacked."""

    code = "auth_state_invalid"


class NotSupported(WameshError):
    """The line's engine does not offer the capability asked for."""

    code = "not_supported"

    def __init__(self, engine: str, capability: str) -> None:
        super().__init__(f"the {engine} engine does not support {capability}")
        self.engine = engine
        self.capability = capability


class EngineError(WameshError):
    """The engine failed to do what was asked."""

    code = "engine_error"


class EngineIncompatible(EngineError):
    """WhatsApp Web no longer has the modules the bridge needs."""

    code = "engine_incompatible"


class Unavailable(WameshError):
    """A dependency (database, Redis, worker) cannot be reached now."""

    code = "unavailable"


class DependencyUnavailable(Unavailable):
    """PostgreSQL or Redis (`dependency`) did not answer in time or refused the connection."""

    code = "dependency_unavailable"

    def __init__(self, dependency: str, detail: str = "") -> None:
        reason = f": {detail}" if detail else ""
        super().__init__(f"{dependency} is unreachable{reason}; retry later")
        self.dependency = dependency


if __name__ == "__main__":  # `python -m wamesh.errors`: the README's table
    print(markdown_table(), end="")
