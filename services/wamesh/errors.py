"""Domain errors of wamesh: every failure a caller can act on is one of these.

    WameshError                      code             (what the caller should do)
    ├── ConfigError                  config_invalid   fix the named environment variable
    ├── InvalidInput                 invalid_input    fix the named field (or a narrower
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
    │   └── AlreadyPaired            already_paired   the line is linked; log out to pair again
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

Translation happens once per front: to gRPC status in `wamesh.rpc.errors`, to HTTP in the
gateway's problem table. Messages never carry secrets.
"""

from __future__ import annotations


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

    code = "invalid_input"

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


class AlreadyPaired(Conflict):
    """The line is already linked to a phone, so there is nothing to pair (status attached)."""

    code = "already_paired"

    def __init__(self, session_id: str, status: str) -> None:
        super().__init__(
            f"session {session_id} is already paired (status: {status}); log it out to pair again"
        )
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
