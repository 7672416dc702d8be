"""Every setting of wamesh, read from the environment once and validated at start.

Each field names its variable, its default and what it expects; `Settings.from_env` reports a bad
value with the variable's name. The original Node service's names keep working (`REDIS_URL`,
`WEBHOOK_*`, `SESSION_ID`, `PUPPETEER_EXECUTABLE_PATH` as an alias of `WAMESH_CHROMIUM_PATH`).
`describe()` yields the table the README shows (a test keeps the two in step).
"""

from __future__ import annotations

import dataclasses
import re
import uuid
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any, TypeVar

from wamesh.constants import DB_SCHEMA_DEFAULT, ENGINES, POOL_POLL_MS_DEFAULT
from wamesh.db.schema import schema_name
from wamesh.errors import ConfigError
from wamesh.record import Record

T = TypeVar("T")
Parser = Callable[[str], Any]

_TRUE = frozenset({"1", "true", "yes", "on"})
_FALSE = frozenset({"0", "false", "no", "off", ""})


def parse_bool(raw: str) -> bool:
    """`1/true/yes/on` or `0/false/no/off`."""
    value = raw.strip().lower()
    if value in _TRUE:
        return True
    if value in _FALSE:
        return False
    raise ValueError("expected true or false")


def parse_int(minimum: int, maximum: int | None = None) -> Parser:
    """An integer in [minimum, maximum]."""

    upper = f" and at most {maximum}" if maximum is not None else ""
    expected = f"expected an integer of at least {minimum}{upper}"

    def parse(raw: str) -> int:
        try:
            value = int(raw.strip())
        except ValueError:
            raise ValueError(expected) from None
        if value < minimum or (maximum is not None and value > maximum):
            raise ValueError(expected)
        return value

    return parse


def parse_float(minimum: float) -> Parser:
    """A number of at least `minimum`."""
    expected = f"expected a number of at least {minimum:g}"

    def parse(raw: str) -> float:
        try:
            value = float(raw.strip())
        except ValueError:
            raise ValueError(expected) from None
        if not value >= minimum:
            raise ValueError(expected)
        return value

    return parse


def parse_choice(*choices: str) -> Parser:
    """One of `choices`, case-insensitive."""

    def parse(raw: str) -> str:
        value = raw.strip().lower()
        if value not in choices:
            raise ValueError(f"expected one of {', '.join(choices)}")
        return value

    return parse


def parse_url(*schemes: str) -> Parser:
    """A URL with one of `schemes`."""

    def parse(raw: str) -> str:
        value = raw.strip()
        if value.split("://", 1)[0] not in schemes or "://" not in value:
            raise ValueError(
                f"expected a URL starting with {' or '.join(s + '://' for s in schemes)}"
            )
        return value

    return parse


def parse_uuid(raw: str) -> str:
    """A UUID, normalised to lower-case hyphenated form."""
    return str(uuid.UUID(raw.strip()))


def parse_text(raw: str) -> str:
    """Any non-empty string."""
    value = raw.strip()
    if not value:
        raise ValueError("expected a non-empty value")
    return value


def parse_list(raw: str) -> tuple[str, ...]:
    """A comma-separated list."""
    return tuple(item.strip() for item in raw.split(",") if item.strip())


class Kinds(tuple[str, ...]):
    """Media kinds, shown as the comma list they are written as (`none` when empty)."""

    def __str__(self) -> str:
        return ",".join(self) or "none"


MEDIA_KINDS = Kinds(("image", "video", "audio", "voice", "document", "sticker"))


def parse_media_kinds(raw: str) -> Kinds:
    """A comma list of media kinds, or `none`."""
    items = [item.lower() for item in parse_list(raw)]
    if items == ["none"]:
        return Kinds(())
    unknown = [item for item in items if item not in MEDIA_KINDS]
    if unknown or not items:
        raise ValueError(
            f"expected a comma list of {', '.join(MEDIA_KINDS)}, or none"
            + (f" (unknown: {', '.join(unknown)})" if unknown else "")
        )
    return Kinds(kind for kind in MEDIA_KINDS if kind in items)


def setting(
    names: str | tuple[str, ...],
    default: Any,
    parse: Parser,
    doc: str,
    *,
    secret: bool = False,
) -> Any:
    """Declare a field read from the first set variable of `names`; a secret never shows in
    `repr` or in an error, and no value shows a URL's password."""
    env = (names,) if isinstance(names, str) else names
    meta = {"env": env, "parse": parse, "doc": doc, "secret": secret}
    return field(default=default, metadata=meta, repr=not secret)


