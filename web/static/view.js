// Element builders for the chat page. Text that came from a user (names,
// messages, room names) is only ever set with textContent.

/**
 * el makes an element: props are set as properties, except "testid" and
 * "data" (an object) which become data- attributes; children are nodes or
 * strings (added as text).
 */
export function el(tag, props = {}, ...children) {
  const e = document.createElement(tag);
  for (const [k, v] of Object.entries(props)) {
    if (v === undefined || v === null) continue;
    if (k === "testid") e.dataset.testid = v;
    else if (k === "data") Object.assign(e.dataset, v);
    else if (k === "on") for (const [ev, fn] of Object.entries(v)) e.addEventListener(ev, fn);
    else e[k] = v;
  }
  e.append(...children.filter((c) => c !== null && c !== undefined && c !== false));
  return e;
}

/** formatTime shows a contract timestamp as a local hour and minute. */
export function formatTime(ts) {
  const d = new Date(ts);
  if (Number.isNaN(d.getTime())) return "";
  return d.toLocaleTimeString([], { hour: "2-digit", minute: "2-digit" });
}

/**
 * messageItem is one stored message; me is the viewer's username. The
 * optional onEdit and onDelete handlers add the "edit" and "delete" buttons.
 */
export function messageItem(m, me, { onEdit, onDelete } = {}) {
  const deleted = !!m.deleted;
  const cls = "message" + (m.from === me ? " mine" : "") + (deleted ? " deleted" : "");
  return el(
    "li",
    { className: cls, testid: "message", data: { seq: String(m.seq), from: m.from, deleted: String(deleted) } },
    el(
      "div",
      { className: "meta" },
      el("span", { className: "from", textContent: m.from }),
      el("time", { dateTime: m.ts, title: `${m.ts} · #${m.seq}`, textContent: formatTime(m.ts) }),
      m.edited_at && !deleted && el("span", { className: "edited", testid: "edited", title: String(m.edited_at), textContent: "(edited)" }),
      !deleted && onEdit && el("button", { type: "button", className: "link act", testid: "message-edit", textContent: "edit", on: { click: onEdit } }),
      !deleted && onDelete && el("button", { type: "button", className: "link act", testid: "message-delete", textContent: "delete", on: { click: onDelete } }),
    ),
    deleted
      ? el("div", { className: "text tombstone", testid: "message-text", textContent: "This message was deleted." })
      : el("div", { className: "text", testid: "message-text", textContent: m.text }),
  );
}

/** eventItem is a member or room event of the stream, as one line. */
export function eventItem(f, text) {
  return el(
    "li",
    { className: "event", testid: "room-event", data: { seq: String(f.seq), change: f.change || f.type } },
    el("span", { textContent: text }),
    el("time", { dateTime: f.ts || "", textContent: f.ts ? " · " + formatTime(f.ts) : "" }),
  );
}

/**
 * pendingItem is a message written here and not acknowledged yet; a failed
 * one offers retry and discard.
 */
export function pendingItem(p, me, { onRetry, onDiscard }) {
  return el(
    "li",
    { className: "message mine pending" + (p.error ? " failed" : ""), testid: "pending-message", data: { ref: p.ref } },
    el(
      "div",
      { className: "meta" },
      el("span", { className: "from", textContent: me }),
      el("span", { className: "state", textContent: p.error ? `not sent: ${p.error}` : "sending…" }),
    ),
    el("div", { className: "text", textContent: p.text }),
    p.error && el("button", { type: "button", className: "link", testid: "retry", textContent: "retry", on: { click: onRetry } }),
    p.error && el("button", { type: "button", className: "link", testid: "discard", textContent: "discard", on: { click: onDiscard } }),
  );
}

/**
 * insertBySeq puts li (a message with this seq) into the list in seq order,
 * before any pending items, and reports whether it was added (false when
 * the seq is already shown).
 */
export function insertBySeq(ol, li, seq) {
  let after = ol.lastElementChild;
  while (after && (!after.dataset.seq || after.dataset.testid === "pending-message" || Number(after.dataset.seq) > seq)) after = after.previousElementSibling;
  if (after && Number(after.dataset.seq) === seq) return false;
  if (after) after.after(li);
  else ol.prepend(li);
  return true;
}

/** roomListItem is a room of the server's list; clicking it joins. */
export function roomListItem(room, onClick) {
  const n = Number(room.last_seq) || 0;
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", className: "room-link", testid: "room-item", data: { room: room.name, kind: room.kind || "public" }, on: { click: onClick } },
      el("span", { className: "name", textContent: "#" + room.name }),
      room.kind === "private" && el("span", { className: "badge kind", textContent: "private" }),
      el("span", { className: "count", testid: "room-count", textContent: String(n), title: `${n} events in the room's stream` }),
    ),
  );
}

/**
 * joinedRoomItem is a room this page follows or the user belongs to:
 * {name, label, kind, unread, invited}; clicking it opens it.
 */
export function joinedRoomItem(item, isActive, onClick) {
  const b = el(
    "button",
    {
      type: "button",
      className: "room-link" + (isActive ? " active" : "") + (item.unread > 0 ? " unread" : ""),
      testid: "joined-room",
      data: { room: item.name, kind: item.kind || "public", unread: String(item.unread || 0) },
      on: { click: onClick },
    },
    el("span", { className: "name", textContent: item.label }),
    item.kind === "private" && el("span", { className: "badge kind", textContent: "private" }),
    item.invited && el("span", { className: "badge invited", testid: "invited-badge", textContent: "invited" }),
    item.unread > 0 && el("span", { className: "badge", testid: "unread-badge", textContent: String(item.unread), title: `${item.unread} unread` }),
  );
  if (isActive) b.setAttribute("aria-current", "true");
  return el("li", {}, b);
}

/** memberItem is one user present in the room. */
export function memberItem(name, me) {
  return el("li", { testid: "member", data: { user: name }, textContent: name, className: name === me ? "me" : "" });
}
