// wamesh bridge: the one script injected into WhatsApp Web (top frame, once per document).
// It reaches WhatsApp Web's own modules through window.require, reports events to Python through
// the binding window.__wameshEmit, and takes commands as window.__wamesh.<command>(...).
// No DOM scraping. Every module name it uses is in MODULES; a missing one is reported as
// "incompatible" with the WhatsApp Web version instead of hanging.
(() => {
  "use strict";
  if (window.top !== window || window.__wamesh) return;

  const MODULES = {
    socket: "WAWebSocketModel",
    conn: "WAWebConnModel",
    collections: "WAWebCollections",
    cmd: "WAWebCmd",
    widFactory: "WAWebWidFactory",
    findChat: "WAWebFindChatAction",
    sendMsg: "WAWebSendMsgChatAction",
    msgKey: "WAWebMsgKey",
    meUser: "WAWebUserPrefsMeUser",
    noiseInfo: "WAWebUserPrefsInfoStore",
    signalStore: "WAWebSignalStoreApi",
    multiDevice: "WAWebUserPrefsMultiDevice",
    platform: "WAWebCompanionRegClientUtils",
    base64: "WABase64",
  };
  const BOOT_TIMEOUT_MS = 60000;
  const UNPAIRED = ["UNPAIRED", "UNPAIRED_IDLE"];
  const emit = (type, data) => {
    try { window.__wameshEmit(JSON.stringify(Object.assign({ type }, data || {}))); } catch (e) { /* page closing */ }
  };
  const state = { m: null, readySent: false, qrListening: false };

  function resolveModules() {
    const found = {}; const missing = [];
    for (const [key, name] of Object.entries(MODULES)) {
      let mod = null;
      try { mod = window.require(name); } catch (e) { mod = null; }
      if (mod) found[key] = mod; else missing.push(name);
    }
    return { found, missing };
  }

  function serializeMsg(m) {
    const wid = (w) => (w && (w._serialized || String(w))) || "";
    const fromMe = !!m.id.fromMe;
    return { id: m.id.id, chat: wid(m.id.remote), from: wid(m.from), to: wid(m.to), fromMe,
             body: m.body || "", t: m.t || 0, ack: m.ack || 0 };
  }

  function qrCode() {
    const { conn, noiseInfo, signalStore, multiDevice, platform, base64 } = state.m;
    const ref = conn.Conn.ref;
    if (!ref) return null;
    const staticKey = base64.encodeB64(noiseInfo.waNoiseInfo.get().staticKeyPair.pubKey);
    const identityKey = base64.encodeB64(signalStore.waSignalStore.getRegistrationInfo().identityKeyPair.pubKey);
    return [ref, staticKey, identityKey, multiDevice.getADVSecretKey(), platform.DEVICE_PLATFORM].join(",");
  }

  function sendQr() {
    const code = qrCode();
    if (code) emit("qr", { code });
  }

  function onState() {
    const socket = state.m.socket.Socket;
    if (UNPAIRED.includes(socket.state)) {
      if (!state.qrListening) {
        state.qrListening = true;
        state.m.conn.Conn.on("change:ref", sendQr);
      }
      sendQr();
    } else if (socket.state === "CONFLICT") {
      if (window.__wameshTakeover) socket.takeover(); else emit("disconnected", { reason: "conflict: opened elsewhere" });
    } else if (["TIMEOUT", "PROXYBLOCK", "TOS_BLOCK", "SMB_TOS_BLOCK", "DEPRECATED_VERSION"].includes(socket.state)) {
      emit("disconnected", { reason: socket.state });
    }
    onSynced();
  }

  function onSynced() {
    const socket = state.m.socket.Socket;
    if (state.readySent || !socket.hasSynced || socket.state !== "CONNECTED") return;
    const me = state.m.meUser.getMaybeMePnUser();
    if (!me) return;
    state.readySent = true;
    emit("ready", { me: me._serialized });
  }

  function attach() {
    const { socket, collections, cmd } = state.m;
    socket.Socket.on("change:state", onState);
    socket.Socket.on("change:hasSynced", onSynced);
    collections.Msg.on("add", (m) => { if (m.isNewMsg) emit("message", { message: serializeMsg(m) }); });
    collections.Msg.on("change:ack", (m, ack) => emit("ack", { id: m.id.id, chat: (m.id.remote && m.id.remote._serialized) || "", ack }));
    cmd.Cmd.on("logout", () => emit("logged_out", { reason: "logged out from the phone" }));
    onState();
  }

  async function send(chatId, text, id) {
    const { collections, widFactory, findChat, sendMsg, msgKey, meUser } = state.m;
    const existing = collections.Msg.getModelsArray().find((m) => m.id.id === id);
    if (existing) return serializeMsg(existing);
    const wid = widFactory.createWid(chatId);
    const chat = collections.Chat.get(wid) || (await findChat.findOrCreateLatestChat(wid)).chat;
    const me = meUser.getMaybeMePnUser();
    const key = new msgKey({ from: me, to: chat.id, id, selfDir: "out" });
    const message = { id: key, ack: 0, body: text, from: me, to: chat.id, local: true, self: "out",
                      t: Math.floor(Date.now() / 1000), isNewMsg: true, type: "chat" };
    const [sent] = sendMsg.addAndSendMsgToChat(chat, message);
    await sent;
    return serializeMsg(collections.Msg.get(key._serialized) || message);
  }

  async function boot() {
    const started = Date.now();
    while (!(window.Debug && window.Debug.VERSION)) {
      if (Date.now() - started > BOOT_TIMEOUT_MS) { emit("boot_timeout", {}); return; }
      await new Promise((r) => setTimeout(r, 200));
    }
    const { found, missing } = resolveModules();
    if (missing.length) { emit("incompatible", { missing, version: window.Debug.VERSION }); return; }
    state.m = found;
    emit("modules", { version: window.Debug.VERSION, resolved: Object.values(MODULES) });
    attach();
  }

  window.__wamesh = {
    modules: MODULES,
    send,
    logout: () => state.m.socket.Socket.logout(),
    ping: () => (state.m ? state.m.socket.Socket.state : "BOOTING"),
  };
  if (document.readyState === "loading") document.addEventListener("DOMContentLoaded", boot); else boot();
})();
