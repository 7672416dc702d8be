"""The OpenAPI 3.1 document, written from the route table (api.Operation)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from wamesh.errors import CODES
from wamesh.gateway import schemas as s
from wamesh.gateway.api import PATH_DOC_PATTERNS, PATH_PATTERNS, Operation, Response

_ERROR_TEXT = {
    400: "Bad input (a code such as malformed_json, unknown_field, invalid_recipient)",
    401: "Missing or wrong API key",
    404: "Unknown line or resource",
    409: "The line is not in a state that allows this (e.g. session_not_ready), or a "
    "client_message_id reused with other content (idempotency_conflict)",
    413: "Body too large; the problem names the limit (`limit`, in bytes)",
    415: "A JSON route called without Content-Type: application/json",
    422: "Well formed, as this document allows, but cannot be carried out (a time already "
    "past, a media URL that cannot be fetched, a number not on WhatsApp...): code "
    "unprocessable or a narrower one, e.g. invalid_media_url, not_on_whatsapp",
    501: "The line's engine cannot do this (not_supported, naming the engine)",
    503: "No worker serves the line (session_offline, with its last status), or PostgreSQL or "
    "Redis cannot be reached (dependency_unavailable, naming which); with Retry-After",
}


def build(operations: Sequence[Operation], version: str) -> dict[str, Any]:
    """The whole document."""
    paths: dict[str, dict[str, Any]] = {}
    for op in operations:
        paths.setdefault(op.path, {})[op.method.lower()] = _operation(op)
    return {
        "openapi": "3.1.0",
        "info": {
            "title": "wamesh",
            "version": version,
            "description": "Run many WhatsApp lines at once. Errors are application/problem+json.",
        },
        "paths": _with_refs(paths),
        "components": {
            "schemas": {"Problem": s.PROBLEM, **_components()},
            "securitySchemes": {
                "apiKey": {"type": "apiKey", "in": "header", "name": "X-Api-Key"},
                "bearer": {"type": "http", "scheme": "bearer"},
            },
        },
        "security": [{"apiKey": []}, {"bearer": []}],
    }


def _components() -> dict[str, Any]:
    """The named schemas (schemas.named), each written out once."""
    return {name: _with_refs(schema, own=schema) for name, schema in s.COMPONENTS.items()}


def _with_refs(node: Any, own: object = None) -> Any:
    """`node` with every named schema in it (but `own`) replaced by a `$ref` to its component."""
    if isinstance(node, dict):
        name = next((n for n, schema in s.COMPONENTS.items() if schema is node), None)
        if name is not None and node is not own:
            return {"$ref": f"#/components/schemas/{name}"}
        return {key: _with_refs(value) for key, value in node.items()}
    if isinstance(node, list):
        return [_with_refs(item) for item in node]
    return node


def _operation(op: Operation) -> dict[str, Any]:
    doc: dict[str, Any] = {
        "operationId": op.operation_id,
        "summary": op.summary,
        "tags": [op.tag],
        "parameters": [
            {"name": p, "in": "path", "required": True, "schema": _path_schema(p)}
            for p in op.path_params
        ]
        + [
            {
                "name": q.name,
                "in": "query",
                "required": False,
                "description": q.description,
                "schema": q.schema,
            }
            for q in op.query
        ],
        "responses": _responses(op),
    }
    if op.body is not None:
        doc["requestBody"] = {
            "required": True,
            "content": {"application/json": {"schema": op.body}},
        }
    if op.raw_body:
        doc["requestBody"] = {
            "required": True,
            "content": {media: {"schema": schema} for media, schema in op.raw_body.items()},
        }
    if op.public:
        doc["security"] = []
    return doc


def _path_schema(name: str) -> dict[str, Any]:
    pattern = PATH_PATTERNS.get(name) or PATH_DOC_PATTERNS.get(name)
    return {"type": "string"} if pattern is None else {"type": "string", "pattern": f"^{pattern}$"}


def _responses(op: Operation) -> dict[str, Any]:
    responses = {str(op.ok): _response(op.response or Response("OK"))}
    for status, extra in op.extra_responses.items():
        responses[str(status)] = _response(extra)
    problem = {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}
    codes = (
        set(op.errors)
        | ({400, 413, 415} if op.body is not None else set())
        # Every authenticated route reads PostgreSQL or Redis, so each may meet an outage.
        | (set() if op.public else {401, 503})
    )
    for status in sorted(codes):
        responses[str(status)] = {"description": _error_text(status), "content": problem}
    return responses


def _error_text(status: int) -> str:
    """The status's summary and the codes it may carry, from the one table (wamesh.errors)."""
    codes = ", ".join(code for code, row in CODES.items() if row.http == status)
    return f"{_ERROR_TEXT[status]}. Codes: {codes}" if codes else _ERROR_TEXT[status]


def _response(response: Response) -> dict[str, Any]:
    if response.schema is None:
        return {"description": response.description}
    return {
        "description": response.description,
        "content": {media: {"schema": response.schema} for media in response.media},
    }
