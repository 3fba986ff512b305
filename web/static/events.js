// Sentences for the stream's member and room events and for the frames that
// take the user out of a room. No DOM here.

import { formatTime } from "./view.js";

const changes = {
  invited: (u, by) => `${u} was invited${by}`,
  joined: (u) => `${u} joined`,
  left: (u) => `${u} left`,
  kicked: (u, by) => `${u} was removed${by}`,
  banned: (u, by) => `${u} was banned${by}`,
  unbanned: (u, by) => `${u} was unbanned${by}`,
  unmuted: (u, by) => `${u} was unmuted${by}`,
};

/** eventText is one line for a member or room event frame. */
export function eventText(f) {
  const by = f.by ? ` by ${f.by}` : "";
  const reason = f.reason ? ` (${f.reason})` : "";
  if (f.type === "room") return f.topic ? `${f.by || "someone"} set the topic: ${f.topic}` : `${f.by || "someone"} cleared the topic`;
  const u = f.user || "someone";
  if (f.change === "muted") return `${u} was muted${by}${f.until ? " until " + formatTime(f.until) : ""}${reason}`;
  if (f.change === "role") return `${u} is now ${f.role}${by ? " (" + by.trim() + ")" : ""}`;
  const fn = changes[f.change];
  return (fn ? fn(u, by) : `${u}: ${f.change}`) + reason;
}

/** leftText says why the user is out of a room (a `left` frame's reason). */
export function leftText(room, reason) {
  switch (reason) {
    case "kicked":
      return `You were removed from #${room}.`;
    case "banned":
      return `You were banned from #${room}.`;
    case "room_deleted":
      return `#${room} was deleted.`;
    case "left":
      return `You left #${room}.`;
    default:
      return `You are no longer in #${room}.`;
  }
}
