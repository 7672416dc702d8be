// wamesh dashboard: plain JavaScript over the REST API (no framework, no build step, no CDN).
// Message content comes from strangers: it only ever reaches the page through textContent.
// Files, loaded in this order by index.html, all sharing one global scope: core.js (calls,
// elements, lists, the confirm dialog, events), content.js (media and structured messages),
// chat.js (the chat model and its rendering), groups.js, lines.js (the cards and their actions),
// pairing.js (the link dialog), send.js, reminders.js, deliveries.js, then this one (the refresh
// loop and the wiring), which calls start(); the others only define functions when they load.
"use strict";

const REFRESH_MS = 2000;
const LINE_VIEWS = ["line-view", "chats-view", "reminders-view", "deliveries-view", "groups-view", "inbox-view"];

function readKey() {
  const match = location.hash.match(/key=([^&]+)/);
  if (match) {
    localStorage.setItem("wamesh-key", decodeURIComponent(match[1]));
    history.replaceState(null, "", location.pathname);
  }
  state.key = localStorage.getItem("wamesh-key") || "";
  $("api-key").value = state.key;
}

// The selected line's views, refreshed with the cards (every REFRESH_MS, and at once when its
// stream says its status changed).
async function refreshSelected(line) {
  for (const id of LINE_VIEWS) $(id).hidden = !line || (id === "inbox-view" && !state.inbox);
  $("no-line").hidden = Boolean(line);
  if (!line) { if (state.selected) { state.selected = null; stopChats(); clearGroups(); renderSoon(); } return; }
  if (state.shown !== line.id) { state.shown = line.id; attemptLogs.clear(); showWebhook(line); }
  $("line-heading").textContent = line.name;
  $("line-status").textContent = line.status;
  $("line-status").className = "badge status-" + line.status;
  state.engine = line.engine;
  watchChats(line.id);
  const ready = line.status === "ready";
  $("chat-note").textContent = ready ? "" : "The line is " + line.status + ": new messages appear once it is linked and ready.";
  if (ready && !state.chat.groupsAsked) { state.chat.groupsAsked = true; refreshGroups().catch(() => {}); }
  await refreshLinkDialog(line);
  await Promise.all([refreshDeliveries(line.id), refreshReminders(line.id), refreshInbox(line.id)]);
}

let refreshQueued = false;

// Status events come in bursts (a restart says starting, then qr): one refresh for a burst.
function refreshSoon() {
  if (refreshQueued) return;
  refreshQueued = true;
  setTimeout(() => { refreshQueued = false; guard(refreshLines)(); }, 100);
}

let ticking = false;

// The timer's refresh, skipped while the last one still runs (a slow gateway is not piled on).
async function tick() {
  if (ticking) return;
  ticking = true;
  try { await refreshLines(); } finally { ticking = false; }
}

function useKey(event) {
  event.preventDefault();
  state.key = $("api-key").value;
  localStorage.setItem("wamesh-key", state.key);
  guard(refreshLines)();
}

function wire(id, type, fn) {
  $(id).addEventListener(type, guard(fn));
}

function start() {
  readKey();
  $("key-form").addEventListener("submit", useKey);
  wire("create-form", "submit", createLine);
  wire("scan", "click", scan);
  wire("pair-form", "submit", requestPairingCode);
  wire("enter-code", "click", enterPairingCode);
  wire("link-restart", "click", restartFromDialog);
  $("link-dialog").addEventListener("close", linkDialogClosed);
  wire("send-form", "submit", send);
  $("send-file").addEventListener("change", showChosenFile);
  $("send-file-clear").addEventListener("click", clearChosenFile);
  wire("groups-refresh", "click", refreshGroups);
  wire("reminder-form", "submit", createReminder);
  wire("reminder-filter", "change", () => refreshReminders(state.selected));
  wire("delivery-filter", "change", () => refreshDeliveries(state.selected));
  wire("webhook-form", "submit", saveWebhook);
  wire("webhook-inbox", "click", useDevInbox);
  resetReminderDue();
  guard(refreshLines)();
  state.timer = setInterval(guard(tick), REFRESH_MS);
}

start();
