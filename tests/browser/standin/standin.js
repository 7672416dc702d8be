// Stand-in for WhatsApp Web, served on loopback for wamesh's browser tests.
//
// Derived from services/wamesh/engines/browser/surface.json (the WA Web module surface, with a
// source for every entry) and from whatsapp-web.js at commit 2dc9466fa (src/Client.js,
// src/util/Injected/Utils.js), wppconnect-team/wa-js at 6972a8454 and the issues cited there.
// It is never derived from wamesh's own bridge: it must behave like WA Web, not like the bridge
// expects. Kinds match WA Web (an async function there is async here, a sync one is sync),
// event names and listener arguments match, models are Backbone-like emitters whose events
// bubble to their collection, and network-driven changes happen in later tasks, as in WA Web.
//
// Boot: window.require exists at once but every module is unknown until window.Debug.VERSION
// appears (boot_ms); then the boot-phase modules resolve and the socket goes UNLAUNCHED ->
// OPENING -> UNPAIRED (QR, Conn.ref rotating every ref_ms through a batch of `refs` refs) ->
// UNPAIRED_IDLE (ref stopped until Cmd.refreshQR()). Scan: PAIRING -> CONNECTED -> the
// ready-phase modules load -> hasSynced. A profile whose stored non-extractable AES key still
// works (IndexedDB wawc_db_enc/keys) and whose Local Storage still names the account boots
// straight to CONNECTED: like WA Web, the session needs both (whatsapp-web.js RemoteAuth backs
// up IndexedDB and Local Storage). Sent and received messages are kept in Local Storage, so
// Msg.getMessagesById finds them after a reload while Msg.get (this page's loaded messages)
// does not. Logout (Socket.logout: Cmd 'logout'; from the phone: Cmd 'logout_from_bridge')
// clears that storage and navigates to /?post_logout=1, which boots unpaired.
//
// Query parameters (kept in sessionStorage, since WA's post-logout navigation drops them):
//   ref_ms (1500), refs (6), boot_ms (150), sync_ms (200), ack_ms (100),
//   serial=$1 (MsgKey exposes $1 instead of _serialized, as WA Web >= 2.3000.1042401057),
//   wid_serial=$1 (Wid too: stricter than any WA Web build seen), phone_logout_event=logout
//   (older builds; default logout_from_bridge), absent=ModA,ModB (modules missing entirely).
//
// Controls: window.__standin (page.evaluate), or remotely through /__control/next (same names):
//   Pairing and state
//     scan() -> bool (QR scanned); enterPairingCode(code) -> bool; pairingCodes() -> [code];
//     refreshCount() -> number (Cmd.refreshQR calls); state() -> {state, hasSynced, paired, ready,
//     ref, version, me, altLinking, url}; modules() -> [name]; errors() -> [{where, message, stack}];
//     phoneLogout() -> true; conflict() -> true; setState(name) -> true; idle() -> bool;
//     breakModule(name) -> true (reloads; that module is unknown); repair() -> true;
//     meLidOnly(bool) -> true; notOnWhatsApp(phone) -> true; lidAddressedGroup(group, bool) -> true;
//     lidOf(phone) -> the LID ('<digits>@lid') the stand-in assigns that number (stable, derived from it; the
//       own number gets the own LID), or null for a number marked notOnWhatsApp;
//     knownLid(phone, bool = true) -> bool: makes this line know (or forget) that number's LID
//       mapping (false if the number has no LID); otherwise it is known once the line has a chat
//       with the user, received from them, or called queryWidExists for them (cleared on logout);
//     lidOnlyContact(lid) -> true: a LID with no phone number (hidden-number user): getPhoneNumber
//       gives null, queryWidExists(lidWid) gives {wid: lidWid};
//     setEphemeral(jid, seconds) -> true; resendRequests() -> [{id, flag}]; resetControl() -> true.
//   Groups, read, chat states and presence
//     createGroup(subject, participants: [{jid, isAdmin, isSuperAdmin}]) -> group jid: a group on the
//       server with the line as a member (its superadmin when nobody else is); its chat (with
//       groupMetadata: subject, desc, owner, creation, participants {id, isAdmin, isSuperAdmin}) is
//       added in a later task; LID-addressed groups (lidAddressedGroup) list members by LID;
//     groupNotification(group, subtype, participants: [jid], author?) -> message id: the server
//       changes the group (add|invite|remove|leave|promote|demote) and a 'gp2' message with that
//       subtype, recipients [Wid] and author is added to Msg; loaded groupMetadata follows;
//     contactPresence(chatJid, jid, state) -> bool: WAWebCollections.Presence of chatJid (jid: the
//       member, for groups) gets state available|unavailable|typing|recording_audio|idle (aliases
//       composing, recording, paused) and fires 'change:chatstate.type'; false (nothing sent) unless
//       the line subscribed (chat.presence.subscribe()), as the server sends presence only then;
//     seen() -> [chatJid] (WAWebUpdateUnreadChatAction.sendSeen); chatStates() -> [{chat, state:
//       typing|recording|paused}] (WAWebChatStateBridge); presences() -> [available|unavailable]
//       (WAWebPresenceChatAction).
//   Inbound (each returns the new message's id, MsgKey.id; the message is added in a later task)
//     receive(from, text); receiveGroup(group, author, text);
//     receiveCiphertext(from, text, decryptAfterMs = 200; < 0 never); receiveSystem(from, type, subtype?);
//     receiveMedia(from, type, base64, mimetype, filename?, caption?, author? (groups)): type one of
//       image|video|audio|ptt|document|sticker; the bytes go to the media server, the message has
//       directPath/mediaKey/filehash/encFilehash/mimetype/filename/size/caption, body = preview
//       (image/video), mediaData.mediaStage 'INIT' until msg.downloadMedia();
//     receiveRich(from, text, {author?, quotedId?, mentions?: [jid]}): a reply (msgContextInfo of
//       the loaded message quotedId: quotedMsg, quotedStanzaID, quotedParticipant) and/or mentions.
//   Changes to loaded messages (in a later task)
//     receiveReaction(from, msgId, emoji) -> reaction id: reactionTableMode.bulkUpsert([row]);
//     receiveEdit(from, msgId, newText) -> true: body (caption for media) changes: change:body /
//       change:caption (msg, new, prev); receiveRevoke(from, msgId) -> true: change:type 'revoked';
//     setAck(id, ack) -> bool.
//   Locations, contact cards and polls (each receive* returns the new message's id)
//     nameContact(jid, name) -> true: the contact's name (ContactModel.name, formattedName; else '+<number>');
//     receiveLocation(from, lat, lng, {name?, address?, url?, author?}): type 'location', lat, lng,
//       loc 'name\naddress', clientUrl; receiveVcard(from, vcardText, {author?}): type 'vcard', body,
//       vcardFormattedName; receiveMultiVcard(from, [vcardText], {author?}): type 'multi_vcard', vcardList
//       [{displayName, vcard}]; receivePoll(from, name, [option], {multiple?, author?}): type 'poll_creation',
//       pollName, pollOptions [{name, localId}], pollSelectableOptionsCount 0 (multiple) | 1, messageSecret;
//     receivePollVote(voter, pollId, localIds) -> vote id: the voter's whole current selection ([] withdraws)
//       on a loaded or stored poll, as a row {id, pollUpdateParentKey, selectedOptionLocalIds,
//       senderTimestampMs, t, author (groups), from} through pollVoteTableMode.bulkUpsert, which stores it
//       for WAWebPollsVotesSchema.getTable().equals(['parentMsgKey'], pollKey).
//   What the line did (records)
//     sent() -> [{id, serialized, to, from, participant, body, type, ephemeralDuration,
//       ephemeralSettingTimestamp, disappearingModeInitiator, ack, error, duplicate, caption,
//       mimetype, filename, size, sha256 (hex, of the uploaded bytes), directPath, quotedId,
//       quotedParticipant, hasQuotedMsg, mentions: [jid], isForwarded, lat, lng, loc, clientUrl,
//       vcards: [{name, vcard}], pollName, pollOptions, pollSelectableOptionsCount, kind, messageSecret
//       (base64), stanzaType, mediatype, undelivered}]: undelivered says why the server acked (1) a
//       message it will never deliver (e.g. a location sent as media: wrap the protobuf functions);
//     pollVoteRows() -> [{id, parent, selected, senderTimestampMs, author, from}] (every bulkUpsert row);
//     uploads() -> [{directPath, sha256, size, mimetype, kind}] (uploadMedia, encryptAndUpload, receiveMedia);
//     reactions() -> [{msgId, serialized, chat, emoji}] (sendReactionToMsg);
//     reactionRows() -> [{id, parent, text, timestamp, author, from}] (every bulkUpsert row);
//     edits() -> [{msgId, serialized, text, previous, mentions}] (sendMessageEdit);
//     revokes() -> [{msgId, serialized, chat, clearMedia}] (Cmd.sendRevokeMsgs);
//     forwards() -> [{source, sourceId, target, id, serialized}] (forwardMessages; also in sent()).
(() => {
  "use strict";

  // ---------------------------------------------------------------- configuration
  const CONFIG_KEYS = ["ref_ms", "refs", "boot_ms", "sync_ms", "ack_ms", "serial", "wid_serial",
    "phone_logout_event", "absent"];
  const query = new URLSearchParams(location.search);
  let cfg = {};
  if (CONFIG_KEYS.some((k) => query.has(k))) {
    for (const k of CONFIG_KEYS) if (query.has(k)) cfg[k] = query.get(k);
    sessionStorage.setItem("standin:config", JSON.stringify(cfg));
  } else {
    try { cfg = JSON.parse(sessionStorage.getItem("standin:config") || "{}"); } catch (e) { cfg = {}; }
  }
  const num = (k, d) => (cfg[k] !== undefined && cfg[k] !== "" && !Number.isNaN(Number(cfg[k])) ? Number(cfg[k]) : d);
  const REF_MS = num("ref_ms", 1500);
  const REFS = Math.max(1, num("refs", 6));
  const BOOT_MS = num("boot_ms", 150);
  const SYNC_MS = num("sync_ms", 200);
  const ACK_MS = num("ack_ms", 100);
  const KEY_SERIAL = cfg.serial === "$1" ? "$1" : "_serialized";
  const WID_SERIAL = cfg.wid_serial === "$1" ? "$1" : "_serialized";
  const PHONE_LOGOUT_EVENT = cfg.phone_logout_event === "logout" ? "logout" : "logout_from_bridge";
  const ABSENT = String(cfg.absent || "").split(",").filter(Boolean);

  const VERSION = "2.3000.0-standin";
  const ME_PN = "15550009999";
  const ME_LID = "210000009999";
  const STATES = ["CONFLICT", "CONNECTED", "DEPRECATED_VERSION", "OPENING", "PAIRING", "PROXYBLOCK",
    "SMB_TOS_BLOCK", "TIMEOUT", "TOS_BLOCK", "UNLAUNCHED", "UNPAIRED", "UNPAIRED_IDLE"];
  const MSG_ATTRS = ["id", "type", "subtype", "body", "caption", "from", "to", "author", "t", "ack", "isNewMsg",
    "mediaData", "directPath", "mediaKey", "mediaKeyTimestamp", "filehash", "encFilehash", "mimetype", "filename", "size",
    "quotedMsg", "quotedStanzaID", "quotedParticipant", "quotedRemoteJid", "mentionedJidList", "isForwarded",
    "forwardingScore", "hasReaction", "protocolMessageKey", "latestEditMsgKey", "latestEditSenderTimestampMs", "recipients",
    "lat", "lng", "loc", "clientUrl", "vcardFormattedName", "vcardList", "pollName", "pollOptions", "pollSelectableOptionsCount",
    "messageSecret", "pollInvalidated", "isSentCagPollCreation"];
  const MEDIA_ATTRS = ["type", "mimetype", "filehash", "size", "mediaBlob", "preview", "filename", "isGif", "mediaStage",
    "directPath", "mediaKey", "mediaKeyTimestamp", "encFilehash", "clientUrl", "deprecatedMms3Url", "uploadhash", "renderableUrl"];
  const MEDIA_TYPES = ["image", "video", "audio", "ptt", "document", "sticker"];
  const STRUCTURED_TYPES = ["location", "vcard", "multi_vcard", "poll_creation"];

  // ---------------------------------------------------------------- storage
  // "standin:wa:*" is WA Web's own state (cleared on logout); "standin:ctl:*" is test control
  // (kept across logout and reload).
  const WA = "standin:wa:";
  const CTL = "standin:ctl:";
  const load = (k, d) => {
    try { const v = localStorage.getItem(k); return v === null ? d : JSON.parse(v); } catch (e) { return d; }
  };
  const wa = { get: (k, d) => load(WA + k, d), set: (k, v) => localStorage.setItem(WA + k, JSON.stringify(v)) };
  const ctl = { get: (k, d) => load(CTL + k, d), set: (k, v) => localStorage.setItem(CTL + k, JSON.stringify(v)) };
  const broken = ctl.get("broken", null);

  // ---------------------------------------------------------------- errors and timers
  const errors = [];
  function report(where, e) {
    errors.push({ where, message: String((e && e.message) || e), stack: e && e.stack ? String(e.stack) : null });
    console.error("[standin]", where, e);
  }
  // Run `fn` in a later task (WA Web's network-driven changes), reporting what a listener throws.
  function later(fn, ms = 0, where = "timer") {
    return setTimeout(() => {
      try {
        const r = fn();
        if (r && typeof r.catch === "function") r.catch((e) => report(where, e));
      } catch (e) { report(where, e); }
    }, ms);
  }
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const now = () => Math.floor(Date.now() / 1000);

  // ---------------------------------------------------------------- bytes
  function toBytes(x) {
    if (x instanceof ArrayBuffer) return new Uint8Array(x);
    if (ArrayBuffer.isView(x)) return new Uint8Array(x.buffer, x.byteOffset, x.byteLength);
    if (Array.isArray(x)) return Uint8Array.from(x);
    throw new TypeError("encodeB64: expected an ArrayBuffer or a typed array");
  }
  function encodeB64(data) {
    let s = "";
    for (const b of toBytes(data)) s += String.fromCharCode(b);
    return btoa(s);
  }
  const decodeB64 = (s) => Uint8Array.from(atob(s), (c) => c.charCodeAt(0));
  const random = (n) => crypto.getRandomValues(new Uint8Array(n));
  const hex = (n) => Array.from(random(n), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase();
  // A key's bytes, made once and kept until logout (WA keeps its keys in its own storage).
  function keyB64(name) {
    let v = wa.get(name, null);
    if (!v) { v = encodeB64(random(32)); wa.set(name, v); }
    return v;
  }
  const keyBuffer = (name) => decodeB64(keyB64(name)).buffer;
  const CROCKFORD = "123456789ABCDEFGHJKLMNPQRSTVWXYZ";
  function pairingCode() {
    let bits = 0n;
    for (const b of random(5)) bits = (bits << 8n) | BigInt(b);
    let code = "";
    for (let i = 7; i >= 0; i--) code += CROCKFORD[Number((bits >> BigInt(i * 5)) & 31n)];
    return code;
  }

  // ---------------------------------------------------------------- Backbone-like emitters
  const splitNames = (names) => String(names).split(/\s+/).filter(Boolean);
  class Emitter {
    constructor() { Object.defineProperty(this, "_ev", { value: new Map() }); }
    on(names, fn, ctx) { return this._add(names, fn, ctx, false); }
    once(names, fn, ctx) { return this._add(names, fn, ctx, true); }
    _add(names, fn, ctx, once) {
      if (typeof fn !== "function") return this;
      for (const n of splitNames(names)) {
        if (!this._ev.has(n)) this._ev.set(n, []);
        this._ev.get(n).push({ fn, ctx, once });
      }
      return this;
    }
    off(names, fn, ctx) {
      const which = names == null ? [...this._ev.keys()] : splitNames(names);
      for (const n of which) {
        const list = this._ev.get(n);
        if (!list) continue;
        const keep = list.filter((h) => (fn && h.fn !== fn) || (ctx && h.ctx !== ctx));
        if (keep.length) this._ev.set(n, keep); else this._ev.delete(n);
      }
      return this;
    }
    trigger(names, ...args) {
      for (const n of splitNames(names)) {
        this._fire(n, args);
        if (n !== "all") this._fire("all", [n, ...args]);
      }
      return this;
    }
    _fire(n, args) {
      const list = this._ev.get(n);
      if (!list) return;
      for (const h of [...list]) {
        if (h.once) {
          const cur = this._ev.get(n) || [];
          const i = cur.indexOf(h);
          if (i < 0) continue;
          cur.splice(i, 1);
        }
        h.fn.apply(h.ctx || this, args);
      }
    }
  }

  const RESERVED = new Set(["on", "off", "once", "trigger", "get", "set", "serialize", "toJSON", "collection", "_ev", "_attrs"]);
  class Model extends Emitter {
    constructor(attrs = {}, declared = []) {
      super();
      Object.defineProperty(this, "_attrs", { value: {} });
      Object.defineProperty(this, "collection", { value: undefined, writable: true });
      for (const k of declared) this._declare(k);
      for (const [k, v] of Object.entries(attrs)) { this._declare(k); this._attrs[k] = v; }
    }
    _declare(k) {
      if (RESERVED.has(k) || Object.prototype.hasOwnProperty.call(this, k)) return;
      Object.defineProperty(this, k, {
        get: () => this._attrs[k], set: (v) => this.set(k, v), enumerable: true, configurable: true,
      });
    }
    get(k) { return this._attrs[k]; }
    // WA Web's models trigger change:<attr> with (model, value, previous), then change.
    set(key, value) {
      const changes = typeof key === "object" && key !== null ? key : { [key]: value };
      const changed = [];
      for (const [k, v] of Object.entries(changes)) {
        this._declare(k);
        const prev = this._attrs[k];
        if (prev !== v) { this._attrs[k] = v; changed.push([k, v, prev]); }
      }
      for (const [k, v, prev] of changed) this.trigger("change:" + k, this, v, prev);
      if (changed.length) this.trigger("change", this);
      return this;
    }
    serialize() { return Object.assign({}, this._attrs); }
    toJSON() { return this.serialize(); }
    trigger(names, ...args) {
      super.trigger(names, ...args);
      if (this.collection) this.collection.trigger(names, ...args);
      return this;
    }
  }

  const keyOf = (k) => {
    if (typeof k === "string") return k;
    if (k instanceof Model) return keyOf(k.id);
    if (k && typeof k === "object") { const s = String(k); return s === "[object Object]" ? undefined : s; }
    return undefined;
  };
  class Collection extends Emitter {
    constructor() { super(); Object.defineProperty(this, "_models", { value: new Map() }); }
    get(k) { const key = keyOf(k); return key === undefined ? undefined : this._models.get(key); }
    add(model) {
      const key = keyOf(model.id);
      if (this._models.has(key)) return this._models.get(key);
      model.collection = this;
      this._models.set(key, model);
      model.trigger("add", model, this);
      return model;
    }
    remove(model) {
      const key = keyOf(model);
      const found = this._models.get(key);
      if (!found) return undefined;
      this._models.delete(key);
      found.trigger("remove", found, this);
      found.collection = undefined;
      return found;
    }
    getModelsArray() { return [...this._models.values()]; }
    toArray() { return this.getModelsArray(); }
    filter(fn) { return this.getModelsArray().filter(fn); }
    find(fn) { return this.getModelsArray().find(fn); }
    get length() { return this._models.size; }
  }

  // ---------------------------------------------------------------- Wid and MsgKey
  const invalidWid = () => new Error("wid error: invalid wid");
  const USER_RE = /^[0-9]{1,20}$/;
  class Wid {
    constructor(serialized) {
      if (typeof serialized !== "string") throw invalidWid();
      const at = serialized.lastIndexOf("@");
      if (at <= 0) throw invalidWid();
      const user = serialized.slice(0, at);
      const server = serialized.slice(at + 1);
      const ok = {
        "c.us": USER_RE, lid: USER_RE, "g.us": /^[0-9]{1,20}(-[0-9]{1,12})?$/,
        broadcast: /^(status|[0-9]{1,20})$/, newsletter: USER_RE,
      }[server];
      if (!ok || !ok.test(user)) throw invalidWid();
      this.server = server;
      this.user = user;
      this[WID_SERIAL] = user + "@" + server;
    }
    toString() { return this[WID_SERIAL]; }
    toJSON() { return this.toString(); }
    toJid() { return this.server === "c.us" ? this.user + "@s.whatsapp.net" : this.toString(); }
    isLid() { return this.server === "lid"; }
    isGroup() { return this.server === "g.us"; }
    isUser() { return this.server === "c.us" || this.server === "lid"; }
    isBroadcast() { return this.server === "broadcast"; }
    isStatus() { return this.toString() === "status@broadcast"; }
    isNewsletter() { return this.server === "newsletter"; }
    equals(other) { return other != null && String(other) === this.toString(); }
  }
  function createWid(w) {
    if (w instanceof Wid) return new Wid(w.toString());
    return new Wid(w);
  }
  function asUserWidOrThrow(w) {
    if (w instanceof Wid && w.isUser()) return w;
    throw new Error("asUserWidOrThrow: " + String(w) + " is not a user wid");
  }

  class MsgKey {
    constructor(obj) {
      if (obj == null) throw new Error("MsgKey error: obj is null/undefined");
      let fromMe;
      let remote;
      if ("selfDir" in obj) {
        if (obj.selfDir !== "in" && obj.selfDir !== "out") throw new Error("MsgKey error: selfDir must be 'in' or 'out'");
        fromMe = obj.selfDir === "out";
        remote = fromMe ? obj.to : obj.from;
      } else {
        fromMe = !!obj.fromMe;
        remote = obj.remote;
      }
      if (!(remote instanceof Wid)) throw new Error("MsgKey error: remote is not a wid");
      if (typeof obj.id !== "string" || !obj.id) throw new Error("MsgKey error: id is not a string");
      if (obj.participant != null && !(obj.participant instanceof Wid)) throw new Error("MsgKey error: participant is not a wid");
      this.fromMe = fromMe;
      this.remote = remote;
      this.id = obj.id;
      this.participant = obj.participant == null ? undefined : obj.participant;
      const parts = [String(fromMe), remote.toString(), obj.id];
      if (this.participant) parts.push(this.participant.toString());
      this[KEY_SERIAL] = parts.join("_");
    }
    toString() { return this[KEY_SERIAL]; }
    toJSON() { return this.toString(); }
    clone() { return new MsgKey({ fromMe: this.fromMe, remote: this.remote, id: this.id, participant: this.participant }); }
    equals(other) { return other != null && String(other) === this.toString(); }
    static fromString(s) {
      const [fromMe, remote, id, participant] = String(s).split("_");
      return new MsgKey({ fromMe: fromMe === "true", remote: new Wid(remote), id, participant: participant ? new Wid(participant) : undefined });
    }
    static async newId() { return "3EB0" + hex(9); }
  }
  const phoneMsgId = () => "3A" + hex(9);

  // ---------------------------------------------------------------- models
  const Socket = new Model({ state: "UNLAUNCHED", hasSynced: false });
  const Conn = new Model({ ref: undefined, platform: "web" });
  const Cmd = new Emitter();
  const Msg = new Collection();
  const Chat = new Collection();

  function me() { return wa.get("me", null); }
  const isPaired = () => me() !== null;
  function mePn() { const m = me(); return m && !ctl.get("meLidOnly", false) ? new Wid(m.pn + "@c.us") : null; }
  function meLid() { const m = me(); return m ? new Wid(m.lid + "@lid") : null; }

  // ---------------------------------------------------------------- IndexedDB session key
  function openKeys() {
    return new Promise((resolve, reject) => {
      const req = indexedDB.open("wawc_db_enc", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("keys");
      req.onsuccess = () => resolve(req.result);
      req.onerror = () => reject(req.error);
    });
  }
  async function keyStore(mode, fn) {
    const db = await openKeys();
    try {
      return await new Promise((resolve, reject) => {
        const tx = db.transaction("keys", mode);
        const req = fn(tx.objectStore("keys"));
        tx.oncomplete = () => resolve(req && req.result);
        tx.onerror = () => reject(tx.error);
      });
    } finally { db.close(); }
  }
  async function storedKeyWorks() {
    try {
      const key = await keyStore("readonly", (s) => s.get("wamesh"));
      if (!key || key.extractable !== false) return false;
      const iv = crypto.getRandomValues(new Uint8Array(12));
      const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode("ping"));
      const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
      return new TextDecoder().decode(opened) === "ping";
    } catch (e) { return false; }
  }
  async function clearWaStorage() {
    try { await keyStore("readwrite", (s) => s.delete("wamesh")); } catch (e) { report("logout", e); }
    for (const k of Object.keys(localStorage)) if (!k.startsWith(CTL)) localStorage.removeItem(k);
  }

  // ---------------------------------------------------------------- socket state machine
  let rotation = null;
  let refsLeft = 0;
  let synced = false;
  let pairing = false;
  let altLinking = false;
  let pairingType = "QR";
  let lastCode = null;
  let codePhone = null;
  let loggingOut = false;
  const registered = new Set();

  const newRef = () => "2@" + encodeB64(random(36));
  function stopQr() { clearTimeout(rotation); rotation = null; refsLeft = 0; }
  function startQrBatch() {
    stopQr();
    altLinking = false;
    refsLeft = REFS - 1;
    rotation = later(tick, REF_MS, "qr");
    Conn.set("ref", newRef());
    Socket.set("state", "UNPAIRED");
  }
  function tick() {
    rotation = null;
    if (Socket.state !== "UNPAIRED" || altLinking || pairing) return;
    if (refsLeft <= 0) { Socket.set("state", "UNPAIRED_IDLE"); return; }
    refsLeft -= 1;
    rotation = later(tick, REF_MS, "qr");
    Conn.set("ref", newRef());
  }
  function connect() {
    stopQr();
    altLinking = false;
    pairing = false;
    Socket.set("state", "CONNECTED");
    if (!synced) later(sync, SYNC_MS, "sync");
  }
  function sync() {
    if (synced || !isPaired()) return;
    for (const n of READY_MODULES) registered.add(n);
    for (const id of wa.get("chats", [])) chatFor(new Wid(id));
    synced = true;
    Socket.set("hasSynced", true);
  }
  async function pair(pn) {
    if (pairing) return false;
    pairing = true;
    stopQr();
    const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
    await keyStore("readwrite", (s) => s.put(key, "wamesh"));
    wa.set("me", { pn, lid: ME_LID });
    later(() => Socket.set("state", "PAIRING"), 0, "pairing");
    later(connect, 150, "pairing");
    return true;
  }
  async function logoutFlow(event) {
    if (loggingOut) return;
    loggingOut = true;
    stopQr();
    try { Cmd.trigger(event); } catch (e) { report("Cmd " + event + " listener", e); }
    await clearWaStorage();
    await sleep(150);
    location.replace("/?post_logout=1");
  }
  Socket.logout = function logout() { later(() => logoutFlow("logout"), 0, "logout"); };
  Socket.takeover = function takeover() {
    if (Socket.state === "CONFLICT" && isPaired()) later(() => Socket.set("state", "CONNECTED"), 50, "takeover");
  };
  Cmd.refreshQR = function refreshQR() {
    ctl.set("refreshCount", ctl.get("refreshCount", 0) + 1);
    if (!isPaired() && (Socket.state === "UNPAIRED" || Socket.state === "UNPAIRED_IDLE")) later(startQrBatch, 50, "refreshQR");
  };

  // ---------------------------------------------------------------- chats and messages
  function chatFor(w) {
    let chat = Chat.get(w);
    if (chat) return chat;
    chat = new Model({ id: w, t: now(), unreadCount: 0 }, ["groupMetadata"]);
    if (w.isGroup()) chat.set("groupMetadata", groupMetadataFor(w));
    Object.defineProperty(chat, "presence", { get: () => presenceFor(w), enumerable: false });
    Chat.add(chat);
    const ids = wa.get("chats", []);
    if (!ids.includes(w.toString())) { ids.push(w.toString()); wa.set("chats", ids); meetUser(w); }
    return chat;
  }

  // Messages are kept (as WA keeps them in IndexedDB) so getMessagesById finds them after a
  // reload; Msg itself starts empty on every page, like WA Web's lazily loaded collection.
  function recordOf(m) {
    const r = {};
    for (const [k, v] of Object.entries(m.serialize())) {
      if (k === "id") {
        r.key = { fromMe: v.fromMe, remote: String(v.remote), id: v.id, participant: v.participant ? String(v.participant) : null };
      } else if (v instanceof Wid) {
        r[k] = { wid: String(v) };
      } else if (v instanceof Uint8Array) {
        r[k] = { bytes: encodeB64(v) };
      } else if (v === undefined || typeof v === "function" || (typeof v === "object" && v !== null && !Array.isArray(v))) {
        continue;
      } else {
        r[k] = v;
      }
    }
    if (m.mediaData) r.mediaStage = m.mediaData.mediaStage;
    return r;
  }
  function modelOf(r) {
    const attrs = {};
    for (const [k, v] of Object.entries(r)) {
      if (k === "mediaStage") continue;
      if (k === "key") {
        attrs.id = new MsgKey({ fromMe: v.fromMe, remote: new Wid(v.remote), id: v.id, participant: v.participant ? new Wid(v.participant) : undefined });
      } else if (v && typeof v === "object" && typeof v.wid === "string") {
        attrs[k] = new Wid(v.wid);
      } else if (v && typeof v === "object" && typeof v.bytes === "string") {
        attrs[k] = decodeB64(v.bytes);
      } else {
        attrs[k] = v;
      }
    }
    attrs.isNewMsg = false;
    const model = new MsgModel(attrs);
    attachMediaData(model, r.mediaStage || "RESOLVED");
    return model;
  }
  function storeMsg(m) {
    const all = wa.get("msgs", {});
    all[String(m.id)] = recordOf(m);
    wa.set("msgs", all);
  }
  function noteSentAck(m) {
    const sent = ctl.get("sent", []);
    for (const s of sent) if (s.serialized === String(m.id) && !s.duplicate) s.ack = m.ack;
    ctl.set("sent", sent);
  }
  function setAckNow(m, ack) {
    m.set("ack", ack);
    storeMsg(m);
    noteSentAck(m);
  }

  Chat.find = async function find(w) {
    await sleep(5);
    const wid = w instanceof Wid ? w : new Wid(String(w));
    return Chat.get(wid) || chatFor(wid);
  };
  Msg.getMessagesById = async function getMessagesById(ids) {
    await sleep(10);
    if (!Array.isArray(ids)) throw new TypeError("getMessagesById: expected an array of message ids");
    const all = wa.get("msgs", {});
    const messages = [];
    for (const raw of ids) {
      const key = keyOf(raw);
      let m = key === undefined ? undefined : Msg.get(key);
      if (!m && key !== undefined && all[key]) m = Msg.add(modelOf(all[key]));
      if (m) messages.push(m);
    }
    return { messages };
  };

  // What the stand-in's server would refuse: the addressing whatsapp-web.js uses (Utils.js:419-471).
  function addressingProblem(chat, msg) {
    const key = msg.id;
    if (!key.fromMe) return "key.fromMe is not true";
    if (!key.remote.equals(chat.id)) return "key.remote " + key.remote + " is not the chat " + chat.id;
    if (!(msg.to instanceof Wid) || !msg.to.equals(chat.id)) return "to is not the chat's Wid";
    const lidSender = chat.id.isGroup() ? !!(chat.groupMetadata && chat.groupMetadata.isLidAddressingMode) : chat.id.isLid();
    const expected = lidSender ? meLid() : mePn();
    if (!expected) return "the own " + (lidSender ? "LID" : "phone number") + " is unknown";
    if (!(msg.from instanceof Wid) || !msg.from.equals(expected)) return "from " + String(msg.from) + " should be " + expected;
    if (chat.id.isGroup()) {
      if (!key.participant || !key.participant.equals(expected)) return "group key.participant " + String(key.participant) + " should be " + expected;
    } else if (key.participant) {
      return "key.participant set outside a group";
    }
    if (msg.type === "chat" && (typeof msg.body !== "string" || !msg.body)) return "a 'chat' message needs a non-empty string body";
    if (typeof msg.type !== "string") return "no message type";
    return null;
  }

  // What sent() records of media, replies, mentions and forwards, and what the server refuses.
  function richRecord(msg) {
    const media = msg.directPath ? mediaServer.get(msg.directPath) : undefined;
    const list = Array.isArray(msg.mentionedJidList) ? msg.mentionedJidList : [];
    return {
      caption: msg.caption === undefined ? null : msg.caption,
      mimetype: msg.mimetype || (media ? media.mimetype : null) || null,
      filename: msg.filename === undefined ? null : msg.filename,
      size: typeof msg.size === "number" ? msg.size : null,
      sha256: media ? media.sha256 : null,
      directPath: msg.directPath || null,
      quotedId: msg.quotedStanzaID === undefined ? null : msg.quotedStanzaID,
      quotedParticipant: msg.quotedParticipant ? String(msg.quotedParticipant) : null,
      hasQuotedMsg: !!msg.quotedMsg,
      mentions: list.map((w) => (w instanceof Wid ? w.toString() : "not a Wid: " + String(w))),
      isForwarded: !!msg.isForwarded,
    };
  }
  function richProblem(msg) {
    if (msg.mentionedJidList !== undefined && (!Array.isArray(msg.mentionedJidList) || msg.mentionedJidList.some((w) => !(w instanceof Wid)))) {
      return "mentionedJidList must be an array of Wids";
    }
    if (msg.quotedStanzaID !== undefined && (typeof msg.quotedStanzaID !== "string" || !msg.quotedMsg)) return "a reply needs quotedStanzaID and quotedMsg (msgContextInfo)";
    if (MEDIA_TYPES.includes(msg.type)) {
      const e = msg.directPath ? mediaServer.get(msg.directPath) : undefined;
      if (!e) return "a " + msg.type + " message needs the directPath of uploaded media";
      if (msg.mediaKey !== e.mediaKey || msg.encFilehash !== e.encFilehash) return "mediaKey / encFilehash do not match the upload";
      if (msg.filehash !== e.filehash) return "filehash does not match the upload";
    }
    return null;
  }

  function addAndSendMsgToChat(chat, msg) {
    if (!(chat instanceof Model) || !(chat.id instanceof Wid) || Chat.get(chat.id) !== chat) {
      throw new TypeError("addAndSendMsgToChat: chat is not a chat model of the Chat collection");
    }
    if (!msg || !(msg.id instanceof MsgKey)) throw new TypeError("addAndSendMsgToChat: msg.id is not a MsgKey");
    let settle;
    const sendResult = new Promise((resolve) => { settle = resolve; });
    const added = new Promise((resolve) => later(() => {
      const existing = Msg.get(msg.id);
      const eph = { ephemeralDuration: msg.ephemeralDuration, ephemeralSettingTimestamp: msg.ephemeralSettingTimestamp, disappearingModeInitiator: msg.disappearingModeInitiator };
      const record = {
        id: msg.id.id, serialized: String(msg.id), to: msg.to == null ? null : String(msg.to),
        from: msg.from == null ? null : String(msg.from), participant: msg.id.participant ? String(msg.id.participant) : null,
        body: msg.body === undefined ? null : msg.body, type: msg.type === undefined ? null : msg.type, ...eph,
        ack: existing ? existing.ack : msg.ack, error: null, duplicate: !!existing,
        ...richRecord(msg), ...structuredRecord(msg), stanzaType: null, mediatype: null, undelivered: null,
      };
      if (existing) {
        // WA keeps one message per key: a second add with the same key is not sent again.
        ctl.set("sent", [...ctl.get("sent", []), record]);
        resolve(existing);
        settle({ messageSendResult: "OK", t: existing.t });
        return;
      }
      const model = new MsgModel(Object.assign({}, msg, { isNewMsg: msg.isNewMsg === undefined ? true : msg.isNewMsg }));
      attachMediaData(model, "RESOLVED");
      const stanza = stanzaOf(msg);
      const problem = addressingProblem(chat, msg) || richProblem(msg) || structuredProblem(msg) || stanza.error ||
        (chat.id.isUser() && ctl.get("notOnWhatsApp", []).includes(chat.id.user) ? "recipient is not on WhatsApp" : null);
      Object.assign(record, { stanzaType: stanza.type, mediatype: stanza.mediatype, undelivered: problem ? null : stanza.undelivered });
      record.error = problem;
      record.ack = model.ack;
      ctl.set("sent", [...ctl.get("sent", []), record]);
      storeMsg(model);
      Msg.add(model);
      resolve(model);
      later(() => {
        if (problem) { setAckNow(model, -1); settle({ messageSendResult: "ERROR_UNKNOWN" }); return; }
        settle({ messageSendResult: "OK", t: now() });
        setAckNow(model, 1);
        if (!record.undelivered) later(() => setAckNow(model, 2), ACK_MS, "ack");
      }, ACK_MS, "ack");
    }, 0, "addAndSendMsgToChat"));
    return [added, sendResult];
  }

  async function findOrCreateLatestChat(w) {
    await sleep(5);
    if (!(w instanceof Wid)) throw new TypeError("findOrCreateLatestChat: expected a Wid, got " + typeof w);
    if (!w.isUser() && !w.isGroup()) throw new Error("findOrCreateLatestChat: no chat for " + w);
    const existing = Chat.get(w);
    return { chat: existing || chatFor(w), created: !existing };
  }
  function getEphemeralFields(chat) {
    if (!(chat instanceof Model) || !(chat.id instanceof Wid)) throw new TypeError("getEphemeralFields: expected a chat model");
    const e = ctl.get("ephemeral", {})[chat.id.toString()];
    return e ? { ephemeralDuration: e.duration, ephemeralSettingTimestamp: e.t } : {};
  }
  async function queryWidExists(w) {
    await sleep(30);
    if (!(w instanceof Wid)) throw new TypeError("queryWidExists: expected a Wid");
    if (!w.isUser()) return null;
    if (w.isLid()) {
      if (!lidExists(w.user)) return null;
      const pn = pnOfLid(w.user);
      if (pn) learnLid(pn);
      return { wid: new Wid(w.toString()), biz: false };
    }
    if (!onWhatsApp(w.user)) return null;
    learnLid(w.user);
    return { wid: new Wid(w.toString()), biz: false };
  }

  // LID <-> phone-number mapping (WAWebApiContact). Every number on WhatsApp has a stable LID,
  // derived from the number; this line knows the mapping only once it has a chat with the user,
  // received from them, or queried them (queryWidExists), as WA Web learns it from the server.
  // "The world" (which LID belongs to which number, LID-only users) is test control (ctl); what
  // this line knows is WA state (wa, cleared on logout).
  const onWhatsApp = (pn) => !ctl.get("notOnWhatsApp", []).includes(pn);
  function fnv(s, seed) {
    let h = seed >>> 0;
    for (let i = 0; i < s.length; i++) { h ^= s.charCodeAt(i); h = Math.imul(h, 16777619) >>> 0; }
    return h;
  }
  function lidFor(pn) {
    if (!onWhatsApp(pn)) return null;
    const m = me();
    if (m && m.pn === pn) return m.lid;
    const lid = "1" + String(fnv(pn, 2166136261) % 1e7).padStart(7, "0") + String(fnv(pn, 33554467) % 1e7).padStart(7, "0");
    const world = ctl.get("lidWorld", {});
    if (world[lid] !== pn) { world[lid] = pn; ctl.set("lidWorld", world); }
    return lid;
  }
  function pnOfLid(lid) {
    if (ctl.get("lidOnly", []).includes(lid)) return null;
    const m = me();
    if (m && m.lid === lid) return m.pn;
    const pn = ctl.get("lidWorld", {})[lid];
    return pn && onWhatsApp(pn) ? pn : null;
  }
  function lidExists(lid) {
    return pnOfLid(lid) !== null || ctl.get("lidOnly", []).includes(lid) || wa.get("chats", []).includes(lid + "@lid");
  }
  function learnLid(pn) {
    if (!lidFor(pn)) return;
    const known = wa.get("lidKnown", []);
    if (!known.includes(pn)) { known.push(pn); wa.set("lidKnown", known); }
  }
  function forgetLid(pn) { wa.set("lidKnown", wa.get("lidKnown", []).filter((x) => x !== pn)); }
  function mappingKnown(pn) {
    const m = me();
    return (m && m.pn === pn) || wa.get("lidKnown", []).includes(pn);
  }
  // A user this line hears from or talks to: its mapping becomes known.
  function meetUser(w) {
    if (!(w instanceof Wid) || !w.isUser()) return;
    if (!w.isLid()) { learnLid(w.user); return; }
    const pn = pnOfLid(w.user);
    if (pn) learnLid(pn);
  }
  function getCurrentLid(w) {
    if (!(w instanceof Wid)) throw new TypeError("getCurrentLid: expected a Wid");
    if (w.server !== "c.us" || !mappingKnown(w.user)) return null;
    const lid = lidFor(w.user);
    return lid ? new Wid(lid + "@lid") : null;
  }
  function getPhoneNumber(w) {
    if (!(w instanceof Wid)) throw new TypeError("getPhoneNumber: expected a Wid");
    if (!w.isLid()) return null;
    const pn = pnOfLid(w.user);
    if (!pn || !mappingKnown(pn)) return null;
    const m = me();
    if (m && m.pn === pn && ctl.get("meLidOnly", false)) return null;
    return new Wid(pn + "@c.us");
  }

  // Inbound messages: what the phone's network delivers, added in a later task.
  function inbound({ from, author, type, subtype, body, then, extra, id }) {
    if (!synced) throw new Error("the line is not connected and synced");
    const chatWid = new Wid(from);
    const authorWid = author ? new Wid(author) : undefined;
    const authored = type === "chat" || MEDIA_TYPES.includes(type) || STRUCTURED_TYPES.includes(type);
    if (chatWid.isGroup() && !authorWid && authored) throw new Error("group messages need an author (use receiveGroup)");
    const to = chatWid.isLid() || !mePn() ? meLid() : mePn();
    const key = new MsgKey({ from: chatWid, to, id: id || phoneMsgId(), participant: authorWid, selfDir: "in" });
    const model = new MsgModel(Object.assign({ id: key, from: chatWid, to, author: authorWid, type, subtype, body, t: now(), ack: 1, isNewMsg: true }, extra || {}));
    attachMediaData(model, "INIT");
    later(() => {
      chatFor(chatWid);
      meetUser(chatWid);
      meetUser(authorWid);
      storeMsg(model);
      Msg.add(model);
      if (then) then(model);
    }, 0, "receive");
    return key.id;
  }
  function findMsg(id) {
    return Msg.getModelsArray().find((m) => m.id.id === id || String(m.id) === id);
  }

  // ---------------------------------------------------------------- rich messages
  // Media, replies, mentions, reactions, edits, revokes and forwards, as surface.json describes
  // them (whatsapp-web.js Utils.js sendMessage / processMediaData / editMessage / forwardMessage,
  // Message.js downloadMedia / delete, Client.js attachEventListeners).
  const sha256 = async (bytes) => new Uint8Array(await crypto.subtle.digest("SHA-256", bytes));
  const hexOf = (bytes) => Array.from(bytes, (b) => b.toString(16).padStart(2, "0")).join("");
  // A 1x1 JPEG: the preview (thumbnail) WA Web puts into image and video messages' body.
  const PREVIEW = "/9j/4AAQSkZJRgABAQAAAQABAAD/2wBDAAgGBgcGBQgHBwcJCQgKDBQNDAsLDBkSEw8UHRofHh0aHBwgJC4nICIsIxwcKDcpLDAxNDQ0Hyc5PTgyPC4zNDL/wAALCAABAAEBAREA/8QAFAABAAAAAAAAAAAAAAAAAAAACf/EABQQAQAAAAAAAAAAAAAAAAAAAAD/2gAIAQEAAD8AKp//2Q==";
  const EDITABLE = (m) => m.type === "chat";
  const NOT_REPLIABLE = ["revoked", "ciphertext", "e2e_notification", "gp2", "protocol", "notification_template", "call_log"];

  // The media server: encrypted media by directPath (test control storage: it outlives logout).
  const mediaServer = {
    get: (path) => ctl.get("media", {})[path],
    put(path, entry) { const all = ctl.get("media", {}); all[path] = entry; ctl.set("media", all); },
  };
  async function storeOnServer(bytes, mimetype, mediaKey, kind) {
    const plain = await sha256(bytes);
    const keyBytes = decodeB64(mediaKey);
    const enc = new Uint8Array(bytes.length + keyBytes.length);
    enc.set(bytes); enc.set(keyBytes, bytes.length);
    const entry = {
      directPath: "/v/t62.7118-24/" + hexOf(random(12)) + "?standin=1", b64: encodeB64(bytes), mimetype, mediaKey,
      filehash: encodeB64(plain), encFilehash: encodeB64(await sha256(enc)), sha256: hexOf(plain), size: bytes.length,
      mediaKeyTimestamp: now(),
    };
    mediaServer.put(entry.directPath, entry);
    ctl.set("uploads", [...ctl.get("uploads", []), { directPath: entry.directPath, sha256: entry.sha256, size: entry.size, mimetype, kind }]);
    return entry;
  }

  class OpaqueData {
    constructor(bytes, type, name) {
      this._bytes = bytes; this._type = type || ""; this._name = name; this.released = false; this._url = null;
    }
    static async createFromData(data, type) {
      let bytes;
      if (data instanceof Blob) bytes = new Uint8Array(await data.arrayBuffer());
      else if (data instanceof OpaqueData) bytes = data._bytes;
      else bytes = toBytes(data);
      return new OpaqueData(bytes, type || (data && data.type) || "", data && typeof data.name === "string" ? data.name : undefined);
    }
    throwIfReleased() { if (this.released) throw new Error("OpaqueData: used after release"); }
    url() { this.throwIfReleased(); if (!this._url) this._url = URL.createObjectURL(this.forceToBlob()); return this._url; }
    retain() { return this; }
    // WA releases autoreleased data later, not at once (whatsapp-web.js uploads after calling it).
    autorelease() { return this; }
    formData() { this.throwIfReleased(); return this.forceToBlob(); }
    forceToBlob() { return new Blob([this._bytes], { type: this._type }); }
    size() { return this._bytes.length; }
    type() { return this._type; }
  }

  function mediaTypeFor(mimetype, p) {
    if (p.asSticker) return "sticker";
    if (p.asDocument) return "document";
    const m = String(mimetype || "");
    if (m.startsWith("image/")) return "image";
    if (m.startsWith("video/")) return "video";
    if (m.startsWith("audio/")) return p.isPtt ? "ptt" : "audio";
    return "document";
  }
  class MediaPrep {
    constructor(opaque, params) { this._opaque = opaque; this._params = params || {}; }
    async waitForPrep() {
      await sleep(10);
      const o = this._opaque;
      o.throwIfReleased();
      const type = mediaTypeFor(o.type(), this._params);
      const filehash = encodeB64(await sha256(o._bytes));
      return new Model({
        type, mimetype: o.type(), filehash, size: o.size(), mediaBlob: o,
        preview: type === "image" || type === "video" ? PREVIEW : undefined,
        filename: type === "document" ? o._name : undefined,
        isGif: type === "video" && !!this._params.asGif, mediaStage: "RESOLVED",
      }, MEDIA_ATTRS);
    }
  }
  function prepRawMedia(opaque, params) {
    if (!(opaque instanceof OpaqueData)) throw new TypeError("prepRawMedia: expected OpaqueData");
    return new MediaPrep(opaque, params);
  }

  const mediaObjects = new Map();
  function getOrCreateMediaObject(filehash) {
    if (typeof filehash !== "string" || !filehash) throw new TypeError("getOrCreateMediaObject: no filehash");
    if (!mediaObjects.has(filehash)) {
      const obj = new Model({ filehash, type: undefined, size: undefined, contentInfo: {}, mediaBlob: undefined });
      obj.consolidate = function consolidate(json) {
        const j = json || {};
        const up = { type: j.type ? String(j.type).toUpperCase() : obj.type };
        if (j.mediaBlob instanceof OpaqueData) { up.mediaBlob = j.mediaBlob; up.size = j.mediaBlob.size(); }
        if (typeof j.size === "number") up.size = j.size;
        if (j.mimetype) up.mimetype = j.mimetype;
        obj.set(up);
      };
      mediaObjects.set(filehash, obj);
    }
    return mediaObjects.get(filehash);
  }
  const msgToMediaType = ({ type, isGif }) => {
    if (!MEDIA_TYPES.includes(type)) throw new Error("msgToMediaType: not a media type: " + type);
    return (type === "video" && isGif ? "gif" : type).toUpperCase();
  };
  const blobCache = new Map();

  async function uploadMedia({ mimetype, mediaObject, mediaType } = {}) {
    await sleep(20);
    if (!mediaObject || !(mediaObject.mediaBlob instanceof OpaqueData)) {
      throw new Error("uploadMedia: the media object has no data (consolidate it first)");
    }
    if (typeof mediaType !== "string") throw new TypeError("uploadMedia: no mediaType");
    const bytes = mediaObject.mediaBlob._bytes;
    if (encodeB64(await sha256(bytes)) !== mediaObject.filehash) throw new Error("uploadMedia: filehash does not match the data");
    const e = await storeOnServer(bytes, mimetype, encodeB64(random(32)), mediaType);
    return {
      mediaEntry: {
        mmsUrl: "https://mmg.whatsapp.net" + e.directPath, deprecatedMms3Url: "https://mmg.whatsapp.net" + e.directPath,
        directPath: e.directPath, mediaKey: e.mediaKey, mediaKeyTimestamp: e.mediaKeyTimestamp, encFilehash: e.encFilehash,
        uploadHash: e.encFilehash, sidecar: undefined, firstFrameSidecar: undefined, handle: undefined,
      },
    };
  }
  async function uploadUnencryptedMedia() { throw new Error("uploadUnencryptedMedia: channels are not supported by the stand-in"); }
  async function encryptAndUpload({ blob, type, mediaKey } = {}) {
    await sleep(20);
    if (!(blob instanceof Blob)) throw new TypeError("encryptAndUpload: blob is not a Blob");
    if (typeof mediaKey !== "string" || !mediaKey) throw new TypeError("encryptAndUpload: no mediaKey");
    const e = await storeOnServer(new Uint8Array(await blob.arrayBuffer()), blob.type, encodeB64(new TextEncoder().encode(mediaKey)), type);
    return {
      url: "https://mmg.whatsapp.net" + e.directPath, directPath: e.directPath, encFilehash: e.encFilehash,
      mediaKey: e.mediaKey, mediaKeyTimestamp: e.mediaKeyTimestamp,
    };
  }

  // Download: the server's bytes, when the caller's key and hashes are the message's.
  async function downloadAndMaybeDecrypt({ directPath, encFilehash, filehash, mediaKey } = {}) {
    await sleep(20);
    const e = directPath ? mediaServer.get(directPath) : undefined;
    if (!e) { const err = new Error("downloadAndMaybeDecrypt: 404"); err.status = 404; throw err; }
    if (mediaKey !== e.mediaKey || encFilehash !== e.encFilehash) throw new Error("downloadAndMaybeDecrypt: media key / encFilehash mismatch (decryption failed)");
    if (filehash !== undefined && filehash !== e.filehash) throw new Error("downloadAndMaybeDecrypt: filehash mismatch");
    return decodeB64(e.b64).buffer;
  }

  class MsgModel extends Model {
    constructor(attrs) { super(attrs, MSG_ATTRS); }
    unsafe() { return this; }
    // The fields a reply spreads into itself (whatsapp-web.js passes the chat; wa-js its Wid).
    msgContextInfo(chatOrWid) {
      const chatId = chatOrWid instanceof Wid ? chatOrWid : chatOrWid && chatOrWid.id;
      const quotedMsg = {};
      for (const k of ["type", "body", "caption", "mimetype", "filename", "size", "directPath", "mediaKey", "filehash", "encFilehash"]) {
        if (this[k] !== undefined) quotedMsg[k] = this[k];
      }
      const participant = this.id.fromMe ? this.from : (this.author || this.from);
      const info = { quotedMsg, quotedStanzaID: this.id.id, quotedParticipant: participant };
      if (chatId instanceof Wid && !chatId.equals(this.id.remote)) info.quotedRemoteJid = this.id.remote;
      return info;
    }
    async downloadMedia() {
      await sleep(10);
      if (!this.mediaData) return;
      const e = mediaServer.get(this.directPath);
      this.mediaData.set("mediaStage", e ? "RESOLVED" : "ERROR_MISSING");
      storeMsg(this);
    }
  }
  function attachMediaData(model, stage) {
    if (!MEDIA_TYPES.includes(model.type) || !model.directPath || model.mediaData instanceof Model) return;
    const a = { mediaStage: stage };
    for (const k of MEDIA_ATTRS) if (k !== "mediaStage" && model[k] !== undefined && !(model[k] instanceof OpaqueData)) a[k] = model[k];
    model._attrs.mediaData = new Model(a, MEDIA_ATTRS);
  }
  const getQuotedMsgObj = (msg) => {
    if (!msg || !msg.quotedStanzaID) return undefined;
    const loaded = Msg.getModelsArray().find((m) => m.id.id === msg.quotedStanzaID);
    if (loaded) return loaded;
    const remote = msg.quotedRemoteJid || msg.id.remote;
    const me = [mePn(), meLid()].filter(Boolean);
    const fromMe = me.some((w) => w.equals(msg.quotedParticipant));
    const key = new MsgKey({ fromMe, remote, id: msg.quotedStanzaID, participant: remote.isGroup() ? msg.quotedParticipant : undefined });
    return new MsgModel(Object.assign({ id: key, from: fromMe ? msg.quotedParticipant : remote, isNewMsg: false }, msg.quotedMsg || {}));
  };
  const canReplyMsg = (msg) => msg instanceof MsgModel && !NOT_REPLIABLE.includes(msg.type);

  // Reactions: every row, received or own, goes through reactionTableMode.bulkUpsert, looked up
  // at call time (so a wrapper installed on the module sees it, as in WA Web).
  const reactionRows = [];
  function upsertReaction(parent, senderWid, emoji, fromMe) {
    const chatWid = parent.id.remote;
    const key = new MsgKey({ fromMe, remote: chatWid, id: fromMe ? "3EB0" + hex(9) : phoneMsgId(), participant: chatWid.isGroup() ? senderWid : undefined });
    const row = {
      id: key, reactionParentKey: parent.id, reactionText: emoji, reactionTimestamp: Date.now(),
      author: chatWid.isGroup() ? senderWid : undefined, from: senderWid, orphan: 0, orphanReason: null, read: fromMe, ack: fromMe ? 1 : undefined,
    };
    MODULES.WAWebAddonReactionTableMode.reactionTableMode.bulkUpsert([row]);
    parent.set("hasReaction", true);
    return key.id;
  }
  function ownWidFor(chatWid) {
    const lid = chatWid.isGroup() ? !!ctl.get("lidGroups", {})[chatWid.toString()] : chatWid.isLid();
    return lid ? meLid() : mePn() || meLid();
  }
  async function sendReactionToMsg(msg, reactionText) {
    await sleep(10);
    if (!(msg instanceof MsgModel)) throw new TypeError("sendReactionToMsg: expected a message model");
    if (typeof reactionText !== "string") throw new TypeError("sendReactionToMsg: reactionText is not a string");
    if (msg.type === "revoked") throw new Error("sendReactionToMsg: the message was revoked");
    ctl.set("reactions", [...ctl.get("reactions", []), { msgId: msg.id.id, serialized: String(msg.id), chat: String(msg.id.remote), emoji: reactionText }]);
    later(() => upsertReaction(msg, ownWidFor(msg.id.remote), reactionText, true), 0, "reaction");
    return "OK";
  }

  // Edits and revokes change the same message model (change:body / change:caption, change:type).
  function applyEdit(m, text, editorFromMe) {
    const field = MEDIA_TYPES.includes(m.type) ? "caption" : "body";
    const prev = m[field];
    m.set({
      latestEditMsgKey: new MsgKey({ fromMe: editorFromMe, remote: m.id.remote, id: editorFromMe ? "3EB0" + hex(9) : phoneMsgId(), participant: m.id.participant }),
      latestEditSenderTimestampMs: Date.now(),
    });
    m.set(field, text);
    storeMsg(m);
    return prev;
  }
  function applyRevoke(m, subtype) {
    m.set({ type: "revoked", subtype, protocolMessageKey: m.id, body: undefined, caption: undefined });
    storeMsg(m);
  }
  const canEditText = (m) => m instanceof MsgModel && !!m.id.fromMe && EDITABLE(m);
  const canEditCaption = (m) => m instanceof MsgModel && !!m.id.fromMe && ["image", "video", "document"].includes(m.type);
  const canSenderRevokeMsg = (m) => m instanceof MsgModel && !!m.id.fromMe && m.type !== "revoked";
  const canAdminRevokeMsg = () => false;
  async function sendMessageEdit(msg, text, options = {}) {
    await sleep(20);
    if (!canEditText(msg) && !canEditCaption(msg)) throw new Error("sendMessageEdit: this message cannot be edited");
    if (typeof text !== "string") throw new TypeError("sendMessageEdit: the new text is not a string");
    const mentions = (options && options.mentionedJidList) || [];
    if (mentions.some((w) => !(w instanceof Wid))) throw new TypeError("sendMessageEdit: mentionedJidList must hold Wids");
    const prev = applyEdit(msg, text, true);
    ctl.set("edits", [...ctl.get("edits", []), { msgId: msg.id.id, serialized: String(msg.id), text, previous: prev === undefined ? null : prev, mentions: mentions.map(String) }]);
  }
  Cmd.sendRevokeMsgs = function sendRevokeMsgs(chat, spec, options) {
    const list = Array.isArray(spec) ? spec : spec && spec.list;
    if (!(chat instanceof Model) || !(chat.id instanceof Wid)) throw new TypeError("sendRevokeMsgs: expected a chat model");
    if (!Array.isArray(list)) throw new TypeError("sendRevokeMsgs: expected {list: [msg], type: 'message'}");
    for (const m of list) {
      if (!(m instanceof MsgModel) || !m.id.remote.equals(chat.id)) throw new TypeError("sendRevokeMsgs: a message is not of this chat");
      if (!canSenderRevokeMsg(m)) { report("sendRevokeMsgs", new Error("cannot revoke " + m.id)); continue; }
      ctl.set("revokes", [...ctl.get("revokes", []), { msgId: m.id.id, serialized: String(m.id), chat: String(chat.id), clearMedia: options ? options.clearMedia : undefined }]);
      later(() => applyRevoke(m, "sender_revoke"), 20, "revoke");
    }
  };

  async function forwardMessages({ chat, msgs, includeCaption } = {}) {
    await sleep(10);
    if (!(chat instanceof Model) || !(chat.id instanceof Wid) || Chat.get(chat.id) !== chat) throw new TypeError("forwardMessages: chat is not a chat model of the Chat collection");
    if (!Array.isArray(msgs) || msgs.some((m) => !(m instanceof MsgModel))) throw new TypeError("forwardMessages: msgs must be message models");
    const results = [];
    for (const src of msgs) {
      if (src.type === "revoked") throw new Error("forwardMessages: cannot forward a revoked message");
      const from = ownWidFor(chat.id);
      const key = new MsgKey({ from, to: chat.id, id: await MsgKey.newId(), participant: chat.id.isGroup() ? from : undefined, selfDir: "out" });
      const copy = { id: key, from, to: chat.id, ack: 0, t: now(), isNewMsg: true, type: src.type, body: src.body,
        isForwarded: true, forwardingScore: (src.forwardingScore || 0) + 1, ...getEphemeralFields(chat) };
      for (const k of ["mimetype", "filename", "size", "directPath", "mediaKey", "mediaKeyTimestamp", "filehash", "encFilehash"]) if (src[k] !== undefined) copy[k] = src[k];
      if (includeCaption && src.caption !== undefined) copy.caption = src.caption;
      const [added, sent] = addAndSendMsgToChat(chat, copy);
      await added;
      ctl.set("forwards", [...ctl.get("forwards", []), { source: String(src.id), sourceId: src.id.id, target: String(chat.id), id: key.id, serialized: String(key) }]);
      results.push(await sent);
    }
    return results;
  }

  // ---------------------------------------------------------------- structured messages
  // Locations, contact cards and polls, as surface.json describes them: sent through
  // addAndSendMsgToChat with their own fields (whatsapp-web.js Utils.js sendMessage 220-339),
  // received as Msg 'add' (Message.js 173-198, 329-342), votes through
  // pollVoteTableMode.bulkUpsert and the 'poll-votes' table (Client.js 1197-1237, 3404-3432).
  // Contacts' names are test control; loaded contacts and stored votes are WA state.
  const Contact = new Collection();
  const orNull = (v) => (v === undefined ? null : v);
  const contactName = (w) => ctl.get("contactNames", {})[w.toString()];
  const formattedNameOf = (w) => contactName(w) || (w.server === "c.us" ? "+" + w.user : w.user);
  function contactFor(w) {
    return Contact.get(w) || Contact.add(new Model({ id: w, name: contactName(w), formattedName: formattedNameOf(w) }));
  }
  Contact.find = async function find(id) {
    await sleep(5);
    const w = id instanceof Wid ? id : new Wid(String(id));
    if (!w.isUser()) throw new Error("Contact.find: not a user: " + w);
    return contactFor(w);
  };
  function nameContactNow(jid, name) {
    const w = new Wid(jid);
    ctl.set("contactNames", Object.assign(ctl.get("contactNames", {}), { [w.toString()]: name }));
    const c = Contact.get(w);
    if (c) later(() => c.set({ name, formattedName: formattedNameOf(w) }), 0, "nameContact");
    return true;
  }

  // vCards: WhatsApp cards give the number as TEL;...;waid=<number>:<number> (baileys README.md:525).
  function vcardText(name, w) {
    const tel = w.server === "c.us" ? ["TEL;type=CELL;type=VOICE;waid=" + w.user + ":+" + w.user] : [];
    return ["BEGIN:VCARD", "VERSION:3.0", "N:;" + name + ";;;", "FN:" + name, ...tel, "END:VCARD"].join("\n");
  }
  function vcardFromContactModel(contact) {
    if (!(contact instanceof Model) || !(contact.id instanceof Wid) || Contact.get(contact.id) !== contact) {
      throw new TypeError("vcardFromContactModel: expected a contact model of the Contact collection");
    }
    return { displayName: contact.formattedName, vcard: vcardText(contact.formattedName, contact.id), isMultiVcard: false };
  }
  // The card's properties by upper-cased name (parameters and item groups dropped); throws for a non-card.
  function parseVcard(text) {
    if (typeof text !== "string") throw new TypeError("parseVcard: expected a string");
    const lines = text.replace(/\r\n?/g, "\n").split("\n").map((l) => l.trim()).filter(Boolean);
    if (lines.length < 2 || lines[0].toUpperCase() !== "BEGIN:VCARD" || lines[lines.length - 1].toUpperCase() !== "END:VCARD") {
      throw new Error("parseVcard: not a vCard");
    }
    const props = {};
    for (const line of lines.slice(1, -1)) {
      const colon = line.indexOf(":");
      if (colon <= 0) continue;
      const name = line.slice(0, colon).split(";")[0].replace(/^item\d+\./i, "").toUpperCase();
      (props[name] = props[name] || []).push(line.slice(colon + 1));
    }
    return props;
  }
  function vcardGetNameFromParsed(parsed) {
    if (!parsed || typeof parsed !== "object") throw new TypeError("vcardGetNameFromParsed: expected a parsed vCard");
    if (parsed.FN && parsed.FN[0]) return parsed.FN[0];
    const [family = "", given = ""] = (parsed.N ? parsed.N[0] : "").split(";");
    return [given, family].filter(Boolean).join(" ");
  }
  const isVcard = (text) => { try { parseVcard(text); return true; } catch (e) { return false; } };

  // WALinkify.findLink: the first link in a text, {url, href}, or null (also for a non-string).
  const LINK_RE = /(?:https?:\/\/|www\.)[^\s<>"]+|\b[a-z0-9-]+(?:\.[a-z0-9-]+)*\.[a-z]{2,}(?:\/[^\s<>"]*)?/i;
  function findLink(text) {
    const m = typeof text === "string" ? LINK_RE.exec(text) : null;
    if (!m) return null;
    try { return { url: m[0], href: new URL(/^https?:\/\//i.test(m[0]) ? m[0] : "http://" + m[0]).href }; } catch (e) { return null; }
  }

  // The stanza a message goes out in. The server delivers what baileys sends (getMessageType /
  // getMediaType, messages-send.ts 2019-2081); WA Web computes it with typeAttributeFromProtobuf /
  // mediaTypeFromProtobuf, looked up at call time so wrappers apply. WA Web's own functions treat a
  // static location as media, which the server acks but never delivers (wppconnect#1237): the
  // reason whatsapp-web.js (Utils.js 95-111) and wa-js wrap both.
  const PROTO_KEYS = { chat: "extendedTextMessage", image: "imageMessage", video: "videoMessage", audio: "audioMessage",
    ptt: "audioMessage", document: "documentMessage", sticker: "stickerMessage", location: "locationMessage",
    vcard: "contactMessage", multi_vcard: "contactsArrayMessage", poll_creation: "pollCreationMessage" };
  const PROTO_MEDIA = { imageMessage: "image", documentMessage: "document", stickerMessage: "sticker",
    contactMessage: "vcard", contactsArrayMessage: "contact_array", liveLocationMessage: "livelocation" };
  function protoOf(msg) {
    const key = PROTO_KEYS[msg.type] || "extendedTextMessage";
    if (key === "videoMessage") return { videoMessage: { gifPlayback: !!msg.isGif } };
    if (key === "audioMessage") return { audioMessage: { ptt: msg.type === "ptt" } };
    return { [key]: {} };
  }
  function mediaTypeOf(proto, waOwn) {
    if (proto.videoMessage) return proto.videoMessage.gifPlayback ? "gif" : "video";
    if (proto.audioMessage) return proto.audioMessage.ptt ? "ptt" : "audio";
    const key = Object.keys(PROTO_MEDIA).find((k) => proto[k]);
    if (key) return PROTO_MEDIA[key];
    return waOwn && proto.locationMessage ? "location" : null;
  }
  function typeAttributeOf(proto, mediatype) {
    if (proto.pollCreationMessage || proto.pollUpdateMessage) return "poll";
    if (proto.reactionMessage) return "reaction";
    return mediatype ? "media" : "text";
  }
  const mediaTypeFromProtobuf = (proto) => mediaTypeOf(proto, true);
  const typeAttributeFromProtobuf = (proto) => typeAttributeOf(proto, mediaTypeOf(proto, true));
  function stanzaOf(msg) {
    const proto = protoOf(msg);
    const wantMedia = mediaTypeOf(proto, false);
    const want = { type: typeAttributeOf(proto, wantMedia), mediatype: wantMedia };
    let type;
    let mediatype;
    try {
      type = MODULES.WAWebE2EProtoUtils.typeAttributeFromProtobuf(proto);
      mediatype = MODULES.WAWebBackendJobsCommon.mediaTypeFromProtobuf(proto) || null;
    } catch (e) {
      return { type: null, mediatype: null, error: "encoding the stanza threw: " + e.message, undelivered: null };
    }
    const same = type === want.type && mediatype === want.mediatype;
    const undelivered = same ? null : `sent as type '${type}' mediatype ${mediatype}; recipients get only type '${want.type}' mediatype ${want.mediatype}`;
    return { type, mediatype, error: null, undelivered };
  }

  // What the server refuses of locations, cards and polls, and what sent() records of them.
  const inRange = (x, limit) => typeof x === "number" && Number.isFinite(x) && Math.abs(x) <= limit;
  function locationProblem(m) {
    if (!inRange(m.lat, 90) || !inRange(m.lng, 180)) return "a location needs numbers lat (-90..90) and lng (-180..180)";
    if (m.loc !== undefined && typeof m.loc !== "string") return "loc must be a string";
    if (m.clientUrl !== undefined && typeof m.clientUrl !== "string") return "clientUrl must be a string";
    return null;
  }
  function multiVcardProblem(m) {
    const list = m.vcardList;
    if (!Array.isArray(list) || !list.length || list.some((c) => !c || !isVcard(c.vcard))) return "vcardList must be [{displayName, vcard}] with vCard texts";
    return null;
  }
  function pollProblem(m) {
    const opts = m.pollOptions;
    if (typeof m.pollName !== "string" || !m.pollName) return "a poll needs a pollName";
    if (!Array.isArray(opts) || !opts.length || opts.some((o) => !o || typeof o.name !== "string" || !o.name || !Number.isInteger(o.localId))) {
      return "pollOptions must be [{name, localId}]";
    }
    if (new Set(opts.map((o) => o.localId)).size !== opts.length) return "pollOptions' localIds must be unique";
    const count = m.pollSelectableOptionsCount;
    if (!Number.isInteger(count) || count < 0 || count > opts.length) return "pollSelectableOptionsCount must be 0 (any) .. the number of options";
    if (!(m.messageSecret instanceof Uint8Array) || m.messageSecret.length !== 32) return "a poll needs messageSecret, a Uint8Array(32) (votes are encrypted with it)";
    return null;
  }
  function structuredProblem(m) {
    if (m.type === "location") return locationProblem(m);
    if (m.type === "vcard") return isVcard(m.body) ? null : "a 'vcard' message's body must be a vCard text";
    if (m.type === "multi_vcard") return multiVcardProblem(m);
    if (m.type === "poll_creation") return pollProblem(m);
    return null;
  }
  function cardsOf(m) {
    if (m.type === "vcard") return [{ name: orNull(m.vcardFormattedName), vcard: orNull(m.body) }];
    if (m.type !== "multi_vcard" || !Array.isArray(m.vcardList)) return null;
    return m.vcardList.map((c) => ({ name: orNull(c && c.displayName), vcard: orNull(c && c.vcard) }));
  }
  const optionsOf = (m) => (Array.isArray(m.pollOptions)
    ? m.pollOptions.map((o) => ({ name: orNull(o && o.name), localId: orNull(o && o.localId) })) : null);
  function structuredRecord(m) {
    return {
      lat: orNull(m.lat), lng: orNull(m.lng), loc: orNull(m.loc), clientUrl: orNull(m.clientUrl), vcards: cardsOf(m),
      pollName: orNull(m.pollName), pollOptions: optionsOf(m),
      pollSelectableOptionsCount: orNull(m.pollSelectableOptionsCount), kind: orNull(m.kind),
      messageSecret: m.messageSecret instanceof Uint8Array ? encodeB64(m.messageSecret) : orNull(m.messageSecret),
    };
  }

  // Received locations, cards and polls (as the phone's network delivers them).
  const locText = (name, address) => (name && address ? name + "\n" + address : name || address || undefined);
  function receiveLocationNow(from, lat, lng, opts = {}) {
    const extra = { lat, lng, loc: locText(opts.name, opts.address), clientUrl: opts.url == null ? undefined : opts.url };
    const problem = locationProblem(extra);
    if (problem) throw new Error("receiveLocation: " + problem);
    return inbound({ from, author: opts.author, type: "location", extra });
  }
  const cardOf = (vcard) => ({ displayName: vcardGetNameFromParsed(parseVcard(vcard)), vcard });
  function receiveVcardNow(from, vcard, opts = {}) {
    const card = cardOf(vcard);
    return inbound({ from, author: opts.author, type: "vcard", body: vcard, extra: { vcardFormattedName: card.displayName } });
  }
  function receiveMultiVcardNow(from, vcards, opts = {}) {
    if (!Array.isArray(vcards) || !vcards.length) throw new Error("receiveMultiVcard: give a list of vCard texts");
    return inbound({ from, author: opts.author, type: "multi_vcard", extra: { vcardList: vcards.map(cardOf) } });
  }
  function receivePollNow(from, name, options, opts = {}) {
    const extra = {
      pollName: name, pollOptions: (options || []).map((n, i) => ({ name: n, localId: i })),
      pollSelectableOptionsCount: opts.multiple ? 0 : 1, messageSecret: random(32),
    };
    const problem = pollProblem(extra);
    if (problem) throw new Error("receivePoll: " + problem);
    return inbound({ from, author: opts.author, type: "poll_creation", extra });
  }

  // Poll votes: every vote row, the line's polls or others', goes through
  // pollVoteTableMode.bulkUpsert (looked up at call time, so a wrapper sees it), which stores the
  // voter's current selection in the 'poll-votes' table (WAWebPollsVotesSchema).
  const pollVoteRows = [];
  function storeVote(row) {
    const parent = String(row.pollUpdateParentKey);
    const sender = String(row.author || row.from);
    const votes = wa.get("pollVotes", []).filter((v) => !(v.parentMsgKey === parent && v.sender === sender));
    votes.push({ parentMsgKey: parent, msgKey: String(row.id), sender, senderTimestampMs: row.senderTimestampMs,
      selectedOptionLocalIds: row.selectedOptionLocalIds.slice() });
    wa.set("pollVotes", votes);
  }
  function bulkUpsertVotes(rows) {
    if (!Array.isArray(rows)) throw new TypeError("bulkUpsert: expected an array of rows");
    pollVoteRows.push(...rows);
    for (const r of rows) storeVote(r);
    return sleep(5).then(() => rows.map((r) => r.id));
  }
  const pollVotesTable = {
    async equals(index, value) {
      await sleep(5);
      if (!Array.isArray(index) || index.join() !== "parentMsgKey") throw new Error("poll-votes: only the ['parentMsgKey'] index");
      if (typeof value !== "string") throw new TypeError("poll-votes: query with the poll key's string");
      return wa.get("pollVotes", []).filter((v) => v.parentMsgKey === value)
        .map((v) => Object.assign({}, v, { selectedOptionLocalIds: Uint8Array.from(v.selectedOptionLocalIds).buffer }));
    },
  };
  // The poll: loaded, else a stored one (not loaded: whatsapp-web.js then finds it with getMessagesById).
  function findPoll(id) {
    const loaded = findMsg(id);
    if (loaded) return loaded;
    const all = wa.get("msgs", {});
    const key = Object.keys(all).find((k) => k === id || all[k].key.id === id);
    return key ? modelOf(all[key]) : undefined;
  }
  function voteProblem(poll, ids) {
    if (!poll || poll.type !== "poll_creation") return "no poll";
    if (!(poll.messageSecret instanceof Uint8Array) || poll.messageSecret.length !== 32) return "the poll has no messageSecret: its votes cannot be decrypted";
    const known = poll.pollOptions.map((o) => o.localId);
    if (ids.some((i) => !known.includes(i))) return "unknown option localId (options: " + known.join(", ") + ")";
    const max = poll.pollSelectableOptionsCount;
    if (max > 0 && ids.length > max) return "a single-choice poll takes at most " + max + " option";
    return null;
  }
  function receivePollVoteNow(voterJid, pollId, localIds) {
    if (!synced) throw new Error("the line is not connected and synced");
    const poll = findPoll(pollId);
    const ids = [...new Set(localIds || [])];
    const problem = voteProblem(poll, ids);
    if (problem) throw new Error("receivePollVote: " + problem + " (" + pollId + ")");
    const voter = new Wid(voterJid);
    const chatWid = poll.id.remote;
    const key = new MsgKey({ fromMe: false, remote: chatWid, id: phoneMsgId(), participant: chatWid.isGroup() ? voter : undefined });
    const ms = Date.now();
    const row = { id: key, pollUpdateParentKey: poll.id, selectedOptionLocalIds: ids, senderTimestampMs: ms, t: ms,
      author: chatWid.isGroup() ? voter : undefined, from: voter };
    later(() => MODULES.WAWebAddonPollVoteTableMode.pollVoteTableMode.bulkUpsert([row]), 0, "receivePollVote");
    return key.id;
  }

  // ---------------------------------------------------------------- groups, read, chat states, presence
  // Groups as whatsapp-web.js reads them (Utils.js getChats / getChatModel 920-1007: Chat.getModelsArray,
  // chat.groupMetadata, GroupMetadata.update(wid), WAWebLidMigrationUtils.toPn, GroupChat.js
  // participants {id, isAdmin, isSuperAdmin}, subject, desc, owner) and gp2 notifications (Client.js
  // onAddMessageEvent 591-640: msg.subtype, msg.recipients, msg.author). "The world" (each group's
  // subject and members on the server) is test control; what this line has loaded is WA state.
  const GROUP_SUBTYPES = ["add", "invite", "remove", "leave", "promote", "demote"];
  const GroupMetadata = new Collection();
  const Presence = new Collection();
  const groupWorld = () => ctl.get("groups", {});
  const saveGroupWorld = (g) => ctl.set("groups", g);
  const lidAddressed = (jid) => !!ctl.get("lidGroups", {})[jid];
  // A member's Wid as this group addresses it: LID-addressed groups list LIDs (WA learns their
  // phone numbers from the group's metadata), others phone numbers.
  function memberWid(groupJid, jid) {
    const w = new Wid(jid);
    if (!lidAddressed(groupJid) || w.isLid() || w.server !== "c.us") return w;
    const lid = lidFor(w.user);
    if (!lid) return w;
    learnLid(w.user);
    return new Wid(lid + "@lid");
  }
  function participantModel(groupJid, p) {
    return new Model({ id: memberWid(groupJid, p.jid), isAdmin: !!p.isAdmin, isSuperAdmin: !!p.isSuperAdmin });
  }
  // The loaded metadata takes the server's state (adds, removes and flag changes fire their events).
  function refreshGroupMetadata(meta) {
    const jid = meta.id.toString();
    const g = groupWorld()[jid];
    const lid = lidAddressed(jid);
    if (!g) { meta.set("isLidAddressingMode", lid); return meta; }
    meta.set({ subject: g.subject, desc: g.desc, owner: g.owner ? memberWid(jid, g.owner) : undefined, creation: g.creation,
      announce: false, restrict: false, isLidAddressingMode: lid });
    const parts = meta.participants;
    const want = new Map(g.participants.map((p) => [String(memberWid(jid, p.jid)), p]));
    for (const m of parts.getModelsArray()) if (!want.has(String(m.id))) parts.remove(m);
    for (const [key, p] of want) {
      const m = parts.get(key);
      if (m) m.set({ isAdmin: !!p.isAdmin, isSuperAdmin: !!p.isSuperAdmin });
      else parts.add(participantModel(jid, p));
    }
    return meta;
  }
  function groupMetadataFor(w) {
    let meta = GroupMetadata.get(w);
    if (meta) return meta;
    meta = new Model({ id: w, isLidAddressingMode: lidAddressed(w.toString()) },
      ["subject", "desc", "owner", "creation", "announce", "restrict"]);
    Object.defineProperty(meta, "participants", { value: new Collection(), enumerable: false });
    // serialize() as WA Web's: participants as plain objects.
    meta.serialize = function serialize() {
      return Object.assign({}, this._attrs, { participants: this.participants.getModelsArray().map((p) => p.serialize()) });
    };
    GroupMetadata.add(meta);
    return refreshGroupMetadata(meta);
  }
  GroupMetadata.update = async function update(w) {
    await sleep(10);
    const wid = w instanceof Wid ? w : new Wid(String(w));
    if (!wid.isGroup()) throw new Error("GroupMetadata.update: not a group: " + wid);
    return refreshGroupMetadata(groupMetadataFor(wid));
  };
  function toPn(w) {
    if (!(w instanceof Wid)) throw new TypeError("toPn: expected a Wid");
    if (w.server === "c.us") return w;
    return w.isLid() ? getPhoneNumber(w) : null;
  }
  function createGroupNow(subject, participants) {
    if (!synced) throw new Error("the line is not connected and synced");
    if (typeof subject !== "string" || !subject) throw new Error("createGroup: a subject is needed");
    const mine = mePn() || meLid();
    const list = (participants || []).map((p) => ({ jid: String(new Wid(p.jid)), isAdmin: !!(p.isAdmin || p.isSuperAdmin), isSuperAdmin: !!p.isSuperAdmin }));
    const owner = list.find((p) => p.isSuperAdmin);
    if (!list.some((p) => p.jid === String(mine))) list.push({ jid: String(mine), isAdmin: !owner, isSuperAdmin: !owner });
    const jid = "120363" + String(Date.now()).slice(-8) + String(fnv(hex(4), 5381) % 1e4).padStart(4, "0") + "@g.us";
    const world = groupWorld();
    world[jid] = { subject, desc: undefined, owner: owner ? owner.jid : String(mine), creation: now(), participants: list };
    saveGroupWorld(world);
    later(() => chatFor(new Wid(jid)), 0, "createGroup");
    return jid;
  }
  function groupNotificationNow(groupJid, subtype, jids, author) {
    if (!GROUP_SUBTYPES.includes(subtype)) throw new Error("groupNotification: subtype must be one of " + GROUP_SUBTYPES.join(", "));
    const world = groupWorld();
    const g = world[groupJid];
    if (!g) throw new Error("groupNotification: no group " + groupJid + " (use createGroup)");
    const who = (jids || []).map((j) => String(new Wid(j)));
    if (!who.length) throw new Error("groupNotification: name the participants");
    const by = author ? String(new Wid(author)) : (subtype === "leave" || subtype === "invite" ? who[0] : g.owner);
    for (const j of who) {
      const i = g.participants.findIndex((p) => p.jid === j);
      if (subtype === "add" || subtype === "invite") { if (i < 0) g.participants.push({ jid: j, isAdmin: false, isSuperAdmin: false }); }
      else if (subtype === "remove" || subtype === "leave") { if (i >= 0) g.participants.splice(i, 1); }
      else if (i >= 0) g.participants[i].isAdmin = subtype === "promote";
    }
    saveGroupWorld(world);
    const recipients = who.map((j) => memberWid(groupJid, j));
    return inbound({ from: groupJid, author: String(memberWid(groupJid, by)), type: "gp2", subtype, extra: { recipients },
      then: () => { const meta = GroupMetadata.get(groupJid); if (meta) refreshGroupMetadata(meta); } });
  }

  // Read receipts (Utils.js sendSeen 131-143) and the line's own presence.
  const Stream = new Model({ available: false, displayInfo: "NORMAL" });
  Stream.markAvailable = function markAvailable() { Stream.set("available", true); };
  Stream.markUnavailable = function markUnavailable() { Stream.set("available", false); };
  const liveChat = (chat, where) => {
    if (!(chat instanceof Model) || !(chat.id instanceof Wid) || Chat.get(chat.id) !== chat) {
      throw new TypeError(where + ": expected a chat model of the Chat collection");
    }
    return chat;
  };
  async function sendSeen(opts) {
    const chat = liveChat(opts && opts.chat, "sendSeen");
    await sleep(10);
    ctl.set("seen", [...ctl.get("seen", []), { chat: chat.id.toString(), available: !!Stream.available }]);
    chat.set("unreadCount", 0);
  }
  // Chat states (Utils.js sendChatstate 1201-1222): WAWebChatStateBridge takes the chat's Wid.
  const chatStateSender = (state) => async function send(w) {
    if (!(w instanceof Wid)) throw new TypeError("sendChatState: expected a Wid");
    await sleep(5);
    ctl.set("chatStates", [...ctl.get("chatStates", []), { chat: w.toString(), state }]);
  };
  const ownPresence = (state) => () => { ctl.set("presences", [...ctl.get("presences", []), state]); };

  // Others' presence (wa-js registerPresenceChange.ts 25-79): WAWebCollections.Presence holds one
  // model per chat (chat.presence); after presence.subscribe() the server sends that contact's
  // state: isOnline, hasData and chatstate.type ('available' | 'unavailable' | 'typing' |
  // 'recording_audio'; 'idle' settles on available / unavailable), firing 'change:chatstate.type'
  // (chatstate, type, previous) on the presence and so on the collection. Groups also keep one
  // chatstate per member in presence.chatstates.
  const CHATSTATES = ["available", "unavailable", "typing", "recording_audio", "idle"];
  const CHATSTATE_ALIASES = { composing: "typing", recording: "recording_audio", paused: "idle" };
  function chatstateModel(owner, w) {
    const cs = new Model({ id: w }, ["type", "t", "deny"]);
    cs.on("change:type", (m, v, prev) => owner.trigger("change:chatstate.type", m, v, prev));
    return cs;
  }
  function presenceFor(w) {
    let p = Presence.get(w);
    if (p) return p;
    p = new Model({ id: w, isOnline: false, hasData: false, isSubscribed: false, isGroup: w.isGroup(), isUser: w.isUser() });
    Object.defineProperty(p, "chatstate", { value: chatstateModel(p, w), enumerable: false });
    Object.defineProperty(p, "chatstates", { value: new Collection(), enumerable: false });
    p.subscribe = async function subscribe() { await sleep(5); p.set("isSubscribed", true); };
    Presence.add(p);
    return p;
  }
  function contactPresenceNow(chatJid, jid, state) {
    const type = CHATSTATE_ALIASES[state] || state;
    if (!CHATSTATES.includes(type)) throw new Error("contactPresence: state must be one of " + CHATSTATES.join(", "));
    const chatWid = new Wid(chatJid);
    const who = new Wid(jid || chatJid);
    const p = presenceFor(chatWid);
    if (!p.isSubscribed) return false; // the server sends presence only to subscribers
    later(() => {
      const online = type === "idle" ? p.isOnline || chatWid.isGroup() : type !== "unavailable";
      const settled = type === "idle" ? (online ? "available" : "unavailable") : type;
      if (chatWid.isGroup()) {
        let member = p.chatstates.get(who);
        if (!member) member = p.chatstates.add(new Model({ id: who }, ["type", "t"]));
        member.set({ type: settled, t: now() });
      } else {
        p.set("isOnline", online);
      }
      p.set("hasData", true);
      p.chatstate.set({ t: now() });
      p.chatstate.set("type", settled);
    }, 0, "contactPresence");
    return true;
  }

  // ---------------------------------------------------------------- modules
  // Placeholder-resend requests (optional modules) are recorded; they decrypt nothing.
  const resendRequests = [];
  const MODULES = {
    WAWebSocketModel: { Socket },
    WAWebConnModel: { Conn },
    WAWebCmd: { Cmd },
    WAWebUserPrefsInfoStore: {
      waNoiseInfo: {
        get: async () => ({ staticKeyPair: { pubKey: keyBuffer("noisePub"), privKey: keyBuffer("noisePriv") }, recoveryToken: keyBuffer("recovery") }),
      },
    },
    WAWebSignalStoreApi: {
      waSignalStore: {
        getRegistrationInfo: async () => ({ identityKeyPair: { pubKey: keyBuffer("identityPub"), privKey: keyBuffer("identityPriv") }, registrationId: 4242 }),
      },
    },
    WAWebUserPrefsMultiDevice: { getADVSecretKey: () => keyB64("adv") },
    WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: "1" },
    WABase64: { encodeB64 },
    WAWebAltDeviceLinkingApi: {
      setPairingType(type) { pairingType = type; },
      async initializeAltDeviceLinking() {
        await sleep(20);
        altLinking = true;
        stopQr();
        wa.set("adv", encodeB64(random(32)));
      },
      async startAltLinkingFlow(phoneNumber, showNotification) {
        await sleep(50);
        if (!altLinking || pairingType !== "ALT_DEVICE_LINKING") throw new Error("startAltLinkingFlow: alt device linking is not initialized");
        if (!/^[0-9]{6,15}$/.test(String(phoneNumber))) throw new Error("startAltLinkingFlow: invalid phone number");
        if (isPaired()) throw new Error("startAltLinkingFlow: already paired");
        lastCode = pairingCode();
        codePhone = String(phoneNumber);
        ctl.set("pairingCodes", [...ctl.get("pairingCodes", []), lastCode]);
        return lastCode;
      },
      async initializeQRLinking() {
        await sleep(20);
        altLinking = false;
        pairingType = "QR";
        wa.set("adv", encodeB64(random(32)));
      },
    },
    WAWebUserPrefsMeUser: { getMaybeMePnUser: () => mePn(), getMaybeMeLidUser: () => meLid() },
    WAWebCollections: { Msg, Chat, GroupMetadata, Presence, Contact },
    WAWebLidMigrationUtils: { toPn },
    WAWebUpdateUnreadChatAction: { sendSeen },
    WAWebStreamModel: { Stream },
    WAWebChatStateBridge: {
      sendChatStateComposing: chatStateSender("typing"),
      sendChatStateRecording: chatStateSender("recording"),
      sendChatStatePaused: chatStateSender("paused"),
    },
    WAWebPresenceChatAction: {
      sendPresenceAvailable: ownPresence("available"),
      sendPresenceUnavailable: ownPresence("unavailable"),
    },
    WAWebWidFactory: { createWid, asUserWidOrThrow, createWidFromWidLike: (w) => createWid(typeof w === "string" ? w : String(w)) },
    WAWebFindChatAction: { findOrCreateLatestChat },
    WAWebMsgKey: MsgKey,
    WAWebGetEphemeralFieldsMsgActionsUtils: { getEphemeralFields },
    WAWebSendMsgChatAction: { addAndSendMsgToChat },
    WAWebQueryExistsJob: { queryWidExists },
    WAWebApiContact: { getCurrentLid, getPhoneNumber },
    WAWebMediaOpaqueData: OpaqueData,
    WAWebPrepRawMedia: { prepRawMedia },
    WAWebMediaStorage: { getOrCreateMediaObject },
    WAWebMmsMediaTypes: { msgToMediaType, castToV4: (t) => t },
    WAWebMediaDataUtils: { shouldUseMediaCache: (t) => t === "IMAGE" || t === "STICKER" },
    WAWebMediaInMemoryBlobCache: { InMemoryMediaBlobCache: { put(filehash, data) { blobCache.set(filehash, data); } } },
    WAWebMediaMmsV4Upload: { uploadMedia, uploadUnencryptedMedia },
    WAWebUploadManager: { encryptAndUpload },
    WAWebStartMediaUploadQpl: { startMediaUploadQpl: (o) => ({ entryPoint: o && o.entryPoint, addAnnotations() { return this; }, addPoint() { return this; } }) },
    WAWebDownloadManager: { downloadManager: { downloadAndMaybeDecrypt } },
    WAWebMsgReply: { canReplyMsg },
    WAWebQuotedMsgModelUtils: { getQuotedMsgObj },
    WAWebSendReactionMsgAction: { sendReactionToMsg },
    WAWebAddonReactionTableMode: {
      reactionTableMode: {
        bulkUpsert(rows) {
          if (!Array.isArray(rows)) throw new TypeError("bulkUpsert: expected an array of rows");
          reactionRows.push(...rows);
          return sleep(5).then(() => rows.map((r) => r.id));
        },
      },
    },
    WAWebMsgActionCapability: { canEditText, canEditCaption, canSenderRevokeMsg, canAdminRevokeMsg },
    WAWebSendMessageEditAction: { sendMessageEdit },
    WAWebChatForwardMessage: { forwardMessages },
    WALinkify: { findLink },
    WAWebE2EProtoUtils: { typeAttributeFromProtobuf },
    WAWebBackendJobsCommon: { mediaTypeFromProtobuf },
    WAWebFrontendVcardUtils: { vcardFromContactModel },
    WAWebVcardParsingUtils: { parseVcard },
    WAWebVcardGetNameFromParsed: { vcardGetNameFromParsed },
    WAWebAddonPollVoteTableMode: { pollVoteTableMode: { bulkUpsert: bulkUpsertVotes } },
    WAWebPollsVotesSchema: { getTable: () => pollVotesTable },
    WAWebSyncGatingUtils: { isPlaceholderMessageResendEnabled: () => false },
    WAWebNonMessageDataRequestPlaceholderMessageResendUtils: {
      handlePlaceholderMsgsSeen(msgs, flag) {
        for (const m of msgs || []) resendRequests.push({ id: m && m.id ? String(m.id) : String(m), flag });
      },
    },
  };
  const BOOT_MODULES = ["WAWebSocketModel", "WAWebConnModel", "WAWebCmd", "WAWebUserPrefsInfoStore",
    "WAWebSignalStoreApi", "WAWebUserPrefsMultiDevice", "WAWebCompanionRegClientUtils", "WABase64",
    "WAWebAltDeviceLinkingApi", "WAWebUserPrefsMeUser"];
  const READY_MODULES = Object.keys(MODULES).filter((n) => !BOOT_MODULES.includes(n));

  window.require = function require(name) {
    if (!registered.has(name) || name === broken || ABSENT.includes(name) || !Object.prototype.hasOwnProperty.call(MODULES, name)) {
      throw new Error(`Requiring unknown module "${name}"`);
    }
    return MODULES[name];
  };

  // ---------------------------------------------------------------- test control
  const jidDigits = (x) => String(x).split("@")[0].replace(/^\+/, "");
  window.__standin = {
    modules: () => Object.keys(MODULES),
    state: () => ({
      state: Socket.state, hasSynced: Socket.hasSynced, paired: isPaired(), ready: synced, ref: Conn.ref,
      version: VERSION, me: me(), altLinking, url: location.href,
    }),
    async scan() {
      if (Socket.state !== "UNPAIRED" || altLinking || isPaired()) return false;
      return pair(ME_PN);
    },
    async enterPairingCode(code) {
      if (!lastCode || isPaired() || !["UNPAIRED", "UNPAIRED_IDLE"].includes(Socket.state)) return false;
      if (String(code).replace(/-/g, "").toUpperCase() !== lastCode) return false;
      return pair(codePhone);
    },
    pairingCodes: () => ctl.get("pairingCodes", []),
    refreshCount: () => ctl.get("refreshCount", 0),
    receive: (from, text) => inbound({ from, type: "chat", body: text }),
    receiveGroup: (groupJid, authorJid, text) => inbound({ from: groupJid, author: authorJid, type: "chat", body: text }),
    receiveCiphertext(from, text, decryptAfterMs = 200) {
      return inbound({
        from, type: "ciphertext",
        then: (model) => {
          if (decryptAfterMs < 0) return;
          later(() => { model.set({ body: text, type: "chat" }); storeMsg(model); }, decryptAfterMs, "decrypt");
        },
      });
    },
    receiveSystem: (from, type, subtype) => {
      if (!type || type === "chat") throw new Error("receiveSystem: give a system message type");
      return inbound({ from, type, subtype });
    },
    setAck(id, ack) {
      const m = findMsg(id);
      const all = wa.get("msgs", {});
      const stored = Object.keys(all).find((k) => k === id || all[k].key.id === id);
      if (!m && !stored) return false;
      later(() => {
        if (m) { setAckNow(m, ack); return; }
        const fresh = wa.get("msgs", {});
        fresh[stored].ack = ack;
        wa.set("msgs", fresh);
        const sent = ctl.get("sent", []);
        for (const s of sent) if (s.serialized === stored && !s.duplicate) s.ack = ack;
        ctl.set("sent", sent);
      }, 0, "setAck");
      return true;
    },
    sent: () => ctl.get("sent", []),
    receiveMedia(from, type, base64, mimetype, filename, caption, author) {
      if (!MEDIA_TYPES.includes(type)) throw new Error("receiveMedia: type must be one of " + MEDIA_TYPES.join(", "));
      if (!synced) throw new Error("the line is not connected and synced");
      if (new Wid(from).isGroup() && !author) throw new Error("receiveMedia: group messages need an author");
      const bytes = decodeB64(base64);
      const mediaKey = encodeB64(random(32));
      const id = phoneMsgId();
      const ready = storeOnServer(bytes, mimetype, mediaKey, "inbound").then((e) => ({
        directPath: e.directPath, mediaKey, mediaKeyTimestamp: e.mediaKeyTimestamp, filehash: e.filehash, encFilehash: e.encFilehash,
        mimetype, filename: filename == null ? undefined : filename, size: bytes.length,
        caption: caption == null ? undefined : caption, isGif: false,
      }));
      ready.then((extra) => inbound({
        from, author, type, id, extra,
        body: type === "image" || type === "video" ? PREVIEW : undefined,
      })).catch((e) => report("receiveMedia", e));
      return id;
    },
    receiveRich(from, text, opts = {}) {
      const extra = {};
      if (opts.quotedId) {
        const q = findMsg(opts.quotedId);
        if (!q) throw new Error("receiveRich: no loaded message " + opts.quotedId);
        Object.assign(extra, q.msgContextInfo(new Wid(from)));
      }
      if (opts.mentions) extra.mentionedJidList = opts.mentions.map((j) => new Wid(j));
      return inbound({ from, author: opts.author, type: "chat", body: text, extra });
    },
    receiveReaction(from, msgId, emoji) {
      const parent = findMsg(msgId);
      if (!parent) throw new Error("receiveReaction: no loaded message " + msgId);
      const sender = new Wid(from);
      const id = phoneMsgId();
      later(() => upsertReaction(parent, sender, emoji, false), 0, "receiveReaction");
      return id;
    },
    receiveEdit(from, msgId, newText) {
      const m = findMsg(msgId);
      if (!m || m.id.fromMe) throw new Error("receiveEdit: no received message " + msgId);
      if (String(m.author || m.from) !== String(new Wid(from))) throw new Error("receiveEdit: " + msgId + " is not from " + from);
      later(() => applyEdit(m, newText, false), 0, "receiveEdit");
      return true;
    },
    receiveRevoke(from, msgId) {
      const m = findMsg(msgId);
      if (!m || m.id.fromMe) throw new Error("receiveRevoke: no received message " + msgId);
      if (String(m.author || m.from) !== String(new Wid(from))) throw new Error("receiveRevoke: " + msgId + " is not from " + from);
      later(() => applyRevoke(m, "sender_revoke"), 0, "receiveRevoke");
      return true;
    },
    uploads: () => ctl.get("uploads", []),
    reactions: () => ctl.get("reactions", []),
    reactionRows: () => reactionRows.map((r) => ({
      id: String(r.id), parent: String(r.reactionParentKey), text: r.reactionText, timestamp: r.reactionTimestamp,
      author: r.author ? String(r.author) : null, from: String(r.from),
    })),
    edits: () => ctl.get("edits", []),
    revokes: () => ctl.get("revokes", []),
    forwards: () => ctl.get("forwards", []),
    phoneLogout() { later(() => logoutFlow(PHONE_LOGOUT_EVENT), 0, "phoneLogout"); return true; },
    breakModule(name) { ctl.set("broken", name); later(() => location.reload(), 0, "breakModule"); return true; },
    repair() { localStorage.removeItem(CTL + "broken"); return true; },
    conflict() { later(() => Socket.set("state", "CONFLICT"), 0, "conflict"); return true; },
    setState(name) {
      if (!STATES.includes(name)) throw new Error("setState: unknown state " + name);
      later(() => {
        if (name === "CONNECTED" && isPaired()) connect();
        else { if (name !== "UNPAIRED") stopQr(); Socket.set("state", name); }
      }, 0, "setState");
      return true;
    },
    idle() {
      if (isPaired()) return false;
      later(() => { stopQr(); Socket.set("state", "UNPAIRED_IDLE"); }, 0, "idle");
      return true;
    },
    meLidOnly(on = true) { ctl.set("meLidOnly", !!on); return true; },
    notOnWhatsApp(phone) {
      const list = ctl.get("notOnWhatsApp", []);
      const digits = jidDigits(phone);
      if (!list.includes(digits)) list.push(digits);
      ctl.set("notOnWhatsApp", list);
      return true;
    },
    lidOf(phone) { const lid = lidFor(jidDigits(phone)); return lid ? lid + "@lid" : null; },
    knownLid(phone, on = true) {
      const pn = jidDigits(phone);
      if (!on) { forgetLid(pn); return true; }
      if (!lidFor(pn)) return false;
      learnLid(pn);
      return true;
    },
    lidOnlyContact(lid) {
      const digits = jidDigits(lid);
      if (!USER_RE.test(digits)) throw new Error("lidOnlyContact: invalid LID " + lid);
      const list = ctl.get("lidOnly", []);
      if (!list.includes(digits)) list.push(digits);
      ctl.set("lidOnly", list);
      return true;
    },
    lidAddressedGroup(groupJid, on = true) {
      const map = ctl.get("lidGroups", {});
      map[groupJid] = !!on;
      ctl.set("lidGroups", map);
      const chat = Chat.get(groupJid);
      if (chat && chat.groupMetadata) later(() => refreshGroupMetadata(chat.groupMetadata), 0, "lidAddressedGroup");
      return true;
    },
    setEphemeral(jid, seconds) {
      const map = ctl.get("ephemeral", {});
      if (seconds) map[jid] = { duration: seconds, t: now() }; else delete map[jid];
      ctl.set("ephemeral", map);
      return true;
    },
    resendRequests: () => resendRequests.slice(),
    createGroup: (subject, participants) => createGroupNow(subject, participants),
    groupNotification: (groupJid, subtype, participants, author) => groupNotificationNow(groupJid, subtype, participants, author),
    contactPresence: (chatJid, jid, state) => contactPresenceNow(chatJid, jid, state),
    seen: () => ctl.get("seen", []).map((s) => s.chat),
    chatStates: () => ctl.get("chatStates", []),
    presences: () => ctl.get("presences", []),
    nameContact: (jid, name) => nameContactNow(jid, name),
    receiveLocation: (from, lat, lng, opts) => receiveLocationNow(from, lat, lng, opts),
    receiveVcard: (from, vcard, opts) => receiveVcardNow(from, vcard, opts),
    receiveMultiVcard: (from, vcards, opts) => receiveMultiVcardNow(from, vcards, opts),
    receivePoll: (from, name, options, opts) => receivePollNow(from, name, options, opts),
    receivePollVote: (voter, pollId, localIds) => receivePollVoteNow(voter, pollId, localIds),
    pollVoteRows: () => pollVoteRows.map((r) => ({
      id: String(r.id), parent: String(r.pollUpdateParentKey), selected: Array.from(r.selectedOptionLocalIds || []),
      senderTimestampMs: r.senderTimestampMs, author: r.author ? String(r.author) : null, from: String(r.from),
    })),
    errors: () => errors.slice(),
    resetControl() { for (const k of Object.keys(localStorage)) if (k.startsWith(CTL)) localStorage.removeItem(k); return true; },
  };

  // Remote control for tests that run the engine in another process: the stand-in's server keeps
  // a log of commands; every page long-polls it and runs the commands issued after it loaded.
  async function pollControl() {
    let after = -1;
    for (;;) {
      try {
        const resp = await fetch("/__control/next?after=" + after, { cache: "no-store" });
        const { seq, commands } = await resp.json();
        after = seq;
        for (const { cmd, args } of commands) {
          try { await window.__standin[cmd](...(args || [])); } catch (e) { report("control " + cmd, e); }
        }
      } catch (e) {
        await sleep(300);
      }
    }
  }
  pollControl();

  // ---------------------------------------------------------------- boot
  later(() => {
    window.Debug = Object.assign(window.Debug || {}, { VERSION });
    for (const n of BOOT_MODULES) registered.add(n);
    later(async () => {
      Socket.set("state", "OPENING");
      const restored = isPaired() && (await storedKeyWorks());
      if (!restored && isPaired()) wa.set("me", null);
      await sleep(100);
      if (restored) connect(); else startQrBatch();
    }, 50, "boot");
  }, BOOT_MS, "boot");
})();
