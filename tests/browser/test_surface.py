"""The stand-in WhatsApp Web offers surface.json's module surface, with the same kinds and events.

surface.json (services/wamesh/engines/browser/) lists what the bridge may use of WhatsApp Web,
each entry sourced from whatsapp-web.js / wa-js. These tests hold the stand-in to it in real
Chromium, and prove that the checker (surface_check.js) notices a member that is missing, made
sync, made async, loaded too early or an event that is never emitted.
"""

from __future__ import annotations

import asyncio
import base64
import hashlib
import json
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

import pytest
from playwright.async_api import Page

pytestmark = pytest.mark.browser

HERE = Path(__file__).resolve().parent
SURFACE = HERE.parents[1] / "services/wamesh/engines/browser/surface.json"
CHECKER = HERE / "surface_check.js"
KINDS = {
    "function",
    "async function",
    "model",
    "collection",
    "attribute",
    "event",
    "constant",
    "class",
}
PHASES = {"boot", "ready", "optional"}
FAST = "ref_ms=150&refs=3&boot_ms=100&sync_ms=100&ack_ms=60"
PEER = "15550001111@c.us"
GROUP = "120363000000000001@g.us"

OpenPage = Callable[..., Awaitable[Page]]


def _surface() -> dict[str, Any]:
    return json.loads(SURFACE.read_text())


def _entries() -> list[dict[str, Any]]:
    return _surface()["entries"]


def _key(entry: dict[str, Any]) -> str:
    return f"{entry['module']}:{entry['member']}"


class Recorder:
    """Events the page reports through window.__surfaceEvent (kept across navigations)."""

    def __init__(self) -> None:
        self.seen: dict[str, list[list[str]]] = {}

    def record(self, key: str, kinds: list[str]) -> None:
        self.seen.setdefault(key, []).append(kinds)

    async def setup(self, page: Page) -> None:
        await page.expose_function("__surfaceEvent", self.record)
        await page.add_init_script(path=str(CHECKER))

    def problems(self, entries: list[dict[str, Any]]) -> list[str]:
        """Event entries never seen, or only seen with other listener arguments."""
        found = []
        for entry in entries:
            if entry["kind"] != "event":
                continue
            calls = self.seen.get(_key(entry))
            if not calls:
                found.append(f"{_key(entry)}: never emitted")
                continue
            want = entry.get("args", [])
            if not any(_args_match(want, got) for got in calls):
                found.append(f"{_key(entry)}: listener got {calls[0]}, expected {want}")
        return found


def _args_match(want: list[str], got: list[str]) -> bool:
    if len(got) < len(want):
        return False
    return all(w == g or (w == "model" and g == "msg") for w, g in zip(want, got, strict=False))


async def _wait(page: Page, expression: str, timeout: float = 10_000) -> None:
    await page.wait_for_function(expression, timeout=timeout)


async def _state(page: Page, state: str) -> None:
    await _wait(page, f"window.__standin && window.__standin.state().state === '{state}'")


async def _synced(page: Page) -> None:
    await _wait(page, "window.__standin && window.__standin.state().ready === true")


async def _check(page: Page, mode: str, samples: str = "{}") -> list[str]:
    return await page.evaluate(
        f"([entries, mode]) => window.__surfaceCheck.check(entries, mode, {samples})",
        [_entries(), mode],
    )


async def _listen(page: Page, entries: list[dict[str, Any]], samples: str = "{}") -> list[str]:
    result = await page.evaluate(
        f"([entries]) => window.__surfaceCheck.listen(entries, {samples})", [entries]
    )
    return result["problems"]


def _events(phase: str, instance: bool = False) -> list[dict[str, Any]]:
    return [
        e
        for e in _entries()
        if e["kind"] == "event" and e["phase"] == phase and bool(e.get("instance")) == instance
    ]


# Build one object of each instance type through the surface itself (the bridge's way).
MAKE_SAMPLES = """async ([peer, group]) => {
    const W = window.require('WAWebWidFactory');
    const find = window.require('WAWebFindChatAction').findOrCreateLatestChat;
    const MsgKey = window.require('WAWebMsgKey');
    const me = window.require('WAWebUserPrefsMeUser').getMaybeMePnUser();
    const wid = W.createWid(peer);
    const chat = (await find(wid)).chat;
    const groupChat = (await find(W.createWid(group))).chat;
    const key = new MsgKey({from: me, to: wid, id: await MsgKey.newId(), selfDir: 'out'});
    // Media preparation objects, made as processMediaData makes them (Utils.js:683-746).
    const OpaqueData = window.require('WAWebMediaOpaqueData');
    const file = new File([new Uint8Array([137, 80, 78, 71, 1, 2, 3])], 'x.png', {type: 'image/png'});
    const opaque = await OpaqueData.createFromData(file, 'image/png');
    const prep = window.require('WAWebPrepRawMedia').prepRawMedia(opaque, {});
    const mediaData = await prep.waitForPrep();
    const mediaObject = window.require('WAWebMediaStorage').getOrCreateMediaObject(mediaData.filehash);
    // A reaction row, caught the way whatsapp-web.js catches them (a wrapper on bulkUpsert).
    const table = window.require('WAWebAddonReactionTableMode').reactionTableMode;
    const caught = new Promise((ok) => {
        const original = table.bulkUpsert;
        table.bulkUpsert = function (...args) {
            table.bulkUpsert = original; ok(args[0][0]); return original.apply(this, args); };
    });
    const Msg = window.require('WAWebCollections').Msg;
    const mid = window.__standin.receive(peer, 'react to this');
    while (!Msg.find((m) => m.id.id === mid)) await new Promise((r) => setTimeout(r, 10));
    window.__standin.receiveReaction(peer, mid, '+1');
    // A group the line is in (a control), for a Participant; a chat's presence.
    const Chat = window.require('WAWebCollections').Chat;
    const gid = window.__standin.createGroup('Samples', [{jid: peer, isAdmin: true}]);
    while (!Chat.get(gid)) await new Promise((r) => setTimeout(r, 10));
    const participant = Chat.get(gid).groupMetadata.participants.getModelsArray()[0];
    // A contact; a vote on a received poll, caught at bulkUpsert, and its stored row.
    const contact = await window.require('WAWebCollections').Contact.find(peer);
    const voteMode = window.require('WAWebAddonPollVoteTableMode').pollVoteTableMode;
    const voted = new Promise((ok) => {
        const original = voteMode.bulkUpsert;
        voteMode.bulkUpsert = function (...args) {
            voteMode.bulkUpsert = original;
            const result = original.apply(this, args); ok(args[0][0]); return result; };
    });
    const pid = window.__standin.receivePoll(peer, 'Samples?', ['yes', 'no']);
    while (!Msg.find((m) => m.id.id === pid)) await new Promise((r) => setTimeout(r, 10));
    window.__standin.receivePollVote(peer, pid, [0]);
    const voteRow = await voted;
    const votes = window.require('WAWebPollsVotesSchema').getTable();
    const [voteDbRow] = await votes.equals(['parentMsgKey'], voteRow.pollUpdateParentKey.toString());
    window.__samples = {Wid: wid, Chat: chat, GroupChat: groupChat, MsgKey: key,
        OpaqueData: opaque, MediaPrep: prep, MediaData: mediaData, MediaObject: mediaObject,
        ReactionRow: await caught, Participant: participant, PresenceModel: chat.presence,
        ContactModel: contact, PollVoteRow: voteRow, PollVotesTable: votes, PollVoteDbRow: voteDbRow};
}"""

# Send one text through the surface, as whatsapp-web.js's sendMessage does.
SEND = """async ([peer, text]) => {
    const W = window.require('WAWebWidFactory');
    const chat = (await window.require('WAWebFindChatAction')
        .findOrCreateLatestChat(W.createWid(peer))).chat;
    const MsgKey = window.require('WAWebMsgKey');
    const from = window.require('WAWebUserPrefsMeUser').getMaybeMePnUser();
    const id = await MsgKey.newId();
    const key = new MsgKey({from, to: chat.id, id, participant: undefined, selfDir: 'out'});
    const eph = window.require('WAWebGetEphemeralFieldsMsgActionsUtils').getEphemeralFields(chat);
    const [added, sent] = window.require('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
        id: key, ack: 0, body: text, from, to: chat.id, local: true, self: 'out',
        t: Math.floor(Date.now() / 1000), isNewMsg: true, type: 'chat', ...eph});
    const msg = await added;
    const ackAdded = msg.ack;
    const result = await sent;
    return {id, serialized: key.toString(), ackAdded, ackSent: msg.ack,
            result: result.messageSendResult};
}"""


