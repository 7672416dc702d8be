"""Domain errors <-> gRPC status, through the one table of codes (`wamesh.errors.CODES`).

A server aborts with the status of the error's class and puts the stable `code` (and, for line
state errors, the line's status; for bad input, the field; for `not_supported`, the engine and
the capability; for `dependency_unavailable`, the dependency) in trailing metadata; a client
turns such an RpcError back into the same domain error with `from_rpc_error`, so the gateway can
re-raise what the worker raised. A PostgreSQL or Redis outage met by a servicer is answered as
UNAVAILABLE `dependency_unavailable` (`wamesh.dependencies`).
"""

from __future__ import annotations

import functools
import logging
import uuid
from collections.abc import Awaitable, Callable
from typing import Any, NoReturn, TypeVar

import grpc
import grpc.aio

from wamesh import errors
from wamesh.constants import REQUEST_ID_METADATA
from wamesh.dependencies import DEPENDENCY_ERRORS, unavailable
from wamesh.ids import as_uuid
from wamesh.logs import line_id, request_id
from wamesh.rpc.auth import metadata_value

_LOGGER = logging.getLogger(__name__)
CODE_METADATA = "wamesh-error-code"
STATUS_METADATA = "wamesh-session-status"
FIELD_METADATA = "wamesh-error-field"
ENGINE_METADATA = "wamesh-engine"
CAPABILITY_METADATA = "wamesh-capability"
DEPENDENCY_METADATA = "wamesh-dependency"
_ATTRIBUTE_METADATA = {
    "status": STATUS_METADATA,
    "field": FIELD_METADATA,
    "engine": ENGINE_METADATA,
    "capability": CAPABILITY_METADATA,
    "dependency": DEPENDENCY_METADATA,
}

_BY_CODE: dict[str, type[errors.WameshError]] = {
    cls.code: cls
    for cls in errors.__dict__.values()
    if isinstance(cls, type) and issubclass(cls, errors.WameshError)
}


def status_for(exc: errors.WameshError) -> grpc.StatusCode:
    """The gRPC status of the error's code in the one table (`wamesh.errors.CODES`); a REST-only
    code met here is INVALID_ARGUMENT when it is the caller's fault, INTERNAL otherwise."""
    row = errors.code_row(exc.code)
    if row.grpc is not None:
        return grpc.StatusCode[row.grpc]
    return grpc.StatusCode.INVALID_ARGUMENT if row.http < 500 else grpc.StatusCode.INTERNAL


def trailers_for(exc: errors.WameshError) -> tuple[tuple[str, str], ...]:
    """Trailing metadata that lets a client rebuild the error."""
    items = [(CODE_METADATA, exc.code)]
    for attribute, key in _ATTRIBUTE_METADATA.items():
        value = getattr(exc, attribute, None)
        if isinstance(value, str) and value.isascii():  # metadata values must be ASCII
            items.append((key, value))
    return tuple(items)


async def abort(context: grpc.aio.ServicerContext[Any, Any], exc: errors.WameshError) -> NoReturn:
    """End the call with the error's status, message and code."""
    context.set_trailing_metadata(trailers_for(exc))
    await context.abort(status_for(exc), exc.message)
    raise AssertionError("unreachable")  # pragma: no cover - abort always raises


async def abort_outage(context: grpc.aio.ServicerContext[Any, Any], exc: Exception) -> NoReturn:
    """End the call as UNAVAILABLE `dependency_unavailable` when `exc` is an outage of PostgreSQL
    or Redis; re-raise it otherwise."""
    outage = unavailable(exc)
    if outage is None:
        raise exc
    _LOGGER.warning("call failed: %s: %s", outage.code, outage.message)
    await abort(context, outage)


F = TypeVar("F", bound=Callable[..., Awaitable[Any]])


def translate_errors(method: F) -> F:
    """Decorate a unary servicer method: WameshError becomes its gRPC status (said in one INFO
    line naming the method and code), and the caller's request id (`x-request-id` metadata,
    passed on by the gateway; a new one when the caller sent none) tags the call's log lines and
    goes on with every call the method makes to a worker."""

    @functools.wraps(method)
    async def wrapper(self: Any, request: Any, context: grpc.aio.ServicerContext[Any, Any]) -> Any:
        rid = metadata_value(context.invocation_metadata(), REQUEST_ID_METADATA)
        token = request_id.set(rid or uuid.uuid4().hex)
        # A session worker set its line id once; the gateway's front takes the request's.
        line_token = line_id.set(line_id.get() or as_uuid(getattr(request, "session_id", "")))
        try:
            return await method(self, request, context)
        except errors.WameshError as exc:
            _LOGGER.info("%s refused: %s", method.__name__, exc.code)
            await abort(context, exc)
        except DEPENDENCY_ERRORS as exc:
            await abort_outage(context, exc)
        finally:
            line_id.reset(line_token)
            request_id.reset(token)

    return wrapper  # type: ignore[return-value]


def from_rpc_error(exc: grpc.aio.AioRpcError, session_id: str = "") -> errors.WameshError:
    """The domain error an RpcError carries (Unavailable when it carries none)."""
    trailers = {k: v for k, v in (exc.trailing_metadata() or ()) if isinstance(v, str)}
    code = trailers.get(CODE_METADATA, "")
    message = exc.details() or exc.code().name
    status = trailers.get(STATUS_METADATA, "unknown")
    if exc.code() == grpc.StatusCode.INVALID_ARGUMENT:
        return errors.InvalidInput(message, trailers.get(FIELD_METADATA), code or None)
    cls = _BY_CODE.get(code)
    if exc.code() == grpc.StatusCode.FAILED_PRECONDITION and cls in (
        None,
        errors.InvalidInput,
        errors.Unprocessable,
    ):
        return errors.Unprocessable(message, trailers.get(FIELD_METADATA), code or None)
    if cls is errors.SessionNotReady:
        return errors.SessionNotReady(session_id, status)
    if cls is errors.AlreadyPaired:
        return errors.AlreadyPaired(session_id, status)
    if cls is errors.NotSupported:
        return errors.NotSupported(
            trailers.get(ENGINE_METADATA, "line's"), trailers.get(CAPABILITY_METADATA, "this")
        )
    if cls is errors.SessionOffline:
        return errors.SessionOffline(session_id, status)
    if cls is errors.SessionNotFound:
        return errors.SessionNotFound(session_id)
    if cls is errors.DependencyUnavailable:
        return errors.DependencyUnavailable(trailers.get(DEPENDENCY_METADATA, "a dependency"))
    if cls is not None and cls not in (errors.LeaseHeld, errors.WrongSession, errors.InvalidInput):
        return cls(message)
    return errors.Unavailable(f"worker call failed: {exc.code().name}: {message}")
