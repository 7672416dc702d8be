"""A sandbox worker's start-up imports only what its line needs (README, "Budgets"): no other
role's command module, no browser or whatsmeow engine, no aiohttp, taskiq or cryptography's
primitives before it has auth state to read or write, no gRPC reflection before a client asks
for it (wamesh.rpc.server), no metrics before WAMESH_METRICS_PORT asks for them."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import FrozenInstanceError, dataclass, field
from typing import Any

import pytest

from wamesh.record import Record

# What `wamesh session` imports before it serves a sandbox line (wamesh.session.cli, its run).
WORKER_MODULES = (
    "wamesh.session.cli",
    "wamesh.process",
    "wamesh.db.pool",
    "wamesh.outbox",
    "wamesh.redis_client",
    "wamesh.session.worker",
    "wamesh.webhooks.producer",
    "wamesh.engines.sandbox",
)
NOT_FOR_A_SANDBOX_LINE = (
    "playwright",
    "neonize",
    "aiohttp",
    "taskiq",
    "cryptography.hazmat.primitives.ciphers",
    "wamesh.engines.browser",
    "wamesh.engines.whatsmeow",
    "wamesh.gateway",
    "wamesh.dev.cli",
    "wamesh.webhooks.cli",
    "wamesh.db.cli",
    "wamesh.rpc.reflection",
    "grpc_reflection.v1alpha",
    "google.protobuf.descriptor_pb2",
    "wamesh.session.metrics",
    "prometheus_client",
)


def _loaded_after(code: str) -> set[str]:
    script = f"import json, sys\n{code}\nprint(json.dumps(sorted(sys.modules)))"
    out = subprocess.run([sys.executable, "-c", script], capture_output=True, text=True, check=True)
    return set(json.loads(out.stdout.splitlines()[-1]))


def _offending(loaded: set[str]) -> list[str]:
    return sorted(
        m for m in loaded for bad in NOT_FOR_A_SANDBOX_LINE if (m + ".").startswith(bad + ".")
    )


class TestStartImports:
    """The worker loads its own role's modules and its line's engine, nothing else."""

    def test_a_sandbox_worker_imports_nothing_it_does_not_need(self) -> None:
        loaded = _loaded_after("import " + ", ".join(WORKER_MODULES))
        assert _offending(loaded) == []

    def test_naming_a_command_loads_only_that_role(self) -> None:
        code = (
            "import wamesh.cli\n"
            "try:\n"
            "    wamesh.cli.main(['session', '--help'])\n"
            "except SystemExit:\n"
            "    pass"
        )
        loaded = _loaded_after(code)
        assert "wamesh.session.cli" in loaded
        assert _offending(loaded) == []

    def test_help_without_a_command_still_lists_every_role(self) -> None:
        out = subprocess.run(
            [sys.executable, "-m", "wamesh", "--help"], capture_output=True, text=True, check=True
        )
        for command in ("migrate", "session", "worker", "gateway", "dev"):
            assert f"    {command}" in out.stdout


@dataclass(frozen=True)
class _Generated:
    a: int
    b: str = "x"
    hidden: str = field(default="secret", repr=False)
    ignored: int = field(default=0, compare=False)
    unhashed: tuple[int, ...] = field(default=(), hash=False)
    inner: object = None


@dataclass(frozen=True, eq=False, repr=False)
class _Written(Record):
    a: int
    b: str = "x"
    hidden: str = field(default="secret", repr=False)
    ignored: int = field(default=0, compare=False)
    unhashed: tuple[int, ...] = field(default=(), hash=False)
    inner: object = None


@dataclass(frozen=True, eq=False, repr=False)
class _Other(_Written):
    """The same fields in another class: never equal to a `_Written`."""


class TestRecord:
    """`Record` (the start path's cheaper frozen dataclasses) compares, hashes and prints as
    `@dataclass(frozen=True)` does."""

    CASES: tuple[dict[str, Any], ...] = (
        {"a": 1},
        {"a": 1, "b": "y"},
        {"a": 1, "ignored": 5},
        {"a": 1, "unhashed": (1, 2)},
        {"a": 2, "hidden": "other"},
        {"a": 1, "inner": [1, {"k": "v"}]},
    )

    def test_equality_and_hash_follow_the_fields_as_dataclasses_does(self) -> None:
        for left in self.CASES:
            for right in self.CASES:
                expected = _Generated(**left) == _Generated(**right)
                assert (_Written(**left) == _Written(**right)) is expected, (left, right)
                assert (_Written(**left) != _Written(**right)) is not expected
            if not isinstance(left.get("inner"), list):
                assert hash(_Written(**left)) == hash(_Generated(**left))

    def test_only_the_same_class_is_equal(self) -> None:
        assert _Written(1) != _Other(1)
        assert _Written(1) != (1, "x", "secret", 0, (), None)
        assert _Written.__eq__(_Written(1), _Other(1)) is NotImplemented

    def test_repr_is_the_generated_one_with_the_class_name(self) -> None:
        for case in self.CASES:
            assert repr(_Written(**case)) == repr(_Generated(**case)).replace(
                "_Generated(", "_Written(", 1
            )
        looped: list[object] = []
        record = _Written(1, inner=looped)
        looped.append(record)
        assert repr(record) == "_Written(a=1, b='x', ignored=0, unhashed=(), inner=[...])"

    def test_frozen_as_before(self) -> None:
        with pytest.raises(FrozenInstanceError):
            _Written(1).a = 2  # type: ignore[misc]