# Receive a text and an image, edit both from the peer, revoke the text (controls only).
RECEIVE_EDIT_REVOKE = """async ([peer]) => {
    const Msg = window.require('WAWebCollections').Msg;
    const until = async (fn) => { while (!fn()) await new Promise((r) => setTimeout(r, 10)); };
    const text = window.__standin.receive(peer, 'before');
    const image = window.__standin.receiveMedia(peer, 'image', btoa('img'), 'image/png', null, 'cap');
    await until(() => Msg.find((m) => m.id.id === text) && Msg.find((m) => m.id.id === image));
    window.__standin.receiveEdit(peer, text, 'after');
    window.__standin.receiveEdit(peer, image, 'new cap');
    await until(() => Msg.find((m) => m.id.id === image).caption === 'new cap');
    window.__standin.receiveRevoke(peer, text);
    await until(() => Msg.find((m) => m.id.id === text).type === 'revoked');
}"""


# Subscribe to a chat's presence (wa-js registerPresenceChange) and let the contact type, then stop.
PRESENCE = """async ([peer]) => {
    const R = (n) => window.require(n);
    const chat = (await R('WAWebFindChatAction').findOrCreateLatestChat(
        R('WAWebWidFactory').createWid(peer))).chat;
    const seen = [];
    const Presence = R('WAWebCollections').Presence;
    const fn = (chatstate) => {
        const p = Presence.getModelsArray().find((m) => m.chatstate === chatstate);
        if (p && p.hasData && String(p.id) === peer) seen.push(chatstate.type);
    };
    Presence.on('change:chatstate.type', fn);
    await chat.presence.subscribe();
    window.__standin.contactPresence(peer, peer, 'typing');
    while (seen.length < 1) await new Promise((r) => setTimeout(r, 10));
    window.__standin.contactPresence(peer, peer, 'available');
    while (seen.length < 2) await new Promise((r) => setTimeout(r, 10));
    Presence.off('change:chatstate.type', fn);
    return seen;
}"""


class TestSurfaceFile:
    """surface.json's own shape."""

    def test_every_entry_is_complete(self) -> None:
        surface = _surface()
        assert surface["header"]["sources"]["wwebjs"]["commit"].startswith("2dc9466fa")
        entries = surface["entries"]
        assert len(entries) > 40
        for entry in entries:
            for field in ("module", "member", "kind", "phase", "returns", "source"):
                assert isinstance(entry.get(field), str), (entry, field)
                assert entry[field].strip(), (entry, field)
            assert entry["kind"] in KINDS, entry
            assert entry["phase"] in PHASES, entry
            if entry["kind"] == "event":
                assert "#" in entry["member"], entry
                assert isinstance(entry.get("args"), list), entry
            if entry["kind"] == "async function":
                assert entry.get("evidence"), entry
            if entry.get("instance"):
                assert entry["member"].startswith(
                    (entry["instance"] + ".", entry["instance"] + "#")
                )
        keys = [_key(e) for e in entries]
        assert len(keys) == len(set(keys)), "duplicate entries"

    def test_the_list_the_bridge_uses_is_there(self) -> None:
        keys = {_key(e): e for e in _entries()}
        for key, kind in {
            "window:Debug.VERSION": "constant",
            "WAWebSocketModel:Socket#change:state": "event",
            "WAWebUserPrefsInfoStore:waNoiseInfo.get": "async function",
            "WAWebUserPrefsMultiDevice:getADVSecretKey": "function",
            "WAWebAltDeviceLinkingApi:startAltLinkingFlow": "async function",
            "WAWebCollections:Msg.getMessagesById": "async function",
            "WAWebMsgKey:newId": "async function",
            "WAWebMsgKey:.": "class",
            "WAWebSendMsgChatAction:addAndSendMsgToChat": "function",
            "WAWebQueryExistsJob:queryWidExists": "async function",
            "WAWebApiContact:getCurrentLid": "function",
            "WAWebApiContact:getPhoneNumber": "function",
            "WAWebCmd:Cmd#logout_from_bridge": "event",
            "WAWebCollections:Chat.getModelsArray": "function",
            "WAWebCollections:GroupMetadata|WAWebGroupMetadataCollection.update": "async function",
            "WAWebLidMigrationUtils:toPn": "function",
            "WAWebCollections:GroupChat.groupMetadata.participants": "collection",
            "WAWebCollections:Participant.isSuperAdmin": "attribute",
            "WAWebCollections:MsgModel.recipients": "attribute",
            "WAWebUpdateUnreadChatAction:sendSeen": "async function",
            "WAWebStreamModel:Stream.markAvailable": "function",
            "WAWebChatStateBridge:sendChatStateComposing": "async function",
            "WAWebChatStateBridge:sendChatStateRecording": "async function",
            "WAWebChatStateBridge:sendChatStatePaused": "async function",
            "WAWebPresenceChatAction:sendPresenceAvailable": "function",
            "WAWebPresenceChatAction:sendPresenceUnavailable": "function",
            "WAWebCollections:Presence#change:chatstate.type": "event",
            "WAWebCollections:PresenceModel.subscribe": "async function",
            "WALinkify:findLink": "function",
            "WAWebE2EProtoUtils:typeAttributeFromProtobuf": "function",
            "WAWebBackendJobsCommon:mediaTypeFromProtobuf": "function",
            "WAWebCollections:Contact.find": "async function",
            "WAWebCollections:ContactModel.formattedName": "attribute",
            "WAWebFrontendVcardUtils:vcardFromContactModel": "function",
            "WAWebVcardParsingUtils:parseVcard": "function",
            "WAWebVcardGetNameFromParsed:vcardGetNameFromParsed": "function",
            "WAWebCollections:MsgModel.lat": "attribute",
            "WAWebCollections:MsgModel.loc": "attribute",
            "WAWebCollections:MsgModel.vcardList": "attribute",
            "WAWebCollections:MsgModel.pollOptions": "attribute",
            "WAWebCollections:MsgModel.messageSecret": "attribute",
            "WAWebAddonPollVoteTableMode:pollVoteTableMode.bulkUpsert": "function",
            "WAWebAddonPollVoteTableMode:PollVoteRow.selectedOptionLocalIds": "attribute",
            "WAWebAddonPollVoteTableMode:PollVoteRow.pollUpdateParentKey": "attribute",
            "WAWebPollsVotesSchema:getTable": "function",
            "WAWebPollsVotesSchema:PollVotesTable.equals": "async function",
        }.items():
            assert keys[key]["kind"] == kind, key
        assert keys["WAWebCollections:Msg"]["phase"] == "ready"
        for key in ("WAWebApiContact:getCurrentLid", "WAWebApiContact:getPhoneNumber"):
            assert keys[key]["phase"] == "ready", key
            assert "Utils.js:1694-1722" in keys[key]["source"], key
        assert "mapping" in keys["WAWebQueryExistsJob:queryWidExists"]["returns"]
        assert keys["WAWebSyncGatingUtils:isPlaceholderMessageResendEnabled"]["phase"] == "optional"
        selection = keys["WAWebAddonPollVoteTableMode:PollVoteRow.selectedOptionLocalIds"]
        assert "withdrew" in selection["returns"]
        sequences = _surface()["sequences"]
        for name in ("send_location", "send_contact_cards", "send_poll", "poll_vote"):
            assert sequences[name]["steps"], name
        assert set(_surface()["sequences"]["states"]["values"]) >= {
            "OPENING",
            "UNPAIRED",
            "UNPAIRED_IDLE",
            "PAIRING",
            "CONNECTED",
            "TIMEOUT",
            "CONFLICT",
        }