def without_password(raw: str) -> str:
    """`raw` with the password of a `scheme://user:password@host` URL masked."""
    return _PASSWORD.sub(r"\1***@", raw)


_PASSWORD = re.compile(r"(://[^/:@\s]*:)[^@/\s]*@")


@dataclass(frozen=True, eq=False, repr=False)
class Settings(Record):
    """The validated configuration of one wamesh process."""

    database_url: str | None = setting(
        "DATABASE_URL",
        None,
        parse_url("postgres", "postgresql"),
        "PostgreSQL connection string (a Supabase project's Postgres connection string works).",
    )
    database_schema: str = setting(
        "WAMESH_DB_SCHEMA",
        DB_SCHEMA_DEFAULT,
        schema_name,
        "The schema holding every wamesh table, type and function (created by `wamesh migrate`; "
        "never `public`).",
    )
    database_prepare: str = setting(
        "WAMESH_DB_PREPARE",
        "auto",
        parse_choice("auto", "on", "off"),
        "Server-side prepared statements: `off` behind a transaction-mode pooler that lacks them "
        "(PgBouncer before 1.21, Supabase's pooler on port 6543); `auto` is off on port 6543.",
    )
    database_idle_s: float = setting(
        "WAMESH_DB_IDLE_S",
        5.0,
        parse_float(1.0),
        "Seconds a PostgreSQL connection above a pool's idle minimum may sit unused before it "
        "is closed.",
    )
    database_pool_gateway: int = setting(
        "WAMESH_DB_POOL_GATEWAY",
        10,
        parse_int(2, 1000),
        "Most PostgreSQL connections the gateway holds (1 while idle).",
    )
    database_pool_webhooks: int = setting(
        "WAMESH_DB_POOL_WEBHOOKS",
        10,
        parse_int(2, 1000),
        "Most PostgreSQL connections a webhook worker holds (1 while idle).",
    )
    redis_pool: int = setting(
        "WAMESH_REDIS_POOL",
        10,
        parse_int(2, 1000),
        "Most Redis connections the gateway holds (a session worker always holds one, a "
        "webhook worker process two).",
    )
    redis_url: str = setting(
        "REDIS_URL",
        "redis://127.0.0.1:6379/0",
        parse_url("redis", "rediss", "unix"),
        "Redis: worker registry and the webhook queue.",
    )
    session_id: str | None = setting(
        "SESSION_ID", None, parse_uuid, "The line a session worker serves (or `--id`)."
    )
    api_key: str | None = setting(
        "WAMESH_API_KEY",
        None,
        parse_text,
        "Key clients send as `X-Api-Key` or `Authorization: Bearer`.",
        secret=True,
    )
    auth_key: str | None = setting(
        "WAMESH_AUTH_KEY",
        None,
        parse_text,
        "Encrypts auth state at rest (AES-256-GCM; any string, stretched with HKDF).",
        secret=True,
    )
    mesh_token: str | None = setting(
        "WAMESH_MESH_TOKEN",
        None,
        parse_text,
        "Shared token the gateway sends to workers; workers refuse calls without it when set.",
        secret=True,
    )
    dev_mode: bool = setting(
        "WAMESH_DEV", False, parse_bool, "Dev mode: relaxed checks for a local mesh (`wamesh dev`)."
    )
    log_level: str = setting(
        "WAMESH_LOG_LEVEL", "info", parse_choice("debug", "info", "warning", "error"), "Log level."
    )
    log_format: str = setting(
        "WAMESH_LOG_FORMAT", "json", parse_choice("json", "text"), "Log format."
    )
    grpc_bind_host: str = setting(
        "WAMESH_GRPC_BIND_HOST", "127.0.0.1", parse_text, "Address gRPC servers listen on."
    )
    metrics_port: int = setting(
        "WAMESH_METRICS_PORT",
        -1,
        parse_int(-1, 65535),
        "Prometheus `/metrics` port of a session worker or webhook worker; -1 (default) serves "
        "none, 0 picks a free one (logged). Listens on WAMESH_GRPC_BIND_HOST.",
    )
    webhook_secret_rotation_grace_s: int = setting(
        "WEBHOOK_SECRET_ROTATION_GRACE_S",
        86_400,
        parse_int(0),
        "How long a rotated-out webhook secret stays valid: deliveries carry both signatures.",
    )
    advertise_host: str = setting(
        "WAMESH_ADVERTISE_HOST",
        "127.0.0.1",
        parse_text,
        "Host a session worker registers for the gateway to call (Railway: its private domain "
        "when pinned); `auto`: its own address on the network that reaches Redis (pool "
        "replicas).",
    )
    worker_grpc_port: int = setting(
        "WAMESH_WORKER_GRPC_PORT",
        0,
        parse_int(0, 65535),
        "Session worker gRPC port; 0 picks a free one.",
    )
    gateway_http_host: str = setting(
        "WAMESH_GATEWAY_HTTP_HOST",
        "127.0.0.1",
        parse_text,
        "Address the gateway's HTTP listens on.",
    )
    gateway_http_port: int = setting(
        ("WAMESH_GATEWAY_HTTP_PORT", "PORT"),
        8080,
        parse_int(0, 65535),
        "Gateway REST port (`PORT`, as Railway sets it, works too).",
    )
    gateway_grpc_port: int = setting(
        "WAMESH_GATEWAY_GRPC_PORT", 50051, parse_int(0, 65535), "Gateway gRPC port."
    )
    lease_ttl_ms: int = setting(
        "WAMESH_LEASE_TTL_MS",
        15_000,
        parse_int(1_000),
        "A worker's registry lease; refreshed every half of it.",
    )
    lease_takeover: bool = setting(
        "WAMESH_LEASE_TAKEOVER",
        True,
        parse_bool,
        "Take a line at once when its registered worker's address refuses connections (it "
        "crashed); turn off when WAMESH_ADVERTISE_HOST is a proxy, not the worker itself.",
    )
    pool_poll_ms: int = setting(
        "WAMESH_POOL_POLL_MS",
        POOL_POLL_MS_DEFAULT,
        parse_int(500),
        "Pool mode's safety net: an idle pool worker looks for a line wanting a worker at least "
        "this often (woken at once through Redis otherwise), and a serving one re-reads its "
        "line's row this often (deleted, or its desired state stopped).",
    )
    webhook_queue_name: str = setting(
        "WEBHOOK_QUEUE_NAME", "webhooks", parse_text, "Redis stream of webhook deliveries."
    )
    webhook_attempts: int = setting(
        "WEBHOOK_ATTEMPTS", 5, parse_int(1, 100), "Attempts per webhook delivery."
    )
    webhook_timeout_ms: int = setting(
        "WEBHOOK_TIMEOUT_MS",
        10_000,
        parse_int(100),
        "Timeout of one webhook POST, from connecting to the end of the answer.",
    )
    webhook_connect_timeout_ms: int = setting(
        "WEBHOOK_CONNECT_TIMEOUT_MS",
        3_000,
        parse_int(50),
        "Timeout of connecting to a webhook endpoint (within WEBHOOK_TIMEOUT_MS).",
    )
    webhook_backoff_ms: int = setting(
        "WEBHOOK_BACKOFF_MS",
        2_000,
        parse_int(0),
        "First retry delay; doubles per attempt, with jitter.",
    )
    webhook_max_backoff_ms: int = setting(
        "WEBHOOK_MAX_BACKOFF_MS",
        60_000,
        parse_int(0),
        "Cap of one retry delay, `Retry-After` included.",
    )
    webhook_allow_private: bool = setting(
        "WEBHOOK_ALLOW_PRIVATE",
        False,
        parse_bool,
        "Allow webhook URLs on loopback/private addresses (on in dev mode).",
    )
    webhook_concurrency: int = setting(
        "WEBHOOK_CONCURRENCY", 100, parse_int(1, 10_000), "Deliveries in flight per worker process."
    )
    webhook_processes: int = setting(
        "WEBHOOK_PROCESSES",
        0,
        parse_int(0, 64),
        "Webhook worker processes sharing the stream (`wamesh worker --processes`); 0: one per "
        "CPU less one, at least 1, at most 4.",
    )
    webhook_per_session_inflight: int = setting(
        "WEBHOOK_PER_SESSION_INFLIGHT",
        5,
        parse_int(1, 10_000),
        "Deliveries in flight per line, so one dead endpoint cannot take every slot.",
    )
    webhook_circuit_failures: int = setting(
        "WEBHOOK_CIRCUIT_FAILURES",
        5,
        parse_int(1, 1_000),
        "Failed attempts in a row after which an endpoint is paused (its circuit opens).",
    )
    webhook_circuit_pause_ms: int = setting(
        "WEBHOOK_CIRCUIT_PAUSE_MS",
        5_000,
        parse_int(10),
        "First pause of a failing endpoint; doubles per pause in a row.",
    )
    webhook_circuit_max_pause_ms: int = setting(
        "WEBHOOK_CIRCUIT_MAX_PAUSE_MS",
        300_000,
        parse_int(10),
        "Longest pause of a failing endpoint.",
    )
    webhook_reconcile_interval_ms: int = setting(
        "WEBHOOK_RECONCILE_INTERVAL_MS",
        1_000,
        parse_int(50),
        "How often the webhook worker looks for deliveries nobody is working on.",
    )
    webhook_reconcile_grace_ms: int = setting(
        "WEBHOOK_RECONCILE_GRACE_MS",
        5_000,
        parse_int(0),
        "How long a due delivery may wait for its kick before the reconciler kicks it again.",
    )
    event_batch_max: int = setting(
        "WAMESH_EVENT_BATCH_MAX",
        200,
        parse_int(1, 10_000),
        "Most events of a line recorded in one transaction (those that arrived while the last "
        "write ran); 1 writes each alone.",
    )
    reminder_attempts: int = setting(
        "REMINDER_ATTEMPTS", 5, parse_int(1, 100), "Send attempts per reminder occurrence."
    )
    reminder_backoff_ms: int = setting(
        "REMINDER_BACKOFF_MS",
        5_000,
        parse_int(0),
        "First delay after a failed reminder send; doubles per attempt (capped at 10 minutes).",
    )
    reminder_poll_ms: int = setting(
        "REMINDER_POLL_MS",
        60_000,
        parse_int(50),
        "Safety-net poll of due reminders (the gateway wakes the worker for new and moved ones).",
    )
    chromium_path: str | None = setting(
        ("WAMESH_CHROMIUM_PATH", "PUPPETEER_EXECUTABLE_PATH"),
        None,
        parse_text,
        "Chromium for the browser engine (default: `chromium` on PATH).",
    )
    browser_user_agent: str | None = setting(
        "WAMESH_BROWSER_USER_AGENT", None, parse_text, "Desktop user agent for WhatsApp Web."
    )
    browser_proxy: str | None = setting(
        "WAMESH_BROWSER_PROXY", None, parse_text, "Proxy server for the browser engine."
    )
    whatsapp_web_url: str = setting(
        "WAMESH_WHATSAPP_WEB_URL",
        "https://web.whatsapp.com/",
        parse_url("http", "https"),
        "Where the browser engine opens WhatsApp Web (tests point it at a stand-in on loopback).",
    )
    browser_takeover_on_conflict: bool = setting(
        "WAMESH_BROWSER_TAKEOVER",
        False,
        parse_bool,
        "When WhatsApp Web is opened elsewhere, take the line back instead of disconnecting.",
    )
    browser_sandbox: str = setting(
        "WAMESH_BROWSER_SANDBOX",
        "auto",
        parse_choice("auto", "on", "off"),
        "Chromium's sandbox: `auto` turns it off only as root; `off` for a non-root user on a "
        "host without unprivileged user namespaces (Ubuntu 24.04's AppArmor default).",
    )
    profile_dir: str = setting(
        "WAMESH_PROFILE_DIR",
        ".wamesh/profiles",
        parse_text,
        "Scratch folder for browser profiles (not the source of truth).",
    )
    whatsmeow_dir: str = setting(
        "WAMESH_WHATSMEOW_DIR",
        ".wamesh/whatsmeow",
        parse_text,
        "Scratch folder for whatsmeow stores while a line runs (rebuilt from PostgreSQL).",
    )
    whatsmeow_proxy: str | None = setting(
        "WAMESH_WHATSMEOW_PROXY",
        None,
        parse_url("http", "https", "socks5"),
        "Proxy the whatsmeow engine connects to WhatsApp through.",
    )
    sandbox_dir: str = setting(
        "WAMESH_SANDBOX_DIR",
        ".wamesh/sandbox",
        parse_text,
        "Where the sandbox engine's simulated WhatsApp keeps what it received.",
    )
    sandbox_qr_interval_s: float = setting(
        "WAMESH_SANDBOX_QR_INTERVAL_S",
        20.0,
        parse_float(0.01),
        "Sandbox engine: seconds between QR rotations.",
    )
    sandbox_qr_max_rotations: int = setting(
        "WAMESH_SANDBOX_QR_MAX_ROTATIONS",
        6,
        parse_int(1),
        "Sandbox engine: QR codes (or pairing codes) shown before the line fails unpaired.",
    )
    sandbox_pairing_code_ttl_s: float = setting(
        "WAMESH_SANDBOX_PAIRING_CODE_TTL_S",
        180.0,
        parse_float(0.01),
        "Sandbox engine: seconds a pairing code is valid before a fresh one replaces it.",
    )
    sandbox_ack_delay_ms: int = setting(
        "WAMESH_SANDBOX_ACK_DELAY_MS",
        300,
        parse_int(0),
        "Sandbox engine: delay between a sent message's acks (server, device, read).",
    )
    default_engine: str = setting(
        "WAMESH_DEFAULT_ENGINE",
        "sandbox",
        parse_choice(*ENGINES),
        "Engine of lines created without one.",
    )
    media_max_bytes: int = setting(
        "WAMESH_MEDIA_MAX_BYTES",
        100 * 1024 * 1024,
        parse_int(1),
        "Largest media stored (uploaded, fetched from a URL or received), in bytes.",
    )
    media_retention_hours: int = setting(
        "WAMESH_MEDIA_RETENTION_HOURS",
        168,
        parse_int(1, 24 * 3650),
        "Hours stored media are kept before the gateway purges them.",
    )
    media_auto_download: tuple[str, ...] = setting(  # a Kinds
        "WAMESH_MEDIA_AUTO_DOWNLOAD",
        MEDIA_KINDS,
        parse_media_kinds,
        "Kinds of received media stored automatically (comma list of "
        "image,video,audio,voice,document,sticker; `none` for none).",
    )
    media_fetch_timeout_s: float = setting(
        "WAMESH_MEDIA_FETCH_TIMEOUT_S",
        30.0,
        parse_float(0.1),
        "Timeout of fetching media from a client's URL (the whole download).",
    )
    state_dir: str = setting(
        "WAMESH_STATE_DIR", ".wamesh", parse_text, "`wamesh dev`'s state folder."
    )

    @classmethod
    def from_env(cls, environ: Mapping[str, str]) -> Settings:
        """Read and validate; raise ConfigError naming the first bad variable."""
        _reject_supabase_only(environ)
        values = {f.name: _read(f, environ) for f in dataclasses.fields(cls)}
        return cls(**values)

    def __repr__(self) -> str:
        """Every value but the secrets, with URL passwords masked (safe to log)."""
        shown = (
            f"{f.name}={without_password(repr(getattr(self, f.name)))}"
            for f in dataclasses.fields(self)
            if f.repr
        )
        return f"Settings({', '.join(shown)})"

    def require(self, name: str) -> Any:
        """The value of field `name`, or ConfigError naming its variable when unset."""
        value = getattr(self, name)
        if value is None:
            env = _field(name).metadata["env"][0]
            raise ConfigError(f"{env} is required here: {_field(name).metadata['doc']}")
        return value


