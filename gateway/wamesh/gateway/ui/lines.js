// wamesh dashboard (lines as cards and their actions): loaded before app.js; see app.js's header.
"use strict";

const PAIRED = ["ready", "disconnected"];
// Statuses whose last_error says why the line is there (qr_timeout, a logout, a lost connection).
const EXPLAINED = ["failed", "logged_out", "disconnected"];
const STUCK = ["failed", "logged_out", "stopped"];

async function refreshLines() {
  const { sessions } = await call("GET", "/v1/sessions");
  state.lines = new Map(sessions.map((line) => [line.id, line]));
  const shown = sessions.map((line) => ({ ...line, selected: line.id === state.selected }));
  syncList($("lines"), shown, (line) => line.id, lineCard);
  $("lines-empty").hidden = sessions.length > 0;
  await refreshSelected(state.lines.get(state.selected));
}

function lineCard(line) {
  const item = node("li", "card" + (line.selected ? " selected" : ""));
  const card = node("article");
  card.setAttribute("aria-labelledby", "line-" + line.id);
  const title = node("h3");
  const open = action(line.name, "open", () => select(line.id), "link");
  open.id = "line-" + line.id;
  if (line.selected) open.setAttribute("aria-current", "true");
  title.append(open);
  const head = node("div", "card-head");
  head.append(title, node("span", "badge status-" + line.status, line.status));
  card.append(head, facts(line));
  if (EXPLAINED.includes(line.status) && line.last_error) card.append(node("p", "reason", "Reason: " + line.last_error));
  card.append(lineActions(line));
  item.append(card);
  return item;
}

function facts(line) {
  const list = node("dl", "facts");
  const worker = line.worker ? line.worker.address + " (pid " + line.worker.pid + ")" : "none running";
  const wanted = line.desired_state === "stopped" ? "no (stopped)" : "yes";
  for (const [term, value] of [["Engine", line.engine], ["Number", line.me ? shortJid(line.me) : "not linked"], ["Worker", worker], ["Wants a worker", wanted]]) {
    list.append(node("dt", null, term), node("dd", null, value));
  }
  return list;
}

function lineActions(line) {
  const controls = [];
  if (line.status === "qr") controls.push(action("Link (QR or code)", "link", () => linkLine(line.id), "primary"));
  if (line.desired_state === "stopped") {
    // Stopped: no worker should serve it (pool mode takes it once started again).
    controls.push(action("Start", "start", () => setDesired(line, "start"), "primary"));
    controls.push(action("Delete", "delete", () => removeLine(line), "danger"));
    return bar(...controls);
  }
  controls.push(action("Restart", "restart", () => restartLine(line), STUCK.includes(line.status) ? "primary" : ""));
  controls.push(action("Stop", "stop", () => setDesired(line, "stop")));
  if (PAIRED.includes(line.status)) controls.push(action("Log out", "logout", () => logoutLine(line)));
  controls.push(action("Delete", "delete", () => removeLine(line), "danger"));
  return bar(...controls);
}

// A card's control: named by `what` so a rebuilt card gives the focus back to the same control.
function action(label, what, run, className) {
  const b = button(label, guard(run), className);
  b.dataset.action = what;
  return b;
}

function select(id) {
  if (state.selected !== id) { stopChats(); clearGroups(); renderSoon(); }
  state.selected = id;
  refreshLines().catch((e) => notice(e.message, true));
}

function linkLine(id) {
  if (state.selected !== id) select(id);
  openLinkDialog(id);
}

async function restartLine(line) {
  const reply = await call("POST", linePath(line.id) + "/restart");
  notice("Restarted " + line.name + ": " + reply.status);
  if (state.selected !== line.id) select(line.id); else await refreshLines();
}

// Start or stop a line (its desired state): a stopped line's worker saves it and lets it go.
async function setDesired(line, verb) {
  const reply = await call("POST", linePath(line.id) + "/" + verb);
  notice((verb === "start" ? "Started " : "Stopped ") + line.name + ": " + reply.desired_state);
  await refreshLines();
}

async function logoutLine(line) {
  if (!(await ask("Log out " + line.name + "? The phone must link it again.", "Log out"))) return;
  const reply = await call("POST", linePath(line.id) + "/logout");
  notice("Logged out " + line.name + ": " + reply.status);
  await refreshLines();
}

async function removeLine(line) {
  if (!(await ask("Delete " + line.name + " with its reminders and deliveries?", "Delete"))) return;
  await call("DELETE", linePath(line.id));
  if (state.selected === line.id) { state.selected = null; closeLinkDialog(); }
  notice("Deleted " + line.name);
  await refreshLines();
}

async function createLine(event) {
  event.preventDefault();
  const body = { name: $("new-name").value };
  if ($("new-engine").value) body.engine = $("new-engine").value;
  const { session } = await call("POST", "/v1/sessions", body);
  // The dev inbox's URL names the line, which exists only once created.
  if ($("new-inbox").checked && state.inbox) await call("PATCH", linePath(session.id), { webhook_url: devInbox(session.id) });
  notice("Created " + session.name);
  $("new-name").value = "";
  select(session.id);
  openLinkDialog(session.id, session.name);
}

function devInbox(id) {
  return location.origin + "/dev/inbox/" + id;
}
