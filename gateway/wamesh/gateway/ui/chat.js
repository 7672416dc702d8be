// wamesh dashboard (the selected line's chats): loaded before app.js, which calls start(); see app.js's header.
"use strict";

// Chats of the selected line: a model rebuilt from its events ----------------------------------

const CHAT_EVENTS = ["message.received", "message.sent", "message.ack", "message.reaction", "message.edited",
  "message.revoked", "poll.vote", "group.participants", "presence.update"];
const LINE_EVENTS = [...CHAT_EVENTS, "session.status", "session.qr", "session.pairing_code"].join(",");
const RECENT_EVENTS = 200;
const TYPING_SHOWN_MS = 8000;
const SHOWN_PER_CHAT = 200; // a long-open dashboard renders a chat's latest messages only
const ACKS = ["pending", "server", "device", "read", "played"];
const TICKS = { error: "!", pending: "\u{1F552}", server: "\u2713", device: "\u2713\u2713", read: "\u2713\u2713", played: "\u2713\u2713" };

function chatModel(line) {
  return {
    line, live: null, seen: new Set(), open: null, group: null, groupsAsked: false,
    chats: new Map(), messages: new Map(), reactions: new Map(), votes: new Map(), groups: new Map(),
  };
}

// One stream per selected line, whatever its status, reopened when it ends (app.js asks on every
// refresh): the chat's events, and the status, QR and pairing code events that refresh the cards
// at once. One stream, not two: a browser opens at most 6 connections to the gateway, for all of
// its dashboard tabs together. Replayed events are applied once (by event id).
function watchChats(id) {
  if (state.chat && state.chat.line !== id) { stopChats(); }
  if (!state.chat) { state.chat = chatModel(id); renderSoon(); }
  const model = state.chat;
  if (model.live) return;
  model.live = new AbortController();
  readEvents(id, LINE_EVENTS, model.live.signal, (event) => onLineEvent(model, event), RECENT_EVENTS)
    .catch(() => {}).finally(() => { model.live = null; });
}

function onLineEvent(model, event) {
  if (!event.type.startsWith("session.")) applyEvent(model, event);
  else if (event.type === "session.pairing_code") pairingCodeEvent(model.line, event.data);
  else refreshSoon();
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
