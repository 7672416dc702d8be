"""Helpers of the lease fault tests: pairing a sandbox line, sends retried until served."""

from __future__ import annotations

import asyncio
import time

import grpc
import grpc.aio

from tests.session.conftest import Stubs
from wamesh.v1 import common_pb2, session_pb2


async def pair(stubs: Stubs, line: str) -> None:
    """Wait for the line's QR, then scan it with the sandbox's phone."""
    async with asyncio.timeout(15):
        while True:
            reply = await stubs.session.GetStatus(session_pb2.GetStatusRequest(session_id=line))
            if reply.status == common_pb2.SESSION_STATUS_QR:
                break
            await asyncio.sleep(0.05)
    await stubs.sandbox.Scan(session_pb2.ScanRequest(session_id=line))


def send_request(line: str, text: str) -> session_pb2.SendMessageRequest:
    """A text to a fixed test number."""
    return session_pb2.SendMessageRequest(session_id=line, to="+15551234567", text=text)


async def send_when_served(
    stubs: Stubs, line: str, timeout_s: float, *, starting: bool = False
) -> float:
    """Seconds until a send succeeds (UNAVAILABLE retried; FAILED_PRECONDITION too for a worker
    that is `starting`)."""
    retried = {grpc.StatusCode.UNAVAILABLE}
    if starting:
        retried.add(grpc.StatusCode.FAILED_PRECONDITION)
    started = time.monotonic()
    async with asyncio.timeout(timeout_s):
        while True:
            try:
                await stubs.session.SendMessage(send_request(line, "served"), timeout=2)
                return time.monotonic() - started
            except grpc.aio.AioRpcError as exc:
                if exc.code() not in retried:
                    raise
                await asyncio.sleep(0.02)
