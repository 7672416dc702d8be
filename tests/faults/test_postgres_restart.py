"""PostgreSQL stopped and started again under a whole mesh: a gateway, the worker of a ready
sandbox line and a webhook worker, on the test's own PostgreSQL (run as the postgres user) and
Redis.

While it is down, calls routed to the line's worker (REST, and the gateway's gRPC front) and the
worker's own gRPC answer 503 / UNAVAILABLE `dependency_unavailable` naming PostgreSQL within a
second, never 500, and the gateway's own reads likewise. Once it is back, the gateway, the worker
and the webhook worker serve again within RECOVERY_PROMISED_S, every event the line received
meanwhile is delivered once, and events committed after the return are delivered promptly.
Figures printed. psycopg_pool's own back-off (connect attempts 1, 2, 4, 8, 16... s apart) served
again up to tens of seconds late; an outage of OUTAGE_S shows it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from pathlib import Path

import grpc
import grpc.aio
import pytest

from tests.bench.common import percentile
from tests.faults.conftest import Servers
from tests.gateway.conftest import GRPC_AUTH, MESH_TOKEN, Api
from tests.support.workers import spawn_worker, worker_env, worker_processes
from tests.webhooks import scenarios
from tests.webhooks.scenarios import Endpoints, Steady, running_endpoints
from wamesh.constants import MESH_TOKEN_METADATA
from wamesh.db.pool import open_pool
from wamesh.gateway.app import RunningGateway
from wamesh.rpc.errors import CODE_METADATA, DEPENDENCY_METADATA
from wamesh.v1 import session_pb2, session_pb2_grpc

OUTAGE_S = 16.0  # psycopg_pool's own back-off tries at about 15 s, then only at about 31 s
PROMISED_S = 1.0
RECOVERY_PROMISED_S = 5.0
PROBE_EVERY_S = 0.1
CONTACT = "15557654321"
REST_OUTAGE = "503 dependency_unavailable postgresql"
GRPC_OUTAGE = "UNAVAILABLE dependency_unavailable postgresql"
Answer = tuple[bool, str, float]  # served, what it answered, seconds it took
Probe = Callable[[], Awaitable[Answer]]


@dataclass
class Timeline:
    """A probe's answers: (seconds since the phase began, served, what, seconds it took)."""

    answers: list[tuple[float, bool, str, float]] = field(default_factory=list)

    def serving_after(self) -> float:
        """Seconds until the probe served for good: just after its last failure."""
        failed = [at for at, served, _, _ in self.answers if not served]
        return failed[-1] + PROBE_EVERY_S if failed else 0.0

    def slowest(self) -> float:
        return max(took for _, _, _, took in self.answers)

    def said(self) -> set[str]:
        return {what for _, _, what, _ in self.answers}


def rest_probe(api: Api, method: str, path: str, body: object, ok: int) -> Probe:
    """A REST call that serves when it answers `ok`."""

    async def probe() -> Answer:
        started = time.monotonic()
        status, reply = await api.call(method, path, body)
        took = time.monotonic() - started
        if not isinstance(reply, dict):
            return status == ok, f"{status} {reply[:80]!r}", took
        what = " ".join(str(x) for x in (status, reply.get("code"), reply.get("dependency")) if x)
        return status == ok, what, took

    return probe


def grpc_probe(
    channel: grpc.aio.Channel, line: str, metadata: tuple[tuple[str, str], ...]
) -> Probe:
    """SendMessage on `channel` (the gateway's front or the worker itself)."""
    stub = session_pb2_grpc.SessionServiceStub(channel)
    request = session_pb2.SendMessageRequest(session_id=line, to=CONTACT, text="probe")

    async def probe() -> Answer:
        started = time.monotonic()
        try:
            await stub.SendMessage(request, metadata=metadata, timeout=10)
        except grpc.aio.AioRpcError as exc:
            trailers = dict(exc.trailing_metadata() or ())
            parts = (
                exc.code().name,
                trailers.get(CODE_METADATA),
                trailers.get(DEPENDENCY_METADATA),
            )
            return False, " ".join(str(p) for p in parts if p), time.monotonic() - started
        return True, "OK", time.monotonic() - started

    return probe


async def watch(probes: dict[str, Probe], seconds: float, until_ok: int = 0) -> dict[str, Timeline]:
    """Every probe each PROBE_EVERY_S for `seconds`, or until each served `until_ok` in a row."""
    timelines = {name: Timeline() for name in probes}
    streaks = dict.fromkeys(probes, 0)
    started = time.monotonic()
    while time.monotonic() - started < seconds:
        tick = time.monotonic()
        answers = await asyncio.gather(*(probe() for probe in probes.values()))
        for name, (served, what, took) in zip(probes, answers, strict=True):
            timelines[name].answers.append((tick - started, served, what, took))
            streaks[name] = streaks[name] + 1 if served else 0
        if until_ok and min(streaks.values()) >= until_ok:
            break
        await asyncio.sleep(max(0.0, tick + PROBE_EVERY_S - time.monotonic()))
    return timelines


