// The chat page: log in, pick rooms, read and write messages. User text is
// only ever put in the page with textContent.

import { APIError, Session } from "./api.js";
import { Connection, socketURL } from "./socket.js";
import { RoomState, newRef, normalizeRoom, typingText } from "./rooms.js";
import { fillGap, readPage } from "./history.js";
import { insertBySeq, joinedRoomItem, memberItem, messageItem, pendingItem, roomListItem } from "./view.js";

// typingEveryMs is the least time between two typing frames for one room.
const typingEveryMs = 3000;
// rateRetryMs is the pause before resending a frame refused as rate_limited.
const rateRetryMs = 1500;
// ROOMS_KEY is the sessionStorage key of the joined rooms and the open one.
const ROOMS_KEY = "chat.rooms";

const params = new URLSearchParams(location.search);
// pageSize is the number of messages per "load older" page (?page_size=N).
const pageSize = clampInt(params.get("page_size"), 1, 200, 50);

const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

const session = new Session(sessionStorage);
const conn = new Connection({ url: socketURL(location), session });
/** rooms maps a room name to its RoomState, in join order. */
const rooms = new Map();
let active = "";
let lastTypingSent = new Map(); // room → epoch ms
let roomsNext = null;

// ---- views ----

function showAuth(notice) {
  $("auth-view").hidden = false;
  $("chat-view").hidden = true;
  $("whoami").hidden = true;
  const n = $("auth-notice");
  n.textContent = notice || "";
  n.hidden = !notice;
  $("login-password").value = "";
  $("register-password").value = "";
  document.title = "Chat";
}

function showChat() {
  $("auth-view").hidden = true;
  $("chat-view").hidden = false;
  $("whoami").hidden = false;
  $("me").textContent = session.user ? session.user.username : "";
  $("auth-notice").hidden = true;
}

function setError(id, err) {
  const el = $(id);
  el.textContent = err ? describe(err) : "";
  el.hidden = !err;
}

function describe(err) {
  if (err instanceof APIError) {
    if (err.code === "too_many_attempts" && err.retryAfter) return `${err.message} Try again in ${err.retryAfter} s.`;
    return err.message || err.code;
  }
  return String((err && err.message) || err);
}

let noticeTimer = 0;
function notice(text) {
  const el = $("notice");
  el.textContent = text;
  el.hidden = !text;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => notice(""), 8000);
}

// ---- connection state line ----

let stateTimer = 0;
function renderState() {
  const s = conn.state;
  const el = $("conn-state");
  el.dataset.state = s.name;
  el.dataset.code = String(s.code || "");
  let text = s.text;
  if (s.name === "reconnecting" && s.until) {
    const left = Math.max(0, Math.ceil((s.until - Date.now()) / 1000));
    text += left > 0 ? ` in ${left} s` : "…";
  }
  $("conn-text").textContent = text;
  $("reconnect").hidden = !(s.name === "reconnecting" || s.name === "stopped" || s.name === "offline");
  clearInterval(stateTimer);
  if (s.name === "reconnecting" && s.until > Date.now()) stateTimer = setInterval(renderState, 1000);
  const canWrite = s.name === "connected" && !!active;
  $("composer-input").disabled = !active;
  $("composer-send").disabled = !canWrite;
}

conn.addEventListener("state", renderState);
$("reconnect").addEventListener("click", () => conn.reconnectNow());

// ---- session ----

session.addEventListener("ended", (ev) => {
  const reason = ev.detail.reason;
  if (reason === "logout") {
    conn.stop("idle", "Logged out");
  } else {
    conn.stop("ended", "Session ended, log in again");
  }
  forgetRooms();
  showAuth(reason === "logout" ? "" : "Your session ended. Log in again.");
});

$("login-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget;
  setError("login-error", null);
  f.querySelector("button").disabled = true;
  try {
    await session.login(f.username.value.trim(), f.password.value);
    enterChat();
  } catch (err) {
    setError("login-error", err);
  } finally {
    f.querySelector("button").disabled = false;
  }
});

$("register-form").addEventListener("submit", async (ev) => {
  ev.preventDefault();
  const f = ev.currentTarget;
  setError("register-error", null);
  f.querySelector("button").disabled = true;
  try {
    const user = await session.register(f.username.value.trim(), f.password.value);
    await session.login(user.username, f.password.value);
    enterChat();
  } catch (err) {
    setError("register-error", err);
  } finally {
    f.querySelector("button").disabled = false;
  }
});

