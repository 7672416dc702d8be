"""API key checks: `X-Api-Key: <key>` or `Authorization: Bearer <key>`, in constant time.

Which routes are open is decided by the route table (`Operation.public`), plus the docs' static
files.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection

from aiohttp import web

from wamesh.constants import API_KEY_HEADER
from wamesh.errors import Unauthenticated
from wamesh.rpc.auth import tokens_match

OPEN_PREFIXES = ("/docs/static/",)
Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]


def presented_key(api_key: str | None, authorization: str | None) -> str | None:
    """The key a client presented in either form."""
    if api_key:
        return api_key
    if authorization and authorization[:7].lower() == "bearer ":
        return authorization[7:].strip()
    return None


def key_accepted(presented: str | None, expected: str | None) -> bool:
    """True when no key is configured (dev mode only) or the presented one matches."""
    return expected is None or tokens_match(presented, expected)


def api_key_middleware(
    expected: str | None, public: Collection[tuple[str, str]]
) -> Callable[..., Awaitable[web.StreamResponse]]:
    """Reject requests to protected routes without the right key; `public` holds (method, path)."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        resource = request.match_info.route.resource
        route = (request.method, resource.canonical if resource else "")
        if route in public or request.path.startswith(OPEN_PREFIXES) or resource is None:
            return await handler(request)
        given = presented_key(
            request.headers.get(API_KEY_HEADER), request.headers.get("Authorization")
        )
        if not key_accepted(given, expected):
            raise Unauthenticated(
                "missing or wrong API key (send X-Api-Key or Authorization: Bearer)"
            )
        return await handler(request)

    return check