async def until_live(api: Api, line: str, wanted: str) -> None:
    async with asyncio.timeout(30):
        while True:
            status, reply = await api.call("GET", f"/v1/sessions/{line}")
            if status == 200 and reply["live_status"] == wanted:
                return
            await asyncio.sleep(0.05)


@dataclass
class Run:
    """What one outage showed."""

    outage: dict[str, Timeline]
    recovery: dict[str, Timeline]
    raised: int = 0  # messages the line received while PostgreSQL was down
    returned_at: float = 0.0
    before: set[str] = field(default_factory=set)  # deliveries from before the outage
    after: Steady = field(default_factory=Steady)  # events committed after the return
    quick: dict[str, Timeline] = field(default_factory=dict)  # after a quick restart
    after_quick: Steady = field(default_factory=Steady)

    def later(self) -> set[str]:
        """Every delivery but those of messages received during the outage."""
        return self.before | set(self.after.committed) | set(self.after_quick.committed)


class TestPostgresRestart:
    """Honest answers while PostgreSQL is down; every role serving again within seconds."""

    async def test_a_mesh_answers_honestly_and_recovers_quickly(
        self,
        gateway: RunningGateway,
        api: Api,
        servers: Servers,
        tmp_path: Path,
        caplog: pytest.LogCaptureFixture,
    ) -> None:
        async with running_endpoints() as endpoints:
            status, created = await api.call(
                "POST",
                "/v1/sessions",
                {
                    "name": "restart",
                    "webhook_url": endpoints.url("ok"),
                    "webhook_events": ["message.received"],
                },
            )
            assert status == 201, created
            line = str(created["session"]["id"])
            env = worker_env(
                servers.database_url, servers.redis.url, tmp_path, WAMESH_MESH_TOKEN=MESH_TOKEN
            )
            hooks = scenarios.spawn_worker(
                servers.database_url, servers.redis.url, tmp_path / "webhooks.log"
            )
            with worker_processes() as spawned:
                spawned.append(spawn_worker(line, env, tmp_path / "logs"))
                address = spawned[0].wait_registered()
                try:
                    run = await outage_under(gateway, api, servers, endpoints, line, address)
                    logs = [spawned[0].log, tmp_path / "webhooks.log"]
                    received = await all_delivered(endpoints, run, logs)
                finally:
                    hooks.stop()
        report(run, received, endpoints, caplog)


async def delivered_once(api: Api, base: str, endpoints: Endpoints) -> set[str]:
    """A message received and delivered; the ids delivered so far."""
    inbound = {"from": CONTACT, "text": "before the outage"}
    status, reply = await api.call("POST", base + "/sandbox/inbound", inbound)
    assert status == 201, reply
    async with asyncio.timeout(30):
        while not endpoints.arrivals:
            await asyncio.sleep(0.05)
    return set(endpoints.arrivals)


async def outage_under(
    gateway: RunningGateway,
    api: Api,
    servers: Servers,
    endpoints: Endpoints,
    line: str,
    address: str,
) -> Run:
    """Stop PostgreSQL under a ready line for OUTAGE_S, start it, watch both phases."""
    base = f"/v1/sessions/{line}"
    await until_live(api, line, "qr")
    status, reply = await api.call("POST", base + "/sandbox/scan")
    assert status == 200, reply
    await until_live(api, line, "ready")
    warm = await asyncio.gather(*(api.call("GET", base) for _ in range(8)))  # pools grown
    assert {status for status, _ in warm} == {200}
    status, reply = await api.call("POST", base + "/messages", {"to": CONTACT, "text": "hi"})
    assert status == 201, reply
    before = await delivered_once(api, base, endpoints)  # the webhook worker is up
    async with (
        grpc.aio.insecure_channel(f"127.0.0.1:{gateway.grpc_port}") as front,
        grpc.aio.insecure_channel(address) as direct,
    ):
        probes = {
            "gateway GET line": rest_probe(api, "GET", base, None, 200),
            "routed REST send": rest_probe(
                api, "POST", base + "/messages", {"to": CONTACT, "text": "probe"}, 201
            ),
            "routed gRPC send": grpc_probe(front, line, GRPC_AUTH),
            "worker gRPC send": grpc_probe(direct, line, ((MESH_TOKEN_METADATA, MESH_TOKEN),)),
        }
        await asyncio.to_thread(servers.postgres.stop)
        watching = asyncio.create_task(watch(probes, OUTAGE_S))
        raised = 0
        while not watching.done():  # the phone keeps sending; the line keeps what it gets
            inbound = {"from": CONTACT, "text": f"during the outage {raised}"}
            status, reply = await api.call("POST", base + "/sandbox/inbound", inbound)
            assert status == 201, reply
            raised += 1
            await asyncio.sleep(1.0)
        outage = await watching
        await asyncio.to_thread(servers.postgres.start)
        returned_at = time.time()
        recovery = await watch(probes, 30.0, until_ok=20)
        run = Run(outage, recovery, raised, returned_at, before)
        run.after = await committed_events(servers, line)
        # A quick restart that nothing meets: every pool still holds connections that died.
        warm = await asyncio.gather(*(api.call("GET", base) for _ in range(8)))
        assert {status for status, _ in warm} == {200}
        await asyncio.to_thread(servers.postgres.stop)
        await asyncio.to_thread(servers.postgres.start)
        run.quick = await watch(probes, 30.0, until_ok=20)
        run.after_quick = await committed_events(servers, line)
    return run


