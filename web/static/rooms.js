// What the page knows of each joined room: its messages by seq, the last seq
// seen (to resume with `since`), members, who is typing, and the messages
// this user sent that are not acknowledged yet. No DOM here.

/** ROOM_RE is the shape of a room name after lower-casing. */
export const ROOM_RE = /^[a-z0-9_-]{1,64}$/;

/** normalizeRoom lower-cases and trims a room name; "" when it is malformed. */
export function normalizeRoom(name) {
  const n = String(name || "").trim().toLowerCase();
  return ROOM_RE.test(n) ? n : "";
}

// typingTTLms is how long "x is typing" stays up after a typing frame; the
// server relays at most one every 3 s per user and room.
const typingTTLms = 6000;

/** RoomState is one room as this page knows it. */
export class RoomState {
  constructor(name) {
    this.name = name;
    /** synced reports whether lastSeq is known (a joined frame came). */
    this.synced = false;
    /** lastSeq is the newest seq seen: the `since` of the next join. */
    this.lastSeq = 0;
    /** joined reports whether the current socket has joined the room. */
    this.joined = false;
    this.messages = new Map(); // seq → message
    this.events = new Map(); // seq → member or room event
    this.members = new Set();
    this.typing = new Map(); // username → expiry (epoch ms)
    this.pending = new Map(); // ref → {ref, text, error, sentAt}
    /** hasMore reports whether older messages exist on the server. */
    this.hasMore = false;
    /** gaps lists [from, to] seq ranges to fetch over REST. */
    this.gaps = [];
    this.historyLoaded = false;
  }

  /** oldestSeq is the smallest seq held, 0 when none. */
  oldestSeq() {
    let min = 0;
    for (const seq of this.messages.keys()) if (min === 0 || seq < min) min = seq;
    return min;
  }

  /** sorted returns the messages and events in seq order. */
  sorted() {
    return [...this.messages.values(), ...this.events.values()].sort((a, b) => a.seq - b.seq);
  }

  // advance notes a stream frame's seq: only the socket's own stream frames
  // move lastSeq; they come in seq order without gaps, so every seq up to
  // lastSeq has been seen. A seq past lastSeq + 1 records a gap.
  #advance(seq) {
    if (this.synced && seq > this.lastSeq + 1) this.gaps.push([this.lastSeq + 1, seq - 1]);
    if (seq > this.lastSeq) this.lastSeq = seq;
  }

  /**
   * addLive takes a message that came over the socket (replayed or live) and
   * reports whether it was new.
   */
  addLive(m) {
    if (!validMessage(m)) return false;
    this.#advance(m.seq);
    this.typing.delete(m.from);
    if (this.messages.has(m.seq)) {
      // A replay shows the current state of a message already held.
      Object.assign(this.messages.get(m.seq), { text: m.text, edited_at: m.edited_at || null, deleted: !!m.deleted });
      return false;
    }
    this.messages.set(m.seq, m);
    return true;
  }

  /**
   * addChange takes an edit or delete frame and returns the message it
   * changed, or null when that message is not held here.
   */
  addChange(f) {
    if (!Number.isInteger(f.seq)) return null;
    this.#advance(f.seq);
    const m = this.messages.get(f.target);
    if (!m) return null;
    if (f.type === "edit") Object.assign(m, { text: String(f.text ?? ""), edited_at: f.ts || "" });
    else Object.assign(m, { text: "", deleted: true });
    return m;
  }

  /** addEvent takes a member or room event and reports whether it was new. */
  addEvent(f) {
    if (!Number.isInteger(f.seq) || f.seq < 1) return false;
    this.#advance(f.seq);
    if (this.events.has(f.seq)) return false;
    this.events.set(f.seq, f);
    return true;
  }

  /** newestMessageSeq is the seq of the newest message held, 0 when none. */
  newestMessageSeq() {
    let max = 0;
    for (const seq of this.messages.keys()) if (seq > max) max = seq;
    return max;
  }

  /**
   * addHistory takes messages read over REST (or built from an ack) and
   * returns those that were new; lastSeq does not move.
   */
  addHistory(list) {
    const added = [];
    for (const m of list || []) {
      if (!validMessage(m) || this.messages.has(m.seq)) continue;
      this.messages.set(m.seq, m);
      added.push(m);
    }
    return added;
  }

  /**
   * onJoined applies a joined frame and reports whether it was the first
   * one (the page then loads history before last_seq + 1).
   */
  onJoined(frame) {
    const first = !this.synced;
    const last = Number(frame.last_seq) || 0;
    this.joined = true;
    if (first) {
      this.synced = true;
      this.lastSeq = Math.max(this.lastSeq, last);
    } else if (last > this.lastSeq) {
      // Everything up to last_seq came by replay; what did not must be read.
      this.gaps.push([this.lastSeq + 1, last]);
      this.lastSeq = last;
    }
    this.members = new Set(Array.isArray(frame.members) ? frame.members : []);
    return first;
  }

  /** onPresence applies a presence frame. */
  onPresence(frame) {
    if (frame.event === "join") this.members.add(frame.user);
    else if (frame.event === "leave") {
      this.members.delete(frame.user);
      this.typing.delete(frame.user);
    }
  }

  /** onTyping notes that a user is typing. */
  onTyping(from, now = Date.now()) {
    this.typing.set(from, now + typingTTLms);
  }

  /** typers lists who is typing now, by name. */
  typers(now = Date.now()) {
    const out = [];
    for (const [who, until] of this.typing) {
      if (until > now) out.push(who);
      else this.typing.delete(who);
    }
    return out.sort();
  }

  /**
   * dropBelow forgets messages older than seq (a gap too large to fill), so
   * what is held is contiguous and "load older" goes on from there.
   */
  dropBelow(seq) {
    for (const s of Array.from(this.messages.keys())) if (s < seq) this.messages.delete(s);
    this.hasMore = true;
  }

  /** reset forgets everything seq-related (the server lost the room's history). */
  reset() {
    this.synced = false;
    this.lastSeq = 0;
    this.messages.clear();
    this.events.clear();
    this.gaps = [];
    this.hasMore = false;
    this.historyLoaded = false;
  }
}

function validMessage(m) {
  return m && Number.isInteger(m.seq) && m.seq > 0 && typeof m.text === "string";
}

/** charCount counts a text's code points, as the service does. */
export function charCount(text) {
  let n = 0;
  for (const _ of String(text)) n++;
  return n;
}

/** typingText is the line shown for these typers. */
export function typingText(names) {
  if (names.length === 0) return "";
  if (names.length === 1) return `${names[0]} is typing…`;
  if (names.length === 2) return `${names[0]} and ${names[1]} are typing…`;
  if (names.length === 3) return `${names[0]}, ${names[1]} and ${names[2]} are typing…`;
  return "Several people are typing…";
}

/** newRef returns a random ref for a send (a UUID). */
export function newRef(c = globalThis.crypto) {
  if (c && typeof c.randomUUID === "function") return c.randomUUID();
  // randomUUID needs a secure context; getRandomValues does not.
  const b = c.getRandomValues(new Uint8Array(16));
  b[6] = (b[6] & 0x0f) | 0x40;
  b[8] = (b[8] & 0x3f) | 0x80;
  const h = Array.from(b, (x) => x.toString(16).padStart(2, "0")).join("");
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-${h.slice(12, 16)}-${h.slice(16, 20)}-${h.slice(20)}`;
}
