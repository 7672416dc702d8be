"""Test databases prepared the way a Supabase project is, and wamesh's roles on them.

What a Supabase project has before wamesh ever connects, from Supabase's own sources
(github.com/supabase/postgres at 7db7e1a9e34b9ffb9b0e3372ccf08eb4fa772f4b):

- `migrations/db/init-scripts/00000000000000-initial-schema.sql`, run as `postgres` (see
  `migrations/db/migrate.sh`: "run init scripts as postgres user"): the publication
  `supabase_realtime`; roles `anon`, `authenticated` (nologin noinherit), `service_role`
  (nologin noinherit bypassrls) and `authenticator` (noinherit, granted the three);
  `grant usage on schema public to postgres, anon, authenticated, service_role`; and
  `alter default privileges in schema public grant all on tables / functions / sequences to
  postgres, anon, authenticated, service_role` (for the role running it: `postgres`). So every
  table `postgres` makes in `public` is anon's to read and write unless row level security stops it.
- `migrations/db/migrations/10000000000000_demote-postgres.sql`: `ALTER ROLE postgres NOSUPERUSER
  CREATEDB CREATEROLE LOGIN REPLICATION BYPASSRLS` (and `GRANT ALL ON DATABASE postgres TO
  postgres`, the database's owner).
- `migrations/db/migrations/20230529180330_alter_api_roles_for_inherit.sql`: anon, authenticated
  and service_role INHERIT.
- `migrations/db/init-scripts/00000000000003-post-setup.sql`: postgres's search_path
  `"$user", public, extensions`.

The original Node bot's own `public.sessions`, made by `postgres` (so the default privileges above
apply): its columns are our assumption, since its source is not public; DESIGN.md describes its
lines as an id (`SESSION_ID`), a name and a webhook (`webhook_url`, `webhook_secret`), and it
kept a status and a QR. The import reads only `id`, `name`, `webhook_url` and `webhook_secret`
and tolerates a missing `name` or webhook column (tests/foundation/test_supabase.py).

wamesh's own roles: `postgres` owns the schema (runs `wamesh migrate`), and the session worker,
gateway and webhook worker connect as `wamesh_app`, made exactly as README "Database roles" says
(the SQL is read from the README, so the two cannot drift apart).
"""

from __future__ import annotations

import asyncio
import re
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import psycopg

from wamesh.constants import DB_SCHEMA_DEFAULT
from wamesh.db.migrate import migrate

OWNER = "postgres"
APP_ROLE = "wamesh_app"
API_ROLES = ("anon", "authenticated")
README = Path(__file__).resolve().parents[2] / "README.md"
APP_ROLE_MARK = "<!-- sql: app role -->"
POLICY_MARK = "<!-- sql: app role without bypassrls -->"
REALTIME_MARK = "<!-- sql: realtime status -->"

# Cluster-wide roles (created once; an existing role is left exactly as it is).
_ROLES = {
    "anon": "NOLOGIN INHERIT",
    "authenticated": "NOLOGIN INHERIT",
    "service_role": "NOLOGIN INHERIT BYPASSRLS",
    "authenticator": "LOGIN NOINHERIT",
    OWNER: "LOGIN NOSUPERUSER CREATEDB CREATEROLE REPLICATION BYPASSRLS",
    APP_ROLE: "LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOINHERIT BYPASSRLS",
}
_CLUSTER = [
    "GRANT anon, authenticated, service_role TO authenticator",
    f"""ALTER ROLE {OWNER} SET search_path TO "$user", public, extensions""",
]
# Run in a database `postgres` owns (as in a project), so `public` is postgres's (pg_database_owner).
_DATABASE = [
    f"GRANT USAGE ON SCHEMA public TO {OWNER}, anon, authenticated, service_role",
    f"SET ROLE {OWNER}",
    "CREATE PUBLICATION supabase_realtime",
    "CREATE SCHEMA IF NOT EXISTS extensions",
    "GRANT USAGE ON SCHEMA extensions TO postgres, anon, authenticated, service_role",
    *(
        f"ALTER DEFAULT PRIVILEGES IN SCHEMA public GRANT ALL ON {kind} "
        f"TO {OWNER}, anon, authenticated, service_role"
        for kind in ("TABLES", "FUNCTIONS", "SEQUENCES")
    ),
]
# The original bot's table (see the module docstring).
BOT_SESSIONS = """
CREATE TABLE public.sessions (
    id             uuid PRIMARY KEY DEFAULT gen_random_uuid(),
    name           text,
    status         text NOT NULL DEFAULT 'pending',
    qr             text,
    phone          text,
    webhook_url    text,
    webhook_secret text,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
)
"""


def as_role(url: str, role: str) -> str:
    """`url` (a trust-authenticated test server) connecting as `role`."""
    parts = urlsplit(url)
    host = parts.netloc.rsplit("@", 1)[-1]
    return urlunsplit(parts._replace(netloc=f"{role}@{host}"))


def admin_of(url: str, admin_url: str) -> str:
    """`url`'s database as the test server's superuser (`admin_url`'s user)."""
    return as_role(url, urlsplit(admin_url).username or "postgres")


def prepare_cluster(admin_url: str) -> None:
    """Supabase's roles and wamesh's two (each only when missing), as a superuser."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for role, options in _ROLES.items():
            found = conn.execute("SELECT 1 FROM pg_roles WHERE rolname = %s", (role,)).fetchone()
            if found is None:
                conn.execute(f"CREATE ROLE {role} {options}")
        for statement in _CLUSTER:
            conn.execute(statement)


def prepare_database(admin_url: str, *, bot_table: bool = True) -> None:
    """What Supabase's scripts do to a project's database, and the bot's `public.sessions`."""
    with psycopg.connect(admin_url, autocommit=True) as conn:
        for statement in _DATABASE:
            conn.execute(statement)
        if bot_table:
            conn.execute(BOT_SESSIONS)


def readme_sql(mark: str) -> str:
    """The SQL block of README.md right after the comment `mark`."""
    text = README.read_text()
    found = re.search(re.escape(mark) + r"\s*```sql\n(.*?)```", text, re.S)
    if found is None:
        raise AssertionError(f"README.md has no ```sql block after {mark}")
    return found.group(1)


def grant_app_role(
    owner_url: str,
    role: str = APP_ROLE,
    mark: str = APP_ROLE_MARK,
    schema: str = DB_SCHEMA_DEFAULT,
) -> None:
    """Run README's SQL after `mark` as the owner, for `role` (README's `wamesh_app`) and
    `schema` (written for `wamesh`, as README tells a reader with another schema to do)."""
    statements = re.sub(r"\bwamesh\b", schema, readme_sql(mark)).replace(APP_ROLE, role)
    with psycopg.connect(owner_url, autocommit=True) as conn:
        conn.execute(statements.encode())


def migrate_and_grant(admin_url: str) -> str:
    """Migrate a prepared database as `postgres`, grant README's privileges to wamesh_app; return
    the URL the roles connect with (as wamesh_app)."""
    owner_url = as_role(admin_url, OWNER)
    asyncio.run(migrate(owner_url))
    grant_app_role(owner_url)
    return as_role(admin_url, APP_ROLE)


def supabase_like(admin_url: str) -> str:
    """`prepare_database` then `migrate_and_grant` a database `postgres` owns."""
    prepare_database(admin_url)
    return migrate_and_grant(admin_url)
