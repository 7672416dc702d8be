// wamesh dashboard: plain JavaScript over the REST API (no framework, no CDN).
// Message content comes from strangers: it only ever reaches the page through textContent.
// Files, loaded in this order by index.html: content.js (media and structured messages), chat.js
// (the chat model and its rendering), groups.js, then this one (lines, events, actions), which
// calls start(); the others only define functions and constants when they load.
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
