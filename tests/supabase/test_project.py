"""On a database prepared like a Supabase project: `wamesh migrate` beside the bot's
`public.sessions`, nothing readable with Supabase's API roles, the roles' non-owner login role,
an install made in `public` moved into the schema, and README's opt-in recipes."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import psycopg
import pytest

from tests.supabase.conftest import Project, run, wait_status
from tests.support.supabase import (
    API_ROLES,
    APP_ROLE,
    POLICY_MARK,
    REALTIME_MARK,
    grant_app_role,
    readme_sql,
)
from tests.support.workers import spawn_worker, worker_env, worker_processes
from wamesh.db.migrate import load_migrations

TABLES = {
    "wamesh_migrations",
    "sessions",
    "session_auth",
    "sent_messages",
    "reminders",
    "webhook_deliveries",
    "webhook_attempts",
    "webhook_endpoints",
    "media",
    "media_chunks",
}
LINE = "0b6f2c1e-1111-4a4a-8b8b-000000000001"
DELIVERY = "0b6f2c1e-2222-4a4a-8b8b-000000000001"
MEDIA = "0b6f2c1e-3333-4a4a-8b8b-000000000001"
# One row in every table, as the owner (each column that could leak: a secret, a message, a
# key), with the migration that made the table.
ROWS = [
    (
        1,
        f"INSERT INTO wamesh.sessions (id, name, webhook_url, webhook_secret) "
        f"VALUES ('{LINE}', 'shop', 'https://x.example/h', 'whsec_c2VjcmV0c2VjcmV0c2VjcmV0c2VjcmV0')",
    ),
    (
        1,
        f"INSERT INTO wamesh.session_auth (session_id, generation, state) VALUES ('{LINE}', 1, '\\x01')",
    ),
    (
        1,
        "INSERT INTO wamesh.sent_messages (session_id, client_message_id, message_id, chat_id) "
        f"VALUES ('{LINE}', 'c1', 'm1', '15550001111@c.us')",
    ),
    (
        3,
        "INSERT INTO wamesh.reminders (series_id, session_id, recipient, text, due_at) "
        f"VALUES (gen_random_uuid(), '{LINE}', '15550001111@c.us', 'pay the rent', now())",
    ),
    (
        1,
        "INSERT INTO wamesh.webhook_deliveries (id, session_id, event_type, payload) "
        f"VALUES ('{DELIVERY}', '{LINE}', 'message.received', "
        """'{"data": {"text": "a private message"}}')""",
    ),
    (
        1,
        "INSERT INTO wamesh.webhook_attempts (delivery_id, attempt, latency_ms) "
        f"VALUES ('{DELIVERY}', 1, 5)",
    ),
    (
        5,
        "INSERT INTO wamesh.media (id, session_id, mimetype, chunk_size, expires_at) "
        f"VALUES ('{MEDIA}', '{LINE}', 'image/png', 10, now() + '1 day')",
    ),
    (5, f"INSERT INTO wamesh.media_chunks (media_id, seq, data) VALUES ('{MEDIA}', 0, '\\x89')"),
    (
        8,
        "INSERT INTO wamesh.webhook_endpoints (url, state) VALUES ('https://x.example/h?t=1', 'open')",
    ),
]
PUBLIC = (
    "SELECT c.relname, c.relkind::text, c.relacl::text FROM pg_class c "
    "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'public' ORDER BY 1"
)
BOT = "SELECT to_jsonb(s) FROM public.sessions s ORDER BY id"


def _tables(project: Project, schema: str = "wamesh") -> set[str]:
    rows = project.owner("SELECT tablename FROM pg_tables WHERE schemaname = %s", (schema,))
    return {r[0] for r in rows}


def _add_rows(project: Project, schema: str, upto: int = 9) -> None:
    for version, statement in ROWS:
        if version <= upto:
            project.owner(statement.replace("wamesh.", f"{schema}."))


def _as_role(project: Project, role: str, statement: str) -> list[tuple[Any, ...]]:
    """`statement` under SET ROLE `role` (what Supabase's REST API does with a client's key)."""
    with psycopg.connect(project.admin_url, autocommit=True) as conn:
        conn.execute(f"SET ROLE {role}".encode())
        return conn.execute(statement.encode()).fetchall()


class TestMigrateBesideTheBot:
    """`wamesh migrate` succeeds in a Supabase project that has the bot's `public.sessions`,
    puts everything in its own schema and leaves `public` exactly as it was."""

    async def test_migrate_succeeds_and_public_is_untouched(self, project: Project) -> None:
        project.add_bot_lines()
        public, bot = project.owner(PUBLIC), project.owner(BOT)
        assert [v for v in await project.migrate()] == [m.version for m in load_migrations()]
        assert _tables(project) == TABLES
        assert project.owner(PUBLIC) == public
        assert project.owner(BOT) == bot
        assert len(bot) == 3
        functions = project.owner(
            "SELECT n.nspname FROM pg_proc p JOIN pg_namespace n ON n.oid = p.pronamespace "
            "WHERE p.proname LIKE 'wamesh%%'"
        )
        assert functions == [("wamesh",)]
        assert await project.migrate() == []


class TestNothingForTheApiRoles:
    """With Supabase's anon or authenticated role, no row and no column of any wamesh table."""

    @pytest.fixture
    async def filled(self, project: Project) -> Project:
        await project.migrate()
        _add_rows(project, "wamesh")
        counts = {t: project.owner(f"SELECT count(*) FROM wamesh.{t}")[0][0] for t in TABLES}
        assert all(counts.values()), counts
        return project

    def test_no_privilege_on_the_schema_or_any_object(self, filled: Project) -> None:
        granted = filled.owner(
            "SELECT c.relname, a.grantee, a.privilege_type FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace, aclexplode(c.relacl) a "
            "WHERE n.nspname = 'wamesh' AND (a.grantee = 0 OR a.grantee IN "
            "(SELECT oid FROM pg_roles WHERE rolname = ANY(%s)))",
            (list(API_ROLES),),
        )
        assert granted == []  # 0: PUBLIC
        for role in API_ROLES:
            checks = filled.owner(
                "SELECT c.relname, has_table_privilege(%(r)s, c.oid, "
                "'SELECT,INSERT,UPDATE,DELETE,TRUNCATE,REFERENCES,TRIGGER'), "
                "has_any_column_privilege(%(r)s, c.oid, 'SELECT,INSERT,UPDATE,REFERENCES') "
                "FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                "WHERE n.nspname = 'wamesh' AND c.relkind = 'r'",
                {"r": role},
            )
            assert {name for name, _, _ in checks} == TABLES
            assert [c for c in checks if c[1] or c[2]] == [], role
            usage = filled.owner("SELECT has_schema_privilege(%s, 'wamesh', 'USAGE')", (role,))
            assert usage == [(False,)]
            execute = filled.owner(
                "SELECT has_function_privilege(%s, 'wamesh.wamesh_notify_session()', 'EXECUTE')",
                (role,),
            )
            assert execute == [(False,)]

    def test_set_role_anon_reads_nothing(self, filled: Project) -> None:
        for role in API_ROLES:
            for table in sorted(TABLES):
                with pytest.raises(psycopg.errors.InsufficientPrivilege):
                    _as_role(filled, role, f"SELECT * FROM wamesh.{table}")
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _as_role(filled, role, "SELECT webhook_secret FROM wamesh.sessions")

    def test_row_level_security_hides_every_row_even_after_a_mistaken_grant(
        self, filled: Project
    ) -> None:
        """The second lock: grant anon everything by mistake, and RLS (no policy) still
        returns no row."""
        assert filled.owner(
            "SELECT count(*) FROM pg_tables WHERE schemaname = 'wamesh' AND NOT rowsecurity"
        ) == [(0,)]
        assert filled.owner("SELECT count(*) FROM pg_policies WHERE schemaname = 'wamesh'") == [
            (0,)
        ]
        filled.owner("GRANT USAGE ON SCHEMA wamesh TO anon, authenticated")
        filled.owner("GRANT SELECT ON ALL TABLES IN SCHEMA wamesh TO anon, authenticated")
        for role in API_ROLES:
            for table in TABLES:
                assert _as_role(filled, role, f"SELECT * FROM wamesh.{table}") == [], (role, table)