class TestStandinMatchesSurface:
    """Every entry, checked in its phase; every event, emitted by the flow that should emit it."""

    async def test_boot_ready_events_and_logouts(self, standin_pages: OpenPage) -> None:
        events = Recorder()
        page = await standin_pages(FAST.replace("boot_ms=100", "boot_ms=600"), events.setup)

        # Before WA's loader has run: no version, no module.
        assert await page.evaluate("() => window.Debug?.VERSION") is None
        threw = await page.evaluate(
            "() => { try { window.require('WAWebSocketModel'); return null; }"
            " catch (e) { return e.message; } }"
        )
        assert threw == 'Requiring unknown module "WAWebSocketModel"'

        await _wait(page, "window.Debug && window.Debug.VERSION !== undefined")
        assert await _listen(page, _events("boot")) == []
        await _state(page, "UNPAIRED")
        assert await _check(page, "unpaired") == []

        # Unscanned refs run out: idle until Cmd.refreshQR().
        await _state(page, "UNPAIRED_IDLE")
        ref = await page.evaluate("() => window.require('WAWebConnModel').Conn.ref")
        await asyncio.sleep(0.4)
        assert await page.evaluate("() => window.require('WAWebConnModel').Conn.ref") == ref
        await page.evaluate("() => window.require('WAWebCmd').Cmd.refreshQR()")
        await _state(page, "UNPAIRED")
        assert await page.evaluate("() => window.__standin.refreshCount()") == 1

        assert await page.evaluate("() => window.__standin.scan()") is True
        await _synced(page)
        assert await page.evaluate("() => window.require('WAWebSocketModel').Socket.hasSynced")

        await page.evaluate(MAKE_SAMPLES, [PEER, GROUP])
        assert await _listen(page, _events("ready")) == []
        # A ciphertext message: the sample model, listened to before it decrypts.
        mid = await page.evaluate(
            "([p]) => window.__standin.receiveCiphertext(p, 'secret', 400)", ["15550002222@c.us"]
        )
        await _wait(page, f"window.require('WAWebCollections').Msg.find(m => m.id.id === '{mid}')")
        await page.evaluate(
            f"""() => {{ window.__samples.MsgModel = window.require('WAWebCollections')
                .Msg.find(m => m.id.id === '{mid}'); }}"""
        )
        assert await _listen(page, _events("ready", instance=True), "window.__samples") == []
        assert await _check(page, "ready", "window.__samples") == []

        sent = await page.evaluate(SEND, [PEER, "hello"])
        assert (sent["ackAdded"], sent["ackSent"], sent["result"]) == (0, 1, "OK")
        await _wait(
            page,
            f"window.require('WAWebCollections').Msg.get('{sent['serialized']}').ack === 2",
        )
        await _wait(
            page,
            f"window.require('WAWebCollections').Msg.find(m => m.id.id === '{mid}')"
            ".type === 'chat'",
        )

        # Edits (text and caption) and a revoke fire Msg change:body / change:caption / change:type.
        await page.evaluate(RECEIVE_EDIT_REVOKE, ["15550002222@c.us"])

        # A subscribed contact's presence fires Presence change:chatstate.type.
        assert await page.evaluate(PRESENCE, [PEER]) == ["typing", "available"]

        # Logged out from the phone: WA navigates to /?post_logout=1 and boots unpaired.
        await page.evaluate("() => window.__standin.phoneLogout()")
        await page.wait_for_url("**/?post_logout=1", timeout=10_000)
        await _state(page, "UNPAIRED")
        assert await page.evaluate("() => window.__standin.state().paired") is False

        # Logged out here (Socket.logout): Cmd 'logout', same navigation.
        assert await _listen(page, _events("boot")) == []
        assert await page.evaluate("() => window.__standin.scan()") is True
        await _synced(page)
        async with page.expect_navigation(url="**/?post_logout=1", timeout=10_000):
            await page.evaluate("() => window.require('WAWebSocketModel').Socket.logout()")
        await _state(page, "UNPAIRED")
        assert await page.evaluate("() => window.__standin.state().paired") is False

        assert events.problems(_entries()) == []
        assert await page.evaluate("() => window.__standin.errors()") == []


class TestCheckerCatchesDrift:
    """The same checks fail when the page no longer matches surface.json."""

    async def test_missing_sync_async_and_early_members(self, standin_pages: OpenPage) -> None:
        events = Recorder()
        page = await standin_pages(FAST.replace("refs=3", "refs=100"), events.setup)
        await _state(page, "UNPAIRED")

        # A ready module that resolves before login is reported.
        await page.evaluate(
            """() => { const real = window.require;
                window.require = (n) => n === 'WAWebCollections' ? {Msg: {}} : real(n);
                window.__realRequire = real; }"""
        )
        early = await _check(page, "unpaired")
        assert any("WAWebCollections" in p and "before login" in p for p in early), early
        await page.evaluate("() => { window.require = window.__realRequire; }")
        assert await _check(page, "unpaired") == []

        # An event the page stops emitting is reported.
        await page.evaluate(
            """() => { const Conn = window.require('WAWebConnModel').Conn;
                const trigger = Conn.trigger.bind(Conn);
                Conn.trigger = (name, ...args) =>
                    name === 'change:ref' ? Conn : trigger(name, ...args); }"""
        )
        assert await _listen(page, _events("boot")) == []
        await asyncio.sleep(0.5)
        missing = events.problems(
            [e for e in _entries() if _key(e) == "WAWebConnModel:Conn#change:ref"]
        )
        assert missing == ["WAWebConnModel:Conn#change:ref: never emitted"]

        assert await page.evaluate("() => window.__standin.scan()") is True
        await _synced(page)
        await page.evaluate(MAKE_SAMPLES, [PEER, GROUP])
        await page.evaluate("() => window.__standin.receive('15550002222@c.us', 'x')")
        await _wait(page, "window.require('WAWebCollections').Msg.length > 0")
        await page.evaluate(
            "() => { window.__samples.MsgModel ="
            " window.require('WAWebCollections').Msg.getModelsArray()[0]; }"
        )
        assert await _check(page, "ready", "window.__samples") == []

        # Removed, made sync, made async: each one is reported.
        await page.evaluate(
            """() => {
                delete window.require('WAWebMsgKey').newId;
                delete window.require('WAWebCollections').Msg.getMessagesById;
                window.require('WAWebFindChatAction').findOrCreateLatestChat =
                    function (wid) { return {chat: null}; };
                window.require('WAWebUserPrefsMultiDevice').getADVSecretKey =
                    async function () { return 'x'; };
                delete window.__samples.MsgKey.id;
            }"""
        )
        problems = await _check(page, "ready", "window.__samples")
        expected = [
            "WAWebMsgKey:newId: newId is missing",
            "WAWebCollections:Msg.getMessagesById: Msg.getMessagesById is missing",
            "WAWebFindChatAction:findOrCreateLatestChat: expected an async function,"
            " got a sync function",
            "WAWebUserPrefsMultiDevice:getADVSecretKey: expected a plain (sync) function,"
            " got an async function",
            "WAWebMsgKey:MsgKey.id: id is missing",
        ]
        for problem in expected:
            assert problem in problems, (problem, problems)
        assert len(problems) == len(expected), problems


