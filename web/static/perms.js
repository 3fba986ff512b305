// What the user may do in a room, from their role and the contract's
// permission table ("Rooms, roles and moderation"). The server decides; the
// page offers only what it would allow. No DOM here.

const rank = { member: 1, admin: 2, owner: 3 };

/** rankOf is a role's rank; 0 for none (not a member). */
export function rankOf(role) {
  return rank[role] || 0;
}

/**
 * roomActions lists the room-wide actions for a caller: me is {role, state}
 * (null when not a member), room is {name, kind, member_count}.
 */
export function roomActions(room, me) {
  const out = [];
  if (!me || me.state !== "member") return out;
  const r = rankOf(me.role);
  if (room.kind === "direct") return ["leave"];
  if (room.kind === "private" && r >= rank.admin) out.push("invite");
  if (r >= rank.admin) out.push("topic");
  // An owner leaves only when nobody else is left (else owner_must_transfer).
  if (me.role !== "owner" || (Number(room.member_count) || 0) <= 1) out.push("leave");
  if (me.role === "owner" && room.name !== "general") out.push("delete");
  return out;
}

/**
 * memberActions lists what the caller may do to one member (target is a
 * Member of GET …/members); now is the time in epoch ms.
 */
export function memberActions(room, me, target, now = Date.now()) {
  if (!me || me.state !== "member" || room.kind === "direct") return [];
  if (!target || target.user.username === me.username) return [];
  const mine = rankOf(me.role);
  const theirs = rankOf(target.role);
  const out = [];
  if (mine >= rank.admin && mine > theirs) {
    if (target.state === "banned") out.push("unban");
    else {
      if (target.state === "member") out.push("kick");
      out.push("ban");
      if (target.state === "member") out.push(isMuted(target, now) ? "unmute" : "mute");
    }
  }
  if (me.role === "owner" && target.state === "member") {
    out.push(target.role === "admin" ? "role:member" : "role:admin");
    out.push("role:owner");
  }
  return out;
}

/** isMuted reports whether a member's mute is still running. */
export function isMuted(m, now = Date.now()) {
  return !!m.muted_until && Date.parse(m.muted_until) > now;
}

/**
 * canDeleteMessage reports whether the caller may delete a message by
 * author (authorRole: the author's role in the room; a former member counts
 * as a member).
 */
export function canDeleteMessage(me, author, authorRole) {
  if (!me) return false;
  if (author === me.username) return true;
  const mine = rankOf(me.state === "member" ? me.role : "");
  return mine >= rank.admin && mine > Math.max(rank.member, rankOf(authorRole));
}