class TestTheRolesLoginRole:
    """What every role's tests connect as: not the owner, no DDL, no way into public's tables."""

    def test_database_url_is_a_non_owner_without_ddl_rights(self, database_url: str) -> None:
        who = run(
            database_url,
            "SELECT current_user, r.rolsuper, r.rolcreatedb, r.rolcreaterole, r.rolbypassrls "
            "FROM pg_roles r WHERE r.rolname = current_user",
        )
        assert who == [(APP_ROLE, False, False, False, True)]
        owned = run(
            database_url,
            "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = 'wamesh' AND pg_has_role(current_user, c.relowner, 'USAGE')",
        )
        assert owned == [(0,)]
        for ddl in (
            "CREATE TABLE wamesh.extra (id int)",
            "CREATE TABLE public.extra (id int)",
            "CREATE SCHEMA extra",
            "ALTER TABLE wamesh.sessions ADD COLUMN extra int",
            "DROP TABLE wamesh.reminders",
            "SELECT * FROM wamesh.wamesh_migrations",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                run(database_url, ddl)
        assert run(database_url, "SELECT count(*) FROM wamesh.sessions") == [(0,)]

    def test_a_statement_without_the_schema_meets_the_bots_table(self, database_url: str) -> None:
        """Why every statement names its schema: `sessions` alone is `public.sessions`, the bot's,
        which the roles' login role may not read."""
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="sessions"):
            run(database_url, "SELECT id FROM sessions")
        with pytest.raises(psycopg.errors.UndefinedTable):
            run(database_url, "SELECT id FROM reminders")


