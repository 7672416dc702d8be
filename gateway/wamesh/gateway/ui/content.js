// wamesh dashboard (media and structured messages): loaded before app.js, which calls start(); see app.js's header.
"use strict";

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
