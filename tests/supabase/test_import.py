"""`wamesh import-lines`: the original bot's lines come over with their ids, once, and a line
imported this way reaches `qr` in a worker started the bot's way, with its old SESSION_ID."""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path

import pytest

from tests.browser.conftest import Standin
from tests.supabase.conftest import BOT_LINES, Project, run, wait_status
from tests.support.browser import chromium_path
from tests.support.workers import WorkerProcess, worker_env, worker_processes
from wamesh.lines import check_secret

IDS = [line["id"] for line in BOT_LINES]
COLUMNS = "id::text, name, engine, status, webhook_url, webhook_secret"


def import_lines(url: str, *args: str) -> subprocess.CompletedProcess[str]:
    """`wamesh import-lines` as a command, with DATABASE_URL=`url`."""
    env = {"PATH": os.environ.get("PATH", "/usr/bin:/bin"), "DATABASE_URL": url}
    return subprocess.run(
        [sys.executable, "-m", "wamesh", "import-lines", *args],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _lines(project: Project) -> dict[str, tuple[object, ...]]:
    rows = project.owner(f"SELECT {COLUMNS} FROM wamesh.sessions ORDER BY id")
    return {str(r[0]): r[1:] for r in rows}


class TestImportLines:
    """Ids kept; name, webhook URL and secret where usable; the bot's table only read."""

    async def test_the_bots_lines_come_over_with_their_ids(self, project: Project) -> None:
        project.add_bot_lines()
        bot = project.owner("SELECT to_jsonb(s) FROM public.sessions s ORDER BY id")
        await project.migrate()
        done = import_lines(project.owner_url, "--engine", "sandbox")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines()[0] == "lines: 3 imported, 0 already in wamesh, 0 skipped"
        assert (
            f"webhook_url dropped, not an absolute http(s) URL without credentials: {IDS[2]}"
            in (done.stdout)
        )
        assert "new webhook secret, the bot's is not a whsec_ secret" in done.stdout
        assert "a-plain-hmac-secret" not in done.stdout + done.stderr
        lines = _lines(project)
        assert sorted(lines) == sorted(IDS)
        shop, unnamed, support = (lines[i] for i in IDS)
        assert shop == (
            "shop",
            "sandbox",
            "stopped",
            BOT_LINES[0]["webhook_url"],
            BOT_LINES[0]["webhook_secret"],
        )
        assert unnamed[:4] == (f"line {IDS[1][:8]}", "sandbox", "stopped", None)
        assert support[:4] == ("support desk", "sandbox", "stopped", None)
        for secret in (unnamed[4], support[4]):
            assert check_secret(str(secret)) == secret
        assert project.owner("SELECT to_jsonb(s) FROM public.sessions s ORDER BY id") == bot

    async def test_a_second_run_adds_only_new_lines(self, project: Project) -> None:
        project.add_bot_lines(BOT_LINES[:2])
        await project.migrate()
        assert import_lines(project.owner_url).returncode == 0
        first = _lines(project)
        assert {v[1] for v in first.values()} == {"browser"}  # the bot's engine, by default
        project.owner(
            "UPDATE wamesh.sessions SET name = 'renamed in wamesh' WHERE id = %s", (IDS[0],)
        )
        project.add_bot_lines(BOT_LINES[2:])
        again = import_lines(project.owner_url)
        assert again.stdout.splitlines()[0] == "lines: 1 imported, 2 already in wamesh, 0 skipped"
        lines = _lines(project)
        assert lines[IDS[0]][0] == "renamed in wamesh"
        assert lines[IDS[1]] == first[IDS[1]]
        last = import_lines(project.owner_url)
        assert last.stdout.splitlines()[0] == "lines: 0 imported, 3 already in wamesh, 0 skipped"
        assert _lines(project) == lines

    async def test_a_table_with_text_ids_and_no_name(self, project: Project) -> None:
        """Rows whose id is not a UUID are skipped and named; a missing column is no error."""
        await project.migrate()
        project.owner("CREATE TABLE public.old_lines (id text PRIMARY KEY, webhook_url text)")
        project.owner(
            "INSERT INTO public.old_lines VALUES ('line-one', 'https://a.example/h'), "
            f"('{IDS[0].upper()}', 'https://b.example/h')"
        )
        done = import_lines(project.owner_url, "--from", "public.old_lines")
        assert done.returncode == 0, done.stderr
        assert done.stdout.splitlines() == [
            "lines: 1 imported, 0 already in wamesh, 1 skipped",
            "skipped, id is not a UUID: line-one",
        ]
        assert _lines(project)[IDS[0]][:4] == (
            f"line {IDS[0][:8]}",
            "browser",
            "stopped",
            "https://b.example/h",
        )

    async def test_before_migrate_or_without_the_table_it_says_what_to_do(
        self, project: Project
    ) -> None:
        project.add_bot_lines()
        early = import_lines(project.owner_url)
        assert early.returncode == 2
        assert "run `wamesh migrate` first" in early.stderr
        await project.migrate()
        missing = import_lines(project.owner_url, "--from", "public.nope")
        assert (missing.returncode, missing.stderr.strip()) == (
            2,
            "wamesh import-lines: no table public.nope to import lines from",
        )
        bad = import_lines(project.owner_url, "--from", "public.x; drop table y")
        assert bad.returncode == 2
        assert "expected a table name" in bad.stderr


def spawn_by_session_id(env: dict[str, str], log_dir: Path) -> WorkerProcess:
    """`wamesh session` with only SESSION_ID in its environment: how the bot's Railway services
    were configured (one service per line)."""
    log_dir.mkdir(parents=True, exist_ok=True)
    log = log_dir / f"worker-{time.monotonic_ns()}.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            [sys.executable, "-m", "wamesh", "session"],
            env=env,
            stdout=out,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )
    return WorkerProcess(env["SESSION_ID"], proc, log, env["REDIS_URL"])