def _old_install(project: Project, upto: int) -> None:
    """wamesh before migration 0009: files 0001-`upto` applied in `public` by the old runner
    (same ledger, default search_path)."""
    project.owner("DROP TABLE public.sessions")  # an old install could not coexist with the bot's
    with psycopg.connect(project.owner_url, autocommit=True) as conn, conn.transaction():
        conn.execute(
            "CREATE TABLE wamesh_migrations (version integer PRIMARY KEY, name text NOT NULL, "
            "checksum text NOT NULL, applied_at timestamptz NOT NULL DEFAULT now())"
        )
        for m in load_migrations()[:upto]:
            conn.execute(m.sql.encode())
            conn.execute(
                "INSERT INTO wamesh_migrations (version, name, checksum) VALUES (%s, %s, %s)",
                (m.version, m.name, m.checksum),
            )
    _add_rows(project, "public", upto)


class TestAnInstallInPublicMoves:
    """An install made before the schema (tables in `public`) moves into it on the next migrate,
    rows and ids kept, and works from there as the non-owner role."""

    @pytest.mark.parametrize("upto", [8, 5])
    async def test_tables_rows_and_trigger_move_and_public_is_left_empty(
        self, project: Project, upto: int
    ) -> None:
        _old_install(project, upto)
        ours = _tables(project, "public") - {"wamesh_migrations"}
        before = {t: project.owner(f"SELECT count(*) FROM public.{t}")[0][0] for t in ours}
        assert project.owner("SELECT has_table_privilege('anon', 'public.sessions', 'SELECT')") == [
            (True,)
        ]  # Supabase's default privileges gave anon the old install's tables
        applied = await project.migrate()
        assert applied == [m.version for m in load_migrations()][upto:]
        assert project.owner(PUBLIC) == []
        assert _tables(project) == TABLES
        after = {t: project.owner(f"SELECT count(*) FROM wamesh.{t}")[0][0] for t in before}
        assert after == before
        ledger = project.owner("SELECT count(*) FROM wamesh.wamesh_migrations")
        assert ledger == [(len(load_migrations()),)]
        assert project.owner("SELECT name FROM wamesh.sessions WHERE id = %s", (LINE,)) == [
            ("shop",)
        ]
        trigger = project.owner(
            "SELECT p.pronamespace::regnamespace::text FROM pg_trigger t "
            "JOIN pg_proc p ON p.oid = t.tgfoid WHERE t.tgrelid = 'wamesh.sessions'::regclass "
            "AND NOT t.tgisinternal"
        )
        assert trigger == [("wamesh",)]
        assert project.owner("SELECT has_table_privilege('anon', 'wamesh.sessions', 'SELECT')") == [
            (False,)
        ]
        next_id = project.owner(
            "INSERT INTO wamesh.webhook_attempts (delivery_id, attempt, latency_ms) "
            "VALUES ('0b6f2c1e-2222-4a4a-8b8b-000000000001', 2, 5) RETURNING id"
        )
        assert next_id == [(2,)]

    async def test_a_moved_line_reaches_qr_as_the_roles_login_role(
        self, project: Project, redis_url: str, tmp_path: Path
    ) -> None:
        _old_install(project, 8)
        await project.migrate()
        project.grant()
        env = worker_env(project.app_url, redis_url, tmp_path)
        with worker_processes() as spawned:
            spawned.append(worker := spawn_worker(LINE, env, tmp_path / "logs"))
            await wait_status(project.app_url, LINE, "qr", worker)


