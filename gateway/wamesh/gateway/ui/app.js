// wamesh dashboard: plain JavaScript over the REST API (no framework, no CDN).
// Message content comes from strangers: it only ever reaches the page through textContent.
"use strict";

const state = { key: "", selected: null, engine: null, timer: null, pairing: null, watch: null, chat: null, noRecent: false };
const $ = (id) => document.getElementById(id);

// Lines -----------------------------------------------------------------------------------------

function readKey() {
  const match = location.hash.match(/key=([^&]+)/);
  if (match) {
    localStorage.setItem("wamesh-key", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  state.key = localStorage.getItem("wamesh-key") || "";
  $("api-key").value = state.key;
}

function notice(text, bad) {
  const el = $("notice");
  el.textContent = text;
  el.className = bad ? "bad" : "";
}

async function call(method, path, body) {
  const headers = { "X-Api-Key": state.key };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  const resp = await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) });
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.blob();
  if (!resp.ok) throw Object.assign(new Error(data.detail || resp.statusText), { status: resp.status });
  return data;
}

function node(tag, className, text) {
  const el = document.createElement(tag);
  if (className) el.className = className;
  if (text != null) el.textContent = String(text);
  return el;
}

function cell(row, text, className) {
  const td = row.insertCell();
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function button(label, onClick) {
  const b = node("button", null, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

async function refreshLines() {
  const { sessions } = await call("GET", "/v1/sessions");
  const body = $("lines").tBodies[0];
  body.replaceChildren();
  for (const line of sessions) {
    const row = body.insertRow();
    row.dataset.id = line.id;
    if (line.id === state.selected) row.className = "selected";
    const name = cell(row, "");
    name.append(button(line.name, () => select(line.id)));
    cell(row, line.engine);
    cell(row, line.status, "status-" + line.status);
    cell(row, line.me);
    cell(row, line.worker ? line.worker.address : "none");
    cell(row, "").append(button("Delete", () => removeLine(line)));
  }
  if (state.selected) await refreshDetail(sessions.find((s) => s.id === state.selected));
}

async function refreshDetail(line) {
  for (const id of ["detail", "chats-view", "groups-view", "webhooks-view"]) $(id).hidden = !line;
  if (!line) { state.selected = null; stopChats(); renderSoon(); return; }
  $("detail-heading").textContent = "Line " + line.name;
  $("detail-status").textContent = line.status;
  $("detail-status").className = "status-" + line.status;
  $("detail-me").textContent = line.me ? "(" + line.me + ")" : "";
  state.engine = line.engine;
  await refreshQr(line);
  if (line.status === "ready") watchChats(line.id);
  await refreshDeliveries(line.id);
  await refreshInbox(line.id);
}

async function refreshQr(line) {
  const img = $("qr");
  const waiting = line.status === "qr";
  $("pair-form").hidden = !waiting;
  if (waiting) watchPairingCodes(line.id); else { stopWatching(); showPairing(null); }
  // A pending pairing code replaces the QR: the line's qr is then empty.
  const showing = waiting && Boolean(line.qr);
  $("scan").hidden = !(showing && line.engine === "sandbox");
  if (!showing) { img.hidden = true; img.dataset.code = ""; return; }
  if (img.dataset.code === line.qr) return;
  const blob = await call("GET", "/v1/sessions/" + line.id + "/qr?format=svg");
  img.src = URL.createObjectURL(blob);
  img.dataset.code = line.qr || "";
  img.hidden = false;
}

function showPairing(pairing) {
  state.pairing = pairing;
  $("pairing").hidden = !pairing;
  if (!pairing) return;
  $("pairing-code").textContent = pairing.code;
  $("pairing-expiry").textContent = "Valid until " + new Date(pairing.expires_at).toLocaleTimeString();
  $("enter-code").hidden = state.engine !== "sandbox";
}

// Events ----------------------------------------------------------------------------------------

// The line's server-sent events through fetch (EventSource cannot send the API key header).
// With `recent`, the worker first replays that many of the line's latest events; a gateway that
// refuses the parameter is asked again without it.
async function readEvents(id, types, signal, onEvent, recent) {
  const query = "?types=" + types + (recent && !state.noRecent ? "&recent=" + recent : "");
  const resp = await fetch("/v1/sessions/" + id + "/events" + query, { headers: { "X-Api-Key": state.key }, signal });
  if (recent && !state.noRecent && (resp.status === 400 || resp.status === 422)) {
    state.noRecent = true;
    return readEvents(id, types, signal, onEvent);
  }
  if (!resp.ok || !resp.body) return;
  const reader = resp.body.pipeThrough(new TextDecoderStream()).getReader();
  let buffer = "";
  for (;;) {
    const { value, done } = await reader.read();
    if (done) return;
    buffer += value;
    let end;
    while ((end = buffer.indexOf("\n\n")) >= 0) {
      const frame = buffer.slice(0, end);
      buffer = buffer.slice(end + 2);
      const data = frame.split("\n").filter((l) => l.startsWith("data: ")).map((l) => l.slice(6)).join("\n");
      if (!data) continue;
      const event = JSON.parse(data);
      if (types.split(",").includes(event.type)) onEvent(event);
    }
  }
}

// Fresh pairing codes (the engine replaces an expired one) appear as they are issued.
function watchPairingCodes(id) {
  if (state.watch && state.watch.id === id) return;
  stopWatching();
  const ctrl = new AbortController();
  state.watch = { id, ctrl };
  readEvents(id, "session.pairing_code", ctrl.signal, (event) => {
    if (state.selected === id) showPairing({ ...event.data, line: id });
  }).catch(() => {}).finally(() => {
    if (state.watch && state.watch.ctrl === ctrl) state.watch = null;
  });
}

function stopWatching() {
  if (state.watch) state.watch.ctrl.abort();
  state.watch = null;
}

// Chats of the selected line: a model rebuilt from its events ----------------------------------

const CHAT_EVENTS = ["message.received", "message.sent", "message.ack", "message.reaction", "message.edited",
  "message.revoked", "poll.vote", "group.participants", "presence.update"].join(",");
const RECENT_EVENTS = 200;
const TYPING_SHOWN_MS = 8000;
const SHOWN_PER_CHAT = 200; // a long-open dashboard renders a chat's latest messages only
const ACKS = ["pending", "server", "device", "read", "played"];
const TICKS = { error: "!", pending: "\u{1F552}", server: "\u2713", device: "\u2713\u2713", read: "\u2713\u2713", played: "\u2713\u2713" };

function chatModel(line) {
  return {
    line, live: null, seen: new Set(), open: null, group: null,
    chats: new Map(), messages: new Map(), reactions: new Map(), votes: new Map(), groups: new Map(),
  };
}

// One stream per line, reopened when it ends; replayed events are applied once (by event id).
function watchChats(id) {
  if (state.chat && state.chat.line !== id) { stopChats(); }
  if (!state.chat) { state.chat = chatModel(id); renderSoon(); refreshGroups().catch(() => {}); }
  const model = state.chat;
  if (model.live) return;
  model.live = new AbortController();
  readEvents(id, CHAT_EVENTS, model.live.signal, (event) => applyEvent(model, event), RECENT_EVENTS)
    .catch(() => {}).finally(() => { model.live = null; });
}

function stopChats() {
  if (state.chat && state.chat.live) state.chat.live.abort();
  state.chat = null;
}

const APPLY = {
  "message.received": addMessage,
  "message.sent": addMessage,
  "message.ack": applyAck,
  "message.reaction": (model, d) => setKeyed(model.reactions, d.message_id, d.from, d.emoji),
  "message.edited": (model, d) => patchMessage(model, d.message_id, { text: d.text, edited: true }),
  "message.revoked": (model, d) => patchMessage(model, d.message_id, { revoked: true }),
  "poll.vote": (model, d) => setKeyed(model.votes, d.message_id, d.from, d.selected && d.selected.length ? d.selected : null),
  "group.participants": () => refreshGroups(),
  "presence.update": applyPresence,
};

function applyEvent(model, event) {
  if (model !== state.chat || model.seen.has(event.id)) return;
  model.seen.add(event.id);
  const result = APPLY[event.type](model, event.data);
  if (result instanceof Promise) result.catch(() => {});
  renderSoon();
}

function chatOf(model, id, type) {
  let chat = model.chats.get(id);
  if (!chat) {
    const kind = type || (id.endsWith("@g.us") ? "group" : "user");
    chat = { id, type: kind, ids: [], last: "", typing: null, timer: null, asked: false };
    model.chats.set(id, chat);
  }
  return chat;
}

function addMessage(model, m) {
  const known = model.messages.get(m.id);
  model.messages.set(m.id, { ...known, ...m });
  const chat = chatOf(model, m.chat_id, m.chat_type);
  if (!known) chat.ids.push(m.id);
  const time = (id) => model.messages.get(id).timestamp || "";
  chat.ids.sort((a, b) => time(a).localeCompare(time(b)));
  chat.last = time(chat.ids[chat.ids.length - 1]);
  // A group first seen in a message: its subject is asked for once.
  if (chat.type === "group" && !model.groups.has(chat.id) && !chat.asked) {
    chat.asked = true;
    return refreshGroups();
  }
}

function patchMessage(model, id, fields) {
  const m = model.messages.get(id);
  if (m) Object.assign(m, fields);
}

// Acks only move forward (a replayed or late one cannot undo "read"); an error always shows.
function applyAck(model, d) {
  const m = model.messages.get(d.message_id);
  if (m && (d.ack === "error" || ACKS.indexOf(d.ack) > ACKS.indexOf(m.ack))) m.ack = d.ack;
}

// A reaction or a vote: the sender's latest replaces its earlier one; an empty one withdraws it.
function setKeyed(table, id, from, value) {
  if (!table.has(id)) table.set(id, new Map());
  if (value) table.get(id).set(from, value); else table.get(id).delete(from);
}

function applyPresence(model, d) {
  const active = d.presence === "typing" || d.presence === "recording";
  const chat = active ? chatOf(model, d.chat_id) : model.chats.get(d.chat_id);
  // In a group, one member pausing does not hide another's typing.
  if (!chat || (!active && chat.typing && chat.typing.jid !== d.jid)) return;
  clearTimeout(chat.timer);
  chat.typing = active ? { jid: d.jid, presence: d.presence } : null;
  if (active) chat.timer = setTimeout(() => { chat.typing = null; renderSoon(); }, TYPING_SHOWN_MS);
}

// Chat rendering --------------------------------------------------------------------------------

let renderQueued = false;

// Bursts of events (a replay) render once.
function renderSoon() {
  if (renderQueued) return;
  renderQueued = true;
  setTimeout(() => { renderQueued = false; renderChats(state.chat || chatModel(null)); }, 0);
}

function renderChats(model) {
  const chats = [...model.chats.values()].sort((a, b) => b.last.localeCompare(a.last));
  if (!model.open && chats.length) openChat(chats[0].id);
  $("chat-empty").hidden = chats.length > 0;
  $("chat-list").replaceChildren(...chats.map((chat) => chatEntry(model, chat)));
  renderConversation(model, model.chats.get(model.open));
}

function chatEntry(model, chat) {
  const item = node("li", chat.id === model.open ? "selected" : "");
  const open = button(chatName(model, chat.id), () => { openChat(chat.id); renderSoon(); });
  if (chat.id === model.open) open.setAttribute("aria-current", "true");
  item.append(open);
  if (chat.typing) item.append(node("span", "typing", typingText(chat)));
  return item;
}

function openChat(id) {
  state.chat.open = id;
  $("send-to").value = id;
}

function renderConversation(model, chat) {
  $("chat-title").textContent = chat ? chatName(model, chat.id) : "No chat selected";
  $("chat-typing").textContent = chat && chat.typing ? typingText(chat) : "";
  const list = $("chat-messages");
  const atBottom = list.scrollHeight - list.scrollTop - list.clientHeight < 40;
  const ids = chat ? chat.ids.slice(-SHOWN_PER_CHAT) : [];
  list.replaceChildren(...ids.map((id) => bubble(model, model.messages.get(id))));
  if (atBottom) list.scrollTop = list.scrollHeight;
}

function typingText(chat) {
  const what = chat.typing.presence === "recording" ? "recording\u2026" : "typing\u2026";
  return chat.type === "group" ? shortJid(chat.typing.jid) + " is " + what : what;
}

function bubble(model, m) {
  const item = node("li", "bubble " + (m.from_me ? "mine" : "theirs"));
  item.dataset.id = m.id;
  if (m.chat_type === "group" && !m.from_me) item.append(node("span", "author", shortJid(m.author || m.from)));
  if (m.reply_to) item.append(quote(model, m.reply_to));
  item.append(...messageBody(model, m), meta(m));
  const reactions = model.reactions.get(m.id);
  if (reactions && reactions.size) item.append(reactionRow(reactions));
  return item;
}

function quote(model, id) {
  const quoted = model.messages.get(id);
  const box = node("blockquote", "quote");
  if (!quoted) { box.textContent = "Reply to an earlier message"; return box; }
  box.append(node("span", "author", quoted.from_me ? "me" : shortJid(quoted.author || quoted.from)));
  box.append(node("span", null, quoted.revoked ? "deleted message" : snippet(quoted)));
  return box;
}

function snippet(m) {
  const text = m.text || (m.poll && m.poll.question) || (m.location && m.location.name) || m.type;
  return text.length > 80 ? text.slice(0, 80) + "\u2026" : text;
}

function messageBody(model, m) {
  if (m.revoked) return [node("p", "revoked", "This message was deleted")];
  const parts = [];
  if (m.media) parts.push(mediaView(m));
  if (m.media_error) parts.push(node("p", "bad", "Media unavailable: " + m.media_error));
  if (m.location) parts.push(locationView(m.location));
  if (m.contacts && m.contacts.length) parts.push(contactsView(m.contacts));
  if (m.poll) parts.push(pollView(m.poll, model.votes.get(m.id)));
  if (m.text && !(m.poll && m.text === m.poll.question)) parts.push(node("p", "text", m.text));
  return parts;
}

function meta(m) {
  const line = node("span", "meta");
  const time = node("time", null, new Date(m.timestamp).toLocaleTimeString());
  time.dateTime = m.timestamp;
  line.append(time);
  if (m.edited && !m.revoked) line.append(node("span", "edited", "edited"));
  if (m.from_me) {
    const ack = node("span", "ack ack-" + m.ack, TICKS[m.ack] || "");
    ack.title = m.ack;
    ack.setAttribute("aria-label", m.ack);
    line.append(ack);
  }
  return line;
}

function reactionRow(reactions) {
  const byEmoji = new Map();
  for (const [from, emoji] of reactions) byEmoji.set(emoji, [...(byEmoji.get(emoji) || []), shortJid(from)]);
  const row = node("span", "reactions");
  for (const [emoji, who] of byEmoji) {
    const chip = node("span", "reaction", who.length > 1 ? emoji + " " + who.length : emoji);
    chip.title = who.join(", ");
    row.append(chip);
  }
  return row;
}

// Media and structured messages -------------------------------------------------------------------

const blobs = new Map();
const INLINE_IMAGE = /^image\/(png|jpeg|gif|webp|avif|bmp)$/;

// The media URL needs the API key, so it is fetched once and shown from a blob URL. A blob URL
// has the page's origin: anything but a raster image (a stranger's HTML or SVG) is retyped as
// bytes to download, so opening it cannot run script here.
function blobUrl(media) {
  if (!blobs.has(media.url)) {
    const fetched = call("GET", media.url).then((blob) => URL.createObjectURL(
      INLINE_IMAGE.test(media.mimetype) ? blob : new Blob([blob], { type: "application/octet-stream" })));
    blobs.set(media.url, fetched.catch((e) => { blobs.delete(media.url); throw e; }));
  }
  return blobs.get(media.url);
}

function mediaView(m) {
  const media = m.media;
  if (INLINE_IMAGE.test(media.mimetype)) {
    const img = node("img", "media");
    img.alt = (m.type === "sticker" ? "sticker" : "image") + " from " + (m.from_me ? "me" : m.from);
    blobUrl(media).then((url) => { img.src = url; }).catch(() => { img.alt += " (unavailable)"; });
    return img;
  }
  const link = node("a", "download", "Download " + m.type + " (" + media.size + " bytes)");
  link.download = media.filename || media.media_id;
  blobUrl(media).then((url) => { link.href = url; }).catch(() => {});
  return link;
}

function externalLink(href, text) {
  const link = node("a", null, text);
  link.href = href;
  link.target = "_blank";
  link.rel = "noopener noreferrer";
  return link;
}

// Only http(s) links leave the page: a stranger's "javascript:" URL stays text.
function isWebUrl(text) {
  try { return ["http:", "https:"].includes(new URL(text).protocol); } catch (e) { return false; }
}

function locationView(loc) {
  const box = node("div", "location");
  if (loc.name) box.append(node("strong", null, loc.name));
  if (loc.address) box.append(node("span", null, loc.address));
  const lat = Number(loc.latitude), lon = Number(loc.longitude);
  const map = "https://www.openstreetmap.org/?mlat=" + lat + "&mlon=" + lon + "#map=16/" + lat + "/" + lon;
  box.append(externalLink(map, lat.toFixed(5) + ", " + lon.toFixed(5) + " on OpenStreetMap"));
  if (loc.url && isWebUrl(loc.url)) box.append(externalLink(loc.url, loc.url));
  return box;
}

function contactsView(contacts) {
  const list = node("ul", "contacts");
  for (const contact of contacts) {
    const item = node("li", null);
    item.append(node("strong", null, contact.name));
    for (const phone of vcardPhones(contact.vcard)) item.append(node("span", "phone", phone));
    list.append(item);
  }
  return list;
}

// The numbers of a vCard's TEL lines (also "item1.TEL;waid=...:+49 ...").
function vcardPhones(vcard) {
  return (vcard || "").split(/\r?\n/)
    .filter((line) => /^(item\d+\.)?TEL[;:]/i.test(line))
    .map((line) => line.slice(line.indexOf(":") + 1).trim())
    .filter(Boolean);
}

function pollView(poll, votes) {
  const box = node("div", "poll");
  box.append(node("strong", null, poll.question));
  const many = poll.selectable_count;
  box.append(node("span", "hint", many === 1 ? "Select one" : many ? "Select up to " + many : "Select any number"));
  const counts = new Map();
  for (const selected of (votes || new Map()).values()) for (const o of selected) counts.set(o, (counts.get(o) || 0) + 1);
  const list = node("ul", "options");
  for (const option of poll.options) {
    const item = node("li", null);
    const n = counts.get(option) || 0;
    item.append(node("span", "option", option), node("span", "votes", n + (n === 1 ? " vote" : " votes")));
    list.append(item);
  }
  box.append(list);
  return box;
}

function shortJid(jid) {
  const [user, server] = String(jid || "").split("@");
  return server === "s.whatsapp.net" || server === "c.us" ? "+" + user : jid;
}

function chatName(model, id) {
  const group = model.groups.get(id);
  return group ? group.subject : shortJid(id);
}

// Groups ----------------------------------------------------------------------------------------

const lineGroups = (line) => "/v1/sessions/" + line + "/groups";

async function refreshGroups() {
  const model = state.chat;
  if (!model) return;
  let groups;
  try {
    ({ groups } = await call("GET", lineGroups(model.line)));
  } catch (e) {
    $("groups-note").textContent = e.status === 501 ? "This line's engine does not list groups." : e.message;
    return;
  }
  if (model !== state.chat) return;
  model.groups = new Map(groups.map((g) => [g.id, g]));
  $("groups-note").textContent = groups.length ? "" : "The line is in no group.";
  $("group-list").replaceChildren(...groups.map(groupEntry));
  if (model.group) await showGroup(model.group);
  renderSoon();
}

function groupEntry(group) {
  const item = node("li", null);
  const label = group.subject + " (" + group.participants.length + " participants)";
  item.append(button(label, () => guard(showGroup)(group.id)));
  return item;
}

async function showGroup(id) {
  const model = state.chat;
  const group = await call("GET", lineGroups(model.line) + "/" + encodeURIComponent(id));
  if (model !== state.chat) return;
  model.group = id;
  $("group-detail").hidden = false;
  $("group-subject").textContent = group.subject;
  $("group-description").textContent = group.description;
  const body = $("group-participants").tBodies[0];
  body.replaceChildren();
  for (const p of group.participants) {
    const row = body.insertRow();
    cell(row, shortJid(p.jid));
    cell(row, p.is_super_admin ? "super admin" : p.is_admin ? "admin" : "member");
  }
}

function clearGroups() {
  $("group-list").replaceChildren();
  $("group-detail").hidden = true;
  $("groups-note").textContent = "";
}

// Line actions ----------------------------------------------------------------------------------

async function requestPairingCode(event) {
  event.preventDefault();
  const id = state.selected;
  const reply = await call("POST", "/v1/sessions/" + id + "/pairing-code", { phone: $("pair-phone").value });
  showPairing({ ...reply, line: id });
  notice("Pairing code for +" + reply.phone);
}

async function enterPairingCode() {
  await call("POST", "/v1/sessions/" + state.selected + "/sandbox/pairing-code", { code: state.pairing.code });
  notice("Code entered");
  await refreshLines();
}

async function refreshDeliveries(id) {
  const { deliveries } = await call("GET", "/v1/sessions/" + id + "/deliveries?limit=20");
  const body = $("deliveries").tBodies[0];
  body.replaceChildren();
  for (const d of deliveries) {
    const row = body.insertRow();
    cell(row, d.event_type);
    cell(row, d.status, d.status === "delivered" ? "ok" : d.status === "failed" ? "bad" : "");
    cell(row, d.attempts);
    cell(row, d.last_status_code);
    const actions = cell(row, "");
    actions.append(button("Attempts", () => showAttempts(id, d.id)));
    actions.append(button("Redeliver", () => redeliver(id, d.id)));
  }
}

async function showAttempts(id, deliveryId) {
  const d = await call("GET", "/v1/sessions/" + id + "/deliveries/" + deliveryId);
  const lines = d.attempt_log.map((a) => "#" + a.attempt + " " + (a.status_code || a.error) + " in " + a.latency_ms + " ms");
  notice(d.event_type + ": " + (lines.join("; ") || "no attempts yet"));
}

async function redeliver(id, deliveryId) {
  await call("POST", "/v1/sessions/" + id + "/deliveries/" + deliveryId + "/redeliver");
  notice("Queued again");
}

async function refreshInbox(id) {
  let entries = [];
  try { ({ entries } = await call("GET", "/dev/inbox?session_id=" + id)); } catch (e) { return; }
  const body = $("inbox").tBodies[0];
  body.replaceChildren();
  for (const e of entries.slice(0, 20)) {
    const row = body.insertRow();
    cell(row, new Date(e.received_at * 1000).toLocaleTimeString());
    cell(row, e.type);
    cell(row, e.verified ? "verified" : "INVALID", e.verified ? "ok" : "bad");
    cell(row, e.webhook_id);
  }
}

function select(id) {
  if (state.selected !== id) { stopChats(); clearGroups(); renderSoon(); }
  state.selected = id;
  stopWatching();
  showPairing(null);
  $("qr").dataset.code = "";
  refreshLines().catch((e) => notice(e.message, true));
}

async function removeLine(line) {
  if (!confirm("Delete line " + line.name + "?")) return;
  await call("DELETE", "/v1/sessions/" + line.id);
  if (state.selected === line.id) state.selected = null;
  notice("Deleted " + line.name);
  await refreshLines();
}

async function createLine(event) {
  event.preventDefault();
  const body = { name: $("new-name").value };
  if ($("new-engine").value) body.engine = $("new-engine").value;
  const { session } = await call("POST", "/v1/sessions", body);
  if ($("new-inbox").checked) {
    await call("PATCH", "/v1/sessions/" + session.id, { webhook_url: location.origin + "/dev/inbox/" + session.id });
  }
  notice("Created " + session.name);
  $("new-name").value = "";
  select(session.id);
}

async function scan() {
  await call("POST", "/v1/sessions/" + state.selected + "/sandbox/scan");
  notice("Scanned");
  await refreshLines();
}

// A text, or an image: uploaded to the line's media first, then sent by its media_id.
async function send(event) {
  event.preventDefault();
  const line = "/v1/sessions/" + state.selected;
  const body = { to: $("send-to").value };
  const text = $("send-text").value;
  if (text) body.text = text;
  const file = $("send-file").files[0];
  if (file) {
    const resp = await fetch(line + "/media?filename=" + encodeURIComponent(file.name), {
      method: "POST",
      headers: { "X-Api-Key": state.key, "Content-Type": file.type || "application/octet-stream" },
      body: file,
    });
    const uploaded = await resp.json();
    if (!resp.ok) throw new Error(uploaded.detail || resp.statusText);
    body.media = { kind: "image", media_id: uploaded.media_id };
  }
  const reply = await call("POST", line + "/messages", body);
  $("send-file").value = "";
  if (state.chat && state.chat.line === state.selected) { openChat(reply.chat_id); renderSoon(); }
  notice("Sent " + reply.message_id);
}

function guard(fn) {
  return (...args) => fn(...args).catch((e) => notice(e.message, true));
}

function start() {
  readKey();
  $("key-form").addEventListener("submit", (e) => {
    e.preventDefault();
    state.key = $("api-key").value;
    localStorage.setItem("wamesh-key", state.key);
    guard(refreshLines)();
  });
  $("create-form").addEventListener("submit", guard(createLine));
  $("scan").addEventListener("click", guard(scan));
  $("pair-form").addEventListener("submit", guard(requestPairingCode));
  $("enter-code").addEventListener("click", guard(enterPairingCode));
  $("send-form").addEventListener("submit", guard(send));
  $("groups-refresh").addEventListener("click", guard(refreshGroups));
  guard(refreshLines)();
  state.timer = setInterval(guard(refreshLines), 2000);
}

start();
