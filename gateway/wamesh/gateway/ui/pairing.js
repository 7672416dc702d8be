// wamesh dashboard (linking a line: the QR code and the pairing code, in a modal dialog): loaded
// before app.js; see app.js's header. A modal <dialog> keeps the focus inside, closes on Escape,
// and gives the focus back to the control that opened it.
"use strict";

let dialogLine = null;
let dialogOpener = null;

function openLinkDialog(id, name) {
  dialogLine = id;
  dialogOpener = document.activeElement;
  clearLinkDialog(name || (state.lines.get(id) || {}).name || "");
  const dialog = $("link-dialog");
  if (!dialog.open) dialog.showModal();
  refreshLinkDialog(state.lines.get(id)).catch((e) => notice(e.message, true));
}

// Nothing of another line's (or an earlier) QR stays: the next refresh fills the dialog in.
function clearLinkDialog(name) {
  $("link-title").textContent = "Link " + name;
  $("link-status").textContent = "asking the line\u2026";
  $("link-status").className = "";
  for (const id of ["qr-box", "scan", "pair-form", "link-restart"]) $(id).hidden = true;
  forgetQr();
  $("qr").dataset.code = "";
  showPairing(null);
}

function closeLinkDialog() {
  if ($("link-dialog").open) $("link-dialog").close();
}

function linkDialogClosed() {
  dialogLine = null;
  showPairing(null);
  const opener = dialogOpener;
  dialogOpener = null;
  if (opener && opener.isConnected) opener.focus();
  else if (state.selected) focusCard(state.selected);
}

function focusCard(id) {
  const open = document.getElementById("line-" + id);
  if (open) open.focus();
}

// Called with the line's latest row on every refresh while the dialog is open.
async function refreshLinkDialog(line) {
  if (!$("link-dialog").open || !line || line.id !== dialogLine) return;
  $("link-title").textContent = "Link " + line.name;
  const why = EXPLAINED.includes(line.status) && line.last_error ? ": " + line.last_error : "";
  $("link-status").textContent = line.status + why + (line.worker ? "" : " (no worker serves the line yet)");
  $("link-status").className = "status-" + line.status;
  $("link-restart").hidden = !["failed", "logged_out"].includes(line.status); // not a new line's "stopped"
  if (line.status === "ready") {
    notice("Linked " + line.name + (line.me ? " as " + shortJid(line.me) : ""));
    closeLinkDialog();
    return;
  }
  await refreshQr(line);
}

// Only while a worker serves the line: the gateway answers 503 to a scan or a pairing code before
// its worker registered (the row may already say "qr"), and the list's `worker` comes from the
// same cached registry lookup as those calls.
async function refreshQr(line) {
  const img = $("qr");
  const waiting = line.status === "qr" && Boolean(line.worker);
  $("pair-form").hidden = !waiting;
  if (!waiting) showPairing(null);
  // A pending pairing code replaces the QR: the line's qr is then empty.
  const showing = waiting && Boolean(line.qr);
  $("qr-box").hidden = !showing;
  $("scan").hidden = !(showing && line.engine === "sandbox");
  if (!showing) { img.dataset.code = ""; return; }
  if (img.dataset.code === line.qr) return;
  let blob;
  try {
    blob = await call("GET", linePath(line.id) + "/qr?format=svg");
  } catch (e) {
    if (e.status === 409) return; // paired or failed since the list was read: the next refresh says
    throw e;
  }
  if (dialogLine !== line.id) return; // the dialog moved on meanwhile
  forgetQr();
  img.src = URL.createObjectURL(blob);
  img.dataset.code = line.qr || "";
}

function forgetQr() {
  const img = $("qr");
  if (img.src.startsWith("blob:")) URL.revokeObjectURL(img.src);
  img.removeAttribute("src");
}

function showPairing(pairing) {
  state.pairing = pairing;
  $("pairing").hidden = !pairing;
  if (!pairing) return;
  $("pairing-code").textContent = pairing.code;
  $("pairing-expiry").textContent = "Valid until " + new Date(pairing.expires_at).toLocaleTimeString();
  const line = state.lines.get(pairing.line);
  $("enter-code").hidden = !line || line.engine !== "sandbox";
}

// Fresh pairing codes (the engine replaces an expired one) arrive with the line's events.
function pairingCodeEvent(id, data) {
  if (dialogLine === id) showPairing({ ...data, line: id });
}

async function requestPairingCode(event) {
  event.preventDefault();
  const id = dialogLine;
  const reply = await call("POST", linePath(id) + "/pairing-code", { phone: $("pair-phone").value });
  showPairing({ ...reply, line: id });
  notice("Pairing code for +" + reply.phone);
}

async function enterPairingCode() {
  await call("POST", linePath(dialogLine) + "/sandbox/pairing-code", { code: state.pairing.code });
  notice("Code entered");
  await refreshLines();
}

async function scan() {
  await call("POST", linePath(dialogLine) + "/sandbox/scan");
  notice("Scanned");
  await refreshLines();
}

async function restartFromDialog() {
  const line = state.lines.get(dialogLine);
  if (line) await restartLine(line);
}
