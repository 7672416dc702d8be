"""One line's runtime inside its worker: its lifecycle and the pump of engine events into state.

Every engine event is handled in order (one pump task): a status change is written to the
`sessions` row together with its outbox rows in one transaction, the rows are kicked to the
webhook queue after the commit, and the event is published to in-process subscribers. Plain
events (messages, acks, reactions...) that arrived while the previous write ran are recorded
together: one transaction, one INSERT and one kick for up to EVENT_BATCH_MAX of them. Auth state
is saved after pairing, again 10 s and 60 s later, every ten minutes, and on stop (after the
engine closed). The message
commands (sends, reactions, edits, revokes, forwards, stored media) are `Messaging`'s; the line
hands them its engine while it is ready.

Pairing: a line waiting for it (status `qr`) pairs by scanning its QR or by a code typed on the
phone (`request_pairing_code`, engines that are `PairsByCode`). A pairing code replaces the QR in
the `sessions` row (the column is cleared: the engine stops showing QRs) and goes out as a
`session.pairing_code` event only; it is a credential until it expires, so it is never logged.
A request while the line is still `starting` waits for the engine to show it is unpaired; a
paired line (`ready`, `disconnected`) answers `already_paired`.
"""

from __future__ import annotations

import asyncio
import contextlib
import functools
import hashlib
import logging
from collections.abc import Awaitable, Callable, Iterable

import psycopg
from psycopg_pool import PoolTimeout

from wamesh.authstate import AuthStore
from wamesh.constants import TROUBLE_LOG_INTERVAL_S
from wamesh.engines.base import (
    AckChanged,
    AuthChanged,
    Authenticated,
    Disconnected,
    Engine,
    EngineEvent,
    Failed,
    GroupParticipantsChanged,
    LoggedOut,
    MediaSource,
    MessageEdited,
    MessageIn,
    MessageOut,
    MessageRevoked,
    PairingCode,
    PairsByCode,
    PollVoted,
    PresenceChanged,
    Qr,
    ReactionChanged,
    Ready,
)
from wamesh.engines.rich import ContactInfo, GroupInfo
from wamesh.errors import AlreadyPaired, NotSupported, SessionNotFound, SessionNotReady
from wamesh.jid import parse_phone
from wamesh.logs import OncePer
from wamesh.outbox import Kicker
from wamesh.session import chats
from wamesh.session.batching import batches
from wamesh.session.events import (
    LineEvent,
    ack_event,
    action_event,
    group_participants_event,
    message_event,
    pairing_code_event,
    poll_vote_event,
    presence_event,
    qr_event,
    status_event,
)
from wamesh.session.hub import Hub
from wamesh.session.messaging import LineMedia, Messaging, SendRequest, SendResult
from wamesh.session.store import LineStore, StatusChange

_LOGGER = logging.getLogger(__name__)
# After ready: again once the browser has flushed what it writes lazily (Chromium commits Local
# Storage in batches seconds apart), once WhatsApp Web has settled (whatsapp-web.js RemoteAuth
# waits 60 s), then every ten minutes. A save that finds nothing changed writes nothing.
AUTH_SAVE_DELAYS_S = (10.0, 50.0)
AUTH_SAVE_INTERVAL_S = 600.0
# An engine that reports AuthChanged is saved this long after the first change (changes in the
# meantime ride along): what a crash can lose shrinks from the interval above to these seconds,
# at most one save per line per interval of this length under constant traffic.
AUTH_CHANGE_SAVE_S = 2.0
PAIRED_STATUSES = frozenset({"ready", "disconnected"})
FINAL_STATUSES = frozenset({"logged_out", "failed", "stopped"})
# A line's writes retry while PostgreSQL is away, every DB_RETRY_MAX_S at most (cheap: while the
# pool knows the server is away it answers at once), for about ten minutes before giving up.
DB_RETRY_MAX_S = 1.0
DB_RETRIES = 600
# Most plain events (messages, acks, reactions...) recorded in one transaction: as many as arrived
# while the previous write ran (group commit), so a busy line writes hundreds per commit.
EVENT_BATCH_MAX = 200
PAIRING_START_WAIT_S = 10.0  # under the gateway's 15 s deadline


