"""The REST route table: each `Operation` is a route, its documentation and its validation.

Handlers are registered from the table only, and the OpenAPI document is written from the same
table (`openapi.py`), so every route is documented and every documented route exists. Request
bodies are validated against the operation's JSON Schema before the handler runs; each kind of
violation has a stable problem `code`.
"""

from __future__ import annotations

import json
import re
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from aiohttp import web
from jsonschema import Draft202012Validator
from jsonschema.exceptions import ValidationError

from wamesh.errors import InvalidInput, shorten
from wamesh.gateway.schemas import SPACE, Schema
from wamesh.jid import CONTACT_PATTERN, GROUP_ID_PATTERN, RECIPIENT_PATTERN
from wamesh.lines import parse_line_id

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
BODY = web.RequestKey("body", dict[str, Any])
_PATH_PARAM = re.compile(r"{(\w+)}")
_UUID = "[0-9A-Fa-f]{8}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{4}-[0-9A-Fa-f]{12}"
# Path parameters matched by pattern, so that a sibling route's fixed segment is never taken for
# one (`.../deliveries/redeliver` is not the delivery "redeliver"); documented with the pattern.
PATH_PATTERNS: dict[str, str] = {"did": _UUID}
# Documented only (the handler answers 400 naming the parameter for anything else): a message id
# is what `check_message_id` accepts (printable ASCII, no space, at most 200) less `/`, which a
# path segment cannot hold; the others are what parse_recipient / parse_contact / parse_group take.
PATH_DOC_PATTERNS: dict[str, str] = {
    "message_id": r"[!-.0-~]{1,200}",
    "chat_id": f"[{SPACE}]*{RECIPIENT_PATTERN}[{SPACE}]*",
    "contact": f"[{SPACE}]*{CONTACT_PATTERN}[{SPACE}]*",
    "group_id": f"[{SPACE}]*{GROUP_ID_PATTERN}[{SPACE}]*",
}
_VALIDATOR_CODES = {
    "type": "invalid_type",
    "additionalProperties": "unknown_field",
    "required": "missing_field",
    "enum": "invalid_value",
    "minLength": "invalid_value",
    "maxItems": "invalid_value",
    "format": "invalid_value",
}


# A schema's own problem code for a value its pattern refuses (an OpenAPI `x-` extension, which
# JSON Schema validators ignore), so the schema and the code behind it answer alike.
CODE_KEYWORD = "x-wamesh-code"
# The keywords a schema's own code covers: a recipient too long, empty or malformed is
# `invalid_recipient` over REST as over gRPC, where one parser says all three.
_SHAPE_KEYWORDS = frozenset({"pattern", "minLength", "maxLength"})
# What a pattern accepts, said in words: the error says this instead of echoing the regex.
EXPECTED_KEYWORD = "x-wamesh-expected"


@dataclass(frozen=True)
class Query:
    """A query parameter."""

    name: str
    description: str
    schema: Schema = field(default_factory=lambda: {"type": "string", "minLength": 1})


@dataclass(frozen=True)
class Response:
    """A documented response."""

    description: str
    schema: Schema | None = None
    media: tuple[str, ...] = ("application/json",)


@dataclass(frozen=True)
class Operation:
    """A route with everything needed to validate and document it."""

    method: str
    path: str
    handler: Handler
    summary: str
    tag: str
    ok: int = 200
    response: Response | None = None
    body: Schema | None = None
    query: Sequence[Query] = ()
    errors: Sequence[int] = ()
    public: bool = False
    extra_responses: dict[int, Response] = field(default_factory=dict)
    # A JSON body larger than the app's limit (inline base64 media), read up to this many bytes.
    max_json_bytes: int | None = None
    # Bodies the handler streams itself (media type -> schema): documented, never read whole.
    raw_body: dict[str, Schema] = field(default_factory=dict)

    @property
    def path_params(self) -> list[str]:
        """Names of the `{params}` in the path."""
        return _PATH_PARAM.findall(self.path)

    @property
    def operation_id(self) -> str:
        """A stable id from the handler's name."""
        return self.handler.__name__.lstrip("_")


def register(app: web.Application, operations: Sequence[Operation]) -> None:
    """Add every operation's route, wrapped with body validation."""
    for op in operations:
        app.router.add_route(
            op.method, _route_path(op.path), _with_validation(op), name=op.operation_id
        )


def _route_path(path: str) -> str:
    """`path` with each parameter of PATH_PATTERNS written as aiohttp's `{name:regex}`."""
    return _PATH_PARAM.sub(
        lambda m: f"{{{m[1]}:{PATH_PATTERNS[m[1]]}}}" if m[1] in PATH_PATTERNS else m[0], path
    )


