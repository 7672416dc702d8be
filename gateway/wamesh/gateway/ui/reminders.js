// wamesh dashboard (the selected line's reminders: list, create, cancel): loaded before app.js;
// see app.js's header. The line's own worker sends them when due.
"use strict";

const REMINDERS_SHOWN = 50;
const DEFAULT_DELAY_MIN = 10;

async function refreshReminders(id) {
  const status = $("reminder-filter").value;
  const query = "?limit=" + REMINDERS_SHOWN + (status ? "&status=" + status : "");
  const { reminders } = await call("GET", linePath(id) + "/reminders" + query);
  if (id !== state.selected) return;
  syncList($("reminder-list"), reminders, (r) => r.id, reminderItem);
  $("reminders-empty").hidden = reminders.length > 0;
}

function reminderItem(r) {
  const item = node("li", "item");
  const head = node("div", "item-head");
  head.append(node("strong", null, shortJid(r.recipient)), node("span", "badge status-" + r.status, r.status));
  const due = node("time", null, "Due " + when(r.due_at));
  due.dateTime = r.due_at;
  item.append(head, node("p", "text", r.text), due);
  if (r.repeat) item.append(node("span", "hint", " · every " + every(r.repeat.every_seconds) + ", #" + r.occurrence));
  if (r.attempts) item.append(node("span", "hint", " · " + r.attempts + (r.attempts === 1 ? " attempt" : " attempts")));
  if (r.last_error) item.append(node("p", "reason", "Error: " + r.last_error));
  if (r.status === "pending") {
    const cancel = button("Cancel reminder", guard(() => cancelReminder(r)), "danger");
    cancel.dataset.action = "cancel";
    cancel.setAttribute("aria-label", "Cancel reminder: " + r.text);
    item.append(bar(cancel));
  }
  return item;
}

function every(seconds) {
  for (const [unit, size] of [["day", 86400], ["hour", 3600], ["minute", 60]]) {
    if (seconds % size === 0) return seconds / size + " " + unit + (seconds === size ? "" : "s");
  }
  return seconds + " seconds";
}

async function createReminder(event) {
  event.preventDefault();
  const id = state.selected;
  const body = { recipient: $("reminder-to").value, text: $("reminder-text").value };
  body.due_at = new Date($("reminder-due").value).toISOString(); // the local time the user picked
  const unit = $("reminder-unit").value;
  if (unit) body.repeat = { every: Number($("reminder-every").value), unit };
  const made = await call("POST", linePath(id) + "/reminders", body);
  notice("Reminder set for " + when(made.due_at));
  $("reminder-text").value = "";
  $("reminder-unit").value = "";
  $("reminder-every").value = "1";
  resetReminderDue();
  await refreshReminders(id);
}

async function cancelReminder(r) {
  await call("DELETE", linePath(r.session_id) + "/reminders/" + r.id);
  notice("Cancelled the reminder to " + shortJid(r.recipient));
  await refreshReminders(r.session_id);
}

// The due field starts a few minutes ahead, in the browser's own time (datetime-local has no zone).
function resetReminderDue() {
  const soon = new Date(Date.now() + DEFAULT_DELAY_MIN * 60000);
  soon.setSeconds(0, 0);
  $("reminder-due").value = new Date(soon.getTime() - soon.getTimezoneOffset() * 60000).toISOString().slice(0, 16);
}