$("logout").addEventListener("click", () => {
  session.logout();
});

function enterChat() {
  showChat();
  const saved = loadSavedRooms();
  conn.start();
  for (const name of saved.rooms) addRoom(name);
  if (saved.active && rooms.has(saved.active)) selectRoom(saved.active);
  else if (rooms.size > 0) selectRoom(rooms.keys().next().value);
  else joinRoom("general");
  loadRoomList(false);
}

// ---- rooms ----

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
    sessionStorage.setItem(ROOMS_KEY, JSON.stringify({ rooms: Array.from(rooms.keys()), active }));
  } catch {
    // Not kept across a reload; nothing else depends on it.
  }
}

function forgetRooms() {
  rooms.clear();
  active = "";
  lastTypingSent = new Map();
  try {
    sessionStorage.removeItem(ROOMS_KEY);
  } catch {
    // Nothing stored.
  }
  renderAll();
}

// addRoom starts following a room; the join goes out now or at the next
// welcome.
function addRoom(name) {
  if (rooms.has(name)) return rooms.get(name);
  const r = new RoomState(name);
  rooms.set(name, r);
  sendJoin(r);
  saveRooms();
  renderJoinedRooms();
  return r;
}

function sendJoin(r) {
  const frame = { type: "join", room: r.name, ref: conn.nextRef("join") };
  if (r.synced) frame.since = r.lastSeq;
  conn.send(frame);
}

function joinRoom(input) {
  const name = normalizeRoom(input);
  if (!name) {
    notice("A room name is 1 to 64 letters, digits, _ or -.");
    return;
  }
  addRoom(name);
  selectRoom(name);
}

function leaveRoom(name) {
  if (!rooms.has(name)) return;
  conn.send({ type: "leave", room: name, ref: conn.nextRef("leave") });
  rooms.delete(name);
  if (active === name) active = rooms.size > 0 ? rooms.keys().next().value : "";
  saveRooms();
  renderAll();
}

function selectRoom(name) {
  active = name;
  saveRooms();
  renderAll();
  scrollToBottom();
  $("composer-input").focus();
}

$("room-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  const input = $("room-input");
  joinRoom(input.value);
  input.value = "";
});

$("leave-room").addEventListener("click", () => leaveRoom(active));
$("rooms-refresh").addEventListener("click", () => loadRoomList(false));
$("rooms-more").addEventListener("click", () => loadRoomList(true));

async function loadRoomList(more) {
  const after = more && roomsNext ? `&after=${encodeURIComponent(roomsNext)}` : "";
  let data;
  try {
    data = await session.api("GET", `/api/v1/rooms?limit=100${after}`);
  } catch (err) {
    if (session.active) notice(`Rooms: ${describe(err)}`);
    return;
  }
  const ul = $("room-list");
  if (!more) ul.replaceChildren();
  for (const room of data.rooms || []) ul.append(roomListItem(room, () => joinRoom(room.name)));
  roomsNext = data.next || null;
  $("rooms-more").hidden = !roomsNext;
}

// ---- socket frames ----

conn.addEventListener("welcome", () => {
  for (const r of rooms.values()) {
    r.joined = false;
    sendJoin(r);
  }
  renderState();
});

conn.addEventListener("closed", () => {
  for (const r of rooms.values()) {
    r.joined = false;
    r.typing.clear();
  }
  if (rooms.has(active)) renderTyping();
});

conn.addEventListener("frame", (ev) => {
  const f = ev.detail;
  const r = f.room ? rooms.get(f.room) : null;
  switch (f.type) {
    case "message":
      if (!r) break;
      if (r.addLive(f) && f.room === active) insertMessage(f);
      if (r.gaps.length > 0 && r.joined) fillGaps(r);
      if (f.room === active) renderTyping();
      break;
    case "joined":
      if (!r) return;
      onJoined(r, f);
      break;
    case "ack":
      if (r) onAck(r, f);
      break;
    case "presence":
      if (r) {
        r.onPresence(f);
        if (f.room === active) renderMembers();
      }
      break;
    case "typing":
      if (r && (!session.user || f.from !== session.user.username)) {
        r.onTyping(f.from);
        if (f.room === active) renderTyping();
      }
      break;
    case "error":
      onError(r, f);
      break;
    case "authed":
    case "left":
    default:
      break;
  }
});

