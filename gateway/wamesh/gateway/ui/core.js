// wamesh dashboard (shared helpers: the REST calls, elements, lists, the confirm dialog, events).
// Loaded first; app.js (loaded last) calls start(). See app.js's header for the files.
"use strict";

const state = {
  key: "", selected: null, engine: null, lines: new Map(), timer: null, pairing: null, watch: null,
  chat: null, noRecent: false, inbox: true,
};
const $ = (id) => document.getElementById(id);
const linePath = (id) => "/v1/sessions/" + id;

function notice(text, bad) {
  const el = $("notice");
  el.textContent = text;
  el.className = bad ? "bad" : "";
}

async function answer(resp) {
  if (resp.status === 204) return null;
  const type = resp.headers.get("Content-Type") || "";
  const data = type.includes("json") ? await resp.json() : await resp.blob();
  if (!resp.ok) throw Object.assign(new Error(data.detail || resp.statusText), { status: resp.status });
  return data;
}

async function call(method, path, body) {
  const headers = { "X-Api-Key": state.key };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  return answer(await fetch(path, { method, headers, body: body === undefined ? undefined : JSON.stringify(body) }));
}

// A file to the line's media store (streamed as the raw body); its media_id and metadata.
async function upload(line, file) {
  const headers = { "X-Api-Key": state.key, "Content-Type": file.type || "application/octet-stream" };
  const path = linePath(line) + "/media?filename=" + encodeURIComponent(file.name);
  return answer(await fetch(path, { method: "POST", headers, body: file }));
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

function button(label, onClick, className) {
  const b = node("button", className, label);
  b.type = "button";
  b.addEventListener("click", onClick);
  return b;
}

function bar(...controls) {
  const box = node("div", "actions");
  box.append(...controls);
  return box;
}

function guard(fn) {
  return (...args) => Promise.resolve().then(() => fn(...args)).catch((e) => notice(e.message, true));
}

// A time as the API gives it (ISO 8601, or seconds since the epoch), in the browser's own zone.
function moment(value) {
  return typeof value === "number" ? new Date(value * 1000) : new Date(value);
}

function when(value) {
  return value == null || value === "" ? "" : moment(value).toLocaleString();
}

// A list kept equal to `items` without rebuilding what did not change (a polled list must not
// steal the keyboard focus): an item's element is rebuilt only when its JSON changed, and the
// focused control of a rebuilt item (by its data-action) keeps the focus.
function syncList(list, items, keyOf, render) {
  const old = new Map([...list.children].map((el) => [el.dataset.key, el]));
  const wanted = items.map((item) => {
    const key = keyOf(item), sig = JSON.stringify(item), el = old.get(key);
    if (el && el.dataset.sig === sig) return el;
    const fresh = render(item);
    Object.assign(fresh.dataset, { key, sig });
    if (el && el.contains(document.activeElement)) refocus(document.activeElement, fresh);
    return fresh;
  });
  wanted.forEach((el, i) => { if (list.children[i] !== el) list.insertBefore(el, list.children[i] || null); });
  while (list.children.length > wanted.length) list.lastElementChild.remove();
}

function refocus(focused, fresh) {
  const action = focused.dataset.action;
  if (!action) return;
  setTimeout(() => { const same = fresh.querySelector('[data-action="' + action + '"]'); if (same) same.focus(); }, 0);
}

// Asks in the page's own dialog (keyboard and screen-reader friendly, unlike confirm()).
function ask(question, action) {
  const dialog = $("confirm-dialog");
  $("confirm-text").textContent = question;
  $("confirm-ok").textContent = action;
  dialog.returnValue = "";
  const opener = document.activeElement;
  return new Promise((resolve) => {
    dialog.addEventListener("close", () => {
      if (opener && opener.isConnected) opener.focus();
      resolve(dialog.returnValue === "ok");
    }, { once: true });
    dialog.showModal();
    $("confirm-cancel").focus();
  });
}

// The line's server-sent events through fetch (EventSource cannot send the API key header).
// With `recent`, the worker first replays that many of the line's latest events; a gateway that
// refuses the parameter is asked again without it.
async function readEvents(id, types, signal, onEvent, recent) {
  const query = "?types=" + types + (recent && !state.noRecent ? "&recent=" + recent : "");
  const resp = await fetch(linePath(id) + "/events" + query, { headers: { "X-Api-Key": state.key }, signal });
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
