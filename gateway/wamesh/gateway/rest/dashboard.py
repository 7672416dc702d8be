"""The dashboard at `/`: one HTML page, its scripts and style, served from the package (no CDN).

The page holds no data; its script calls the REST API with the key the user enters (or that
`wamesh dev` passes in the URL fragment, which never reaches the server)."""

from __future__ import annotations

import re
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


_MEDIA = {".js": "application/javascript", ".css": "text/css"}
_ASSET_NAME = re.compile(r"^[a-z0-9-]+\.(js|css)$")


async def dashboard_asset(request: web.Request) -> web.StreamResponse:
    """One of the dashboard's scripts or its style (only files of the package's ui folder)."""
    name = request.match_info["name"]
    if not _ASSET_NAME.match(name) or not (_UI / name).is_file():
        raise web.HTTPNotFound()
    return _asset(name, _MEDIA[name[name.rindex(".") :]])


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
        "/ui/{name}",
        dashboard_asset,
        "Dashboard scripts and style",
        _TAG,
        public=True,
        response=Response(
            "JavaScript or CSS", {"type": "string"}, ("application/javascript", "text/css")
        ),
        errors=(404,),
    ),
]