class TestStandinBehaviour:
    """What the surface alone does not say: persistence, pairing codes, addressing, acks, $1."""

    async def test_behaviours(self, standin_pages: OpenPage) -> None:
        # Independent pages (own profiles) in one browser, run side by side.
        await asyncio.gather(
            self._reload_restores_the_session_and_loads_messages_lazily(standin_pages),
            self._pairing_code_and_lid_only_account(standin_pages),
            self._addressing_unknown_numbers_and_acks(standin_pages),
            self._dollar_one_keys(standin_pages),
            self._lid_mapping(standin_pages),
        )

    async def _reload_restores_the_session_and_loads_messages_lazily(
        self, standin_pages: OpenPage
    ) -> None:
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        sent = await page.evaluate(SEND, [PEER, "kept"])
        await _wait(
            page, f"window.require('WAWebCollections').Msg.get('{sent['serialized']}').ack === 2"
        )
        key = await page.evaluate(
            """async () => {
                const db = await new Promise((ok) => {
                    const r = indexedDB.open('wawc_db_enc', 1); r.onsuccess = () => ok(r.result); });
                const key = await new Promise((ok) => {
                    db.transaction('keys').objectStore('keys').get('wamesh').onsuccess =
                        (e) => ok(e.target.result); });
                return {type: key.type, extractable: key.extractable,
                        algorithm: key.algorithm.name};
            }"""
        )
        assert key == {"type": "secret", "extractable": False, "algorithm": "AES-GCM"}

        states: list[str] = []
        await page.expose_function("__state", lambda state: states.append(state))
        await page.add_init_script(
            "setInterval(() => { try { const s = window.require('WAWebSocketModel').Socket;"
            " if (!s.__seen) { s.__seen = 1; window.__state(s.state);"
            " s.on('change:state', (_m, v) => window.__state(v)); } } catch (e) {} }, 20)"
        )
        await page.reload()
        await _synced(page)
        assert "UNPAIRED" not in states
        assert states[-1] == "CONNECTED"
        loaded = await page.evaluate(
            """async ([s]) => {
                const Msg = window.require('WAWebCollections').Msg;
                const before = Msg.get(s);
                const {messages} = await Msg.getMessagesById([s, 'false_1@c.us_NOPE']);
                return {before: before === undefined, n: messages.length,
                        body: messages[0].body, ack: messages[0].ack,
                        isNew: messages[0].isNewMsg, again: Msg.get(s) === messages[0]};
            }""",
            [sent["serialized"]],
        )
        assert loaded == {
            "before": True,
            "n": 1,
            "body": "kept",
            "ack": 2,
            "isNew": False,
            "again": True,
        }

    async def _pairing_code_and_lid_only_account(self, standin_pages: OpenPage) -> None:
        # A long QR batch: under load a 3-ref batch can run out before UNPAIRED is seen.
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.meLidOnly(true)")
        code = await page.evaluate(
            """async () => {
                const api = window.require('WAWebAltDeviceLinkingApi');
                const adv = window.require('WAWebUserPrefsMultiDevice').getADVSecretKey();
                api.setPairingType('ALT_DEVICE_LINKING');
                await api.initializeAltDeviceLinking();
                const code = await api.startAltLinkingFlow('15550007777', true);
                return {code, advChanged:
                    adv !== window.require('WAWebUserPrefsMultiDevice').getADVSecretKey()};
            }"""
        )
        assert code["advChanged"] is True
        assert len(code["code"]) == 8
        assert await page.evaluate("() => window.__standin.pairingCodes()") == [code["code"]]
        assert await page.evaluate("() => window.__standin.enterPairingCode('AAAAAAAA')") is False
        assert (
            await page.evaluate("([c]) => window.__standin.enterPairingCode(c)", [code["code"]])
            is True
        )
        await _synced(page)
        me = await page.evaluate(
            """() => { const u = window.require('WAWebUserPrefsMeUser');
                return [u.getMaybeMePnUser(), String(u.getMaybeMeLidUser())]; }"""
        )
        assert me[0] is None
        assert me[1].endswith("@lid")

    async def _addressing_unknown_numbers_and_acks(self, standin_pages: OpenPage) -> None:
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        await page.evaluate("() => window.__standin.notOnWhatsApp('+15550003333')")
        exists = await page.evaluate(
            """async () => {
                const W = window.require('WAWebWidFactory');
                const q = window.require('WAWebQueryExistsJob').queryWidExists;
                const known = await q(W.createWid('15550001111@c.us'));
                return [String(known.wid), await q(W.createWid('15550003333@c.us'))];
            }"""
        )
        assert exists == ["15550001111@c.us", None]
        bad = await page.evaluate(
            "() => { try { window.require('WAWebWidFactory').createWid('+1555@c.us'); }"
            " catch (e) { return e.message; } }"
        )
        assert bad == "wid error: invalid wid"

        # A LID-addressing group must be sent as the own LID with it as participant.
        await page.evaluate("([g]) => window.__standin.lidAddressedGroup(g, true)", [GROUP])
        await page.evaluate("([g]) => window.__standin.setEphemeral(g, 86400)", [GROUP])
        await page.evaluate(
            """async ([g]) => {
                const W = window.require('WAWebWidFactory');
                const chat = (await window.require('WAWebFindChatAction')
                    .findOrCreateLatestChat(W.createWid(g))).chat;
                const MsgKey = window.require('WAWebMsgKey');
                const me = window.require('WAWebUserPrefsMeUser');
                const from = chat.groupMetadata.isLidAddressingMode
                    ? me.getMaybeMeLidUser() : me.getMaybeMePnUser();
                const send = async (from) => {
                    const key = new MsgKey({from, to: chat.id, id: await MsgKey.newId(),
                        participant: W.asUserWidOrThrow(from), selfDir: 'out'});
                    const eph = window.require('WAWebGetEphemeralFieldsMsgActionsUtils')
                        .getEphemeralFields(chat);
                    const [added, sent] = window.require('WAWebSendMsgChatAction')
                        .addAndSendMsgToChat(chat, {id: key, ack: 0, body: 'hi', from,
                            to: chat.id, type: 'chat', t: 1, isNewMsg: true, ...eph});
                    await added; return sent;
                };
                await send(from);
                await send(me.getMaybeMePnUser());  // wrong for this group
            }""",
            [GROUP],
        )
        await _wait(page, "window.__standin.sent().every(s => s.ack === 2 || s.ack === -1)")
        good, wrong = await page.evaluate("() => window.__standin.sent()")
        assert good["from"].endswith("@lid")
        assert good["participant"] == good["from"]
        assert (good["ephemeralDuration"], good["ack"], good["error"]) == (86400, 2, None)
        assert wrong["ack"] == -1
        assert "should be" in wrong["error"]

        mid = await page.evaluate("() => window.__standin.receive('15550002222@c.us', 'in')")
        assert await page.evaluate("([i]) => window.__standin.setAck(i, 3)", [mid]) is True
        await _wait(
            page,
            f"window.require('WAWebCollections').Msg.find(m => m.id.id === '{mid}')?.ack === 3",
        )
        assert await page.evaluate("() => window.__standin.errors()") == []

    async def _lid_mapping(self, standin_pages: OpenPage) -> None:
        """WAWebApiContact knows a number's LID only once the line has met or queried it."""
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        ctl = "window.__standin"
        lid = await page.evaluate(f"() => {ctl}.lidOf('+15550004444')")
        assert lid.endswith("@lid")
        assert lid != "15550004444@lid"
        assert await page.evaluate(f"() => {ctl}.lidOf('15550004444@c.us')") == lid
        await page.evaluate(f"() => {ctl}.notOnWhatsApp('+15550005555')")
        assert await page.evaluate(f"() => {ctl}.lidOf('15550005555')") is None
        hidden = "99887766554433@lid"
        assert await page.evaluate(f"([l]) => {ctl}.lidOnlyContact(l)", [hidden]) is True
        # whatsapp-web.js's enforceLidAndPnRetrieval (Utils.js:1694-1722), as written there.
        enforce = """async (userId) => {
            const wid = window.require('WAWebWidFactory').createWid(userId);
            const isLid = wid.server === 'lid';
            const C = window.require('WAWebApiContact');
            let lid = isLid ? wid : C.getCurrentLid(wid);
            let phone = isLid ? C.getPhoneNumber(wid) : wid;
            if (!isLid && !lid) {
                const q = await window.require('WAWebQueryExistsJob').queryWidExists(wid);
                if (!q?.wid) return {};
                lid = C.getCurrentLid(wid);
            }
            if (isLid && !phone) {
                const q = await window.require('WAWebQueryExistsJob').queryWidExists(wid);
                if (!q?.wid) return {};
                phone = C.getPhoneNumber(wid);
            }
            return {lid: lid?._serialized ?? null, pn: phone?._serialized ?? null};
        }"""
        peek = """([pn, lid]) => {
            const W = window.require('WAWebWidFactory'), C = window.require('WAWebApiContact');
            const a = C.getCurrentLid(W.createWid(pn)), b = C.getPhoneNumber(W.createWid(lid));
            return [a ? a.toString() : a, b ? b.toString() : b];
        }"""
        pn = "15550004444@c.us"
        # Unknown until queried; the query makes it known both ways.
        assert await page.evaluate(peek, [pn, lid]) == [None, None]
        assert await page.evaluate(enforce, pn) == {"lid": lid, "pn": pn}
        assert await page.evaluate(peek, [pn, lid]) == [lid, pn]
        await page.evaluate(f"([p]) => {ctl}.knownLid(p, false)", [pn])
        assert await page.evaluate(peek, [pn, lid]) == [None, None]
        assert await page.evaluate(enforce, lid) == {"lid": lid, "pn": pn}
        assert await page.evaluate(peek, [pn, lid]) == [lid, pn]
        # Forgotten, then learnt from a received message; or from a chat opened with the number.
        await page.evaluate(f"([p]) => {ctl}.knownLid(p, false)", [pn])
        assert await page.evaluate(peek, [pn, lid]) == [None, None]
        await page.evaluate(f"([p]) => {ctl}.receive(p, 'hi')", [pn])
        await _wait(page, f"window.require('WAWebCollections').Chat.get('{pn}') !== undefined")
        assert await page.evaluate(peek, [pn, lid]) == [lid, pn]
        other = "15550006666@c.us"
        other_lid = await page.evaluate(f"([p]) => {ctl}.lidOf(p)", [other])
        assert other_lid not in (lid, None)
        assert await page.evaluate(peek, [other, other_lid]) == [None, None]
        await page.evaluate(
            """async ([p]) => { const W = window.require('WAWebWidFactory');
                await window.require('WAWebFindChatAction').findOrCreateLatestChat(W.createWid(p)); }""",
            [other],
        )
        assert await page.evaluate(peek, [other, other_lid]) == [other_lid, other]
        await page.evaluate(f"([p]) => {ctl}.knownLid(p, false)", [other])
        assert await page.evaluate(f"([p]) => {ctl}.knownLid(p, true)", [other]) is True
        assert await page.evaluate(peek, [other, other_lid]) == [other_lid, other]
        # Not on WhatsApp: no LID, the query finds nothing. LID-only: no phone number.
        assert await page.evaluate(enforce, "15550005555@c.us") == {}
        assert await page.evaluate(f"() => {ctl}.knownLid('15550005555', true)") is False
        assert await page.evaluate(enforce, hidden) == {"lid": hidden, "pn": None}
        found = await page.evaluate(
            """async ([l]) => { const W = window.require('WAWebWidFactory');
                const r = await window.require('WAWebQueryExistsJob').queryWidExists(W.createWid(l));
                return [String(r.wid), window.require('WAWebApiContact').getPhoneNumber(r.wid)]; }""",
            [hidden],
        )
        assert found == [hidden, None]
        # The own number maps to the own LID.
        me = await page.evaluate(
            """() => { const u = window.require('WAWebUserPrefsMeUser');
                const C = window.require('WAWebApiContact');
                return [String(C.getCurrentLid(u.getMaybeMePnUser())), String(u.getMaybeMeLidUser()),
                        String(C.getPhoneNumber(u.getMaybeMeLidUser())), String(u.getMaybeMePnUser())]; }"""
        )
        assert me[0] == me[1]
        assert me[2] == me[3]
        assert await page.evaluate("() => window.__standin.errors()") == []

    async def _dollar_one_keys(self, standin_pages: OpenPage) -> None:
        """?serial=$1: MsgKey exposes $1 (WA Web >= 2.3000.1042401057); toString() always works."""
        events = Recorder()
        page = await standin_pages(FAST.replace("refs=3", "refs=100") + "&serial=$1", events.setup)
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        await page.evaluate(MAKE_SAMPLES, [PEER, GROUP])
        key = await page.evaluate(
            """() => { const k = window.__samples.MsgKey, w = window.__samples.Wid;
                return {has: '_serialized' in k, dollar: k.$1, str: k.toString(),
                        wid: w._serialized, widStr: w.toString()}; }"""
        )
        assert key["has"] is False
        assert key["dollar"] == key["str"]
        assert key["str"].startswith("true_15550001111@c.us_3EB0")
        assert key["wid"] == key["widStr"] == PEER
        sent = await page.evaluate(SEND, [PEER, "hi"])
        found = await page.evaluate(
            "([s]) => window.require('WAWebCollections').Msg.get(s).id.toString()",
            [sent["serialized"]],
        )
        assert found == sent["serialized"]


