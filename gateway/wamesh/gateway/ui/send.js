// wamesh dashboard (the send box: a text, or a file with a caption): loaded before app.js; see
// app.js's header. A file is uploaded to the line's media store first, then sent by its media_id
// (no base64 inflating the JSON, no size limit but the store's).
"use strict";

// What a file is sent as: pictures WhatsApp shows inline as images, other videos and audio as
// such, anything else (SVG, PDF, archives...) as a document with its name.
function mediaKind(type) {
  if (/^image\/(jpeg|png|webp)$/.test(type)) return "image";
  if (type.startsWith("video/")) return "video";
  if (type.startsWith("audio/")) return "audio";
  return "document";
}

function showChosenFile() {
  const file = $("send-file").files[0];
  $("send-file-info").textContent = file ? mediaKind(file.type) + ": " + file.name + " (" + sizeText(file.size) + ")" : "";
  $("send-file-clear").hidden = !file;
}

function clearChosenFile() {
  $("send-file").value = "";
  showChosenFile();
  $("send-file").focus();
}

function sizeText(bytes) {
  if (bytes < 1024) return bytes + " bytes";
  return bytes < 1048576 ? (bytes / 1024).toFixed(1) + " KiB" : (bytes / 1048576).toFixed(1) + " MiB";
}

async function send(event) {
  event.preventDefault();
  const line = state.selected;
  const body = { to: $("send-to").value };
  const text = $("send-text").value;
  if (text) body.text = text;
  const file = $("send-file").files[0];
  if (file) {
    const kind = mediaKind(file.type);
    const uploaded = await upload(line, file);
    body.media = { kind, media_id: uploaded.media_id };
    if (kind === "document") body.media.filename = file.name;
  }
  const reply = await call("POST", linePath(line) + "/messages", body);
  $("send-text").value = "";
  $("send-file").value = "";
  showChosenFile();
  if (state.chat && state.chat.line === line) { openChat(reply.chat_id); renderSoon(); }
  notice("Sent " + reply.message_id);
}
