// What every part of the page shares: the session, the connection, the rooms
// it follows, and small helpers for finding elements and telling the user
// something.

import { APIError, Session } from "./api.js";
import { Connection, socketURL } from "./socket.js";

/** session holds the tokens of this tab's login. */
export const session = new Session(sessionStorage);
/** conn is the one WebSocket connection of the page. */
export const conn = new Connection({ url: socketURL(location), session });

/**
 * state: rooms maps a followed room's name to its RoomState, in the order
 * they were followed; active is the open room's name ("" for none); mine maps
 * a room's name to its MyRoom entry from GET /api/v1/me/rooms; closed holds
 * the rooms the user closed on this page (not followed again by themselves);
 * v2 reports whether the service speaks contract v2.
 */
export const state = { rooms: new Map(), active: "", mine: new Map(), closed: new Set(), v2: false };

/** $ finds the element with this data-testid. */
export const $ = (id) => document.querySelector(`[data-testid="${id}"]`);

/** myName is the logged-in user's name, "" when logged out. */
export function myName() {
  return session.user ? session.user.username : "";
}

/** activeRoom is the open room's RoomState, or undefined. */
export function activeRoom() {
  return state.rooms.get(state.active);
}

/** describe turns an error into a sentence for the user. */
export function describe(err) {
  if (err instanceof APIError) {
    if (err.code === "too_many_attempts" && err.retryAfter) return `${err.message} Try again in ${err.retryAfter} s.`;
    return err.message || err.code;
  }
  return String((err && err.message) || err);
}

/** setError shows err (or nothing) in the element with this testid. */
export function setError(id, err) {
  const el = $(id);
  el.textContent = err ? describe(err) : "";
  el.hidden = !err;
}

let noticeTimer = 0;
/**
 * notice shows a line under the composer for a few seconds; kind "info" is
 * news rather than a problem.
 */
export function notice(text, kind = "error") {
  const el = $("notice");
  el.textContent = text;
  el.hidden = !text;
  el.dataset.kind = kind;
  clearTimeout(noticeTimer);
  if (text) noticeTimer = setTimeout(() => notice(""), 8000);
}

/** clampInt parses v as an integer in [min, max], def when it is none. */
export function clampInt(v, min, max, def) {
  const n = Number.parseInt(v ?? "", 10);
  if (!Number.isFinite(n)) return def;
  return Math.min(max, Math.max(min, n));
}

/** roomPath is the REST path of a room, with an optional suffix. */
export function roomPath(name, suffix = "") {
  return `/api/v1/rooms/${encodeURIComponent(name)}${suffix}`;
}
