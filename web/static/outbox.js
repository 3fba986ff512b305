// What this page sent and waits to hear back about: messages (kept as
// pending until their ack), edits and deletions. A refused message goes back
// to the composer when it was too long.

import { conn, myName, notice, session, state } from "./ctx.js";
import { newRef } from "./rooms.js";
import { insertMessage, renderPending, loadHistory, fillGaps } from "./messages.js";
import { restoreDraft } from "./composer.js";
import { rejoin } from "./chat.js";

// rateRetryMs is the pause before resending a frame refused as rate_limited.
const rateRetryMs = 1500;

/** changes maps the ref of an edit or delete in flight to {room, seq, type}. */
const changes = new Map();

/** sendMessage queues text for the room; it is sent now or after the join. */
export function sendMessage(r, text) {
  const ref = newRef();
  r.pending.set(ref, { ref, text, error: "" });
  if (r.joined) conn.send({ type: "send", room: r.name, text, ref });
  renderPending(r);
}

/** sendChange sends an edit (text given) or a delete of message seq. */
export function sendChange(r, seq, text) {
  const ref = newRef();
  const frame = text === undefined ? { type: "delete", room: r.name, seq, ref } : { type: "edit", room: r.name, seq, text, ref };
  changes.set(ref, { room: r.name, seq, type: frame.type, text });
  if (!conn.send(frame)) {
    changes.delete(ref);
    notice("Not connected: try again once the page says Connected.");
  }
}

/** resendPending sends again what was written while disconnected (same refs). */
export function resendPending(r) {
  for (const p of r.pending.values()) {
    if (!p.error) conn.send({ type: "send", room: r.name, text: p.text, ref: p.ref });
  }
}

/** retryPending sends one failed message again. */
export function retryPending(r, p) {
  p.error = "";
  if (r.joined) conn.send({ type: "send", room: r.name, text: p.text, ref: p.ref });
  renderPending(r);
}

/** dropPending forgets one pending message. */
export function dropPending(r, ref) {
  if (r.pending.delete(ref) && r.name === state.active) renderPending(r);
}

/** afterJoined loads what a join leaves to REST: first history, gaps. */
export function afterJoined(r, first) {
  if (first && r.name === state.active) loadHistory(r, r.lastSeq + 1);
  if (r.gaps.length > 0) fillGaps(r);
}

/** onAck settles a send (or an edit or delete) the server stored. */
export function onAck(r, f) {
  if (changes.delete(f.ref)) return; // its edit or delete frame shows it
  const p = r.pending.get(f.ref);
  if (!p) return;
  const msg = { type: "message", room: r.name, seq: f.seq, id: f.id, from: myName(), from_id: session.user ? session.user.id : "", text: p.text, ts: f.ts };
  // The message frame follows the ack; until it does, the ack stands in.
  // It does not move lastSeq: messages before it may still be on the way.
  if (r.addHistory([msg]).length > 0 && r.name === state.active) insertMessage(msg);
  dropPending(r, f.ref);
}

/** onSendError handles an error that answers one of our frames; false if it does not. */
export function onSendError(r, f) {
  const ref = String(f.ref || "");
  const ch = changes.get(ref);
  if (ch) {
    changes.delete(ref);
    const what = ch.type === "edit" ? "Edit" : "Delete";
    notice(`${what} refused: ${f.message || f.code}`);
    if (ch.type === "edit" && f.code === "text_too_long") restoreDraft(r, ch.text, f.code, ch.seq);
    return true;
  }
  const p = r.pending.get(ref);
  if (!p) return false;
  if (f.code === "rate_limited") {
    setTimeout(() => {
      if (r.pending.has(ref) && state.rooms.get(r.name) === r) conn.send({ type: "send", room: r.name, text: p.text, ref });
    }, rateRetryMs);
    return true;
  }
  if (f.code === "not_joined") {
    // The socket lost the room: join again, which resends what is pending.
    rejoin(r);
    return true;
  }
  if (f.code === "text_too_long") {
    // The text goes back to the composer to be shortened, not lost.
    dropPending(r, ref);
    restoreDraft(r, p.text, f.code);
    return true;
  }
  p.error = f.message || f.code;
  if (r.name === state.active) renderPending(r);
  return true;
}
