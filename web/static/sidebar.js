// The room lists: the user's rooms and direct messages (GET /api/v1/me/rooms,
// with unread counts), every room the user may see (GET /api/v1/rooms, with
// counts kept live), and making rooms and direct messages.

import { $, describe, notice, roomPath, session, state } from "./ctx.js";
import { joinedRoomItem, roomListItem } from "./view.js";
import { followRoom, joinRoom, selectRoom } from "./chat.js";
import { formDialog } from "./dialog.js";
import { markRead } from "./messages.js";

// followMax bounds the rooms followed at once (the service allows 100 per socket).
const followMax = 90;
// listRefreshMs is how often the list of all rooms is read again while the
// tab is visible, for rooms this page does not follow.
const listRefreshMs = 20_000;
// mineRefreshMs is how often the user's rooms are read again while the tab is
// visible: a new direct message shows up no later than that.
const mineRefreshMs = 10_000;
// mineDelayMs gathers bursts of changes into one read of GET /me/rooms.
const mineDelayMs = 300;

let roomsNext = null;
/** peers maps a direct room's name to the other user's name. */
const peers = new Map();

/** renderRoomLists draws the user's rooms and direct messages. */
export function renderRoomLists() {
  const items = new Map();
  for (const [name, r] of state.rooms) items.set(name, { name, kind: r.kind || "public", unread: 0, invited: false });
  for (const [name, my] of state.mine) {
    items.set(name, { name, kind: my.room.kind || "public", unread: name === state.active ? 0 : Number(my.unread) || 0, invited: my.state === "invited" });
  }
  const rooms = [];
  const dms = [];
  for (const it of items.values()) {
    it.label = it.kind === "direct" ? "@" + (peers.get(it.name) || "…") : "#" + it.name;
    (it.kind === "direct" ? dms : rooms).push(joinedRoomItem(it, it.name === state.active, () => openItem(it)));
  }
  $("joined-rooms").replaceChildren(...rooms);
  $("dm-rooms").replaceChildren(...dms);
  $("dm-empty").hidden = dms.length > 0;
  const unread = Array.from(items.values()).reduce((n, it) => n + it.unread, 0);
  $("tab-rooms").dataset.unread = String(unread);
}

function openItem(it) {
  if (it.invited) joinRoom(it.name);
  else {
    followRoom(it.name);
    selectRoom(it.name);
  }
}

/** loadMyRooms reads the user's rooms; a pre-v2 server leaves the page as it was. */
export async function loadMyRooms() {
  let data;
  try {
    data = await session.api("GET", "/api/v1/me/rooms");
  } catch {
    return;
  }
  state.v2 = true;
  state.mine = new Map((data.rooms || []).map((my) => [my.room.name, my]));
  for (const [name, my] of state.mine) {
    const follow = my.state === "member" && state.rooms.size < followMax && !state.closed.has(name);
    const r = state.rooms.get(name) || (follow ? followRoom(name) : null);
    if (!r) continue;
    r.kind = my.room.kind;
    r.lastRead = Math.max(r.lastRead || 0, Number(my.last_read) || 0);
    if (my.room.kind === "direct" && !peers.has(name)) loadPeer(name);
  }
  renderRoomLists();
  markRead();
}

let mineTimer = 0;
/** scheduleMyRooms reads the user's rooms again soon. */
export function scheduleMyRooms() {
  clearTimeout(mineTimer);
  mineTimer = setTimeout(loadMyRooms, mineDelayMs);
}

async function loadPeer(name) {
  try {
    const data = await session.api("GET", roomPath(name, "/members?limit=2"));
    const other = (data.members || []).find((m) => m.user.username !== session.user.username);
    if (other) peers.set(name, other.user.username);
    renderRoomLists();
  } catch {
    // The label stays "@…".
  }
}

/** noteUnread counts a message the user has not seen yet. */
export function noteUnread(r, f) {
  if (!state.v2) return;
  const my = state.mine.get(r.name);
  if (!my) return scheduleMyRooms(); // a room new to the list: read it whole
  if (r.name === state.active && document.visibilityState === "visible") return;
  if (f.seq <= (Number(my.last_read) || 0) || f.seq <= (my.counted || 0)) return;
  my.counted = f.seq;
  my.unread = (Number(my.unread) || 0) + 1;
  renderRoomLists();
}

/** onRead applies a read frame from any of the user's sockets. */
export function onRead(f) {
  const my = state.mine.get(f.room);
  const r = state.rooms.get(f.room);
  if (r) r.readSent = Math.max(r.readSent || 0, f.seq);
  if (!my) return;
  my.last_read = Math.max(Number(my.last_read) || 0, f.seq);
  if (!r || f.seq >= r.lastSeq) my.unread = 0;
  else scheduleMyRooms();
  renderRoomLists();
}

/** loadRoomList reads the list of rooms the user may see. */
export async function loadRoomList(more) {
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
  for (const room of data.rooms || []) {
    if (room.kind === "direct") continue;
    ul.append(roomListItem(room, () => joinRoom(room.name)));
  }
  roomsNext = data.next || null;
  $("rooms-more").hidden = !roomsNext;
}

/** bumpCount keeps a listed room's count up to date as its stream grows. */
export function bumpCount(room, seq) {
  const c = document.querySelector(`[data-testid="room-item"][data-room="${room}"] [data-testid="room-count"]`);
  if (c && Number.isInteger(seq) && seq > Number(c.textContent)) c.textContent = String(seq);
}

setInterval(() => {
  if (session.active && document.visibilityState === "visible" && !$("chat-view").hidden && !roomsNext) loadRoomList(false);
}, listRefreshMs);
setInterval(() => {
  if (session.active && state.v2 && document.visibilityState === "visible") loadMyRooms();
}, mineRefreshMs);

$("rooms-refresh").addEventListener("click", () => loadRoomList(false));
$("rooms-more").addEventListener("click", () => loadRoomList(true));

$("room-create").addEventListener("click", async () => {
  const v = await formDialog({
    title: "Create a room",
    testid: "create-dialog",
    fields: [
      { name: "name", label: "Name", required: true, maxLength: 64, placeholder: "letters, digits, _ or -" },
      { name: "kind", label: "Who can find it", options: [["public", "Public: anyone can join"], ["private", "Private: invited people only"]] },
      { name: "topic", label: "Topic (optional)", maxLength: 500 },
    ],
    submit: "Create",
  });
  if (!v) return;
  try {
    const data = await session.api("POST", "/api/v1/rooms", { body: { name: v.name.toLowerCase(), kind: v.kind, topic: v.topic } });
    joinRoom(data.room.name);
    loadRoomList(false);
    scheduleMyRooms();
  } catch (err) {
    notice(`Create room: ${describe(err)}`);
  }
});

$("dm-start").addEventListener("click", async () => {
  const v = await formDialog({
    title: "Message someone",
    testid: "dm-dialog",
    fields: [{ name: "username", label: "Username", required: true, maxLength: 32 }],
    submit: "Open",
  });
  if (!v) return;
  try {
    const data = await session.api("POST", "/api/v1/dms", { body: { username: v.username.toLowerCase() } });
    peers.set(data.room.name, v.username.toLowerCase());
    const r = followRoom(data.room.name);
    r.kind = "direct";
    selectRoom(data.room.name);
    scheduleMyRooms();
  } catch (err) {
    notice(`Direct message: ${err.code === "user_not_found" ? `there is no user ${v.username}.` : describe(err)}`);
  }
});

/** peerOf is the other user of a direct room, "" when unknown. */
export function peerOf(name) {
  return peers.get(name) || "";
}
