// The rooms the page follows: joining them on every socket, opening one,
// and what the server's frames do to them.

import { $, activeRoom, conn, notice, session, state } from "./ctx.js";
import { RoomState, normalizeRoom } from "./rooms.js";
import { showChat } from "./auth.js";
import { afterJoined, onAck, onSendError, resendPending } from "./outbox.js";
import { onStreamFrame, loadHistory, markRead, renderAll, renderPresence, renderTyping, scrollToBottom } from "./messages.js";
import { bumpCount, loadMyRooms, loadRoomList, onRead, renderRoomLists, scheduleMyRooms } from "./sidebar.js";
import { loadRoomInfo, onMemberFrame } from "./members.js";
import { leftText } from "./events.js";
import { showPane } from "./layout.js";
import { resetComposer } from "./composer.js";

// ROOMS_KEY is the sessionStorage key of the followed rooms and the open one.
const ROOMS_KEY = "chat.rooms";
// rateRetryMs is the pause before resending a join refused as rate_limited.
const rateRetryMs = 1500;

/** enterChat shows the chat view and follows the saved rooms (or general). */
export function enterChat() {
  showChat();
  const saved = loadSavedRooms();
  conn.start();
  for (const name of saved.rooms) followRoom(name);
  if (saved.active && state.rooms.has(saved.active)) selectRoom(saved.active);
  else if (state.rooms.size > 0) selectRoom(state.rooms.keys().next().value);
  else joinRoom("general");
  loadRoomList(false);
  loadMyRooms();
}

function loadSavedRooms() {
  try {
    const v = JSON.parse(sessionStorage.getItem(ROOMS_KEY) || "{}");
    const names = Array.isArray(v.rooms) ? v.rooms.map(normalizeRoom).filter(Boolean) : [];
    return { rooms: names, active: normalizeRoom(v.active) };
  } catch {
    return { rooms: [], active: "" };
  }
}

function saveRooms() {
  try {
    sessionStorage.setItem(ROOMS_KEY, JSON.stringify({ rooms: Array.from(state.rooms.keys()), active: state.active }));
  } catch {
    // Not kept across a reload; nothing else depends on it.
  }
}

/** forgetRooms drops every followed room (after logout). */
export function forgetRooms() {
  state.rooms.clear();
  state.mine.clear();
  state.closed.clear();
  state.active = "";
  state.v2 = false;
  resetComposer();
  try {
    sessionStorage.removeItem(ROOMS_KEY);
  } catch {
    // Nothing stored.
  }
  renderAll();
}

/** followRoom starts following a room; the join goes out now or at the next welcome. */
export function followRoom(name) {
  state.closed.delete(name);
  if (state.rooms.has(name)) return state.rooms.get(name);
  const r = new RoomState(name);
  state.rooms.set(name, r);
  sendJoin(r);
  saveRooms();
  renderRoomLists();
  return r;
}

function sendJoin(r) {
  const frame = { type: "join", room: r.name, ref: conn.nextRef("join") };
  if (r.synced) frame.since = r.lastSeq;
  conn.send(frame);
}

/** joinRoom follows and opens a room typed or picked by name. */
export function joinRoom(input) {
  const name = normalizeRoom(input);
  if (!name) {
    notice("A room name is 1 to 64 letters, digits, _ or -.");
    return;
  }
  followRoom(name);
  selectRoom(name);
}

/** unfollowRoom stops following a room on this page (a WebSocket leave). */
export function unfollowRoom(name, quiet = false) {
  if (!state.rooms.has(name)) return;
  if (!quiet) {
    conn.send({ type: "leave", room: name, ref: conn.nextRef("leave") });
    state.closed.add(name);
  }
  state.rooms.delete(name);
  if (state.active === name) state.active = state.rooms.size > 0 ? state.rooms.keys().next().value : "";
  saveRooms();
  renderAll();
}

/** selectRoom opens a followed room. */
export function selectRoom(name) {
  state.active = name;
  saveRooms();
  renderAll();
  scrollToBottom();
  showPane("room");
  const r = activeRoom();
  if (r && r.synced && !r.historyLoaded) loadHistory(r, r.lastSeq + 1);
  if (r) loadRoomInfo(r);
  markRead();
  $("composer-input").focus();
}