class TestImportedLineRuns:
    """A line imported from the bot reaches `qr` under its old SESSION_ID, as the roles' non-owner
    login role."""

    async def test_sandbox_line_reaches_qr_with_its_session_id(
        self, project: Project, redis_url: str, tmp_path: Path
    ) -> None:
        project.add_bot_lines()
        await project.migrate()
        project.grant()
        assert import_lines(project.owner_url, "--engine", "sandbox").returncode == 0
        env = worker_env(project.app_url, redis_url, tmp_path, SESSION_ID=IDS[0])
        with worker_processes() as spawned:
            spawned.append(worker := spawn_by_session_id(env, tmp_path / "logs"))
            worker.wait_registered()
            await wait_status(project.app_url, IDS[0], "qr", worker)
        qr = run(project.app_url, "SELECT qr FROM wamesh.sessions WHERE id = %s", (IDS[0],))
        assert qr[0][0]

    @pytest.mark.browser
    async def test_browser_line_reaches_qr_with_its_session_id(
        self, project: Project, redis_url: str, tmp_path: Path, standin: Standin
    ) -> None:
        """The import's default engine (Chromium on WhatsApp Web, as the bot's whatsapp-web.js),
        against the stand-in WhatsApp Web."""
        project.add_bot_lines()
        await project.migrate()
        project.grant()
        assert import_lines(project.owner_url).returncode == 0
        env = worker_env(
            project.app_url,
            redis_url,
            tmp_path,
            SESSION_ID=IDS[1],
            WAMESH_WHATSAPP_WEB_URL=standin.url,
            WAMESH_CHROMIUM_PATH=chromium_path(),
        )
        with worker_processes() as spawned:
            spawned.append(worker := spawn_by_session_id(env, tmp_path / "logs"))
            await wait_status(project.app_url, IDS[1], "qr", worker, timeout=90)