# whatsapp-web.js's flows (Utils.js sendMessage/processMediaData/processStickerData/editMessage/
# forwardMessage, Message.js downloadMedia/delete, Client.js sendReaction), run on the surface.
RICH = """async ([peer, b64, sha]) => {
    const R = (n) => window.require(n);
    const W = R('WAWebWidFactory'), Msg = R('WAWebCollections').Msg;
    const until = async (fn) => { while (!fn()) await new Promise((r) => setTimeout(r, 10)); };
    const chat = (await R('WAWebFindChatAction').findOrCreateLatestChat(W.createWid(peer))).chat;
    const send = async (extra, body) => {
        const MsgKey = R('WAWebMsgKey');
        const from = R('WAWebUserPrefsMeUser').getMaybeMePnUser();
        const key = new MsgKey({from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});
        const [added, sent] = R('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
            id: key, ack: 0, body, from, to: chat.id, local: true, self: 'out', t: 1,
            isNewMsg: true, type: 'chat', ...R('WAWebGetEphemeralFieldsMsgActionsUtils')
                .getEphemeralFields(chat), ...extra});
        await added; await sent;
        return Msg.get(key.toString());
    };
    const file = (b64, name, type) => new File(
        [Uint8Array.from(atob(b64), (c) => c.charCodeAt(0))], name, {type});
    const media = async (name, mimetype, params) => {
        const OpaqueData = R('WAWebMediaOpaqueData');
        const opaque = await OpaqueData.createFromData(file(b64, name, mimetype), mimetype);
        const mediaData = await R('WAWebPrepRawMedia').prepRawMedia(opaque, params).waitForPrep();
        const mediaObject = R('WAWebMediaStorage').getOrCreateMediaObject(mediaData.filehash);
        const mediaType = R('WAWebMmsMediaTypes').msgToMediaType(
            {type: mediaData.type, isGif: mediaData.isGif, isNewsletter: false});
        if (!(mediaData.mediaBlob instanceof OpaqueData)) throw new Error('not OpaqueData');
        mediaData.renderableUrl = mediaData.mediaBlob.url();
        mediaObject.consolidate(mediaData.toJSON());
        mediaData.mediaBlob.autorelease();
        const {mediaEntry} = await R('WAWebMediaMmsV4Upload').uploadMedia(
            {mimetype: mediaData.mimetype, mediaObject, mediaType});
        mediaData.set({directPath: mediaEntry.directPath, mediaKey: mediaEntry.mediaKey,
            mediaKeyTimestamp: mediaEntry.mediaKeyTimestamp, filehash: mediaObject.filehash,
            encFilehash: mediaEntry.encFilehash, size: mediaObject.size});
        return mediaData;
    };
    const out = {};

    // An image with a caption, a document, a voice note.
    const img = await media('p.png', 'image/png', {});
    img.caption = 'look';
    out.image = await send({...img, ...img.toJSON()}, img.preview);
    const doc = await media('report.pdf', 'application/pdf', {asDocument: true});
    await send({...doc, ...doc.toJSON()}, doc.preview);
    const ptt = await media('v.ogg', 'audio/ogg', {isPtt: true});
    await send({...ptt, ...ptt.toJSON()}, ptt.preview);

    // A sticker (processStickerData).
    const sticker = file(b64, 's.webp', 'image/webp');
    const info = await R('WAWebUploadManager').encryptAndUpload({blob: sticker, type: 'sticker',
        signal: new AbortController().signal, mediaKey: 'k'.repeat(32),
        uploadQpl: R('WAWebStartMediaUploadQpl').startMediaUploadQpl({entryPoint: 'MediaUpload'})});
    const digest = new Uint8Array(await crypto.subtle.digest('SHA-256', await sticker.arrayBuffer()));
    await send({...info, clientUrl: info.url, deprecatedMms3Url: info.url,
        uploadhash: info.encFilehash, size: sticker.size, type: 'sticker',
        filehash: btoa(String.fromCharCode(...digest))}, undefined);

    // A reply with a mention, to a received message.
    const inId = window.__standin.receive(peer, 'question');
    await until(() => Msg.find((m) => m.id.id === inId));
    const quoted = Msg.find((m) => m.id.id === inId);
    const canReply = R('WAWebMsgReply').canReplyMsg(quoted.unsafe());
    await send({...(canReply ? quoted.msgContextInfo(chat) : {}),
        mentionedJidList: [W.createWid('15550004444@c.us')]}, 'answer');

    // Received media: downloaded through the download manager, the same bytes.
    const rid = window.__standin.receiveMedia(peer, 'document', b64, 'application/pdf', 'in.pdf', 'c');
    await until(() => Msg.find((m) => m.id.id === rid));
    const rm = Msg.find((m) => m.id.id === rid);
    out.stageBefore = rm.mediaData.mediaStage;
    if (rm.mediaData.mediaStage !== 'RESOLVED') await rm.downloadMedia(
        {downloadEvenIfExpensive: true, rmrReason: 1});
    out.stageAfter = rm.mediaData.mediaStage;
    const buf = await R('WAWebDownloadManager').downloadManager.downloadAndMaybeDecrypt({
        directPath: rm.directPath, encFilehash: rm.encFilehash, filehash: rm.filehash,
        mediaKey: rm.mediaKey, mediaKeyTimestamp: rm.mediaKeyTimestamp, type: rm.type,
        signal: new AbortController().signal, downloadQpl: {}});
    out.downloaded = btoa(String.fromCharCode(...new Uint8Array(buf)));
    out.received = {type: rm.type, mimetype: rm.mimetype, filename: rm.filename,
        caption: rm.caption, size: rm.size};
    try {
        await R('WAWebDownloadManager').downloadManager.downloadAndMaybeDecrypt(
            {directPath: '/nope', mediaKey: 'x', encFilehash: 'y', filehash: 'z'});
    } catch (e) { out.missingStatus = e.status; }

    // React, edit, revoke and forward own messages; events as whatsapp-web.js listens to them.
    const events = [];
    Msg.on('change:body change:caption', (m, now, prev) => events.push(['edit', m.id.id, now, prev]));
    Msg.on('change:type', (m, type) => events.push(['type', m.id.id, type]));
    const rows = [];
    const table = R('WAWebAddonReactionTableMode').reactionTableMode;
    const original = table.bulkUpsert;
    table.bulkUpsert = function (...args) { rows.push(...args[0]); return original.apply(this, args); };
    await R('WAWebSendReactionMsgAction').sendReactionToMsg(quoted, 'ok');
    window.__standin.receiveReaction(peer, out.image.id.id, 'wow');
    await until(() => rows.length === 2);
    out.rows = rows.map((r) => ({id: r.id.toString(), parent: r.reactionParentKey.toString(),
        text: r.reactionText, ms: r.reactionTimestamp > 1e12,
        sender: (r.author ?? r.from)._serialized}));
    const mine = await send({}, 'typo');
    const Cap = R('WAWebMsgActionCapability');
    out.canEdit = [Cap.canEditText(mine), Cap.canEditText(quoted), Cap.canEditCaption(out.image)];
    await R('WAWebSendMessageEditAction').sendMessageEdit(mine, 'fixed', {mentionedJidList: []});
    await R('WAWebSendMessageEditAction').sendMessageEdit(out.image, 'look again', {});
    out.edited = [Msg.get(mine.id.toString()).body, out.image.caption];
    out.canRevoke = [Cap.canSenderRevokeMsg(mine), Cap.canSenderRevokeMsg(quoted)];
    R('WAWebCmd').Cmd.sendRevokeMsgs(chat, {list: [mine], type: 'message'}, {clearMedia: true});
    await until(() => mine.type === 'revoked');
    out.revoked = {type: mine.type, subtype: mine.subtype, body: mine.body ?? null,
        key: mine.protocolMessageKey.toString() === mine.id.toString()};
    const other = (await R('WAWebFindChatAction').findOrCreateLatestChat(
        W.createWid('15550005555@c.us'))).chat;
    const fwd = await R('WAWebChatForwardMessage').forwardMessages({chat: other,
        msgs: [out.image], multicast: true, includeCaption: true, appendedText: undefined});
    out.fwd = fwd.length;
    out.events = events;
    out.imageId = out.image.id.id; out.mineId = mine.id.id; out.quotedId = inId;
    out.image = null;
    return out;
}"""


