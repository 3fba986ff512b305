// The open room: its messages and events in seq order, pending messages,
// who is here and typing, history over REST, and read markers.

import { $, activeRoom, clampInt, conn, describe, myName, notice, session, state } from "./ctx.js";
import { typingText } from "./rooms.js";
import { fillGap, readPage } from "./history.js";
import { eventItem, insertBySeq, memberItem, messageItem, pendingItem } from "./view.js";
import { eventText } from "./events.js";
import { dropPending, retryPending } from "./outbox.js";
import { messageActions } from "./edits.js";
import { noteUnread, renderRoomLists } from "./sidebar.js";
import { renderRoomHead } from "./members.js";
import { renderComposer } from "./composer.js";

// pageSize is the number of messages per "load older" page (?page_size=N).
const pageSize = clampInt(new URLSearchParams(location.search).get("page_size"), 1, 200, 50);

/** renderAll draws the whole chat view for the open room. */
export function renderAll() {
  renderRoomLists();
  const r = activeRoom();
  renderRoomHead(r);
  document.title = r ? `#${r.name} — Chat` : "Chat";
  $("leave-room").hidden = !r;
  $("messages").replaceChildren(...(r ? r.sorted().map((m) => itemFor(r, m)) : []));
  renderOlder();
  renderPending(r);
  renderPresence();
  renderTyping();
  renderComposer();
}

function itemFor(r, m) {
  if (m.type === "member" || m.type === "room") return eventItem(m, eventText(m));
  const li = messageItem(m, myName(), messageActions(r, m));
  if (r && r.found === m.seq) li.classList.add("found");
  return li;
}

/** onStreamFrame applies a message, edit, delete, member or room frame. */
export function onStreamFrame(r, f) {
  const open = r.name === state.active;
  if (f.type === "message") {
    if (r.addLive(f) && open) insertMessage(f);
    else if (open) redraw(r, f.seq);
    if (f.from !== myName() && !f.deleted) noteUnread(r, f);
  } else if (f.type === "edit" || f.type === "delete") {
    const m = r.addChange(f);
    if (m && open) redraw(r, m.seq);
  } else if (r.addEvent(f) && open) {
    insertItem(eventItem(f, eventText(f)), f.seq);
  }
  if (r.gaps.length > 0 && r.joined) fillGaps(r);
  if (open) {
    renderTyping();
    markRead();
  }
}

/** redraw replaces the shown item of message seq with its current state. */
export function redraw(r, seq) {
  const m = r.messages.get(seq);
  const old = document.querySelector(`[data-testid="messages"] [data-testid="message"][data-seq="${seq}"]`);
  if (m && old) old.replaceWith(itemFor(r, m));
}

/** insertMessage puts one message of the open room in seq order. */
export function insertMessage(m, follow = true) {
  insertItem(itemFor(activeRoom(), m), m.seq, follow);
}

function insertItem(li, seq, follow = true) {
  const s = $("scroller");
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  if (!insertBySeq($("messages"), li, seq)) return;
  renderOlder();
  if (follow && atBottom) scrollToBottom();
}

/** renderPending shows the open room's messages waiting for their ack. */
export function renderPending(r) {
  const ol = $("messages");
  for (const e of ol.querySelectorAll('[data-testid="pending-message"]')) e.remove();
  if (!r || r.name !== state.active) return;
  for (const p of r.pending.values()) {
    ol.append(pendingItem(p, myName(), { onRetry: () => retryPending(r, p), onDiscard: () => dropPending(r, p.ref) }));
  }
  renderOlder();
}

/** renderOlder shows "load older" and the empty-room line as they apply. */
export function renderOlder() {
  const r = activeRoom();
  $("load-older").hidden = !(r && r.hasMore);
  $("empty-room").hidden = !(r && r.historyLoaded && r.messages.size === 0 && r.events.size === 0 && r.pending.size === 0);
}

