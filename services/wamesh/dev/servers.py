"""Private PostgreSQL and Redis servers started from the machine's binaries.

Used by `wamesh dev` (data kept under its state folder between runs) and by the test suite
(throw-away folders, fsync off). PostgreSQL refuses to run as root, so as root the server runs as
the `postgres` user (or `nobody`), which owns the data folder. A missing binary raises
`MissingBinary` with the command that installs it.
"""

from __future__ import annotations

import contextlib
import glob
import os
import pwd
import shutil
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from wamesh.errors import WameshError

_PG_INSTALL = "apt-get install -y postgresql (Debian/Ubuntu) or put initdb and postgres on PATH"
_REDIS_INSTALL = "apt-get install -y redis-server (Debian/Ubuntu) or put redis-server on PATH"


class MissingBinary(WameshError):
    """A server binary is not installed."""

    code = "missing_binary"


def free_port() -> int:
    """A TCP port on 127.0.0.1 that was free a moment ago."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def find_binary(name: str, install_hint: str) -> str:
    """`name` on PATH or in Debian's PostgreSQL folders (newest version first)."""
    found = shutil.which(name)
    if found:
        return found
    candidates = sorted(glob.glob(f"/usr/lib/postgresql/*/bin/{name}"), reverse=True)
    if candidates:
        return candidates[0]
    raise MissingBinary(f"{name} not found; install it: {install_hint}")


def _server_user() -> pwd.struct_passwd | None:
    """The account PostgreSQL runs as when we are root, else None (run as ourselves)."""
    if os.geteuid() != 0:
        return None
    for name in ("postgres", "nobody"):
        with contextlib.suppress(KeyError):
            return pwd.getpwnam(name)
    raise MissingBinary("running as root needs a 'postgres' or 'nobody' account for PostgreSQL")


@dataclass(frozen=True)
class _RunAs:
    """The uid/gid a child process runs as (None: unchanged)."""

    user: int | None
    group: int | None
    extra_groups: list[int] | None


def _demote(user: pwd.struct_passwd | None) -> _RunAs:
    if user is None:
        return _RunAs(None, None, None)
    return _RunAs(user.pw_uid, user.pw_gid, [])


def _chown_tree(path: Path, user: pwd.struct_passwd | None) -> None:
    if user is None:
        return
    for root, dirs, files in os.walk(path):
        for name in [
            root,
            *(os.path.join(root, d) for d in dirs),
            *(os.path.join(root, f) for f in files),
        ]:
            os.chown(name, user.pw_uid, user.pw_gid)


def _wait_for_port(port: int, proc: subprocess.Popen[bytes], what: str, log: Path) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise WameshError(f"{what} exited at start ({proc.returncode}); see {log}")
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            return
        time.sleep(0.05)
    raise WameshError(f"{what} did not accept connections on port {port} within 60 s; see {log}")


@dataclass
class PostgresServer:
    """A private PostgreSQL cluster in `data_dir`, listening on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    durable: bool = True
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """Connection string of the `postgres` database as superuser `wamesh`."""
        return f"postgresql://wamesh@127.0.0.1:{self.port}/postgres"

    def url_for(self, database: str) -> str:
        """Connection string of another database on this server."""
        return f"postgresql://wamesh@127.0.0.1:{self.port}/{database}"

    def start(self) -> None:
        """initdb when the folder is new, then start the server and wait until it accepts."""
        self.data_dir = self.data_dir.resolve()
        user = _server_user()
        if not (self.data_dir / "PG_VERSION").exists():
            self._initdb(user)
        self.port = self.port or free_port()
        log = self.data_dir.parent / "postgres.log"
        settings = [
            "-c",
            "listen_addresses=127.0.0.1",
            "-c",
            f"unix_socket_directories={self.data_dir}",
        ]
        if not self.durable:
            settings += [
                "-c",
                "fsync=off",
                "-c",
                "synchronous_commit=off",
                "-c",
                "full_page_writes=off",
            ]
        settings += ["-c", "max_connections=300"]
        cmd = [
            find_binary("postgres", _PG_INSTALL),
            "-D",
            str(self.data_dir),
            "-p",
            str(self.port),
            *settings,
        ]
        ids = _demote(user)
        with log.open("ab") as out:
            proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
                cmd,
                stdout=out,
                stderr=out,
                start_new_session=True,
                user=ids.user,
                group=ids.group,
                extra_groups=ids.extra_groups,
            )
        self.proc = proc
        _wait_for_port(self.port, proc, "postgres", log)
        self._wait_ready()

    def _initdb(self, user: pwd.struct_passwd | None) -> None:
        self.data_dir.mkdir(parents=True, exist_ok=True)
        _chown_tree(self.data_dir.parent if user else self.data_dir, user)
        cmd = [
            find_binary("initdb", _PG_INSTALL),
            "-D",
            str(self.data_dir),
            "-U",
            "wamesh",
            "--auth=trust",
            "--encoding=UTF8",
            "--no-instructions",
        ]
        ids = _demote(user)
        done = subprocess.run(  # noqa: S603 - fixed argv, no shell
            cmd,
            capture_output=True,
            text=True,
            check=False,
            user=ids.user,
            group=ids.group,
            extra_groups=ids.extra_groups,
        )
        if done.returncode != 0:
            hint = " (as root it runs as the postgres user: every parent folder must be searchable)"
            raise WameshError(f"initdb failed{hint if user else ''}: {done.stderr.strip()}")

    def _wait_ready(self) -> None:
        import psycopg

        deadline = time.monotonic() + 30
        while True:
            try:
                psycopg.connect(self.url, connect_timeout=2).close()
                return
            except psycopg.OperationalError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

    def stop(self) -> None:
        """Fast shutdown (SIGINT), then wait."""
        _stop(self.proc, signal.SIGINT)
        self.proc = None


@dataclass
class RedisServer:
    """A private redis-server in `data_dir` on 127.0.0.1:`port`."""

    data_dir: Path
    port: int = 0
    durable: bool = True
    databases: int = 16
    proc: subprocess.Popen[bytes] | None = field(default=None, init=False)

    @property
    def url(self) -> str:
        """Connection URL of database 0."""
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        """Start and wait until it accepts connections."""
        self.data_dir = self.data_dir.resolve()
        self.data_dir.mkdir(parents=True, exist_ok=True)
        self.port = self.port or free_port()
        log = self.data_dir / "redis.log"
        persistence = (
            ["--appendonly", "yes"] if self.durable else ["--save", "", "--appendonly", "no"]
        )
        cmd = [
            find_binary("redis-server", _REDIS_INSTALL),
            "--port",
            str(self.port),
            "--bind",
            "127.0.0.1",
            "--dir",
            str(self.data_dir),
            "--logfile",
            str(log),
            "--databases",
            str(self.databases),
            *persistence,
        ]
        self.proc = subprocess.Popen(  # noqa: S603 - fixed argv, no shell
            cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL, start_new_session=True
        )
        _wait_for_port(self.port, self.proc, "redis-server", log)

    def stop(self) -> None:
        """SIGTERM, then wait."""
        _stop(self.proc, signal.SIGTERM)
        self.proc = None


def _stop(proc: subprocess.Popen[bytes] | None, sig: signal.Signals) -> None:
    if proc is None or proc.poll() is not None:
        return
    proc.send_signal(sig)
    try:
        proc.wait(timeout=30)
    except subprocess.TimeoutExpired:
        proc.kill()
        proc.wait()