function onJoined(r, f) {
  const first = r.onJoined(f);
  if (first && !document.querySelector(`[data-testid="room-item"][data-room="${r.name}"]`)) {
    // A room this page has not listed yet (probably just created).
    loadRoomList(false);
  }
  if (r.name === active) renderAll();
  if (first) loadHistory(r, Number(f.last_seq) + 1);
  if (r.gaps.length > 0) fillGaps(r);
  // Resend what was written while disconnected: the same ref makes a
  // resend of a stored message harmless.
  for (const p of r.pending.values()) {
    if (!p.error) conn.send({ type: "send", room: r.name, text: p.text, ref: p.ref });
  }
}

function onAck(r, f) {
  const p = r.pending.get(f.ref);
  if (!p) return;
  const msg = {
    type: "message",
    room: r.name,
    seq: f.seq,
    id: f.id,
    from: session.user ? session.user.username : "",
    from_id: session.user ? session.user.id : "",
    text: p.text,
    ts: f.ts,
  };
  // The message frame follows the ack; until it does, the ack stands in.
  // It does not move lastSeq: messages before it may still be on the way.
  if (r.addHistory([msg]).length > 0 && r.name === active) insertMessage(msg);
  dropPending(r, f.ref);
}

function onError(r, f) {
  const ref = String(f.ref || "");
  if (r && r.pending.has(ref)) {
    const p = r.pending.get(ref);
    if (f.code === "rate_limited") {
      setTimeout(() => {
        if (r.pending.has(ref) && rooms.get(r.name) === r) conn.send({ type: "send", room: r.name, text: p.text, ref });
      }, rateRetryMs);
      return;
    }
    if (f.code === "not_joined") {
      // The socket lost the room: join again, which resends what is pending.
      r.joined = false;
      sendJoin(r);
      return;
    }
    p.error = f.message || f.code;
    if (r.name === active) renderPending(r);
    return;
  }
  if (ref.startsWith("join-") && r) {
    if (f.code === "invalid_since") {
      // The server has no such seq (its history was reset): start afresh.
      r.reset();
      sendJoin(r);
      if (r.name === active) renderAll();
      return;
    }
    if (f.code === "rate_limited") {
      setTimeout(() => {
        if (rooms.get(r.name) === r && !r.joined) sendJoin(r);
      }, rateRetryMs);
      return;
    }
    notice(`#${r.name}: ${f.message || f.code}`);
    if (f.code === "invalid_room" || f.code === "too_many_rooms") {
      rooms.delete(r.name);
      if (active === r.name) active = rooms.size > 0 ? rooms.keys().next().value : "";
      saveRooms();
      renderAll();
    }
    return;
  }
  if (f.code === "not_joined" && r && !r.joined) {
    sendJoin(r);
    return;
  }
  if (f.code !== "rate_limited" && f.code !== "token_expired" && f.code !== "invalid_token") {
    notice(f.message || f.code);
  }
}

// ---- history over REST ----

