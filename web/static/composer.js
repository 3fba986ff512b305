// The composer: writing, sending, editing one's own message, the character
// count against the service's text limit, and typing notices.

import { $, activeRoom, conn, notice, state } from "./ctx.js";
import { sendChange, sendMessage } from "./outbox.js";
import { scrollToBottom } from "./messages.js";
import { charCount } from "./rooms.js";

// typingEveryMs is the least time between two typing frames for one room.
const typingEveryMs = 3000;
// defaultMaxChars is the contract's default CHAT_MAX_TEXT_CHARS; a refusal
// (text_too_long) teaches the page a lower limit.
const defaultMaxChars = 4000;
// counterFrom is how close to the limit the counter starts to show.
const counterFrom = 200;

const input = $("composer-input");
let maxChars = defaultMaxChars;
let lastTypingSent = new Map(); // room → epoch ms
/** editing is the message being edited: {room, seq}, or null. */
let editing = null;

/** renderComposer enables the composer and shows the counter and edit bar. */
export function renderComposer() {
  const r = activeRoom();
  if (editing && (!r || editing.room !== r.name)) editing = null;
  const n = charCount(input.value);
  const over = n > maxChars;
  const c = $("char-count");
  c.hidden = n < maxChars - counterFrom;
  c.textContent = over ? `${n} / ${maxChars} — ${n - maxChars} too many` : `${n} / ${maxChars}`;
  c.classList.toggle("over", over);
  c.dataset.over = String(over);
  input.disabled = !r;
  $("composer-send").disabled = !(conn.state.name === "connected" && r) || over;
  $("composer-send").textContent = editing ? "Save" : "Send";
  $("edit-bar").hidden = !editing;
}

conn.addEventListener("state", renderComposer);

/** startEdit puts one of the user's messages in the composer to be edited. */
export function startEdit(r, m) {
  editing = { room: r.name, seq: m.seq };
  input.value = m.text;
  renderComposer();
  input.focus();
}

function cancelEdit() {
  if (!editing) return;
  editing = null;
  input.value = "";
  renderComposer();
}

/**
 * restoreDraft puts refused text back in the composer (when it is empty)
 * and, for text_too_long, lowers the limit below the refused length.
 */
export function restoreDraft(r, text, code, seq = 0) {
  if (code === "text_too_long") maxChars = Math.min(maxChars, Math.max(1, charCount(text) - 1));
  notice(`Not sent: the message is longer than the server allows (at most ${maxChars} characters). It is back in the box.`);
  if (r.name !== state.active || input.value !== "") return;
  if (seq) editing = { room: r.name, seq };
  input.value = text;
  renderComposer();
}

function submit() {
  const r = activeRoom();
  const text = input.value;
  if (!r || text.trim() === "") return;
  if (charCount(text) > maxChars) {
    notice(`The message is ${charCount(text) - maxChars} characters over the limit of ${maxChars}.`);
    return;
  }
  if (editing) {
    const m = r.messages.get(editing.seq);
    if (m && m.text !== text) sendChange(r, editing.seq, text);
    editing = null;
  } else {
    sendMessage(r, text);
  }
  input.value = "";
  renderComposer();
  scrollToBottom();
}

input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    submit();
  } else if (ev.key === "Escape") {
    cancelEdit();
  }
});

input.addEventListener("input", () => {
  renderComposer();
  const r = activeRoom();
  if (!r || !r.joined || input.value.trim() === "" || editing) return;
  const now = Date.now();
  if (now - (lastTypingSent.get(r.name) || 0) < typingEveryMs) return;
  if (conn.send({ type: "typing", room: r.name })) lastTypingSent.set(r.name, now);
});

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  submit();
});
$("edit-cancel").addEventListener("click", cancelEdit);

/** resetComposer forgets drafts and typing times (after logout). */
export function resetComposer() {
  lastTypingSent = new Map();
  editing = null;
  input.value = "";
  renderComposer();
}
