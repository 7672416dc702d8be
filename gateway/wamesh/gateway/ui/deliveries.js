// wamesh dashboard (the selected line's webhook: its URL, the delivery log with every attempt,
// redelivery, and the dev inbox): loaded before app.js; see app.js's header.
"use strict";

const DELIVERIES_SHOWN = 15;
const INBOX_SHOWN = 20;
// A delivery's attempts, by delivery id; fetched again only when the delivery changed.
const attemptLogs = new Map();

async function refreshDeliveries(id) {
  const status = $("delivery-filter").value;
  const query = "?limit=" + DELIVERIES_SHOWN + (status ? "&status=" + status : "");
  const { deliveries } = await call("GET", linePath(id) + "/deliveries" + query);
  const shown = await Promise.all(deliveries.map((d) => withAttempts(id, d)));
  if (id !== state.selected) return;
  syncList($("delivery-list"), shown, (d) => d.id, deliveryItem);
  $("deliveries-empty").hidden = deliveries.length > 0;
}

async function withAttempts(line, d) {
  const version = d.status + "/" + d.attempts + "/" + d.updated_at;
  const known = attemptLogs.get(d.id);
  if (known && known.version === version) return { ...d, attempt_log: known.log };
  const full = await call("GET", linePath(line) + "/deliveries/" + d.id);
  attemptLogs.set(d.id, { version, log: full.attempt_log });
  return { ...d, attempt_log: full.attempt_log };
}

function deliveryItem(d) {
  const item = node("li", "item");
  const head = node("div", "item-head");
  head.append(node("strong", null, d.event_type), node("span", "badge status-" + d.status, d.status));
  const made = node("time", "hint", when(d.created_at));
  made.dateTime = d.created_at;
  item.append(head, made);
  const attempts = node("ol", "attempts");
  attempts.setAttribute("aria-label", "Attempts");
  for (const a of d.attempt_log) attempts.append(attemptItem(a));
  if (!d.attempt_log.length) attempts.append(node("li", "hint", "No attempt yet"));
  item.append(attempts);
  if (d.status === "failed" && d.last_error) item.append(node("p", "reason", "Gave up: " + d.last_error));
  const again = button("Redeliver", guard(() => redeliver(d)));
  again.dataset.action = "redeliver";
  again.setAttribute("aria-label", "Redeliver " + d.event_type + " of " + when(d.created_at));
  item.append(bar(again));
  return item;
}

function attemptItem(a) {
  const ok = a.status_code !== null && a.status_code >= 200 && a.status_code < 300;
  const item = node("li", ok ? "ok" : "bad");
  const what = a.status_code !== null ? "HTTP " + a.status_code : a.error || "no answer";
  item.append(node("span", null, "#" + a.attempt + " " + what + " in " + a.latency_ms + " ms, " + when(a.started_at)));
  const detail = a.status_code !== null && !ok ? a.error || a.response_snippet : null;
  if (detail) item.append(node("span", "snippet", detail));
  return item;
}

async function redeliver(d) {
  await call("POST", linePath(d.session_id) + "/deliveries/" + d.id + "/redeliver");
  notice("Queued " + d.event_type + " again");
  await refreshDeliveries(d.session_id);
}

// The webhook URL field shows the line's URL when the line is selected, not on every refresh
// (it would undo what the user is typing).
function showWebhook(line) {
  $("webhook-url").value = line.webhook_url || "";
  $("webhook-inbox").hidden = !state.inbox;
}

async function saveWebhook(event) {
  event.preventDefault();
  const line = await call("PATCH", linePath(state.selected), { webhook_url: $("webhook-url").value || null });
  notice(line.webhook_url ? "Webhooks go to " + line.webhook_url : "Webhooks off");
  await refreshLines();
}

async function useDevInbox() {
  $("webhook-url").value = devInbox(state.selected);
  await saveWebhook(new Event("submit"));
}

async function refreshInbox(id) {
  let entries;
  try {
    ({ entries } = await call("GET", "/dev/inbox?session_id=" + id));
  } catch (e) {
    if (e.status === 404) { state.inbox = false; $("inbox-view").hidden = true; $("new-inbox-field").hidden = true; }
    return;
  }
  const list = $("inbox-list");
  list.replaceChildren(...entries.slice(0, INBOX_SHOWN).map(inboxItem));
  $("inbox-empty").hidden = entries.length > 0;
}

function inboxItem(e) {
  const item = node("li", "item");
  const head = node("div", "item-head");
  head.append(node("strong", null, e.type), node("span", "badge " + (e.verified ? "ok" : "bad"), e.verified ? "verified" : "INVALID"));
  item.append(head, node("span", "hint", moment(e.received_at).toLocaleTimeString() + " · " + e.webhook_id));
  return item;
}
