"""A sandbox worker's start-up imports only what its line needs (README, "Budgets"): no other
role's command module, no browser or whatsmeow engine, no aiohttp, taskiq or cryptography's
primitives before it has auth state to read or write."""

from __future__ import annotations

import json
import subprocess
import sys

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