async def committed_events(servers: Servers, line: str) -> Steady:
    """Events committed and kicked as a line does, 10 a second for 3 s: what the webhook worker
    alone makes of them."""
    async with open_pool(servers.database_url) as pool:
        return await scenarios.steady_events(pool, servers.redis.url, line, 10, 3)


async def all_delivered(endpoints: Endpoints, run: Run, logs: list[Path]) -> dict[str, float]:
    """Wait until the messages received during the outage and the later events all arrived;
    the arrivals of the former."""
    deadline = time.monotonic() + 60
    while True:
        during = {i: t for i, t in endpoints.arrivals.items() if i not in run.later()}
        missing = run.after.missing(endpoints) + run.after_quick.missing(endpoints)
        if len(during) >= run.raised and not missing:
            return during
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {log}:\n{log.read_text()[-3000:]}" for log in logs)
            raise AssertionError(
                f"{len(during)} of {run.raised} received while down arrived, "
                f"{missing} later events missing\n{tails}"
            )
        await asyncio.sleep(0.1)


def report(
    run: Run, during: dict[str, float], endpoints: Endpoints, caplog: pytest.LogCaptureFixture
) -> None:
    lines = [f"\nPostgreSQL down {OUTAGE_S:g} s under a ready line:"]
    for name, timeline in run.outage.items():
        lines.append(
            f"  down: {name}: {len(timeline.answers)} answers {sorted(timeline.said())}, "
            f"slowest {timeline.slowest():.3f} s"
        )
    for name, timeline in run.recovery.items():
        lines.append(f"  back: {name} serving {timeline.serving_after():.2f} s after the return")
    last = max(during.values()) - run.returned_at
    after = run.after.latencies(endpoints)
    duplicates = sum(n - 1 for n in endpoints.seen.values())
    lines.append(
        f"  webhooks: {run.raised} messages received while down, {len(during)} delivered "
        f"(duplicates {duplicates}), the last {last:.2f} s after the return; events committed "
        f"after it: p50 {percentile(after, 50):.3f} s, max {max(after):.3f} s to delivery"
    )
    for name, timeline in run.quick.items():
        failed = sum(1 for _, served, _, _ in timeline.answers if not served)
        lines.append(
            f"  quick restart: {name}: {failed} failed answers, serving "
            f"{timeline.serving_after():.2f} s after the return"
        )
    after_quick = run.after_quick.latencies(endpoints)
    lines.append(
        f"  quick restart: events committed after it: p50 {percentile(after_quick, 50):.3f} s, "
        f"max {max(after_quick):.3f} s to delivery"
    )
    print("\n".join(lines))
    for name, timeline in run.outage.items():
        assert timeline.said() <= {REST_OUTAGE, GRPC_OUTAGE}, (name, timeline.said())
        assert timeline.slowest() < PROMISED_S, name
    for name, timeline in [*run.recovery.items(), *run.quick.items()]:
        assert timeline.serving_after() <= RECOVERY_PROMISED_S, (name, timeline.answers[:50])
    assert len(during) == run.raised
    assert duplicates == 0
    assert last <= RECOVERY_PROMISED_S
    assert max(after) <= RECOVERY_PROMISED_S
    assert max(after_quick) <= RECOVERY_PROMISED_S
    errors = [r.getMessage() for r in caplog.records if r.levelno >= logging.ERROR]
    assert errors == []