class TestRichMessages:
    """Media, replies, mentions, reactions, edits, revokes and forwards through the surface."""

    async def test_rich_flows(self, standin_pages: OpenPage) -> None:
        data = bytes(range(256)) * 3
        b64 = base64.b64encode(data).decode()
        sha = hashlib.sha256(data).hexdigest()
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        out = await page.evaluate(RICH, [PEER, b64, sha])
        sent = await page.evaluate("() => window.__standin.sent()")
        assert [s["error"] for s in sent] == [None] * len(sent), sent

        image, doc, ptt, sticker, reply, _mine, forwarded = sent
        assert (image["type"], image["mimetype"], image["caption"], image["size"]) == (
            "image",
            "image/png",
            "look",
            len(data),
        )
        assert image["sha256"] == sha
        assert image["body"]  # the preview
        assert (doc["type"], doc["filename"], doc["sha256"]) == ("document", "report.pdf", sha)
        assert ptt["type"] == "ptt"
        assert (sticker["type"], sticker["sha256"]) == ("sticker", sha)
        assert reply["quotedId"] == out["quotedId"]
        assert reply["hasQuotedMsg"]
        assert reply["quotedParticipant"] == PEER
        assert reply["mentions"] == ["15550004444@c.us"]
        assert forwarded["isForwarded"]
        assert (forwarded["to"], forwarded["sha256"], forwarded["caption"]) == (
            "15550005555@c.us",
            sha,
            "look again",
        )
        uploads = await page.evaluate("() => window.__standin.uploads()")
        assert {u["sha256"] for u in uploads} == {sha}

        assert (out["stageBefore"], out["stageAfter"]) == ("INIT", "RESOLVED")
        assert out["downloaded"] == b64
        assert out["received"] == {
            "type": "document",
            "mimetype": "application/pdf",
            "filename": "in.pdf",
            "caption": "c",
            "size": len(data),
        }
        assert out["missingStatus"] == 404

        own_row, peer_row = out["rows"]
        assert own_row["text"] == "ok"
        assert own_row["parent"].endswith(out["quotedId"])
        assert own_row["sender"] == "15550009999@c.us"
        assert (peer_row["text"], peer_row["sender"]) == ("wow", PEER)
        assert peer_row["parent"].endswith(out["imageId"])
        assert peer_row["ms"]
        reactions = await page.evaluate("() => window.__standin.reactions()")
        assert [(r["msgId"], r["emoji"]) for r in reactions] == [(out["quotedId"], "ok")]

        assert out["canEdit"] == [True, False, True]
        assert out["edited"] == ["fixed", "look again"]
        assert ["edit", out["mineId"], "fixed", "typo"] in out["events"]
        assert ["edit", out["imageId"], "look again", "look"] in out["events"]
        edits = await page.evaluate("() => window.__standin.edits()")
        assert [(e["msgId"], e["previous"]) for e in edits] == [
            (out["mineId"], "typo"),
            (out["imageId"], "look"),
        ]
        assert out["canRevoke"] == [True, False]
        assert out["revoked"] == {
            "type": "revoked",
            "subtype": "sender_revoke",
            "body": None,
            "key": True,
        }
        assert ["type", out["mineId"], "revoked"] in out["events"]
        revokes = await page.evaluate("() => window.__standin.revokes()")
        assert [r["msgId"] for r in revokes] == [out["mineId"]]
        forwards = await page.evaluate("() => window.__standin.forwards()")
        assert [(f["sourceId"], f["target"]) for f in forwards] == [
            (out["imageId"], "15550005555@c.us")
        ]
        assert out["fwd"] == 1

        # The server refuses media it never got and mentions that are not Wids.
        bad = await page.evaluate(
            """async ([peer]) => {
                const R = (n) => window.require(n);
                const chat = (await R('WAWebFindChatAction').findOrCreateLatestChat(
                    R('WAWebWidFactory').createWid(peer))).chat;
                const MsgKey = R('WAWebMsgKey');
                const from = R('WAWebUserPrefsMeUser').getMaybeMePnUser();
                const go = async (extra) => {
                    const key = new MsgKey({from, to: chat.id, id: await MsgKey.newId(),
                        selfDir: 'out'});
                    const [added, sent] = R('WAWebSendMsgChatAction').addAndSendMsgToChat(chat,
                        {id: key, ack: 0, body: 'x', from, to: chat.id, t: 1, isNewMsg: true,
                         type: 'chat', ...extra});
                    await added; return (await sent).messageSendResult;
                };
                return [await go({type: 'image', directPath: '/nope', mediaKey: 'a'}),
                        await go({mentionedJidList: ['15550004444@c.us']})];
            }""",
            [PEER],
        )
        assert bad == ["ERROR_UNKNOWN", "ERROR_UNKNOWN"]
        assert await page.evaluate("() => window.__standin.errors()") == []


# whatsapp-web.js's getChats / getChatModel (Utils.js:920-1007) and its gp2 listener (Client.js:591-640).
GROUPS = """async ([members]) => {
    const R = (n) => window.require(n);
    const C = R('WAWebCollections'), Msg = C.Msg;
    const until = async (fn) => { while (!fn()) await new Promise((r) => setTimeout(r, 10)); };
    const gid = window.__standin.createGroup('Team', members);
    await until(() => C.Chat.get(gid));
    const read = async (chat) => {
        const model = chat.serialize();
        if (chat.groupMetadata) {
            await (C.GroupMetadata || C.WAWebGroupMetadataCollection).update(
                R('WAWebWidFactory').createWid(chat.id._serialized));
            const meta = chat.groupMetadata.serialize();
            for (const p of meta.participants || []) {
                p.id = R('WAWebLidMigrationUtils').toPn(p.id) ?? p.id;
            }
            model.groupMetadata = meta;
        }
        return model;
    };
    const chats = await Promise.all(C.Chat.getModelsArray().map(read));
    const group = chats.find((c) => String(c.id) === gid);
    const out = {gid, groups: chats.filter((c) => c.groupMetadata).map((c) => String(c.id)),
        subject: group.groupMetadata.subject, owner: String(group.groupMetadata.owner),
        participants: group.groupMetadata.participants.map((p) => [String(p.id), p.isAdmin,
            p.isSuperAdmin])};
    const notes = [];
    Msg.on('add', (m) => { if (m.isNewMsg && m.type === 'gp2') notes.push({subtype: m.subtype,
        chat: String(m.id.remote), author: String(m.author), recipients: m.recipients.map(String)}); });
    const parts = C.Chat.get(gid).groupMetadata.participants;
    const flags = [];
    parts.on('change:isAdmin', (p, v) => flags.push([String(p.id), v]));
    window.__standin.groupNotification(gid, 'add', ['15550006666@c.us'], members[0].jid);
    await until(() => notes.length === 1);
    window.__standin.groupNotification(gid, 'promote', ['15550006666@c.us'], members[0].jid);
    window.__standin.groupNotification(gid, 'leave', ['15550005555@c.us']);
    await until(() => notes.length === 3);
    out.notes = notes;
    out.flags = flags;
    out.after = parts.getModelsArray().map((p) => [String(p.id), p.isAdmin]);
    return out;
}"""

READ_AND_STATES = """async ([peer]) => {
    const R = (n) => window.require(n);
    const W = R('WAWebWidFactory');
    const chat = (await R('WAWebFindChatAction').findOrCreateLatestChat(W.createWid(peer))).chat;
    const Stream = R('WAWebStreamModel').Stream;
    Stream.markAvailable();
    await R('WAWebUpdateUnreadChatAction').sendSeen({chat, threadId: undefined});
    Stream.markUnavailable();
    const B = R('WAWebChatStateBridge');
    await B.sendChatStateComposing(W.createWid(peer));
    await B.sendChatStateRecording(W.createWid(peer));
    await B.sendChatStatePaused(W.createWid(peer));
    R('WAWebPresenceChatAction').sendPresenceAvailable();
    R('WAWebPresenceChatAction').sendPresenceUnavailable();
    let refused = null;
    try { await R('WAWebUpdateUnreadChatAction').sendSeen({chat: {id: chat.id}}); }
    catch (e) { refused = e.message; }
    return {refused, unread: chat.unreadCount};
}"""