def _field(name: str) -> dataclasses.Field[Any]:
    return next(f for f in dataclasses.fields(Settings) if f.name == name)


def _read(f: dataclasses.Field[Any], environ: Mapping[str, str]) -> Any:
    for env in f.metadata["env"]:
        raw = environ.get(env)
        if raw is None or (raw.strip() == "" and f.default is None):
            continue
        try:
            return f.metadata["parse"](raw)
        except ValueError as exc:
            shown = "(hidden)" if f.metadata["secret"] else repr(without_password(raw))
            raise ConfigError(f"{env}={shown} is invalid: {exc}") from None
    return f.default


def _reject_supabase_only(environ: Mapping[str, str]) -> None:
    if environ.get("DATABASE_URL"):
        return
    if environ.get("SUPABASE_URL") or environ.get("SUPABASE_SERVICE_KEY"):
        raise ConfigError(
            "SUPABASE_URL/SUPABASE_SERVICE_KEY are not used by wamesh: set DATABASE_URL to your "
            "Supabase project's Postgres connection string instead (Project Settings -> "
            "Database -> Connection string, e.g. postgresql://postgres:PASSWORD@db.PROJECT.supabase.co:5432/"
            "postgres)"
        )


@dataclass(frozen=True, eq=False, repr=False)
class VariableDoc(Record):
    """One row of the README's variable table."""

    names: tuple[str, ...]
    default: str
    doc: str


def describe() -> Iterator[VariableDoc]:
    """Every variable, its default and meaning, in declaration order."""
    for f in dataclasses.fields(Settings):
        default = (
            ""
            if f.default is None
            else str(f.default).lower()
            if isinstance(f.default, bool)
            else str(f.default)
        )
        yield VariableDoc(f.metadata["env"], default, f.metadata["doc"])