class Line:
    """The runtime of one line: its engine, status, subscribers and sends."""

    def __init__(
        self,
        session_id: str,
        engine_factory: Callable[[], Engine],
        store: LineStore,
        auth: AuthStore,
        hub: Hub,
        kicker: Kicker | None = None,
        media: LineMedia | None = None,
        batch_max: int = EVENT_BATCH_MAX,
    ) -> None:
        self.session_id = session_id
        self._batch_max = batch_max
        self.media = media
        self._factory = engine_factory
        self._store = store
        self._auth = auth
        self.hub = hub
        self._kicker = kicker
        self._db_trouble = OncePer(_LOGGER, TROUBLE_LOG_INTERVAL_S)
        self.engine: Engine | None = None
        self.status = "starting"
        self.me: str | None = None
        self.lid: str | None = None  # the own LID, live only (the engine's Ready)
        self.qr: Qr | None = None
        self.last_error: str | None = None
        self.deleted = asyncio.Event()
        # Set by MeshService.Release: the gateway says the line was deleted or stopped.
        self.released = asyncio.Event()
        self._changed = asyncio.Event()
        self._pump_task: asyncio.Task[None] | None = None
        self._saver_task: asyncio.Task[None] | None = None
        self._soon_task: asyncio.Task[None] | None = None
        self._saved_digest: bytes | None = None
        self._frozen = False
        self._messaging = Messaging(session_id, store, media, self._ready_engine)

    # Lifecycle ------------------------------------------------------------------------------

    async def start(self) -> None:
        """Write `starting`, restore auth state, start the engine and its event pump."""
        await self._change(StatusChange("starting", keep_me=True), [status_event("starting")])
        state = await self._auth.load()
        self._saved_digest = _digest(state)
        engine = self._factory()
        self.engine = engine
        self._pump_task = asyncio.create_task(
            self._pump(engine), name=f"line-{self.session_id}-pump"
        )
        await engine.start(state)

    async def stop(self, *, write_status: bool = True) -> None:
        """Save auth state, stop the engine and, unless told not to, write `stopped`.

        Saved twice: before (in case stopping hangs) and after the engine closed, when what it
        keeps on disk is consistent (Chromium writes Local Storage and IndexedDB lazily)."""
        engine = self.engine
        await self.save_auth()
        await self._halt_engine()
        if engine is not None:
            await self.save_auth(engine)
        if write_status:
            await self._change(StatusChange("stopped"), [status_event("stopped")])

    async def abort(self) -> None:
        """Stop the engine at once, writing nothing (the lease is lost: another worker owns us)."""
        self._frozen = True
        await self._halt_engine()

    async def restart(self) -> None:
        """Stop the engine (saving auth state) and start a fresh one."""
        await self.stop(write_status=False)
        await self.start()

    async def _halt_engine(self) -> None:
        for task in (self._saver_task, self._soon_task):
            if task is not None:
                task.cancel()
        engine, self.engine = self.engine, None
        if engine is not None:
            await engine.stop()
        if self._pump_task is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await asyncio.wait_for(self._pump_task, timeout=10)
            self._pump_task = None

    # Commands -------------------------------------------------------------------------------

    async def send(self, to: str, text: str, client_message_id: str = "") -> SendResult:
        """Send a text once per client message id; SessionNotReady unless ready."""
        return await self.send_message(SendRequest(to, text, client_message_id))

    async def send_message(self, req: SendRequest) -> SendResult:
        """Send once per client message id (text, or media with a caption, reply, mentions)."""
        return await self._messaging.send_message(req)

    async def react(self, chat_id: str, message_id: str, emoji: str) -> None:
        """Set (or, with an empty emoji, remove) the line's reaction to a message."""
        await self._messaging.react(chat_id, message_id, emoji)

    async def edit(self, chat_id: str, message_id: str, text: str) -> None:
        """Replace the text (or caption) of a message the line sent."""
        await self._messaging.edit(chat_id, message_id, text)

    async def revoke(self, chat_id: str, message_id: str) -> None:
        """Delete a message the line sent, for everyone (see `Messaging.revoke`)."""
        await self._messaging.revoke(chat_id, message_id)

    async def forward(
        self, chat_id: str, message_id: str, to: str, client_message_id: str = ""
    ) -> SendResult:
        """Forward a message to `to`, once per client message id (as `send_message`)."""
        return await self._messaging.forward(chat_id, message_id, to, client_message_id)

    async def check_contact(self, contact: str) -> ContactInfo:
        """Whether a number, JID or LID is on WhatsApp (see `Messaging.check_contact`)."""
        return await self._messaging.check_contact(contact)

    async def list_groups(self) -> list[GroupInfo]:
        """Every group the line is in (see `wamesh.session.chats`)."""
        return await chats.list_groups(self._ready_engine())

    async def group_info(self, group_id: str) -> GroupInfo:
        """One group with its participants."""
        return await chats.group_info(self._ready_engine(), group_id)

    async def mark_read(self, chat_id: str) -> None:
        """Mark every message of a chat read."""
        await chats.mark_read(self._ready_engine(), chat_id)

    async def set_presence(self, chat_id: str, presence: str) -> None:
        """Show typing / recording / paused in a chat, or online / offline (no chat)."""
        await chats.set_presence(self._ready_engine(), chat_id, presence)

    async def subscribe_presence(self, contact: str) -> str:
        """Receive a contact's presence as events; answers its JID."""
        return await chats.subscribe_presence(self._ready_engine(), contact)

    def _ready_engine(self) -> Engine:
        engine = self.engine
        if engine is None or self.status != "ready":
            raise SessionNotReady(self.session_id, self.status)
        return engine

    async def stored_media(self, media_id: str) -> MediaSource:
        """One of the line's stored media, to read in chunks (MediaNotFound when absent)."""
        return await self._messaging.stored_media(media_id)

    async def request_pairing_code(self, phone: str) -> PairingCode:
        """A code to type on the phone for `phone`; only while the line waits for pairing."""
        digits = parse_phone(phone)
        if self.engine is not None:
            _pairs_by_code(self.engine)  # an engine that cannot answers at once, not after a wait
        if self.status == "starting":
            with contextlib.suppress(TimeoutError):
                waited = {"qr", *PAIRED_STATUSES, *FINAL_STATUSES}
                await self.wait_for(waited, limit_s=PAIRING_START_WAIT_S)
        engine = self.engine
        if self.status in PAIRED_STATUSES:
            raise AlreadyPaired(self.session_id, self.status)
        if engine is None or self.status != "qr":
            raise SessionNotReady(self.session_id, self.status)
        return await _pairs_by_code(engine).request_pairing_code(digits)

    async def logout(self) -> str:
        """Log the line out and wait for `logged_out`."""
        engine = self.engine
        if engine is None:
            if self.status == "logged_out":
                return self.status
            raise SessionNotReady(self.session_id, self.status)
        await engine.logout()
        await self.wait_for({"logged_out"}, limit_s=15)
        return self.status

    async def wait_for(self, statuses: Iterable[str], limit_s: float) -> None:
        """Wait until the status is one of `statuses`."""
        wanted = frozenset(statuses)
        async with asyncio.timeout(limit_s):
            while self.status not in wanted:
                await self._changed.wait()

    async def save_auth(self, stopped: Engine | None = None) -> None:
        """Export the engine's (or a just stopped engine's) auth state; store it if it changed."""
        engine = stopped or self.engine
        if engine is None:
            return
        try:
            state = await engine.export_auth_state()
        except Exception:
            _LOGGER.exception("exporting auth state failed")
            return
        digest = _digest(state)
        if state is None or digest == self._saved_digest:
            return
        generation = await self._auth.save(state)
        self._saved_digest = digest
        _LOGGER.info("saved auth state", extra={"generation": generation, "bytes": len(state)})

    # Events ---------------------------------------------------------------------------------

    async def _pump(self, engine: Engine) -> None:
        """Handle events in order; a run of plain events is recorded in one transaction."""
        async with contextlib.aclosing(batches(engine.events(), self._batch_max)) as stream:
            async for batch in stream:
                plain: list[LineEvent] = []
                for event in batch:
                    line_event = self._plain(event)
                    if line_event is not None:
                        plain.append(line_event)
                        continue
                    if not await self._settle(plain, event):
                        return
                    plain = []
                    if isinstance(event, LoggedOut | Failed):
                        return  # the engine is being stopped; what it says now is not the line's
                if not await self._settle(plain, None):
                    return

    async def _settle(self, plain: list[LineEvent], event: EngineEvent | None) -> bool:
        """Record `plain`, then handle `event`; False once the line is found deleted."""
        if plain and not await self._guarded(functools.partial(self._record, plain), "events"):
            return False
        if event is None:
            return True
        return await self._guarded(functools.partial(self._handle, event), type(event).__name__)

    async def _guarded(self, work: Callable[[], Awaitable[None]], what: str) -> bool:
        try:
            await self._retrying(work)
        except SessionNotFound:
            _LOGGER.error("session %s was deleted; stopping", self.session_id)
            self.deleted.set()
            return False
        except Exception:
            _LOGGER.exception("handling a %s event failed", what)
        return True

    async def _retrying(self, work: Callable[[], Awaitable[None]]) -> None:
        """Run `work`, retrying while PostgreSQL is unreachable so no event is dropped (said
        once per TROUBLE_LOG_INTERVAL_S, with the count of retries held back)."""
        for attempt in range(DB_RETRIES):
            try:
                await work()
            except (psycopg.OperationalError, PoolTimeout) as exc:
                self._db_trouble.warning(
                    "database unavailable (%s); retrying the line's writes with back-off",
                    type(exc).__name__,
                )
                await asyncio.sleep(min(DB_RETRY_MAX_S, 0.2 * 2 ** min(attempt, 8)))
            else:
                self._db_trouble.recovered("database reachable again; the line's writes resumed")
                return
        await work()

    def _plain(self, event: EngineEvent) -> LineEvent | None:
        """The one event an engine event records when it changes nothing else, else None."""
        match event:
            case MessageIn(download=download) if download is not None:
                return None  # its media are stored first (see `_handle`)
            case MessageIn(message=m) | MessageOut(message=m):
                return message_event(m, self.session_id)
            case AckChanged(message_id=mid, chat_id=chat, ack=ack):
                return ack_event(mid, chat, ack)
            case ReactionChanged() | MessageEdited() | MessageRevoked():
                return action_event(event)
            case PollVoted():
                return poll_vote_event(event)
            case GroupParticipantsChanged():
                return group_participants_event(event)
            case PresenceChanged():
                return presence_event(event)
        return None

    async def _handle(self, event: EngineEvent) -> None:
        plain = self._plain(event)
        if plain is not None:
            await self._record([plain])
            return
        match event:
            case Qr():
                await self._on_qr(event)
            case PairingCode():
                await self._on_pairing_code(event)
            case Authenticated():
                _LOGGER.info("authenticated")
            case Ready(me=me, lid=lid):
                self.me, self.lid = me, lid
                await self.save_auth()  # before `ready` shows: a crash just after keeps the pairing
                ready = status_event("ready", me=me, lid=lid)
                await self._change(StatusChange("ready", me=me), [ready])
                if self._saver_task is not None:  # ready again after a reconnect
                    self._saver_task.cancel()
                self._saver_task = asyncio.create_task(self._keep_saving(), name="auth-saver")
            case MessageIn(message=m, download=download) if download is not None:
                stored, error = await self._messaging.store_received(m, download)
                await self._record([message_event(stored, self.session_id, error)])
            case AuthChanged():
                self._save_soon()
            case Disconnected(reason=reason):
                await self._change(
                    StatusChange("disconnected", last_error=reason),
                    [status_event("disconnected", reason=reason)],
                )
            case LoggedOut(reason=reason):
                await self._on_logged_out(reason)
            case Failed():
                await self._on_failed(event)

    async def _on_qr(self, qr: Qr) -> None:
        self.qr = qr
        events = [qr_event(qr.code, qr.expires_at, qr.rotation)]
        if self.status != "qr":
            events.insert(0, status_event("qr"))
        await self._change(StatusChange("qr", qr=qr.code, qr_expires_at=qr.expires_at), events)

    async def _on_pairing_code(self, pairing: PairingCode) -> None:
        _LOGGER.info(  # never the code itself: it links the phone until it expires
            "pairing code issued for a number ending in %s, valid until %s",
            pairing.phone[-4:],
            pairing.expires_at.isoformat(timespec="seconds"),
        )
        self.qr = None  # the engine shows the code instead of a QR
        events = [pairing_code_event(pairing.code, pairing.phone, pairing.expires_at)]
        if self.status != "qr":
            events.insert(0, status_event("qr"))
        await self._change(StatusChange("qr"), events)

    async def _on_logged_out(self, reason: str) -> None:
        await self._auth.purge()
        self._saved_digest = None
        self.me = self.lid = None
        change = StatusChange("logged_out", last_error=reason, keep_me=False)
        await self._change(change, [status_event("logged_out", reason=reason)])
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._halt_engine()))

    async def _on_failed(self, failed: Failed) -> None:
        reason = f"{failed.code}: {failed.reason}"
        await self._change(
            StatusChange("failed", last_error=reason), [status_event("failed", reason=reason)]
        )
        asyncio.get_running_loop().call_soon(lambda: asyncio.ensure_future(self._halt_engine()))

    def _save_soon(self) -> None:
        if self._soon_task is None or self._soon_task.done():
            self._soon_task = asyncio.create_task(self._save_after_change(), name="auth-soon")

    async def _save_after_change(self) -> None:
        await asyncio.sleep(AUTH_CHANGE_SAVE_S)
        await self.save_auth()

    async def _keep_saving(self) -> None:
        for delay in AUTH_SAVE_DELAYS_S:
            await asyncio.sleep(delay)
            await self.save_auth()
        while True:
            await asyncio.sleep(AUTH_SAVE_INTERVAL_S)
            await self.save_auth()

    async def _change(self, change: StatusChange, events: list[LineEvent]) -> None:
        if self._frozen:
            return
        delivery_ids = await self._store.change_status(change, events)
        self.status = change.status
        if change.status != "qr":
            self.qr = None
        self.last_error = change.last_error
        if not change.keep_me:
            self.me = self.lid = None
        self._changed.set()
        self._changed = asyncio.Event()
        await self.after_commit(delivery_ids, events)

    async def _record(self, events: list[LineEvent]) -> None:
        if self._frozen:
            return
        await self.after_commit(await self._store.record(events), events)

    async def emit(self, events: list[LineEvent]) -> None:
        """Record events that change no status (outbox rows), kick them and publish them."""
        await self._record(events)

    async def after_commit(self, delivery_ids: list[str], events: list[LineEvent]) -> None:
        """Kick committed outbox rows and publish their events (for callers with their own
        transaction, e.g. the reminder runner, which writes rows with `outbox.record_event`)."""
        if delivery_ids and self._kicker is not None:
            try:
                await self._kicker.kick(delivery_ids)
            except Exception as exc:  # the reconciler re-kicks pending rows
                _LOGGER.warning("kicking deliveries failed: %s", type(exc).__name__)
        for event in events:
            self.hub.publish(event)


def _pairs_by_code(engine: Engine) -> PairsByCode:
    if not isinstance(engine, PairsByCode):
        raise NotSupported(engine.kind, "pairing codes")
    return engine


def _digest(state: bytes | None) -> bytes | None:
    return hashlib.sha256(state).digest() if state is not None else None