class TestGroupsReadPresence:
    """Groups and gp2 notifications, read receipts, chat states and presence through the surface."""

    async def test_groups_read_and_presence(self, standin_pages: OpenPage) -> None:
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        members = [
            {"jid": "15550004444@c.us", "isAdmin": True, "isSuperAdmin": True},
            {"jid": "15550005555@c.us", "isAdmin": False, "isSuperAdmin": False},
        ]
        out = await page.evaluate(GROUPS, [members])
        gid = out["gid"]
        assert gid.endswith("@g.us")
        assert out["groups"] == [gid]
        assert (out["subject"], out["owner"]) == ("Team", "15550004444@c.us")
        assert sorted(out["participants"]) == [
            ["15550004444@c.us", True, True],
            ["15550005555@c.us", False, False],
            ["15550009999@c.us", False, False],
        ]
        assert out["notes"] == [
            {
                "subtype": "add",
                "chat": gid,
                "author": "15550004444@c.us",
                "recipients": ["15550006666@c.us"],
            },
            {
                "subtype": "promote",
                "chat": gid,
                "author": "15550004444@c.us",
                "recipients": ["15550006666@c.us"],
            },
            {
                "subtype": "leave",
                "chat": gid,
                "author": "15550005555@c.us",
                "recipients": ["15550005555@c.us"],
            },
        ]
        assert ["15550006666@c.us", True] in out["flags"]
        assert sorted(out["after"]) == [
            ["15550004444@c.us", True],
            ["15550006666@c.us", True],
            ["15550009999@c.us", False],
        ]
        with pytest.raises(Exception, match="subtype must be one of"):
            await page.evaluate(
                "([g]) => window.__standin.groupNotification(g, 'x', ['1@c.us'])", [gid]
            )

        # LID-addressed: members are LIDs; toPn maps them back.
        lid = await page.evaluate("() => window.__standin.lidOf('15550004444')")
        await page.evaluate("([g]) => window.__standin.lidAddressedGroup(g, true)", [gid])
        ids = await page.evaluate(
            """async ([g]) => { const C = window.require('WAWebCollections');
                await C.GroupMetadata.update(window.require('WAWebWidFactory').createWid(g));
                const toPn = window.require('WAWebLidMigrationUtils').toPn;
                return C.Chat.get(g).groupMetadata.participants.getModelsArray()
                    .map((p) => [String(p.id), String(toPn(p.id))]); }""",
            [gid],
        )
        assert [lid, "15550004444@c.us"] in ids

        # Read receipts, chat states, own presence.
        await page.evaluate("([p]) => window.__standin.receive(p, 'seen?')", [PEER])
        done = await page.evaluate(READ_AND_STATES, [PEER])
        assert done["unread"] == 0
        assert "chat model" in done["refused"]
        assert await page.evaluate("() => window.__standin.seen()") == [PEER]
        states = await page.evaluate("() => window.__standin.chatStates()")
        assert states == [
            {"chat": PEER, "state": "typing"},
            {"chat": PEER, "state": "recording"},
            {"chat": PEER, "state": "paused"},
        ]
        assert await page.evaluate("() => window.__standin.presences()") == [
            "available",
            "unavailable",
        ]

        # Others' presence: nothing before subscribing; then chatstate changes fire.
        assert (
            await page.evaluate("([p]) => window.__standin.contactPresence(p, p, 'typing')", [PEER])
            is False
        )
        assert await page.evaluate(PRESENCE, [PEER]) == ["typing", "available"]
        group_states = await page.evaluate(
            """async ([g]) => { const C = window.require('WAWebCollections');
                const chat = C.Chat.get(g); await chat.presence.subscribe();
                const got = new Promise((ok) => C.Presence.once('change:chatstate.type',
                    (cs, type) => ok([type, chat.presence.chatstates.getModelsArray()
                        .map((m) => [String(m.id), m.type])])));
                window.__standin.contactPresence(g, '15550004444@c.us', 'recording');
                return await got; }""",
            [gid],
        )
        assert group_states == ["recording_audio", [["15550004444@c.us", "recording_audio"]]]
        assert await page.evaluate("() => window.__standin.errors()") == []


# whatsapp-web.js's sendMessage for a Location, Contact / Contact[] / vCard text and Poll
# (Utils.js:95-111, 220-339, 460-484), run on the surface.
SEND_STRUCTURED = """async ([peer]) => {
    const R = (n) => window.require(n);
    const W = R('WAWebWidFactory'), C = R('WAWebCollections');
    const chat = (await R('WAWebFindChatAction').findOrCreateLatestChat(W.createWid(peer))).chat;
    const send = async (extra) => {
        const MsgKey = R('WAWebMsgKey');
        const from = R('WAWebUserPrefsMeUser').getMaybeMePnUser();
        const key = new MsgKey({from, to: chat.id, id: await MsgKey.newId(), selfDir: 'out'});
        const [added, sent] = R('WAWebSendMsgChatAction').addAndSendMsgToChat(chat, {
            id: key, ack: 0, body: '', from, to: chat.id, local: true, self: 'out', t: 1,
            isNewMsg: true, type: 'chat', ...R('WAWebGetEphemeralFieldsMsgActionsUtils')
                .getEphemeralFields(chat), ...extra});
        await added;
        return {result: (await sent).messageSendResult, id: key.id};
    };
    const location = (lat, lng, description, url) => {
        url = R('WALinkify').findLink(url)?.href;
        if (url && !description) description = url;
        return {type: 'location', loc: description, lat, lng, clientUrl: url};
    };
    const out = {};
    out.unwrapped = await send(location(37.422, -122.084, 'Googleplex\\nMountain View', undefined));
    const wrap = (name, fn, value) => {
        const mod = R(name), original = mod[fn];
        mod[fn] = (...args) => (args[0].locationMessage ? value : original.apply(mod, args));
    };
    wrap('WAWebBackendJobsCommon', 'mediaTypeFromProtobuf', null);
    wrap('WAWebE2EProtoUtils', 'typeAttributeFromProtobuf', 'text');
    out.location = await send(location(48.8584, 2.2945, '', 'see www.example.org/eiffel'));

    window.__standin.nameContact('15550004444@c.us', 'Alice Example');
    const alice = await C.Contact.find('15550004444@c.us');
    const bob = await C.Contact.find('15550005555@c.us');
    const V = R('WAWebFrontendVcardUtils');
    out.vcard = await send({body: V.vcardFromContactModel(alice).vcard, type: 'vcard',
        vcardFormattedName: alice.formattedName});
    const text = 'BEGIN:VCARD\\nVERSION:3.0\\nN;CHARSET=UTF-8:Doe;John;;;\\n' +
        'TEL;TYPE=HOME,VOICE:1234567890\\nEND:VCARD';
    const parsed = R('WAWebVcardParsingUtils').parseVcard(text);
    out.parsedName = R('WAWebVcardGetNameFromParsed').vcardGetNameFromParsed(parsed);
    out.vcardText = await send({body: text, type: 'vcard', vcardFormattedName: out.parsedName});
    out.multi = await send({type: 'multi_vcard', body: null,
        vcardList: [alice, bob].map((c) => V.vcardFromContactModel(c))});
    try { R('WAWebVcardParsingUtils').parseVcard('hello'); } catch (e) { out.notACard = e.message; }

    const poll = {kind: 'pollCreation', type: 'poll_creation', pollName: 'Lunch?',
        pollOptions: ['pizza', 'sushi', 'salad'].map((name, localId) => ({name, localId})),
        pollSelectableOptionsCount: 0, messageSecret: crypto.getRandomValues(new Uint8Array(32))};
    out.poll = await send(poll);
    out.noSecret = await send({...poll, messageSecret: undefined});
    return out;
}"""

# Received locations, cards and polls (Msg 'add'), read as whatsapp-web.js's Message does.
RECEIVE_STRUCTURED = """async ([peer, group, member, cards]) => {
    const Msg = window.require('WAWebCollections').Msg;
    const S = window.__standin;
    const got = [];
    const onAdd = (m) => { if (m.isNewMsg && !m.id.fromMe) got.push(m); };
    Msg.on('add', onAdd);
    const ids = {
        location: S.receiveLocation(peer, 52.5163, 13.3777, {name: 'Brandenburg Gate',
            address: 'Pariser Platz, Berlin', url: 'https://example.org/gate'}),
        vcard: S.receiveVcard(peer, cards[0]),
        multi: S.receiveMultiVcard(peer, cards),
        poll: S.receivePoll(peer, 'Which day?', ['Mon', 'Tue', 'Wed'], {multiple: true}),
        groupPoll: S.receivePoll(group, 'Tea or coffee?', ['tea', 'coffee'], {author: member}),
    };
    while (got.length < 5) await new Promise((r) => setTimeout(r, 10));
    Msg.off('add', onAdd);
    const m = (id) => got.find((x) => x.id.id === id);
    const l = m(ids.location), v = m(ids.vcard), mv = m(ids.multi);
    const p = m(ids.poll), g = m(ids.groupPoll);
    const poll = (x) => ({type: x.type, name: x.pollName, options: x.pollOptions,
        count: x.pollSelectableOptionsCount, secret: x.messageSecret instanceof Uint8Array
            && x.messageSecret.length, author: x.author ? String(x.author) : null});
    return {ids, location: {type: l.type, lat: l.lat, lng: l.lng, loc: l.loc, url: l.clientUrl},
        vcard: {type: v.type, body: v.body, name: v.vcardFormattedName},
        multi: {type: mv.type, list: mv.vcardList},
        poll: poll(p), groupPoll: poll(g), pollKey: p.id.toString(), groupPollKey: g.id.toString()};
}"""

