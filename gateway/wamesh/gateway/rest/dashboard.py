"""The dashboard at `/`: one HTML page, its script and style, served from the package (no CDN).

The page holds no data; its script calls the REST API with the key the user enters (or that
`wamesh dev` passes in the URL fragment, which never reaches the server)."""

from __future__ import annotations

from importlib import resources

from aiohttp import web

from wamesh.gateway.api import Operation, Response

_UI = resources.files("wamesh.gateway") / "ui"


def _asset(name: str, media: str) -> web.Response:
    return web.Response(
        text=(_UI / name).read_text(), content_type=media, headers={"Cache-Control": "no-cache"}
    )


async def dashboard_page(request: web.Request) -> web.StreamResponse:
    """The dashboard."""
    del request
    return _asset("index.html", "text/html")


async def dashboard_script(request: web.Request) -> web.StreamResponse:
    """The dashboard's script."""
    del request
    return _asset("app.js", "application/javascript")


async def dashboard_style(request: web.Request) -> web.StreamResponse:
    """The dashboard's style."""
    del request
    return _asset("app.css", "text/css")


_TAG = "dashboard"
OPERATIONS = [
    Operation(
        "GET",
        "/",
        dashboard_page,
        "Dashboard",
        _TAG,
        public=True,
        response=Response("HTML", {"type": "string"}, ("text/html",)),
    ),
    Operation(
        "GET",
        "/ui/app.js",
        dashboard_script,
        "Dashboard script",
        _TAG,
        public=True,
        response=Response("JavaScript", {"type": "string"}, ("application/javascript",)),
    ),
    Operation(
        "GET",
        "/ui/app.css",
        dashboard_style,
        "Dashboard style",
        _TAG,
        public=True,
        response=Response("CSS", {"type": "string"}, ("text/css",)),
    ),
]
