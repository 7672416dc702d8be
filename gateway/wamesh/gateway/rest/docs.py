"""`/openapi.json` and interactive docs at `/docs` (Swagger UI served by the gateway, no CDN)."""

from __future__ import annotations

from importlib import metadata
from pathlib import Path

from aiohttp import web

from wamesh.gateway.api import Operation, Response
from wamesh.gateway.openapi import build
from wamesh.gateway.render import json_response

_PAGE = """<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>wamesh API</title>
<link rel="stylesheet" href="/docs/static/swagger-ui.css"></head>
<body><div id="swagger-ui"></div>
<script src="/docs/static/swagger-ui-bundle.js"></script>
<script src="/docs/init.js"></script></body></html>"""

_INIT = """window.ui = SwaggerUIBundle({url: "/openapi.json", dom_id: "#swagger-ui",
  persistAuthorization: true});"""


def swagger_static_dir() -> Path:
    """Swagger UI's files from the swagger-ui-py package."""
    import swagger_ui

    return Path(swagger_ui.__file__).parent / "static"


async def openapi_json(request: web.Request) -> web.StreamResponse:
    """The OpenAPI 3.1 document of this gateway."""
    from wamesh.gateway.context import gateway_of
    from wamesh.gateway.rest import operations

    dev_mode = gateway_of(request).settings.dev_mode
    return json_response(build(operations(dev_mode=dev_mode), metadata.version("wamesh")))


async def docs_page(request: web.Request) -> web.StreamResponse:
    """Interactive API docs."""
    del request
    return web.Response(text=_PAGE, content_type="text/html")


async def docs_init(request: web.Request) -> web.StreamResponse:
    """Swagger UI's start script (a file, so a strict CSP needs no inline script)."""
    del request
    return web.Response(text=_INIT, content_type="application/javascript")


_TAG = "documentation"
OPERATIONS = [
    Operation(
        "GET",
        "/openapi.json",
        openapi_json,
        "This document",
        _TAG,
        response=Response("OpenAPI 3.1", {"type": "object"}),
        public=True,
    ),
    Operation(
        "GET",
        "/docs",
        docs_page,
        "Interactive API docs",
        _TAG,
        response=Response("HTML", {"type": "string"}, ("text/html",)),
        public=True,
    ),
    Operation(
        "GET",
        "/docs/init.js",
        docs_init,
        "Docs start script",
        _TAG,
        response=Response("JavaScript", {"type": "string"}, ("application/javascript",)),
        public=True,
    ),
]