def _with_validation(op: Operation) -> Handler:
    if op.body is None:
        return op.handler
    validator = Draft202012Validator(op.body, format_checker=Draft202012Validator.FORMAT_CHECKER)

    async def handler(request: web.Request) -> web.StreamResponse:
        _require_json_type(request)
        request[BODY] = _validated(validator, await _read_json(request, op.max_json_bytes))
        return await op.handler(request)

    handler.__name__ = op.handler.__name__
    return handler


def _require_json_type(request: web.Request) -> None:
    """415 `unsupported_media_type` unless the body says it is JSON (`application/json` or a
    `+json` type), so a form or a text body is never taken for JSON by accident."""
    kind = request.content_type
    if kind == "application/json" or (kind.startswith("application/") and kind.endswith("+json")):
        return
    sent = request.headers.get("Content-Type")
    said = f"not {shorten(sent)}" if sent else "and none was sent"
    raise InvalidInput(
        f"this route takes Content-Type: application/json, {said}",
        "Content-Type",
        "unsupported_media_type",
    )


async def _read_json(request: web.Request, max_bytes: int | None = None) -> Any:
    raw = await request.read() if max_bytes is None else await _read_up_to(request, max_bytes)
    if not raw.strip():
        raise InvalidInput("the request body must be a JSON object", None, "malformed_json")
    try:
        body = json.loads(raw)
    except (ValueError, UnicodeDecodeError) as exc:
        raise InvalidInput(
            f"the request body is not valid JSON: {exc}", None, "malformed_json"
        ) from None
    return _clean(body)


async def _read_up_to(request: web.Request, max_bytes: int) -> bytes:
    """The body, or 413 past `max_bytes` (aiohttp's own limit applies to `read()` only)."""
    if request.content_length is not None and request.content_length > max_bytes:
        raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=request.content_length)
    raw = bytearray()
    async for chunk in request.content.iter_chunked(64 * 1024):
        raw += chunk
        if len(raw) > max_bytes:
            raise web.HTTPRequestEntityTooLarge(max_size=max_bytes, actual_size=len(raw))
    return bytes(raw)


def _clean(value: Any) -> Any:
    """Refuse NUL (PostgreSQL text cannot hold it; the schemas forbid it too) and replace lone
    surrogates, which JSON allows but UTF-8 cannot carry, with U+FFFD."""
    if isinstance(value, str):
        if "\x00" in value:
            raise InvalidInput("strings must not contain NUL characters", None, "invalid_value")
        return value.encode("utf-8", "surrogatepass").decode("utf-8", "replace")
    if isinstance(value, dict):
        return {_clean(k): _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(item) for item in value]
    return value


def _validated(validator: Draft202012Validator, body: Any) -> dict[str, Any]:
    # The most specific error first (a field's own limit before an anyOf over the whole body).
    ordered = sorted(validator.iter_errors(body), key=lambda e: (-len(e.path), list(e.path)))
    error = next(iter(ordered), None)
    if error is not None:
        raise _to_invalid(error)
    assert isinstance(body, dict)
    return body


def _alternatives(error: ValidationError) -> list[str]:
    """The field sets of a oneOf/anyOf made of `required` lists only (else nothing)."""
    options = error.validator_value if isinstance(error.validator_value, list) else []
    if not all(isinstance(o, dict) and set(o) == {"required"} for o in options):
        return []
    return [" and ".join(o["required"]) for o in options]


def _to_invalid(error: ValidationError) -> InvalidInput:
    missing = [e for e in error.context or () if e.validator == "required"]
    if error.validator in ("oneOf", "anyOf") and missing and len(missing) == len(error.context):
        return _to_invalid(missing[0])  # none of the alternatives given: name the first
    nested = _deepest(error)
    if nested is not None:
        return _to_invalid(nested)  # an alternative given but wrong: say what is wrong in it
    field_name = ".".join(str(p) for p in error.absolute_path) or None
    code = _VALIDATOR_CODES.get(str(error.validator), "invalid_value")
    if error.validator in _SHAPE_KEYWORDS and isinstance(error.schema, dict):
        code = error.schema.get(CODE_KEYWORD, code)  # the code the handler's own check gives
    message = _said(error)
    if error.validator == "additionalProperties":
        schema = error.schema if isinstance(error.schema, dict) else {}
        instance = error.instance if isinstance(error.instance, dict) else {}
        unknown = sorted(set(instance) - set(schema.get("properties", {})))
        field_name = ".".join(filter(None, [field_name, unknown[0] if unknown else None])) or None
        message = f"unknown field(s): {', '.join(unknown)}"
    elif error.validator == "required" and "'" in error.message:
        name = error.message.split("'")[1]
        field_name = f"{field_name}.{name}" if field_name else name
    elif error.validator in ("oneOf", "anyOf") and _alternatives(error):
        how = "exactly one" if error.validator == "oneOf" else "one"
        message = f"needs {how} of: {' | '.join(_alternatives(error))}"
    elif error.validator == "maxLength" and field_name == "text":
        code = "text_too_long"
    if error.validator == "type" and field_name is None:
        message = "the request body must be a JSON object"
    return InvalidInput(f"{field_name}: {message}" if field_name else message, field_name, code)


