// The open room's head (name, topic) and its members panel: who belongs to
// the room, with their roles, and the moderation actions the user may take.

import { $, describe, myName, notice, roomPath, session, state } from "./ctx.js";
import { el } from "./view.js";
import { isMuted, memberActions, roomActions } from "./perms.js";
import { formDialog, confirmDialog } from "./dialog.js";
import { unfollowRoom } from "./chat.js";
import { loadRoomList, peerOf, scheduleMyRooms } from "./sidebar.js";
import { renderAll } from "./messages.js";

// membersMax bounds the members read for the panel (pages of 500).
const membersMax = 2000;

/** renderRoomHead shows the open room's name and topic. */
export function renderRoomHead(r) {
  const info = r && r.info;
  let title = "No room";
  if (r) title = info && info.kind === "direct" ? "@" + (peerOf(r.name) || r.name) : "#" + r.name;
  $("room-title").textContent = title;
  $("room-title").dataset.kind = (info && info.kind) || "";
  $("room-topic").textContent = (info && info.topic) || "";
  $("room-topic").hidden = !(info && info.topic);
  renderMembersPanel(r);
}

/** loadRoomInfo reads the room, the user's membership and its members (v2). */
export async function loadRoomInfo(r) {
  if (r.infoTried && !state.v2) return; // asked once: the server has no v2 rooms
  r.infoTried = true;
  try {
    const data = await session.api("GET", roomPath(r.name));
    r.info = data.room;
    r.kind = data.room.kind;
    r.membership = data.membership;
    state.v2 = true;
    await loadMembers(r);
  } catch {
    return; // a pre-v2 server, or the room is gone: the panel stays empty
  }
  if (r.name === state.active) renderAll();
}

async function loadMembers(r) {
  const list = [];
  let after = "";
  while (list.length < membersMax) {
    const data = await session.api("GET", roomPath(r.name, `/members?limit=500${after ? "&after=" + encodeURIComponent(after) : ""}`));
    list.push(...(data.members || []));
    if (!data.next) break;
    after = data.next;
  }
  r.memberList = list;
  r.roles = new Map(list.map((m) => [m.user.username, m.role]));
}

/** onMemberFrame follows member and room events of a followed room. */
export function onMemberFrame(r, f) {
  if (f.type === "room" && r.info) r.info.topic = f.topic || "";
  if (f.type === "member" && f.user === myName()) scheduleMyRooms();
  clearTimeout(r.reloadTimer);
  r.reloadTimer = setTimeout(() => loadRoomInfo(r), 200);
  if (r.name === state.active) renderRoomHead(r);
}

const labels = {
  invite: "Invite…",
  topic: "Set topic…",
  leave: "Leave room",
  delete: "Delete room…",
  kick: "kick",
  ban: "ban",
  unban: "unban",
  mute: "mute…",
  unmute: "unmute",
  "role:admin": "make admin",
  "role:member": "make member",
  "role:owner": "hand over",
};

function renderMembersPanel(r) {
  const box = $("room-members");
  const me = r && r.membership ? { ...r.membership, username: myName() } : null;
  box.hidden = !(r && r.info && r.memberList);
  if (box.hidden) return;
  const room = r.info;
  $("room-actions").replaceChildren(...roomActions(room, me).map((a) => actionButton(a, () => roomAction(r, a))));
  const items = r.memberList.map((m) => {
    const acts = memberActions(room, me, m);
    return el(
      "li",
      { testid: "room-member", data: { user: m.user.username, role: m.role, state: m.state, muted: String(isMuted(m)) } },
      el("span", { className: "who", textContent: m.user.username }),
      m.role !== "member" && el("span", { className: "badge role", textContent: m.role }),
      m.state !== "member" && el("span", { className: "badge state", textContent: m.state }),
      isMuted(m) && el("span", { className: "badge state", textContent: "muted" }),
      el("span", { className: "acts" }, ...acts.map((a) => actionButton(a, () => memberAction(r, m, a)))),
    );
  });
  $("room-member-list").replaceChildren(...items);
  $("room-member-count").textContent = `(${r.memberList.filter((m) => m.state === "member").length})`;
}

function actionButton(a, onClick) {
  return el("button", { type: "button", className: "link", testid: "action-" + a.replace(":", "-"), textContent: labels[a], on: { click: onClick } });
}

async function post(r, action, body) {
  try {
    await session.api("POST", roomPath(r.name, "/" + action), { body });
    return true;
  } catch (err) {
    notice(`${action}: ${err.code === "owner_must_transfer" ? "hand the room over to someone first." : describe(err)}`);
    return false;
  }
}

async function memberAction(r, m, a) {
  const username = m.user.username;
  if (a.startsWith("role:")) {
    const role = a.slice(5);
    if (role === "owner" && !(await confirmDialog(`Hand #${r.name} over to ${username}?`, "You become an admin of the room.", "Hand over"))) return;
    await post(r, "role", { username, role });
  } else if (a === "mute") {
    const v = await formDialog({
      title: `Mute ${username}`,
      testid: "mute-dialog",
      fields: [
        { name: "duration", label: "For", options: [["10m", "10 minutes"], ["1h", "1 hour"], ["24h", "1 day"], ["168h", "1 week"]] },
        { name: "reason", label: "Reason (optional)" },
      ],
      submit: "Mute",
    });
    if (v) await post(r, "mute", { username, duration: v.duration, reason: v.reason || undefined });
  } else if (a === "kick" || a === "ban") {
    const v = await formDialog({ title: `${a === "kick" ? "Remove" : "Ban"} ${username}`, testid: "reason-dialog", fields: [{ name: "reason", label: "Reason (optional)" }], submit: a === "kick" ? "Remove" : "Ban" });
    if (v) await post(r, a, { username, reason: v.reason || undefined });
  } else {
    await post(r, a, { username });
  }
  loadRoomInfo(r);
}

async function roomAction(r, a) {
  if (a === "invite") {
    const v = await formDialog({ title: `Invite to #${r.name}`, testid: "invite-dialog", fields: [{ name: "username", label: "Username", required: true, maxLength: 32 }], submit: "Invite" });
    if (v && (await post(r, "invite", { username: v.username.toLowerCase() }))) notice(`${v.username} is invited to #${r.name}.`, "info");
  } else if (a === "topic") {
    const v = await formDialog({ title: `Topic of #${r.name}`, testid: "topic-dialog", fields: [{ name: "topic", label: "Topic", value: r.info.topic, maxLength: 500 }], submit: "Save" });
    if (v) await patchTopic(r, v.topic);
  } else if (a === "leave") {
    if (await confirmDialog(`Leave #${r.name}?`, r.info.kind === "private" ? "You need a new invitation to come back." : "", "Leave")) await post(r, "leave", {});
  } else if (a === "delete") {
    if (await confirmDialog(`Delete #${r.name}?`, "Its history is gone for everyone, and its name cannot be used again.", "Delete room")) await deleteRoom(r);
  }
  if (a === "leave" && r.info.kind === "direct") unfollowRoom(r.name, false);
  scheduleMyRooms();
}

async function patchTopic(r, topic) {
  try {
    const data = await session.api("PATCH", roomPath(r.name), { body: { topic } });
    r.info = data.room;
    renderRoomHead(r);
  } catch (err) {
    notice(`Topic: ${describe(err)}`);
  }
}

async function deleteRoom(r) {
  try {
    await session.api("DELETE", roomPath(r.name));
    loadRoomList(false);
  } catch (err) {
    notice(`Delete room: ${describe(err)}`);
  }
}
