// wamesh dashboard (the line's groups): loaded before app.js, which calls start(); see app.js's header.
"use strict";

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