/**
 * renderPresence lists who is here; while the socket is not in the room the
 * list is marked unknown instead of showing who was here before.
 */
export function renderPresence() {
  const r = activeRoom();
  const known = !!r && r.joined;
  const names = known ? Array.from(r.members).sort() : [];
  const ul = $("members");
  ul.replaceChildren(...names.map((name) => memberItem(name, myName())));
  ul.dataset.presence = r ? (known ? "known" : "unknown") : "";
  $("presence-unknown").hidden = !r || known;
  $("member-count").textContent = known ? `(${names.length})` : "";
}

let typingTimer = 0;
/** renderTyping shows who is typing in the open room. */
export function renderTyping() {
  const r = activeRoom();
  const names = r && r.joined ? r.typers() : [];
  const el = $("typing");
  el.textContent = typingText(names);
  el.dataset.users = names.join(",");
  clearTimeout(typingTimer);
  if (names.length > 0) typingTimer = setTimeout(renderTyping, 1000);
}

/** scrollToBottom shows the newest message of the open room. */
export function scrollToBottom() {
  const s = $("scroller");
  s.scrollTop = s.scrollHeight;
}

/**
 * markRead moves the read marker of the open room to its newest seq when
 * the user can see it: the tab is visible and the list is scrolled down.
 */
export function markRead() {
  const r = activeRoom();
  if (!r || !r.joined || !state.v2 || document.visibilityState !== "visible") return;
  const s = $("scroller");
  if (s.scrollHeight - s.scrollTop - s.clientHeight > 40) return;
  if (r.lastSeq <= (r.readSent || 0)) return;
  r.readSent = r.lastSeq;
  conn.send({ type: "read", room: r.name, seq: r.lastSeq, ref: conn.nextRef("read") });
}

$("scroller").addEventListener("scroll", () => markRead(), { passive: true });
document.addEventListener("visibilitychange", () => markRead());
window.addEventListener("focus", () => markRead());

/** loadHistory reads the page of messages before seq `before` over REST. */
export async function loadHistory(r, before) {
  if (before <= 1) {
    r.historyLoaded = true;
    r.hasMore = false;
    if (r.name === state.active) renderAll();
    return;
  }
  let data;
  try {
    data = await readPage(session, r.name, before, pageSize);
  } catch (err) {
    if (session.active) notice(`History: ${describe(err)}`);
    return;
  }
  if (state.rooms.get(r.name) !== r) return;
  const added = r.addHistory(data.messages);
  r.hasMore = !!data.has_more;
  r.historyLoaded = true;
  if (r.name === state.active) {
    const s = $("scroller");
    const fromBottom = s.scrollHeight - s.scrollTop;
    for (const m of added) insertMessage(m, false);
    renderOlder();
    // Keep the view where it was when older messages come in above it.
    s.scrollTop = s.scrollHeight - fromBottom;
  }
}

let loadingOlder = false;
$("load-older").addEventListener("click", async () => {
  const r = activeRoom();
  if (!r || loadingOlder) return;
  loadingOlder = true;
  $("load-older").disabled = true;
  try {
    await loadHistory(r, r.oldestSeq() || r.lastSeq + 1);
  } finally {
    loadingOlder = false;
    $("load-older").disabled = false;
  }
});

const filling = new Set();
/** fillGaps reads over REST the seqs a truncated replay left out. */
export async function fillGaps(r) {
  if (filling.has(r)) return;
  filling.add(r);
  try {
    while (r.gaps.length > 0 && state.rooms.get(r.name) === r) {
      const whole = await fillGap(session, r, r.gaps[0], (added) => {
        if (r.name === state.active) for (const m of added) insertMessage(m, false);
      });
      r.gaps.shift();
      if (!whole && r.name === state.active) renderAll();
    }
  } catch (err) {
    if (session.active) notice(`Missed messages: ${describe(err)}`);
  } finally {
    filling.delete(r);
  }
}