async function loadHistory(r, before) {
  if (before <= 1) {
    r.historyLoaded = true;
    r.hasMore = false;
    if (r.name === active) renderAll();
    return;
  }
  let data;
  try {
    data = await readPage(session, r.name, before, pageSize);
  } catch (err) {
    if (session.active) notice(`History: ${describe(err)}`);
    return;
  }
  if (rooms.get(r.name) !== r) return;
  const added = r.addHistory(data.messages);
  r.hasMore = !!data.has_more;
  r.historyLoaded = true;
  if (r.name === active) {
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
  const r = rooms.get(active);
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
// fillGaps reads over REST the seqs a truncated replay left out.
async function fillGaps(r) {
  if (filling.has(r)) return;
  filling.add(r);
  try {
    while (r.gaps.length > 0 && rooms.get(r.name) === r) {
      const whole = await fillGap(session, r, r.gaps[0], (added) => {
        if (r.name === active) for (const m of added) insertMessage(m, false);
      });
      r.gaps.shift();
      if (!whole && r.name === active) renderAll();
    }
  } catch (err) {
    if (session.active) notice(`Missed messages: ${describe(err)}`);
  } finally {
    filling.delete(r);
  }
}

// ---- composer ----

const input = $("composer-input");

input.addEventListener("keydown", (ev) => {
  if (ev.key === "Enter" && !ev.shiftKey && !ev.isComposing) {
    ev.preventDefault();
    sendComposer();
  }
});

input.addEventListener("input", () => {
  if (!active || input.value.trim() === "") return;
  const r = rooms.get(active);
  if (!r || !r.joined) return;
  const now = Date.now();
  if (now - (lastTypingSent.get(active) || 0) < typingEveryMs) return;
  if (conn.send({ type: "typing", room: active })) lastTypingSent.set(active, now);
});

$("composer").addEventListener("submit", (ev) => {
  ev.preventDefault();
  sendComposer();
});

function sendComposer() {
  const r = rooms.get(active);
  const text = input.value;
  if (!r || text.trim() === "") return;
  const ref = newRef();
  r.pending.set(ref, { ref, text, error: "" });
  input.value = "";
  if (r.joined) conn.send({ type: "send", room: r.name, text, ref });
  renderPending(r);
  scrollToBottom();
}

function dropPending(r, ref) {
  if (r.pending.delete(ref) && r.name === active) renderPending(r);
}

// ---- rendering ----

function renderAll() {
  renderJoinedRooms();
  const r = rooms.get(active);
  $("room-title").textContent = r ? "#" + r.name : "No room";
  document.title = r ? `#${r.name} — Chat` : "Chat";
  $("leave-room").hidden = !r;
  const ol = $("messages");
  ol.replaceChildren();
  if (r) for (const m of r.sorted()) ol.append(messageItem(m, myName()));
  renderOlder();
  renderPending(r);
  renderMembers();
  renderTyping();
  renderState();
}

function renderJoinedRooms() {
  $("joined-rooms").replaceChildren(...Array.from(rooms.keys(), (name) => joinedRoomItem(name, name === active, () => selectRoom(name))));
}

function renderOlder() {
  const r = rooms.get(active);
  $("load-older").hidden = !(r && r.hasMore);
  $("empty-room").hidden = !(r && r.historyLoaded && r.messages.size === 0 && r.pending.size === 0);
}

// insertMessage puts one message of the open room in seq order.
function insertMessage(m, follow = true) {
  const s = $("scroller");
  const atBottom = s.scrollHeight - s.scrollTop - s.clientHeight < 40;
  if (!insertBySeq($("messages"), messageItem(m, myName()), m.seq)) return;
  renderOlder();
  if (follow && atBottom) scrollToBottom();
}

function renderPending(r) {
  const ol = $("messages");
  for (const e of ol.querySelectorAll('[data-testid="pending-message"]')) e.remove();
  if (!r || r.name !== active) return;
  for (const p of r.pending.values()) {
    const onRetry = () => {
      p.error = "";
      if (r.joined) conn.send({ type: "send", room: r.name, text: p.text, ref: p.ref });
      renderPending(r);
    };
    ol.append(pendingItem(p, myName(), { onRetry, onDiscard: () => dropPending(r, p.ref) }));
  }
  renderOlder();
}

function renderMembers() {
  const r = rooms.get(active);
  const names = r ? Array.from(r.members).sort() : [];
  $("members").replaceChildren(...names.map((name) => memberItem(name, myName())));
  $("member-count").textContent = r ? `(${names.length})` : "";
}

let typingTimer = 0;
function renderTyping() {
  const r = rooms.get(active);
  const names = r ? r.typers() : [];
  const el = $("typing");
  el.textContent = typingText(names);
  el.dataset.users = names.join(",");
  clearTimeout(typingTimer);
  if (names.length > 0) typingTimer = setTimeout(renderTyping, 1000);
}

function scrollToBottom() {
  const s = $("scroller");
  s.scrollTop = s.scrollHeight;
}

function myName() {
  return session.user ? session.user.username : "";
}

function clampInt(v, min, max, def) {
  const n = Number.parseInt(v ?? "", 10);
  if (!Number.isFinite(n)) return def;
  return Math.min(max, Math.max(min, n));
}

// ---- start ----

async function boot() {
  renderState();
  if (!session.active) {
    showAuth("");
    return;
  }
  try {
    if (await session.resume()) {
      enterChat();
      return;
    }
  } catch (err) {
    if (session.active) {
      // The server is unreachable: the session may still be good.
      showAuth(`Cannot reach the server: ${describe(err)}`);
      return;
    }
  }
  showAuth("");
}

boot();