class TestWithoutBypassrls:
    """README's policies for a login role without BYPASSRLS (Supabase on Postgres 15): the
    role reads and writes, the API roles still nothing."""

    ROLE = "wamesh_app_rls"

    async def test_policies_let_the_role_in_and_nobody_else(
        self, project: Project, redis_url: str, tmp_path: Path
    ) -> None:
        exists = run(project.admin_url, "SELECT 1 FROM pg_roles WHERE rolname = %s", (self.ROLE,))
        if not exists:
            run(project.admin_url, f"CREATE ROLE {self.ROLE} LOGIN NOBYPASSRLS")
        await project.migrate()
        project.grant(self.ROLE)
        url = project.app_url.replace(APP_ROLE, self.ROLE)
        with pytest.raises(psycopg.errors.InsufficientPrivilege, match="row-level security"):
            run(url, f"INSERT INTO wamesh.sessions (id, name) VALUES ('{LINE}', 'shop')")
        grant_app_role(project.owner_url, self.ROLE, POLICY_MARK)
        run(
            url,
            f"INSERT INTO wamesh.sessions (id, name, engine) VALUES ('{LINE}', 'shop', 'sandbox')",
        )
        policies = project.owner(
            "SELECT DISTINCT roles::text FROM pg_policies WHERE schemaname = 'wamesh'"
        )
        assert policies == [("{" + self.ROLE + "}",)]
        for role in API_ROLES:
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                _as_role(project, role, "SELECT * FROM wamesh.sessions")
        env = worker_env(url, redis_url, tmp_path)
        with worker_processes() as spawned:
            spawned.append(worker := spawn_worker(LINE, env, tmp_path / "logs"))
            await wait_status(url, LINE, "qr", worker)


class TestRealtimeRecipe:
    """README's opt-in: signed-in users read each line's status (live, from the worker's own
    writes), never a secret; anon reads nothing."""

    async def test_status_copy_for_authenticated_only(
        self, project: Project, redis_url: str, tmp_path: Path
    ) -> None:
        await project.migrate()
        project.grant()
        project.owner(readme_sql(REALTIME_MARK))
        run(
            project.app_url,
            f"INSERT INTO wamesh.sessions (id, name, engine) VALUES ('{LINE}', 'shop', 'sandbox')",
        )
        env = worker_env(project.app_url, redis_url, tmp_path)
        with worker_processes() as spawned:
            spawned.append(worker := spawn_worker(LINE, env, tmp_path / "logs"))
            await wait_status(project.app_url, LINE, "qr", worker)
        seen = _as_role(project, "authenticated", "SELECT * FROM public.wamesh_line_status")
        assert [(str(r[0]), r[1], r[2]) for r in seen] == [(LINE, "shop", "qr")]
        columns = project.owner(
            "SELECT column_name FROM information_schema.columns "
            "WHERE table_schema = 'public' AND table_name = 'wamesh_line_status' ORDER BY 1"
        )
        assert [c[0] for c in columns] == ["id", "name", "status", "updated_at"]
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as_role(project, "anon", "SELECT * FROM public.wamesh_line_status")
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            _as_role(project, "authenticated", "SELECT status FROM wamesh.sessions")
        published = project.owner(
            "SELECT schemaname, tablename FROM pg_publication_tables "
            "WHERE pubname = 'supabase_realtime'"
        )
        assert published == [("public", "wamesh_line_status")]
        run(project.app_url, f"DELETE FROM wamesh.sessions WHERE id = '{LINE}'")
        assert project.owner("SELECT count(*) FROM public.wamesh_line_status") == [(0,)]