def _deepest(error: ValidationError) -> ValidationError | None:
    """Of a oneOf/anyOf's failed alternatives, the error on the deepest field, if one is on a
    field (`text: must not be empty` rather than "the body matches none of the shapes")."""
    if error.validator not in ("oneOf", "anyOf"):
        return None
    found = sorted(error.context or (), key=lambda e: -len(e.absolute_path))
    return found[0] if found and len(found[0].absolute_path) > len(error.absolute_path) else None


def _said(error: ValidationError) -> str:
    """What is wrong, with the limit named and the value never echoed whole (nor a regex)."""
    limit: Any = error.validator_value
    instance: Any = error.instance
    schema = error.schema if isinstance(error.schema, dict) else {}
    match str(error.validator):
        case "maxLength":
            return f"at most {limit} characters (got {len(instance)})"
        case "minLength":
            return f"at least {limit} character(s)" if limit > 1 else "must not be empty"
        case "maxItems" | "minItems":
            bound = "at most" if error.validator == "maxItems" else "at least"
            return f"{bound} {limit} item(s) (got {len(instance)})"
        case "maxProperties" | "minProperties":
            bound = "at most" if error.validator == "maxProperties" else "at least"
            return f"{bound} {limit} key(s) (got {len(instance)})"
        case "format":
            return f"expected a {limit} (ISO 8601 for date-time), got {shorten(instance)}"
        case "uniqueItems":
            return "items must be distinct"
        case "maximum" | "minimum":
            bound = "at most" if error.validator == "maximum" else "at least"
            return f"{bound} {limit} (got {shorten(instance)})"
        case "pattern":
            expected = str(schema.get(EXPECTED_KEYWORD) or schema.get("description") or "")
            said = f"expected {expected[:1].lower()}{expected[1:]}" if expected else "malformed"
            return f"{said}, got {shorten(instance)}"
        case "enum":
            return f"expected one of {', '.join(map(str, limit))}, got {shorten(instance)}"
        case "type":
            return f"expected {limit}, got {shorten(instance)}"
    return f"{shorten(instance)} is not allowed here ({error.validator})"


def query_param(request: web.Request, name: str) -> str | None:
    """A query parameter, or None when absent; an empty one (`?until=`) is refused, since it
    could mean "none" as well as "any" (the document's `minLength: 1` says the same)."""
    value = request.query.get(name)
    if value == "":
        raise InvalidInput(f"{name}: empty; leave the parameter out instead", name)
    return value


def query_time(request: web.Request, name: str) -> datetime | None:
    """An ISO 8601 time with a zone from the query string."""
    value = query_param(request, name)
    return None if value is None else parse_time(value, name)


def parse_time(value: str, name: str) -> datetime:
    """An ISO 8601 time that names its zone."""
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"{name}: expected an ISO 8601 time, got {shorten(value)}", name
        ) from None
    if moment.tzinfo is None:
        raise InvalidInput(f"{name}: the time needs a zone (e.g. Z or +02:00)", name)
    return moment


def query_int(request: web.Request, name: str, default: int, lo: int, hi: int) -> int:
    """A bounded integer from the query string."""
    value = query_param(request, name)
    if value is None:
        return default
    try:
        number = int(value)
    except ValueError:
        raise InvalidInput(f"{name}: expected an integer", name) from None
    if not lo <= number <= hi:
        raise InvalidInput(f"{name}: expected {lo}..{hi}", name)
    return number


def time_query(name: str, description: str) -> Query:
    """An ISO 8601 time query parameter."""
    return Query(name, description, {"type": "string", "format": "date-time"})


LIMIT_QUERY = Query(
    "limit", "1..1000 (default 100)", {"type": "integer", "minimum": 1, "maximum": 1000}
)


def line_id(request: web.Request) -> str:
    """The `{id}` of the route as a line id (anything but a UUID is an unknown line)."""
    return parse_line_id(request.match_info["id"])
