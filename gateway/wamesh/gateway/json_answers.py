"""Every JSON answer (application/json, problem+json) ends with a newline, added in one place.

aiohttp's `json_response` and our problems write `json.dumps` output, which has none; a body
that a shell prints (`curl`) then runs into the prompt. The signal runs after aiohttp counted
Content-Length and before the headers are sent, so the count is corrected here.
"""

from __future__ import annotations

from aiohttp import hdrs, web

JSON_TYPES = frozenset({"application/json", "application/problem+json"})


async def end_with_newline(request: web.Request, response: web.StreamResponse) -> None:
    """`on_response_prepare`: append a newline to a whole JSON body that lacks one."""
    if not isinstance(response, web.Response) or response.content_type not in JSON_TYPES:
        return
    body = response.body
    if isinstance(body, bytes) and body and not body.endswith(b"\n"):
        response.body = body + b"\n"
        if hdrs.CONTENT_LENGTH in response.headers:  # already counted by Response._start
            response.headers[hdrs.CONTENT_LENGTH] = str(len(body) + 1)