# whatsapp-web.js's vote_update hook (Client.js:1197-1237): an async wrapper on bulkUpsert.
CATCH_VOTES = """() => {
    const Msg = window.require('WAWebCollections').Msg;
    const mode = window.require('WAWebAddonPollVoteTableMode').pollVoteTableMode;
    const original = mode.bulkUpsert;
    window.__votes = [];
    mode.bulkUpsert = async function (...args) {
        for (const row of args[0]) {
            const key = row.pollUpdateParentKey;
            const parent = Msg.get(key._serialized)
                || (await Msg.getMessagesById([key._serialized])).messages[0];
            window.__votes.push({voter: (row.author ?? row.from)._serialized, poll: key.id,
                names: row.selectedOptionLocalIds.map(
                    (i) => parent.pollOptions.find((o) => o.localId === i).name),
                ms: row.senderTimestampMs > 1e12 && row.t > 1e12, vote: row.id.id});
        }
        return original.apply(this, args);
    };
}"""

STORED_VOTES = """async ([key]) => {
    const rows = await window.require('WAWebPollsVotesSchema').getTable()
        .equals(['parentMsgKey'], key);
    return rows.map((r) => [String(r.sender),
        Array.from(new Uint8Array(r.selectedOptionLocalIds))]).sort();
}"""

CARD = "BEGIN:VCARD\nVERSION:3.0\nFN:Carol Card\nTEL;type=CELL;type=VOICE;waid=15550007777:+1 555 000 7777\nEND:VCARD"
CARD2 = "BEGIN:VCARD\nVERSION:3.0\nN:Dean;Dan;;;\nEND:VCARD"


class TestStructuredMessages:
    """Locations, contact cards and polls sent, received and voted on through the surface."""

    async def test_send_receive_and_vote(self, standin_pages: OpenPage) -> None:
        page = await standin_pages(FAST.replace("refs=3", "refs=100"))
        await _state(page, "UNPAIRED")
        await page.evaluate("() => window.__standin.scan()")
        await _synced(page)
        out = await page.evaluate(SEND_STRUCTURED, [PEER])
        await _wait(page, "window.__standin.sent().filter(s => s.ack === 2).length === 5")
        await asyncio.sleep(0.3)
        sent = {s["id"]: s for s in await page.evaluate("() => window.__standin.sent()")}

        # Unwrapped protobuf functions: the server acks a location it never delivers.
        unwrapped = sent[out["unwrapped"]["id"]]
        assert out["unwrapped"]["result"] == "OK"
        assert (unwrapped["ack"], unwrapped["stanzaType"], unwrapped["error"]) == (1, "media", None)
        assert "recipients get only type 'text'" in unwrapped["undelivered"]
        assert unwrapped["loc"] == "Googleplex\nMountain View"
        location = sent[out["location"]["id"]]
        assert (location["type"], location["lat"], location["lng"]) == ("location", 48.8584, 2.2945)
        assert location["clientUrl"] == location["loc"] == "http://www.example.org/eiffel"
        assert (location["stanzaType"], location["mediatype"], location["undelivered"]) == (
            "text",
            None,
            None,
        )
        assert location["body"] == ""

        vcard = sent[out["vcard"]["id"]]
        [card] = vcard["vcards"]
        assert card["name"] == "Alice Example"
        assert "waid=15550004444" in card["vcard"]
        assert card["vcard"].startswith("BEGIN:VCARD")
        assert (vcard["stanzaType"], vcard["mediatype"]) == ("media", "vcard")
        assert out["parsedName"] == "John Doe"
        assert sent[out["vcardText"]["id"]]["vcards"][0]["name"] == "John Doe"
        multi = sent[out["multi"]["id"]]
        assert [c["name"] for c in multi["vcards"]] == ["Alice Example", "+15550005555"]
        assert (multi["type"], multi["mediatype"], multi["body"]) == (
            "multi_vcard",
            "contact_array",
            None,
        )
        assert "not a vCard" in out["notACard"]

        poll = sent[out["poll"]["id"]]
        assert (poll["pollName"], poll["pollSelectableOptionsCount"], poll["kind"]) == (
            "Lunch?",
            0,
            "pollCreation",
        )
        assert [o["name"] for o in poll["pollOptions"]] == ["pizza", "sushi", "salad"]
        assert len(base64.b64decode(poll["messageSecret"])) == 32
        assert poll["stanzaType"] == "poll"
        assert out["noSecret"]["result"] == "ERROR_UNKNOWN"
        assert "messageSecret" in sent[out["noSecret"]["id"]]["error"]

        # Received: Msg 'add' with the fields whatsapp-web.js's Message reads.
        member = "15550006666@c.us"
        gid = await page.evaluate(
            "([m]) => window.__standin.createGroup('Polls', [{jid: m}])", [member]
        )
        await _wait(page, f"window.require('WAWebCollections').Chat.get('{gid}') !== undefined")
        got = await page.evaluate(RECEIVE_STRUCTURED, [PEER, gid, member, [CARD, CARD2]])
        assert got["location"] == {
            "type": "location",
            "lat": 52.5163,
            "lng": 13.3777,
            "loc": "Brandenburg Gate\nPariser Platz, Berlin",
            "url": "https://example.org/gate",
        }
        assert got["vcard"] == {"type": "vcard", "body": CARD, "name": "Carol Card"}
        assert got["multi"] == {
            "type": "multi_vcard",
            "list": [
                {"displayName": "Carol Card", "vcard": CARD},
                {"displayName": "Dan Dean", "vcard": CARD2},
            ],
        }
        assert got["poll"] == {
            "type": "poll_creation",
            "name": "Which day?",
            "options": [
                {"name": "Mon", "localId": 0},
                {"name": "Tue", "localId": 1},
                {"name": "Wed", "localId": 2},
            ],
            "count": 0,
            "secret": 32,
            "author": None,
        }
        assert (got["groupPoll"]["count"], got["groupPoll"]["author"]) == (1, member)

        # Votes: each row is the voter's whole selection ([] withdraws), on any poll.
        ids = got["ids"]
        await page.evaluate(CATCH_VOTES)
        votes = [
            (PEER, ids["poll"], [0, 2]),
            (PEER, ids["poll"], []),
            (member, ids["groupPoll"], [1]),
            (PEER, out["poll"]["id"], [1, 2]),
        ]
        for voter, poll_id, local_ids in votes:
            await page.evaluate(
                "([v, p, l]) => window.__standin.receivePollVote(v, p, l)",
                [voter, poll_id, local_ids],
            )
        await _wait(page, "window.__votes.length === 4")
        caught = await page.evaluate("() => window.__votes")
        assert [(v["voter"], v["poll"], v["names"]) for v in caught] == [
            (PEER, ids["poll"], ["Mon", "Wed"]),
            (PEER, ids["poll"], []),
            (member, ids["groupPoll"], ["coffee"]),
            (PEER, out["poll"]["id"], ["sushi", "salad"]),
        ]
        assert all(v["ms"] for v in caught)
        rows = await page.evaluate("() => window.__standin.pollVoteRows()")
        assert [(r["author"], r["from"]) for r in rows[-2:]] == [(member, member), (None, PEER)]
        assert await page.evaluate(STORED_VOTES, [got["pollKey"]]) == [[PEER, []]]
        assert await page.evaluate(STORED_VOTES, [got["groupPollKey"]]) == [[member, [1]]]
        with pytest.raises(Exception, match="single-choice"):
            await page.evaluate(
                "([p, g]) => window.__standin.receivePollVote(p, g, [0, 1])",
                [member, ids["groupPoll"]],
            )

        # After a reload the poll is stored, not loaded: the hook finds it with getMessagesById.
        await page.reload()
        await _synced(page)
        await page.evaluate(CATCH_VOTES)
        await page.evaluate(
            "([p, i]) => window.__standin.receivePollVote(p, i, [0])", [PEER, out["poll"]["id"]]
        )
        await _wait(page, "window.__votes.length === 1")
        assert (await page.evaluate("() => window.__votes"))[0]["names"] == ["pizza"]
        own_key = f"true_{PEER}_{out['poll']['id']}"
        assert await page.evaluate(STORED_VOTES, [own_key]) == [[PEER, [0]]]
        assert await page.evaluate("() => window.__standin.errors()") == []
