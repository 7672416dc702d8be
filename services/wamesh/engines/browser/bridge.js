// wamesh bridge: the one script injected into WhatsApp Web (top frame, once per document).
// It reaches WhatsApp Web's own modules through window.require, reports events to Python through
// the binding window.__wameshEmit, and takes commands as window.__wamesh.<command>(...).
// No DOM scraping. Every module it uses is in one of the tables below (BOOT, READY, DEGRADABLE,
// ON_DEMAND, FEATURES, OPTIONAL), resolved in the phase WhatsApp Web loads it in; every member it
// touches is listed in surface.json with its kind (sync or async) and the whatsapp-web.js line it
// was read from. A missing module is reported as "incompatible" with the WhatsApp Web version
// instead of hanging.
(() => {
  "use strict";
  if (window.top !== window || window.__wamesh) return;

  // Loaded before login: QR, pairing code, connection state.
  const BOOT = {
    socket: "WAWebSocketModel",
    conn: "WAWebConnModel",
    cmd: "WAWebCmd",
    noiseInfo: "WAWebUserPrefsInfoStore",
    signalStore: "WAWebSignalStoreApi",
    multiDevice: "WAWebUserPrefsMultiDevice",
    platform: "WAWebCompanionRegClientUtils",
    base64: "WABase64",
  };
  // Loaded lazily by WhatsApp Web; resolved once the line has synced (as whatsapp-web.js loads
  // its utils on `change:hasSynced`).
  const READY = {
    meUser: "WAWebUserPrefsMeUser",
    collections: "WAWebCollections",
    widFactory: "WAWebWidFactory",
    findChat: "WAWebFindChatAction",
    sendMsg: "WAWebSendMsgChatAction",
    msgKey: "WAWebMsgKey",
  };
  // Loaded with READY, but a line works without them, less well: without the first, sends to
  // unknown numbers are not refused up front; without the second, chats with disappearing
  // messages get messages that do not disappear; without the table modes, others' reactions and
  // poll votes are not reported. Missing ones are reported, not fatal.
  const DEGRADABLE = {
    queryExists: "WAWebQueryExistsJob",
    ephemeral: "WAWebGetEphemeralFieldsMsgActionsUtils",
    reactionTable: "WAWebAddonReactionTableMode",
    pollVoteTable: "WAWebAddonPollVoteTableMode",
  };
  // Resolved when first needed; pairing by code needs it only while unpaired.
  const ON_DEMAND = { altLinking: "WAWebAltDeviceLinkingApi" };
  // Rich messages, each feature resolved when first used (whatsapp-web.js Utils.js
  // processMediaData, editMessage, forwardMessage, sendMessage's location and vCard options;
  // Message.js react, delete, downloadMedia). A missing one makes that request fail naming it,
  // never the line. Polls need nothing beyond READY.
  const FEATURES = {
    sendMedia: {
      opaqueData: "WAWebMediaOpaqueData", prepRawMedia: "WAWebPrepRawMedia",
      mediaStorage: "WAWebMediaStorage", mmsMediaTypes: "WAWebMmsMediaTypes",
      mmsUpload: "WAWebMediaMmsV4Upload",
    },
    download: { downloadManager: "WAWebDownloadManager" },
    react: { reaction: "WAWebSendReactionMsgAction" },
    edit: { msgCapability: "WAWebMsgActionCapability", editAction: "WAWebSendMessageEditAction" },
    revoke: { msgCapability: "WAWebMsgActionCapability" },
    forward: { forwarder: "WAWebChatForwardMessage" },
    reply: { msgReply: "WAWebMsgReply" },
    contacts: { apiContact: "WAWebApiContact" },
    seen: { stream: "WAWebStreamModel", unread: "WAWebUpdateUnreadChatAction" },
    chatState: { chatState: "WAWebChatStateBridge" },
    presence: { presenceAction: "WAWebPresenceChatAction" },
    location: { linkify: "WALinkify", protoType: "WAWebE2EProtoUtils", protoMedia: "WAWebBackendJobsCommon" },
    vcard: { vcardParsing: "WAWebVcardParsingUtils", vcardName: "WAWebVcardGetNameFromParsed" },
  };
  // whatsapp-web.js getChatModel turns LID participants into phone numbers when it can.
  const GROUP_HELPERS = { lidMigration: "WAWebLidMigrationUtils" };
  // gp2 subtypes (whatsapp-web.js Client.js onAddMessageEvent) as membership actions.
  const GROUP_ACTIONS = {
    add: "add", invite: "add", linked_group_join: "join", remove: "remove", leave: "leave",
    promote: "promote", demote: "demote",
  };
  // Nice to have: placeholder resend for messages that arrive undecrypted.
  const OPTIONAL = {
    gating: "WAWebSyncGatingUtils",
    resend: "WAWebNonMessageDataRequestPlaceholderMessageResendUtils",
  };

  const OPTIONS = Object.assign(
    { takeover: false, transientGraceMs: 30000, pairingCodeRefreshMs: 180000 },
    window.__wameshOptions || {},
  );
  const BOOT_TIMEOUT_MS = 60000;
  const MODULE_WAIT_MS = { boot: 15000, ready: 30000, onDemand: 10000 };
  const CIPHERTEXT_WAIT_MS = 15000;
  const CIPHERTEXT_FORGET_MS = 600000;
  const RESEND_BATCH_MS = 5000;
  const UNPAIRED = ["UNPAIRED", "UNPAIRED_IDLE"];
  const TRANSIENT = ["OPENING", "PAIRING", "TIMEOUT", "UNLAUNCHED"];
  const ENDING = ["TOS_BLOCK", "SMB_TOS_BLOCK", "PROXYBLOCK", "DEPRECATED_VERSION"];
  const MEDIA_TYPES = ["image", "video", "audio", "ptt", "document", "sticker"];
  const STRUCTURED_TYPES = ["location", "vcard", "multi_vcard", "poll_creation"];
  const DELIVERED_TYPES = ["chat", ...MEDIA_TYPES, ...STRUCTURED_TYPES];

  const emit = (type, data) => {
    try { window.__wameshEmit(JSON.stringify(Object.assign({ type }, data || {}))); } catch (e) { /* page closing */ }
  };
  const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
  const m = {};
  const state = {
    paired: false, readySent: false, away: false, qrListening: false, qrSeq: 0, qrParts: null,
    codeTimer: null, codePhone: null, graceTimer: null, messagingAttached: false, known: new Map(),
  };

  // Modules ---------------------------------------------------------------------------------

  function tryRequire(name) {
    try { return window.require(name) || null; } catch (e) { return null; }
  }

  async function resolve(table, waitMs) {
    const deadline = Date.now() + waitMs;
    for (;;) {
      const missing = [];
      for (const [key, name] of Object.entries(table)) {
        if (!m[key]) m[key] = tryRequire(name);
        if (!m[key]) missing.push(name);
      }
      if (!missing.length || Date.now() > deadline) return missing;
      await sleep(200);
    }
  }

  async function need(phase, table, waitMs) {
    const missing = await resolve(table, waitMs);
    if (missing.length) emit("incompatible", { missing, phase, version: window.Debug.VERSION });
    return !missing.length;
  }

  // Values ----------------------------------------------------------------------------------

  // A Wid's or MsgKey's string: `_serialized`, `$1` on WhatsApp Web >= 2.3000.1042401057
  // (wppconnect-team/wa-js#3484), else its own toString().
  function ser(value) {
    if (value === null || value === undefined) return "";
    if (typeof value === "string") return value;
    const text = value._serialized || value.$1 || String(value);
    return text.startsWith("[object") ? "" : text;
  }
  const isGroup = (wid) => (typeof wid.isGroup === "function" ? wid.isGroup() : wid.server === "g.us");
  const isLid = (wid) => (typeof wid.isLid === "function" ? wid.isLid() : wid.server === "lid");

  function serializeMsg(msg, me) {
    const fromMe = !!msg.id.fromMe;
    const from = ser(msg.from);
    const type = msg.type || "chat";
    const media = MEDIA_TYPES.includes(type);
    const text = media ? msg.caption || "" : STRUCTURED_TYPES.includes(type) ? "" : msg.body || "";
    return Object.assign({
      id: msg.id.id, chat: ser(msg.id.remote), fromMe, type,
      from: fromMe && me ? me : from, author: ser(msg.author), to: ser(msg.to),
      body: text, t: msg.t || 0, ack: msg.ack || 0,
      replyTo: msg.quotedStanzaID || "", mentions: (msg.mentionedJidList || []).map(ser),
      media: media ? { key: ser(msg.id), mimetype: msg.mimetype || "", filename: msg.filename || "", size: msg.size || 0 } : null,
    }, structuredOf(msg));
  }

  // A location, contact cards or a poll as whatsapp-web.js Message.js reads them (173-198,
  // 329-342): `loc` is "name\naddress" (or one of them, or the url); a 'vcard' message's body is
  // the card; pollOptions' localIds are what votes name.
  function structuredOf(msg) {
    if (msg.type === "location") return { location: { lat: msg.lat, lng: msg.lng, loc: msg.loc || "", url: msg.clientUrl || "" } };
    if (msg.type === "vcard") return { contacts: [{ name: msg.vcardFormattedName || "", vcard: msg.body || "" }] };
    if (msg.type === "multi_vcard") {
      return { contacts: (msg.vcardList || []).map((c) => ({ name: c.displayName || "", vcard: c.vcard || "" })) };
    }
    if (msg.type === "poll_creation") {
      const options = (msg.pollOptions || []).map((o) => o.name);
      return { poll: { question: msg.pollName || "", options, selectable: msg.pollSelectableOptionsCount || 0 } };
    }
    return {};
  }

  // Own user as WhatsApp Web knows it: a phone-number Wid, a LID Wid, or (new accounts) only a LID.
  function meWids() {
    return { pn: m.meUser.getMaybeMePnUser() || null, lid: m.meUser.getMaybeMeLidUser() || null };
  }
  function meIds() {
    const { pn, lid } = meWids();
    return { me: ser(pn) || ser(lid), pn: ser(pn), lid: ser(lid) };
  }

  // QR and pairing code ---------------------------------------------------------------------

  // The registration and noise keys are read once per unpaired spell (both async in WhatsApp
  // Web); the ADV secret on every code, because a pairing-code attempt replaces it.
  async function qrParts() {
    const registration = await m.signalStore.waSignalStore.getRegistrationInfo();
    const noise = await m.noiseInfo.waNoiseInfo.get();
    return [
      m.base64.encodeB64(noise.staticKeyPair.pubKey),
      m.base64.encodeB64(registration.identityKeyPair.pubKey),
    ];
  }

  async function sendQr() {
    const seq = ++state.qrSeq;
    const ref = m.conn.Conn.ref;
    if (!ref || state.codePhone || !UNPAIRED.includes(m.socket.Socket.state)) return;
    try {
      state.qrParts = state.qrParts || qrParts();
      const [staticKey, identityKey] = await state.qrParts;
      const adv = await m.multiDevice.getADVSecretKey();
      if (seq !== state.qrSeq || !UNPAIRED.includes(m.socket.Socket.state)) return;
      emit("qr", { code: [ref, staticKey, identityKey, adv, m.platform.DEVICE_PLATFORM].join(",") });
    } catch (e) {
      state.qrParts = null;
      emit("error", { where: "qr", message: String(e && e.message || e) });
    }
  }

  async function requestPairingCode(phone, showNotification) {
    if (!UNPAIRED.includes(m.socket.Socket.state)) throw new Error("not waiting for pairing");
    const missing = await resolve(ON_DEMAND, MODULE_WAIT_MS.onDemand);
    if (missing.length) throw new Error("WhatsApp Web lacks the module " + missing.join(", "));
    const linking = m.altLinking;
    const issue = async () => {
      linking.setPairingType("ALT_DEVICE_LINKING");
      await linking.initializeAltDeviceLinking();
      const code = String(await linking.startAltLinkingFlow(phone, showNotification !== false));
      emit("pairing_code", { code, phone });
      return code;
    };
    clearInterval(state.codeTimer);
    state.codePhone = phone;
    state.codeTimer = setInterval(() => {
      if (!UNPAIRED.includes(m.socket.Socket.state)) { clearInterval(state.codeTimer); return; }
      issue().catch((e) => emit("error", { where: "pairing_code", message: String(e && e.message || e) }));
    }, OPTIONS.pairingCodeRefreshMs);
    return issue();
  }

  // Connection state ------------------------------------------------------------------------

  function onState() {
    const now = m.socket.Socket.state;
    emit("state", { state: now });
    if (UNPAIRED.includes(now)) return onUnpaired(now);
    if (now === "CONNECTED") return onConnected();
    if (TRANSIENT.includes(now)) return onTransient(now);
    if (now === "CONFLICT") return onConflict();
    if (ENDING.includes(now)) emit("failed", { state: now });
  }

  function onUnpaired(now) {
    if (state.paired) {
      state.paired = false;
      emit("logged_out", { reason: "WhatsApp Web is " + now + ": this device was unlinked" });
      return;
    }
    if (!state.qrListening) {
      state.qrListening = true;
      m.conn.Conn.on("change:ref", () => { sendQr(); });
    }
    if (now === "UNPAIRED_IDLE" && !state.codePhone) m.cmd.Cmd.refreshQR();
    sendQr();
  }

  function onConnected() {
    clearTimeout(state.graceTimer);
    state.graceTimer = null;
    clearInterval(state.codeTimer);
    state.codePhone = null;
    if (state.away && state.readySent) {
      state.away = false;
      emit("ready", meIds());
    }
    onSynced();
  }

  // OPENING, PAIRING and TIMEOUT are WhatsApp Web reconnecting (whatsapp-web.js accepts them);
  // only one that lasts longer than the grace period is reported as a disconnection.
  function onTransient(now) {
    if (!state.readySent || state.graceTimer) return;
    state.graceTimer = setTimeout(() => {
      state.graceTimer = null;
      if (m.socket.Socket.state === "CONNECTED") return;
      state.away = true;
      emit("disconnected", { reason: "WhatsApp Web is " + m.socket.Socket.state + " (reconnecting)" });
    }, OPTIONS.transientGraceMs);
  }

  function onConflict() {
    if (OPTIONS.takeover) { m.socket.Socket.takeover(); return; }
    state.away = true;
    emit("disconnected", { reason: "conflict: WhatsApp Web was opened on another computer (CONFLICT)" });
  }

  async function onSynced() {
    const socket = m.socket.Socket;
    if (state.readySent || !socket.hasSynced) return;
    state.readySent = true;
    if (!(await need("ready", READY, MODULE_WAIT_MS.ready))) return;
    const degraded = await resolve(DEGRADABLE, 0);
    if (degraded.length) emit("degraded", { missing: degraded, version: window.Debug.VERSION });
    let ids = meIds();
    for (let i = 0; !ids.me && i < 50; i++) { await sleep(200); ids = meIds(); }
    state.paired = true;
    attachMessaging();
    emit("ready", ids);
  }

  function onLogout(source) {
    if (!state.paired && !state.readySent) return;
    state.paired = false;
    emit("logged_out", { reason: "logged out (" + source + ")" });
  }

  // Messages --------------------------------------------------------------------------------

  function attachMessaging() {
    if (state.messagingAttached) return;
    state.messagingAttached = true;
    resolve(OPTIONAL, 0).then(() => {
      if (m.gating) m.gating.isPlaceholderMessageResendEnabled = () => true;
    });
    const { Msg } = m.collections;
    Msg.on("add", (msg) => {
      if (!msg.isNewMsg) return;
      if (msg.type === "ciphertext") awaitDecryption(msg); else deliver(msg);
    });
    Msg.on("change:ack", (msg, ack) => emit("ack", { id: msg.id.id, chat: ser(msg.id.remote), ack }));
    Msg.on("change:type", (msg) => { decrypted(msg); if (msg.type === "revoked") revoked(msg); });
    Msg.on("change:body change:caption", (msg, newBody, prevBody) => edited(msg, newBody, prevBody));
    watchRows(m.reactionTable, "reactionTableMode", "reaction", reactionRows);
    watchRows(m.pollVoteTable, "pollVoteTableMode", "poll_vote", voteRows);
    locationStanza(0);
  }

  function deliver(msg) {
    if (msg.type === "gp2" && GROUP_ACTIONS[msg.subtype]) { groupChanged(msg); return; }
    const me = meIds().me;
    if (!DELIVERED_TYPES.includes(msg.type)) {
      emit("skipped", { id: msg.id.id, chat: ser(msg.id.remote), msgType: msg.type, subtype: msg.subtype || "" });
      return;
    }
    emit("message", { message: serializeMsg(msg, me) });
  }

  // An undecrypted message arrives as type "ciphertext" and changes type once WhatsApp Web
  // decrypts it (whatsapp-web.js Client.js, Msg 'add' listener). Only then is it delivered, once.
  const waiting = new Map();
  const pendingResend = new Set();
  let resendTimer = null;
  function awaitDecryption(msg) {
    const key = ser(msg.id);
    emit("waiting", { id: msg.id.id, chat: ser(msg.id.remote) });
    // Reported after 15 s (as whatsapp-web.js does), still delivered if it decrypts later,
    // forgotten after ten minutes.
    const timers = [
      setTimeout(() => emit("undecryptable", { id: msg.id.id, chat: ser(msg.id.remote) }), CIPHERTEXT_WAIT_MS),
      setTimeout(() => waiting.delete(key), CIPHERTEXT_FORGET_MS),
    ];
    waiting.set(key, timers);
    if (typeof msg.once === "function") msg.once("change:type", decrypted);
    if (!(msg.subtype && String(msg.subtype).endsWith("_unavailable_fanout"))) askResend(msg);
  }

  function decrypted(msg) {
    const key = ser(msg.id);
    if (!waiting.has(key) || msg.type === "ciphertext") return;
    waiting.get(key).forEach(clearTimeout);
    waiting.delete(key);
    pendingResend.delete(msg);
    if (msg.type !== "revoked") deliver(msg);
  }

  function askResend(msg) {
    if (!m.resend) return;
    pendingResend.add(msg);
    if (resendTimer) return;
    resendTimer = setTimeout(() => {
      resendTimer = null;
      const msgs = [...pendingResend];
      pendingResend.clear();
      if (msgs.length) Promise.resolve(m.resend.handlePlaceholderMsgsSeen(msgs, true)).catch(() => {});
    }, RESEND_BATCH_MS);
  }

  // A body that appears where there was none is a placeholder decrypting, not an edit.
  function edited(msg, text, previous) {
    if (msg.type === "revoked" || msg.type === "ciphertext" || typeof text !== "string" || !previous) return;
    emit("edited", { id: msg.id.id, chat: ser(msg.id.remote), from: ser(msg.author) || ser(msg.from), text, t: Math.floor(Date.now() / 1000) });
  }

  function revoked(msg) {
    const key = msg.protocolMessageKey;
    emit("revoked", { id: (key && key.id) || msg.id.id, chat: ser(msg.id.remote), from: ser(msg.author) || ser(msg.from), t: Math.floor(Date.now() / 1000) });
  }

  // Reactions and poll votes reach the page as rows written to a table; whatsapp-web.js wraps its
  // bulkUpsert (Client.js attachEventListeners 1197-1237, injectToFunction in Utils.js): the
  // wrapper reads args[0], then calls the original with the same this and arguments and returns
  // its result. A missing table module is reported with DEGRADABLE.
  function watchRows(table, modeName, where, onRows) {
    if (!table) return;
    const mode = table[modeName];
    if (!mode || typeof mode.bulkUpsert !== "function") { emit("degraded", { missing: [modeName + ".bulkUpsert"], version: window.Debug.VERSION }); return; }
    const original = mode.bulkUpsert;
    mode.bulkUpsert = function (...args) {
      try { onRows(args[0] || []); } catch (e) { emit("error", { where, message: String(e && e.message || e) }); }
      return original.apply(this, args);
    };
  }

  function reactionRows(rows) {
    for (const row of rows) {
      const parent = row.reactionParentKey || {};
      const sender = row.author || row.from;
      emit("reaction", { id: parent.id || "", chat: ser(parent.remote), from: ser(sender), fromMe: !!(row.id && row.id.fromMe),
                         emoji: row.reactionText || "", t: Math.floor((row.reactionTimestamp || Date.now()) / 1000) });
    }
  }

  // Each vote row is the voter's whole current selection (localIds; [] = withdrawn) on a poll
  // that is loaded or only stored (then found with getMessagesById, as whatsapp-web.js does).
  // The rows are read at once; their polls are looked up in order, so votes are reported in the
  // order WhatsApp Web wrote them.
  let votesReported = Promise.resolve();
  function voteRows(rows) {
    const votes = rows.map((row) => ({
      poll: ser(row.pollUpdateParentKey), voter: ser(row.author ?? row.from),
      ids: Array.from(row.selectedOptionLocalIds || []), ms: row.senderTimestampMs || row.t || Date.now(),
    }));
    for (const vote of votes) {
      votesReported = votesReported.then(() => reportVote(vote))
        .catch((e) => emit("error", { where: "poll_vote", message: String(e && e.message || e) }));
    }
  }

  async function reportVote(vote) {
    const poll = await findMsg(vote.poll);
    const options = (poll && poll.pollOptions) || [];
    const names = vote.ids.map((id) => (options.find((o) => o.localId === id) || {}).name);
    if (!poll || names.some((name) => name === undefined)) {
      const why = poll ? "names options the poll does not have" : "is on a poll WhatsApp Web does not have";
      emit("error", { where: "poll_vote", message: "a vote " + why + ": " + vote.poll });
      return;
    }
    emit("poll_vote", { poll: poll.id.id, chat: ser(poll.id.remote), voter: vote.voter, selected: names, t: vote.ms / 1000 });
  }

  // Sending ---------------------------------------------------------------------------------

  // A phone number must be on WhatsApp; a chat that exists already proves it.
  async function exists(wid) {
    const key = ser(wid);
    if (state.known.has(key)) return state.known.get(key);
    if (!m.queryExists) return true;
    const result = await m.queryExists.queryWidExists(wid);
    const found = !!(result && result.wid);
    if (found) state.known.set(key, true);
    return found;
  }

  async function chatFor(chatId) {
    const wid = m.widFactory.createWid(chatId);
    const open = m.collections.Chat.get(wid);
    if (open) return open;
    if (!isGroup(wid) && !isLid(wid) && !(await exists(wid))) return null;
    const found = await m.findChat.findOrCreateLatestChat(wid);
    return found && found.chat;
  }

  // Own id and participant as whatsapp-web.js Utils.js sendMessage sets them: the LID in LID
  // chats and LID-addressed groups, the phone-number user elsewhere (the LID when that is all).
  function sender(chat) {
    const { pn, lid } = meWids();
    if (isGroup(chat.id)) {
      const from = (chat.groupMetadata && chat.groupMetadata.isLidAddressingMode ? lid : pn) || pn || lid;
      const asUser = m.widFactory.asUserWidOrThrow;
      return { from, participant: typeof asUser === "function" ? asUser(from) : from };
    }
    return { from: (isLid(chat.id) ? lid : pn) || pn || lid, participant: undefined };
  }

  async function findMsg(serialized) {
    const { Msg } = m.collections;
    const loaded = Msg.get(serialized);
    if (loaded || typeof Msg.getMessagesById !== "function") return loaded || null;
    const found = await Msg.getMessagesById([serialized]);
    return (found && found.messages && found.messages[0]) || null;
  }

  async function send(chatId, text, id, options) {
    const opts = options || {};
    const chat = await chatFor(chatId);
    if (!chat) return { error: "not_on_whatsapp" };
    const { from, participant } = sender(chat);
    const key = new m.msgKey({ from, to: chat.id, id, participant, selfDir: "out" });
    const me = meIds().me;
    const known = await findMsg(ser(key));
    if (known) {
      if (opts.upload) uploads.delete(opts.upload.id);
      return { message: serializeMsg(known, me) };
    }
    const extra = await richFields(chat, text, opts);
    if (extra.error) return extra;
    const message = Object.assign(
      { id: key, ack: 0, body: text, from, to: chat.id, local: true, self: "out",
        t: Math.floor(Date.now() / 1000), isNewMsg: true, type: "chat" },
      m.ephemeral ? m.ephemeral.getEphemeralFields(chat) : {},
      extra.fields,
    );
    const [sent] = m.sendMsg.addAndSendMsgToChat(chat, message);
    await sent;
    return { message: serializeMsg(m.collections.Msg.get(ser(key)) || message, me) };
  }

  // What whatsapp-web.js Utils.js sendMessage adds for a quoted reply, mentions and media.
  async function richFields(chat, text, opts) {
    const fields = {};
    if (opts.mentions && opts.mentions.length) fields.mentionedJidList = opts.mentions.map((j) => m.widFactory.createWid(j));
    if (opts.replyTo) {
      const quoted = await findMsg(opts.replyTo) || await findById(chat, opts.replyTo);
      if (!quoted) return { error: "reply_not_found" };
      await resolve(FEATURES.reply, 0);
      const can = m.msgReply ? m.msgReply.canReplyMsg(quoted.unsafe ? quoted.unsafe() : quoted) : quoted.canReply();
      if (can) Object.assign(fields, quoted.msgContextInfo(chat));
    }
    if (opts.upload) {
      const media = await prepareMedia(opts.upload);
      if (media.error) return media;
      Object.assign(fields, media.data, media.data.toJSON ? media.data.toJSON() : {}, { caption: text });
    }
    const kind = Object.keys(STRUCTURED).find((name) => opts[name]);
    if (kind) {
      const structured = await STRUCTURED[kind](opts[kind]);
      if (structured.error) return structured;
      Object.assign(fields, structured.fields);
    }
    return { fields };
  }

  // Locations, contact cards and polls: the fields whatsapp-web.js Utils.js sendMessage spreads
  // over the message (220-252, 287-339), sent like any message through addAndSendMsgToChat.
  const STRUCTURED = { location: locationFields, contacts: contactFields, poll: pollFields };

  async function locationFields(place) {
    const missing = await locationStanza(MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const link = place.url ? m.linkify.findLink(place.url) : null;
    const url = (link && link.href) || undefined;
    const described = place.name && place.address ? place.name + "\n" + place.address : place.name || place.address;
    return { fields: { type: "location", body: "", lat: place.lat, lng: place.lng, loc: described || url || "", clientUrl: url } };
  }

  // Our cards are vCard texts with the name to show: each is parsed as WhatsApp Web parses one
  // (a text it cannot read is refused), the name shown is ours, else the card's own.
  async function contactFields(cards) {
    const missing = await resolve(FEATURES.vcard, MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const list = [];
    for (const card of cards) {
      let parsed = null;
      try { parsed = m.vcardParsing.parseVcard(card.vcard); } catch (e) { parsed = null; }
      if (!parsed) return { error: "invalid_vcard" };
      list.push({ displayName: card.name || m.vcardName.vcardGetNameFromParsed(parsed), vcard: card.vcard });
    }
    if (list.length > 1) return { fields: { type: "multi_vcard", body: null, vcardList: list } };
    return { fields: { type: "vcard", body: list[0].vcard, vcardFormattedName: list[0].displayName } };
  }

  // selectable: 0 = any number of options, else at most that many; the secret encrypts votes.
  async function pollFields(poll) {
    return { fields: {
      kind: "pollCreation", type: "poll_creation", body: "", pollName: poll.question.trim(),
      pollOptions: poll.options.map((name, localId) => ({ name, localId })),
      pollSelectableOptionsCount: poll.selectable, messageSecret: window.crypto.getRandomValues(new Uint8Array(32)),
    } };
  }

  // WhatsApp Web encodes a static location as media, which the server acks and never delivers
  // (wppconnect#1237): whatsapp-web.js (Utils.js 95-111) and wa-js wrap the two functions that
  // encode it, so it goes out as 'text' with no mediatype. Wrapped once, after ready (or at the
  // first location when the modules came late).
  let locationWrapped = false;
  async function locationStanza(waitMs) {
    const missing = await resolve(FEATURES.location, waitMs);
    if (missing.length || locationWrapped) return missing;
    locationWrapped = true;
    wrapForLocation(m.protoType, "typeAttributeFromProtobuf", "text");
    wrapForLocation(m.protoMedia, "mediaTypeFromProtobuf", null);
    return missing;
  }
  function wrapForLocation(mod, name, value) {
    const original = mod[name];
    mod[name] = function (...args) { return args[0] && args[0].locationMessage ? value : original.apply(mod, args); };
  }

  // A message of the chat by its bare id, in or out.
  async function findById(chat, id) {
    for (const fromMe of [false, true]) {
      const key = new m.msgKey({ from: fromMe ? sender(chat).from : chat.id, to: chat.id, id, participant: undefined, selfDir: fromMe ? "out" : "in" });
      const found = await findMsg(ser(key));
      if (found) return found;
    }
    const loaded = m.collections.Msg.getModelsArray ? m.collections.Msg.getModelsArray() : [];
    return loaded.find((msg) => msg.id.id === id && ser(msg.id.remote) === ser(chat.id)) || null;
  }

  // Media arrives from Python in base64 pieces (never one huge argument), then is prepared and
  // uploaded as whatsapp-web.js processMediaData does.
  const uploads = new Map();
  function mediaBegin(uploadId) { uploads.set(uploadId, []); return true; }
  function mediaChunk(uploadId, b64) {
    const bin = atob(b64); const bytes = new Uint8Array(bin.length);
    for (let i = 0; i < bin.length; i++) bytes[i] = bin.charCodeAt(i);
    uploads.get(uploadId).push(bytes);
    return true;
  }

  async function prepareMedia(upload) {
    const missing = await resolve(FEATURES.sendMedia, MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const parts = uploads.get(upload.id);
    uploads.delete(upload.id);
    if (!parts) return { error: "upload_unknown" };
    const file = new File(parts, upload.filename || "file", { type: upload.mimetype, lastModified: Date.now() });
    const OpaqueData = m.opaqueData;
    const opaque = await OpaqueData.createFromData(file, upload.mimetype);
    const params = { asSticker: upload.kind === "sticker", asGif: false, isPtt: upload.kind === "voice", asDocument: upload.kind === "document" };
    const prep = m.prepRawMedia.prepRawMedia(opaque, params);
    const data = await prep.waitForPrep();
    if (!data.filehash) return { error: "media_fault", message: "filehash undefined" };
    const object = m.mediaStorage.getOrCreateMediaObject(data.filehash);
    const mediaType = m.mmsMediaTypes.msgToMediaType({ type: data.type, isGif: data.isGif, isNewsletter: false });
    if (!(data.mediaBlob instanceof OpaqueData)) data.mediaBlob = await OpaqueData.createFromData(data.mediaBlob, data.mediaBlob.type);
    data.renderableUrl = data.mediaBlob.url();
    object.consolidate(data.toJSON());
    data.mediaBlob.autorelease();
    const uploaded = await m.mmsUpload.uploadMedia({ mimetype: data.mimetype, mediaObject: object, mediaType });
    const entry = uploaded && uploaded.mediaEntry;
    if (!entry) return { error: "media_fault", message: "upload failed: no media entry" };
    data.set({
      clientUrl: entry.mmsUrl, deprecatedMms3Url: entry.deprecatedMms3Url, directPath: entry.directPath,
      mediaKey: entry.mediaKey, mediaKeyTimestamp: entry.mediaKeyTimestamp, filehash: object.filehash,
      encFilehash: entry.encFilehash, uploadhash: entry.uploadHash, size: object.size,
      streamingSidecar: entry.sidecar, firstFrameSidecar: entry.firstFrameSidecar, mediaHandle: null,
    });
    return { data };
  }

  // Received media, downloaded once into the page and read by Python in base64 slices.
  const downloads = new Map();
  async function download(serialized) {
    const missing = await resolve(FEATURES.download, MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const msg = await findMsg(serialized);
    if (!msg || !msg.mediaData || msg.mediaData.mediaStage === "REUPLOADING") return { error: "media_unavailable" };
    if (msg.mediaData.mediaStage !== "RESOLVED" && typeof msg.downloadMedia === "function") {
      await msg.downloadMedia({ downloadEvenIfExpensive: true, rmrReason: 1 });
    }
    const stage = String(msg.mediaData.mediaStage || "");
    if (stage.includes("ERROR") || stage === "FETCHING") return { error: "media_unavailable" };
    const quiet = { addAnnotations() { return this; }, addPoint() { return this; } };
    const buffer = await m.downloadManager.downloadManager.downloadAndMaybeDecrypt({
      directPath: msg.directPath, encFilehash: msg.encFilehash, filehash: msg.filehash, mediaKey: msg.mediaKey,
      mediaKeyTimestamp: msg.mediaKeyTimestamp, type: msg.type, signal: new AbortController().signal, downloadQpl: quiet,
    });
    const bytes = new Uint8Array(buffer);
    downloads.set(serialized, bytes);
    return { size: bytes.length, mimetype: msg.mimetype || "", filename: msg.filename || "" };
  }
  function downloadSlice(serialized, start, end) {
    const bytes = downloads.get(serialized);
    if (!bytes) return null;
    let bin = "";
    const part = bytes.subarray(start, end);
    for (let i = 0; i < part.length; i += 0x8000) bin += String.fromCharCode(...part.subarray(i, i + 0x8000));
    if (end >= bytes.length) downloads.delete(serialized);
    return btoa(bin);
  }

  // Groups -----------------------------------------------------------------------------------

  function groupChanged(msg) {
    emit("group", {
      group: ser(msg.id.remote), action: GROUP_ACTIONS[msg.subtype],
      participants: (msg.recipients || []).map(ser), author: ser(msg.author), t: msg.t || 0,
    });
  }

  // A group as whatsapp-web.js getChatModel reads it: its metadata brought up to date first.
  async function groupModel(chat, withParticipants) {
    const collections = m.collections;
    if (withParticipants) {
      const metadata = collections.GroupMetadata || collections.WAWebGroupMetadataCollection;
      if (metadata && typeof metadata.update === "function") await metadata.update(m.widFactory.createWid(ser(chat.id)));
    }
    const meta = chat.groupMetadata;
    const data = typeof meta.serialize === "function" ? meta.serialize() : meta;
    await resolve(GROUP_HELPERS, 0);
    const toPn = m.lidMigration && m.lidMigration.toPn;
    const participants = !withParticipants ? [] : (data.participants || []).map((p) => ({
      jid: ser((toPn && toPn(p.id)) || p.id), isAdmin: !!p.isAdmin, isSuperAdmin: !!p.isSuperAdmin,
    }));
    return { jid: ser(chat.id), subject: data.subject || chat.formattedTitle || "", description: data.desc || "", participants };
  }

  async function listGroups() {
    const chats = m.collections.Chat.getModelsArray().filter((chat) => chat.groupMetadata && isGroup(chat.id));
    return { groups: await Promise.all(chats.map((chat) => groupModel(chat, false))) };
  }

  async function groupInfo(groupId) {
    const chat = m.collections.Chat.get(m.widFactory.createWid(groupId));
    if (!chat || !chat.groupMetadata) return { error: "group_not_found" };
    return { group: await groupModel(chat, true) };
  }

  // Read and presence ---------------------------------------------------------------------------

  // whatsapp-web.js sendSeen: available for the moment of sending the receipt.
  async function markRead(chatId) {
    const missing = await resolve(FEATURES.seen, MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const chat = await chatFor(chatId);
    if (!chat) return { error: "not_on_whatsapp" };
    m.stream.Stream.markAvailable();
    await m.unread.sendSeen({ chat, threadId: undefined });
    m.stream.Stream.markUnavailable();
    return { ok: true };
  }

  const CHAT_STATES = { typing: "sendChatStateComposing", recording: "sendChatStateRecording", paused: "sendChatStatePaused" };
  const PRESENCES = { online: "sendPresenceAvailable", offline: "sendPresenceUnavailable" };
  async function setPresence(chatId, presence) {
    const feature = CHAT_STATES[presence] ? "chatState" : "presence";
    const missing = await resolve(FEATURES[feature], MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    if (CHAT_STATES[presence]) await m.chatState[CHAT_STATES[presence]](m.widFactory.createWid(chatId));
    else await m.presenceAction[PRESENCES[presence]]();
    return { ok: true };
  }

  // Others' presence, as wa-js registerPresenceChange: the server sends a contact's presence
  // once the line subscribed to it (chat.presence.subscribe()); changes fire on the Presence
  // collection as 'change:chatstate.type' (chatstate, type).
  let presenceWatched = false;
  async function subscribePresence(chatId) {
    const chat = await chatFor(chatId);
    if (!chat) return { error: "not_on_whatsapp" };
    if (!presenceWatched && m.collections.Presence) {
      presenceWatched = true;
      m.collections.Presence.on("change:chatstate.type", (chatstate, type) => {
        emit("presence", { chat: ser(chatstate.id), jid: ser(chatstate.id), presence: String(type), t: Math.floor(Date.now() / 1000) });
      });
    }
    if (!chat.presence || typeof chat.presence.subscribe !== "function") return { error: "missing_modules", missing: ["WAWebCollections.Presence"] };
    await chat.presence.subscribe();
    return { ok: true };
  }

  // Contacts ---------------------------------------------------------------------------------

  // A number or LID on WhatsApp, and the LID <-> phone mapping, as whatsapp-web.js
  // enforceLidAndPnRetrieval does: the mapping WhatsApp Web holds, else a server query (which
  // makes the mapping known), then the mapping again.
  async function checkContact(id) {
    const missing = await resolve(FEATURES.contacts, MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const wid = m.widFactory.createWid(id);
    const lidSide = isLid(wid);
    const contacts = m.apiContact;
    let lid = lidSide ? wid : contacts.getCurrentLid(wid);
    let phone = lidSide ? contacts.getPhoneNumber(wid) : wid;
    if (lidSide ? !phone : !lid) {
      const result = m.queryExists ? await m.queryExists.queryWidExists(wid) : null;
      if (!result || !result.wid) return { exists: false, jid: "", lid: "" };
      if (lidSide) phone = contacts.getPhoneNumber(wid); else lid = contacts.getCurrentLid(wid);
    }
    return { exists: true, jid: ser(phone), lid: ser(lid) };
  }

  // Acting on messages -----------------------------------------------------------------------

  async function target(chatId, id, feature) {
    const missing = await resolve(FEATURES[feature], MODULE_WAIT_MS.onDemand);
    if (missing.length) return { error: "missing_modules", missing };
    const chat = await chatFor(chatId);
    const msg = chat && (await findById(chat, id));
    return msg ? { chat, msg } : { error: "message_not_found" };
  }

  async function react(chatId, id, emoji) {
    const t = await target(chatId, id, "react");
    if (t.error) return t;
    await m.reaction.sendReactionToMsg(t.msg, emoji);
    return { ok: true };
  }

  async function edit(chatId, id, text) {
    const t = await target(chatId, id, "edit");
    if (t.error) return t;
    const can = m.msgCapability.canEditText(t.msg) || m.msgCapability.canEditCaption(t.msg);
    if (!t.msg.id.fromMe || !can) return { error: "cannot_edit" };
    await m.editAction.sendMessageEdit(t.msg, text, {});
    return { ok: true };
  }

  async function revoke(chatId, id) {
    const t = await target(chatId, id, "revoke");
    if (t.error) return t;
    if (!m.msgCapability.canSenderRevokeMsg(t.msg)) return { error: "cannot_revoke" };
    await m.cmd.Cmd.sendRevokeMsgs(t.chat, { list: [t.msg], type: "message" }, { clearMedia: true });
    return { ok: true };
  }

  async function forward(chatId, id, toChatId) {
    const t = await target(chatId, id, "forward");
    if (t.error) return t;
    const to = await chatFor(toChatId);
    if (!to) return { error: "not_on_whatsapp" };
    await m.forwarder.forwardMessages({ chat: to, msgs: [t.msg], multicast: true, includeCaption: true, appendedText: undefined });
    const mine = (m.collections.Msg.getModelsArray ? m.collections.Msg.getModelsArray() : [])
      .filter((msg) => msg.id.fromMe && ser(msg.id.remote) === ser(to.id));
    const latest = mine[mine.length - 1];
    return latest ? { message: serializeMsg(latest, meIds().me) } : { error: "forward_not_found" };
  }

  // Boot ------------------------------------------------------------------------------------

  async function boot() {
    const started = Date.now();
    while (!(window.Debug && window.Debug.VERSION)) {
      if (Date.now() - started > BOOT_TIMEOUT_MS) { emit("boot_timeout", {}); return; }
      await sleep(200);
    }
    if (location.search.includes("post_logout=1")) emit("logged_out", { reason: "logged out (WhatsApp Web reloaded after a logout)" });
    if (!(await need("boot", BOOT, MODULE_WAIT_MS.boot))) return;
    emit("modules", { version: window.Debug.VERSION, resolved: Object.values(BOOT) });
    const { Socket } = m.socket;
    Socket.on("change:state", onState);
    Socket.on("change:hasSynced", () => { onSynced(); });
    m.cmd.Cmd.on("logout", () => onLogout("logout"));
    m.cmd.Cmd.on("logout_from_bridge", () => onLogout("logout_from_bridge"));
    onState();
  }

  window.__wamesh = {
    modules: { boot: BOOT, ready: READY, degradable: DEGRADABLE, onDemand: ON_DEMAND, features: FEATURES, optional: OPTIONAL },
    send,
    mediaBegin,
    mediaChunk,
    download,
    downloadSlice,
    react,
    edit,
    revoke,
    forward,
    checkContact,
    listGroups,
    groupInfo,
    markRead,
    setPresence,
    subscribePresence,
    requestPairingCode,
    logout: async () => { await m.socket.Socket.logout(); },
    ping: () => (m.socket ? m.socket.Socket.state : "BOOTING"),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