$("room-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("room-input");
  joinRoom(input.value);
  input.value = "";
});
$("leave-room").addEventListener("click", () => unfollowRoom(state.active));

conn.addEventListener("welcome", () => {
  for (const r of state.rooms.values()) {
    r.joined = false;
    sendJoin(r);
  }
});

conn.addEventListener("closed", () => {
  for (const r of state.rooms.values()) {
    r.joined = false;
    r.typing.clear();
  }
  // Who is here is unknown until the rooms are joined again.
  renderPresence();
  renderTyping();
});

// streamTypes are the frames that take a seq in a room's stream.
const streamTypes = new Set(["message", "edit", "delete", "member", "room"]);

const handlers = {
  message: (r, f) => onStreamFrame(r, f),
  edit: (r, f) => onStreamFrame(r, f),
  delete: (r, f) => onStreamFrame(r, f),
  member: (r, f) => {
    onStreamFrame(r, f);
    onMemberFrame(r, f);
  },
  room: (r, f) => {
    onStreamFrame(r, f);
    onMemberFrame(r, f);
  },
  joined: (r, f) => onJoined(r, f),
  ack: (r, f) => onAck(r, f),
  presence: (r, f) => {
    r.onPresence(f);
    if (f.room === state.active) renderPresence();
  },
  typing: (r, f) => {
    if (f.from === (session.user && session.user.username)) return;
    r.onTyping(f.from);
    if (f.room === state.active) renderTyping();
  },
  left: (r, f) => onLeft(r, f),
};

conn.addEventListener("frame", (ev) => {
  const f = ev.detail;
  const r = f.room ? state.rooms.get(f.room) : null;
  if (f.type === "error") return onError(r, f);
  if (f.type === "read") return onRead(f);
  if (f.type === "invited") {
    notice(`${f.by || "Someone"} invited you to #${f.room}.`, "info");
    return scheduleMyRooms();
  }
  if (streamTypes.has(f.type)) bumpCount(f.room, f.seq);
  const h = handlers[f.type];
  if (r && h) h(r, f);
});

function onJoined(r, f) {
  const first = r.onJoined(f);
  if (first && !document.querySelector(`[data-testid="room-item"][data-room="${r.name}"]`)) {
    // A room this page has not listed yet (probably just created).
    loadRoomList(false);
  }
  if (r.name === state.active) renderAll();
  afterJoined(r, first);
  resendPending(r);
  markRead();
}

function onLeft(r, f) {
  if (!f.reason) return; // the answer to our own WebSocket leave
  notice(leftText(r.name, f.reason));
  unfollowRoom(r.name, true);
  scheduleMyRooms();
  loadRoomList(false);
}

function onError(r, f) {
  const ref = String(f.ref || "");
  if (r && onSendError(r, f)) return;
  if (ref.startsWith("join-") && r) return onJoinError(r, f);
  if (f.code === "not_joined" && r && !r.joined) {
    sendJoin(r);
    return;
  }
  if (ref.startsWith("read-")) return; // a read marker is best effort
  if (f.code !== "rate_limited" && f.code !== "token_expired" && f.code !== "invalid_token") {
    notice(f.message || f.code);
  }
}

function onJoinError(r, f) {
  if (f.code === "invalid_since") {
    // The server has no such seq (its history was reset): start afresh.
    r.reset();
    sendJoin(r);
    if (r.name === state.active) renderAll();
    return;
  }
  if (f.code === "rate_limited") {
    setTimeout(() => {
      if (state.rooms.get(r.name) === r && !r.joined) sendJoin(r);
    }, rateRetryMs);
    return;
  }
  const why = f.code === "room_not_found" ? "no such room, or it is private." : f.message || f.code;
  notice(`#${r.name}: ${why}`);
  if (["invalid_room", "too_many_rooms", "room_not_found", "forbidden"].includes(f.code)) unfollowRoom(r.name, true);
}

/** rejoin joins a room again on the current socket (after not_joined). */
export function rejoin(r) {
  r.joined = false;
  sendJoin(r);
}
