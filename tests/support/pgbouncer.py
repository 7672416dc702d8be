"""A private PgBouncer in transaction mode in front of the test PostgreSQL (Debian `pgbouncer`).

It listens on a free loopback port and forwards every database name to the same database on the
test server (`* =` fallback), so `url_for(database_url)` turns any test database's URL into the
same database through the pooler. Transaction mode is what Supabase's pooler on port 6543 does: a
client's consecutive transactions may run on different server connections, so session state
(LISTEN, session advisory locks, prepared statements on PgBouncer before 1.21) breaks there.
PgBouncer refuses to run as root; as root it runs as the account PostgreSQL runs as.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

from tests.support.supabase import APP_ROLE, OWNER
from wamesh.dev.servers import _chown_tree, _demote, _server_user, _wait_for_port, free_port

POOL_SIZE = 20  # server connections per database and user: far fewer than the clients


@dataclass(frozen=True)
class PgBouncer:
    """A started pooler: its port and the server connections it may open."""

    port: int
    pool_size: int

    def url_for(self, database_url: str) -> str:
        """`database_url` (same user and database) through the pooler."""
        parts = urlsplit(database_url)
        netloc = f"{parts.username}@127.0.0.1:{self.port}"
        return urlunsplit(parts._replace(netloc=netloc))


def pgbouncer_binary() -> str | None:
    """The pgbouncer executable, if installed (Debian: /usr/sbin/pgbouncer)."""
    return shutil.which("pgbouncer") or (
        "/usr/sbin/pgbouncer" if os.path.exists("/usr/sbin/pgbouncer") else None
    )


@contextmanager
def start_pgbouncer(workdir: Path, server_url: str) -> Iterator[PgBouncer]:
    """Start PgBouncer (transaction mode) in `workdir` in front of `server_url`'s server."""
    binary = pgbouncer_binary()
    if binary is None:
        raise RuntimeError("pgbouncer not found; install it: apt-get install -y pgbouncer")
    server = urlsplit(server_url)
    workdir.mkdir(parents=True, exist_ok=True)
    port = free_port()
    users = (server.username, OWNER, APP_ROLE)  # the test databases' roles (supabase.py)
    (workdir / "users.txt").write_text("".join(f'"{user}" ""\n' for user in users))
    (workdir / "pgbouncer.ini").write_text(
        f"""[databases]
* = host={server.hostname} port={server.port}

[pgbouncer]
listen_addr = 127.0.0.1
listen_port = {port}
unix_socket_dir =
auth_type = trust
auth_file = {workdir / "users.txt"}
pool_mode = transaction
default_pool_size = {POOL_SIZE}
max_client_conn = 2000
ignore_startup_parameters = extra_float_digits
logfile = {workdir / "pgbouncer.log"}
pidfile = {workdir / "pgbouncer.pid"}
"""
    )
    user = _server_user()
    _chown_tree(workdir, user)
    ids = _demote(user)
    log = workdir / "pgbouncer.out"
    with log.open("ab") as out:
        proc = subprocess.Popen(
            [binary, str(workdir / "pgbouncer.ini")],
            stdout=out,
            stderr=out,
            start_new_session=True,
            user=ids.user,
            group=ids.group,
            extra_groups=ids.extra_groups,
        )
    try:
        _wait_for_port(port, proc, "pgbouncer", log)
        yield PgBouncer(port, POOL_SIZE)
    finally:
        proc.terminate()
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
