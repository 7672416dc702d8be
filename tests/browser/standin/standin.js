// A faithful-enough stand-in for WhatsApp Web, served on loopback for wamesh's browser tests.
// It offers the same window.require module names and event-emitting models the bridge uses,
// Debug.VERSION, a rotating QR ref, a real non-extractable CryptoKey in IndexedDB written on scan
// (so only a real profile restore reconnects), and a test-only control API: window.__standin.
(() => {
  "use strict";
  const VERSION = "2.3000.0-standin";
  const ME = "15550009999@c.us";
  const REF_MS = Number(new URLSearchParams(location.search).get("ref_ms") || 1500);
  const broken = localStorage.getItem("standin:broken");

  class Emitter {
    constructor() { this._handlers = {}; }
    on(event, fn) { (this._handlers[event] = this._handlers[event] || []).push(fn); }
    off(event, fn) { this._handlers[event] = (this._handlers[event] || []).filter((h) => h !== fn); }
    trigger(event, ...args) { for (const fn of this._handlers[event] || []) fn(...args); }
  }
  class Model extends Emitter {
    constructor(attrs) { super(); Object.assign(this, attrs); }
    set(key, value) {
      const old = this[key];
      this[key] = value;
      if (old !== value) {
        this.trigger("change:" + key, this, value);
        if (this._collection) this._collection.trigger("change:" + key, this, value);
      }
    }
  }
  class Collection extends Emitter {
    constructor(keyOf) { super(); this._models = new Map(); this._keyOf = keyOf; }
    add(model) { model._collection = this; this._models.set(this._keyOf(model), model); this.trigger("add", model); return model; }
    get(key) { return this._models.get(typeof key === "string" ? key : key && key._serialized); }
    getModelsArray() { return [...this._models.values()]; }
  }

  const wid = (s) => { const [user, server] = s.split("@"); return { user, server, _serialized: s, toString: () => s }; };
  class MsgKey {
    constructor({ from, to, id, selfDir }) {
      this.fromMe = selfDir === "out"; this.remote = to; this.id = id;
      this._serialized = `${this.fromMe}_${to._serialized}_${id}`;
    }
    static newId() { return "3EB0" + Array.from(crypto.getRandomValues(new Uint8Array(14)), (b) => b.toString(16).padStart(2, "0")).join("").toUpperCase(); }
  }

  const Socket = new Model({ state: "OPENING", hasSynced: false });
  const Conn = new Model({ ref: null });
  const Cmd = new Emitter();
  const Msg = new Collection((m) => m.id._serialized);
  const Chat = new Collection((c) => c.id._serialized);
  const b64 = (bytes) => btoa(String.fromCharCode(...bytes));
  const noiseKey = crypto.getRandomValues(new Uint8Array(32));
  const identityKey = crypto.getRandomValues(new Uint8Array(32));
  const advSecret = b64(crypto.getRandomValues(new Uint8Array(32)));
  let paired = false;

  const findChat = (w) => Chat.get(w) || Chat.add(new Model({ id: w }));
  function persistMessage(m) {
    const all = JSON.parse(localStorage.getItem("standin:msgs") || "[]");
    all.push({ id: m.id.id, to: m.to._serialized, body: m.body, t: m.t, ack: m.ack });
    localStorage.setItem("standin:msgs", JSON.stringify(all));
  }
  function restoreMessages() {
    for (const m of JSON.parse(localStorage.getItem("standin:msgs") || "[]")) {
      const to = wid(m.to);
      const key = new MsgKey({ from: wid(ME), to, id: m.id, selfDir: "out" });
      Msg.add(new Model({ id: key, from: wid(ME), to, body: m.body, t: m.t, ack: m.ack, isNewMsg: false }));
    }
  }
  function addAndSendMsgToChat(chat, msg) {
    const model = Msg.add(new Model(Object.assign({}, msg, { isNewMsg: true })));
    persistMessage(model);
    const sent = new Promise((resolve) => setTimeout(() => { model.set("ack", 1); resolve("OK"); }, 30));
    setTimeout(() => model.set("ack", 2), 80);
    return [sent, sent];
  }

  const modules = {
    WAWebSocketModel: { Socket },
    WAWebConnModel: { Conn },
    WAWebCollections: { Msg, Chat },
    WAWebCmd: { Cmd },
    WAWebWidFactory: { createWid: wid },
    WAWebFindChatAction: { findOrCreateLatestChat: async (w) => ({ chat: findChat(w) }) },
    WAWebSendMsgChatAction: { addAndSendMsgToChat },
    WAWebMsgKey: MsgKey,
    WAWebUserPrefsMeUser: { getMaybeMePnUser: () => (paired ? wid(ME) : null) },
    WAWebUserPrefsInfoStore: { waNoiseInfo: { get: () => ({ staticKeyPair: { pubKey: noiseKey } }) } },
    WAWebSignalStoreApi: { waSignalStore: { getRegistrationInfo: () => ({ identityKeyPair: { pubKey: identityKey } }) } },
    WAWebUserPrefsMultiDevice: { getADVSecretKey: () => advSecret },
    WAWebCompanionRegClientUtils: { DEVICE_PLATFORM: "chrome" },
    WABase64: { encodeB64: b64 },
  };
  if (broken) delete modules[broken];
  window.require = (name) => { if (!(name in modules)) throw new Error(`Requiring unknown module "${name}"`); return modules[name]; };

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
    return new Promise((resolve, reject) => {
      const tx = db.transaction("keys", mode);
      const req = fn(tx.objectStore("keys"));
      tx.oncomplete = () => resolve(req && req.result);
      tx.onerror = () => reject(tx.error);
    });
  }
  async function storedKeyWorks() {
    const key = await keyStore("readonly", (s) => s.get("wamesh"));
    if (!key || key.extractable !== false) return false;
    const iv = new Uint8Array(12);
    const sealed = await crypto.subtle.encrypt({ name: "AES-GCM", iv }, key, new TextEncoder().encode("ping"));
    const opened = await crypto.subtle.decrypt({ name: "AES-GCM", iv }, key, sealed);
    return new TextDecoder().decode(opened) === "ping";
  }

  let rotation = null;
  function showQr() {
    Socket.set("state", "UNPAIRED");
    const rotate = () => Conn.set("ref", "2@" + b64(crypto.getRandomValues(new Uint8Array(18))));
    rotate();
    rotation = setInterval(rotate, REF_MS);
  }
  function connect() {
    paired = true;
    clearInterval(rotation);
    restoreMessages();
    Socket.set("state", "CONNECTED");
    setTimeout(() => Socket.set("hasSynced", true), 50);
  }
  async function unpair() {
    paired = false;
    await keyStore("readwrite", (s) => s.delete("wamesh"));
    localStorage.removeItem("standin:msgs");
    Cmd.trigger("logout");
    showQr();
  }
  Socket.logout = () => unpair();
  Socket.takeover = () => Socket.set("state", "CONNECTED");

  window.__standin = {
    modules: () => Object.keys(modules).concat(broken ? [broken] : []),
    async scan() {
      const key = await crypto.subtle.generateKey({ name: "AES-GCM", length: 256 }, false, ["encrypt", "decrypt"]);
      await keyStore("readwrite", (s) => s.put(key, "wamesh"));
      connect();
    },
    receive(from, text) {
      const chat = findChat(wid(from));
      const key = new MsgKey({ from: chat.id, to: wid(ME), id: MsgKey.newId(), selfDir: "in" });
      key.remote = chat.id; key._serialized = `false_${from}_${key.id}`;
      Msg.add(new Model({ id: key, from: chat.id, to: wid(ME), body: text, t: Math.floor(Date.now() / 1000), ack: 2, isNewMsg: true }));
      return key.id;
    },
    setAck(id, ack) { const m = Msg.getModelsArray().find((x) => x.id.id === id); if (m) m.set("ack", ack); return !!m; },
    phoneLogout: () => unpair(),
    breakModule(name) { localStorage.setItem("standin:broken", name); location.reload(); },
    repair() { localStorage.removeItem("standin:broken"); },
    conflict() { Socket.set("state", "CONFLICT"); },
    state: () => ({ state: Socket.state, paired, ref: Conn.ref }),
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
        for (const { cmd, args } of commands) await window.__standin[cmd](...(args || []));
      } catch (e) {
        await new Promise((r) => setTimeout(r, 300));
      }
    }
  }
  pollControl();

  setTimeout(async () => {
    window.Debug = { VERSION };
    if (broken) return;
    if (await storedKeyWorks()) connect(); else showQr();
  }, 150);
})();
