// Unit tests of the page's modules that need no browser: close-code policy,
// back-off, room state (dedupe, order, gaps, edits, events), permissions,
// event sentences, refs, and the session's token
// handling against a stubbed fetch. Run: node --test (from web/test).

import { test } from "node:test";
import assert from "node:assert/strict";

import { Session, REFRESH_KEY, refreshDelay } from "../static/api.js";
import { backoffDelay, closePolicy, restartDelay, retryAfterReady, socketURL } from "../static/socket.js";
import { RoomState, charCount, newRef, normalizeRoom, typingText } from "../static/rooms.js";
import { canDeleteMessage, memberActions, roomActions } from "../static/perms.js";
import { eventText, leftText } from "../static/events.js";

test("closePolicy follows the contract's table", () => {
  const cases = [
    [1000, "stop"],
    [1001, "restart"],
    [1003, "stop"],
    [1006, "check"],
    [1007, "stop"],
    [1008, "stop"],
    [1009, "stop"],
    [1011, "backoff"],
    [1013, "backoff"],
    [4001, "refresh"],
    [4003, "ended"],
    [4008, "slow"],
    [4999, "backoff"],
  ];
  for (const [code, action] of cases) {
    assert.equal(closePolicy(code).action, action, `code ${code}`);
  }
  assert.match(closePolicy(4003).text, /session ended, log in again/i);
});

test("backoffDelay grows, is capped, and has jitter", () => {
  for (const [attempt, lo, hi] of [
    [0, 500, 1000],
    [1, 1000, 2000],
    [3, 4000, 8000],
    [10, 15000, 30000],
    [1000, 15000, 30000],
  ]) {
    assert.equal(backoffDelay(attempt, () => 0), lo, `attempt ${attempt} low`);
    assert.equal(backoffDelay(attempt, () => 1), hi, `attempt ${attempt} high`);
  }
  assert.equal(restartDelay(() => 0), 0);
  assert.equal(restartDelay(() => 1), 5000);
});

test("socketURL follows the page's scheme and host", () => {
  assert.equal(socketURL({ protocol: "http:", host: "127.0.0.1:8080" }), "ws://127.0.0.1:8080/ws");
  assert.equal(socketURL({ protocol: "https:", host: "chat.example" }), "wss://chat.example/ws");
});

test("refreshDelay refreshes before expiry", () => {
  assert.equal(refreshDelay(15 * 60_000), 14 * 60_000);
  assert.equal(refreshDelay(15_000), 12_000);
  assert.equal(refreshDelay(500), 1000);
});

function msg(seq, from = "bob") {
  return { type: "message", room: "r", seq, id: "id" + seq, from, from_id: "u-" + from, text: "m" + seq, ts: "2026-11-25T07:53:37.123Z" };
}

test("RoomState: first join, live messages, dedupe, order", () => {
  const r = new RoomState("r");
  assert.equal(r.onJoined({ type: "joined", room: "r", last_seq: 4, replayed: 0, truncated: false, members: ["alice", "bob"] }), true);
  assert.equal(r.lastSeq, 4);
  assert.deepEqual([...r.members].sort(), ["alice", "bob"]);
  assert.equal(r.addLive(msg(5)), true);
  assert.equal(r.addLive(msg(5)), false, "a duplicate is refused");
  assert.deepEqual(r.addHistory([msg(3), msg(4), msg(5)]).map((m) => m.seq), [3, 4]);
  assert.deepEqual(r.sorted().map((m) => m.seq), [3, 4, 5]);
  assert.equal(r.oldestSeq(), 3);
  assert.equal(r.lastSeq, 5);
  assert.deepEqual(r.gaps, []);
});

test("RoomState: an ack does not move lastSeq past unseen messages", () => {
  const r = new RoomState("r");
  r.onJoined({ last_seq: 2, members: [] });
  r.addHistory([msg(5, "alice")]); // the ack of our own send, ahead of 3 and 4
  assert.equal(r.lastSeq, 2);
  for (const s of [3, 4, 5]) r.addLive(msg(s));
  assert.equal(r.lastSeq, 5);
  assert.deepEqual(r.gaps, []);
  assert.deepEqual(r.sorted().map((m) => m.seq), [3, 4, 5]);
});

test("RoomState: resume replay, truncated replay and joined past lastSeq record gaps", () => {
  const r = new RoomState("r");
  r.onJoined({ last_seq: 10, members: [] });
  // Replay after a reconnect with since=10: 11..12 then joined.
  r.addLive(msg(11));
  r.addLive(msg(12));
  assert.equal(r.onJoined({ last_seq: 12, members: ["a"] }), false);
  assert.deepEqual(r.gaps, []);
  // Truncated replay: 13..99 were not replayed.
  r.addLive(msg(100));
  assert.deepEqual(r.gaps, [[13, 99]]);
  r.gaps = [];
  // A joined whose last_seq is past what came.
  r.onJoined({ last_seq: 105, members: [] });
  assert.deepEqual(r.gaps, [[101, 105]]);
  assert.equal(r.lastSeq, 105);
});

test("RoomState: presence, typing expiry, typing cleared by a message", () => {
  const r = new RoomState("r");
  r.onJoined({ last_seq: 0, members: ["alice"] });
  r.onPresence({ event: "join", user: "bob" });
  r.onPresence({ event: "join", user: "carol" });
  r.onPresence({ event: "leave", user: "carol" });
  assert.deepEqual([...r.members].sort(), ["alice", "bob"]);
  r.onTyping("bob", 1000);
  assert.deepEqual(r.typers(2000), ["bob"]);
  assert.deepEqual(r.typers(8000), []);
  r.onTyping("bob", Date.now());
  r.addLive(msg(1, "bob"));
  assert.deepEqual(r.typers(), []);
});

test("typingText", () => {
  assert.equal(typingText([]), "");
  assert.equal(typingText(["alice"]), "alice is typing…");
  assert.equal(typingText(["alice", "bob"]), "alice and bob are typing…");
  assert.equal(typingText(["a", "b", "c", "d"]), "Several people are typing…");
});

test("normalizeRoom", () => {
  assert.equal(normalizeRoom("  Lobby "), "lobby");
  assert.equal(normalizeRoom("a-b_c9"), "a-b_c9");
  assert.equal(normalizeRoom("no spaces"), "");
  assert.equal(normalizeRoom("x".repeat(65)), "");
  assert.equal(normalizeRoom(""), "");
});

test("newRef makes UUIDs, also without randomUUID", () => {
  const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-4[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;
  assert.match(newRef(), uuid);
  const fallback = newRef({ getRandomValues: (b) => globalThis.crypto.getRandomValues(b) });
  assert.match(fallback, uuid);
  assert.notEqual(newRef(), newRef());
});

// memStorage is a sessionStorage stand-in.
function memStorage() {
  const m = new Map();
  return {
    getItem: (k) => (m.has(k) ? m.get(k) : null),
    setItem: (k, v) => m.set(k, String(v)),
    removeItem: (k) => m.delete(k),
    map: m,
  };
}

// stubFetch answers requests from a function of (path, init) and records them.
function stubFetch(answer) {
  const calls = [];
  const prev = globalThis.fetch;
  globalThis.fetch = async (path, init) => {
    calls.push({ path, init, body: init.body ? JSON.parse(init.body) : undefined });
    const [status, body] = await answer(path, init, calls.length);
    return new Response(body === undefined ? null : JSON.stringify(body), { status, headers: { "Content-Type": "application/json" } });
  };
  return { calls, restore: () => (globalThis.fetch = prev) };
}

function pair(n) {
  return { access_token: "at" + n, token_type: "Bearer", expires_in: 900, refresh_token: "rt" + n, refresh_expires_in: 3600 };
}

test("Session: login keeps the refresh token in the given storage; refresh is single-flight and rotates", async (t) => {
  let n = 0;
  const f = stubFetch(async (path) => {
    if (path === "/api/v1/auth/login") return [200, pair(++n)];
    if (path === "/api/v1/auth/refresh") {
      await new Promise((r) => setTimeout(r, 20));
      return [200, pair(++n)];
    }
    if (path === "/api/v1/me") return [200, { user: { id: "u1", username: "alice", created_at: "x" } }];
    return [404, { error: { code: "not_found", message: "no" } }];
  });
  t.after(f.restore);
  const store = memStorage();
  const s = new Session(store);
  t.after(() => s.end("test"));
  await s.login("alice", "password1");
  assert.equal(s.user.username, "alice");
  assert.equal(store.getItem(REFRESH_KEY), "rt1");
  const refreshed = [];
  s.addEventListener("refreshed", (ev) => refreshed.push(ev.detail));
  const [a, b] = await Promise.all([s.refresh(), s.refresh()]);
  assert.equal(a, "at2");
  assert.equal(b, "at2");
  assert.deepEqual(refreshed, ["at2"]);
  const refreshCalls = f.calls.filter((c) => c.path === "/api/v1/auth/refresh");
  assert.equal(refreshCalls.length, 1, "one refresh request for two callers");
  assert.equal(refreshCalls[0].body.refresh_token, "rt1");
  assert.equal(store.getItem(REFRESH_KEY), "rt2");
  const me = f.calls.find((c) => c.path === "/api/v1/me");
  assert.equal(me.init.headers.Authorization, "Bearer at1");
});

test("Session: a refused refresh ends the session and clears storage", async (t) => {
  const f = stubFetch(async (path) => {
    if (path === "/api/v1/auth/refresh") return [401, { error: { code: "invalid_token", message: "spent" } }];
    return [500, {}];
  });
  t.after(f.restore);
  const store = memStorage();
  store.setItem(REFRESH_KEY, "old");
  const s = new Session(store);
  assert.equal(s.active, true);
  const ended = [];
  s.addEventListener("ended", (ev) => ended.push(ev.detail.reason));
  await assert.rejects(s.resume(), (err) => err.status === 401 && err.code === "invalid_token");
  assert.deepEqual(ended, ["expired"]);
  assert.equal(store.getItem(REFRESH_KEY), null);
  assert.equal(s.active, false);
});

test("Session: api retries once with a refreshed token after a 401", async (t) => {
  let n = 0;
  let at1Expired = false;
  const f = stubFetch(async (path, init) => {
    if (path === "/api/v1/auth/login") return [200, pair(++n)];
    if (path === "/api/v1/auth/refresh") return [200, pair(++n)];
    if (at1Expired && init.headers.Authorization === "Bearer at1") {
      return [401, { error: { code: "token_expired", message: "expired" } }];
    }
    if (path === "/api/v1/me") return [200, { user: { id: "u1", username: "alice" } }];
    return [200, { rooms: [], next: null }];
  });
  t.after(f.restore);
  const s = new Session(memStorage());
  t.after(() => s.end("test"));
  await s.login("alice", "password1");
  at1Expired = true;
  const data = await s.api("GET", "/api/v1/rooms");
  assert.deepEqual(data, { rooms: [], next: null });
  assert.deepEqual(
    f.calls.filter((c) => c.path === "/api/v1/rooms").map((c) => c.init.headers.Authorization),
    ["Bearer at1", "Bearer at2"],
  );
});

test("Session: check tells expired, invalid, ok and unreachable apart", async (t) => {
  let answer = [200, { user: {} }];
  const f = stubFetch(async () => {
    if (answer === "down") throw new TypeError("fetch failed");
    return answer;
  });
  t.after(f.restore);
  const s = new Session(memStorage());
  assert.equal(await s.check(), "ok");
  answer = [401, { error: { code: "token_expired", message: "" } }];
  assert.equal(await s.check(), "token_expired");
  answer = [401, { error: { code: "invalid_token", message: "" } }];
  assert.equal(await s.check(), "invalid_token");
  answer = "down";
  assert.equal(await s.check(), "network");
});

test("charCount counts code points, not UTF-16 units", () => {
  assert.equal(charCount(""), 0);
  assert.equal(charCount("abc"), 3);
  assert.equal(charCount("é😀"), 2);
  assert.equal(charCount("😀".repeat(4000)), 4000);
});

test("RoomState: edits, deletions and events move lastSeq and change what is held", () => {
  const r = new RoomState("r");
  r.onJoined({ last_seq: 0, members: [] });
  r.addLive(msg(1));
  r.addLive(msg(2, "alice"));
  assert.equal(r.addChange({ type: "edit", room: "r", seq: 3, target: 1, text: "better", ts: "2026-11-25T08:00:00.000Z" }).text, "better");
  assert.equal(r.messages.get(1).edited_at, "2026-11-25T08:00:00.000Z");
  assert.equal(r.addEvent({ type: "member", room: "r", seq: 4, user: "carol", change: "joined" }), true);
  assert.equal(r.addEvent({ type: "member", room: "r", seq: 4, user: "carol", change: "joined" }), false);
  const d = r.addChange({ type: "delete", room: "r", seq: 5, target: 2, by: "alice" });
  assert.deepEqual([d.deleted, d.text], [true, ""]);
  assert.equal(r.addChange({ type: "edit", seq: 6, target: 99, text: "x" }), null, "a message not held");
  assert.equal(r.lastSeq, 6);
  assert.deepEqual(r.gaps, []);
  assert.deepEqual(r.sorted().map((m) => m.seq), [1, 2, 4]);
  assert.equal(r.newestMessageSeq(), 2);
  // A replayed message shows its current state over what is held.
  r.addLive({ ...msg(1), text: "", deleted: true });
  assert.equal(r.messages.get(1).deleted, true);
  r.addEvent({ type: "room", seq: 9, topic: "t" });
  assert.deepEqual(r.gaps, [[7, 8]]);
});

test("roomActions follows the permission table", () => {
  const pub = { name: "pub", kind: "public", member_count: 3 };
  const priv = { name: "priv", kind: "private", member_count: 3 };
  const dm = { name: "dm-x", kind: "direct", member_count: 2 };
  const as = (role) => ({ username: "me", role, state: "member" });
  assert.deepEqual(roomActions(pub, as("member")), ["leave"]);
  assert.deepEqual(roomActions(pub, as("admin")), ["topic", "leave"]);
  assert.deepEqual(roomActions(priv, as("admin")), ["invite", "topic", "leave"]);
  assert.deepEqual(roomActions(priv, as("owner")), ["invite", "topic", "delete"], "an owner with others left cannot leave");
  assert.deepEqual(roomActions({ ...priv, member_count: 1 }, as("owner")), ["invite", "topic", "leave", "delete"]);
  assert.deepEqual(roomActions({ name: "general", kind: "public" }, as("owner")), ["topic", "leave"]);
  assert.deepEqual(roomActions(dm, as("member")), ["leave"]);
  assert.deepEqual(roomActions(pub, null), []);
  assert.deepEqual(roomActions(priv, { username: "me", role: "member", state: "invited" }), []);
});

test("memberActions: only over a lower rank, never on oneself, none in direct rooms", () => {
  const room = { name: "r", kind: "private" };
  const me = (role) => ({ username: "me", role, state: "member" });
  const m = (name, role, state = "member", muted_until = null) => ({ user: { id: name, username: name }, role, state, muted_until });
  const now = Date.parse("2026-11-25T08:00:00.000Z");
  assert.deepEqual(memberActions(room, me("member"), m("bob", "member"), now), []);
  assert.deepEqual(memberActions(room, me("admin"), m("bob", "member"), now), ["kick", "ban", "mute"]);
  assert.deepEqual(memberActions(room, me("admin"), m("ann", "admin"), now), []);
  assert.deepEqual(memberActions(room, me("admin"), m("me", "admin"), now), []);
  assert.deepEqual(memberActions(room, me("owner"), m("ann", "admin", "member", "2026-11-25T09:00:00.000Z"), now), ["kick", "ban", "unmute", "role:member", "role:owner"]);
  assert.deepEqual(memberActions(room, me("owner"), m("bob", "member", "member", "2026-11-25T07:00:00.000Z"), now), ["kick", "ban", "mute", "role:admin", "role:owner"]);
  assert.deepEqual(memberActions(room, me("owner"), m("eve", "member", "banned"), now), ["unban"]);
  assert.deepEqual(memberActions(room, me("admin"), m("ivy", "member", "invited"), now), ["ban"]);
  assert.deepEqual(memberActions({ name: "d", kind: "direct" }, me("member"), m("bob", "member"), now), []);
});

test("canDeleteMessage: the author, or a moderator over the author", () => {
  const me = (role, state = "member") => ({ username: "me", role, state });
  assert.equal(canDeleteMessage(me("member"), "me", "member"), true);
  assert.equal(canDeleteMessage(me("member"), "bob", "member"), false);
  assert.equal(canDeleteMessage(me("admin"), "bob", "member"), true);
  assert.equal(canDeleteMessage(me("admin"), "bob", ""), true, "a former member counts as a member");
  assert.equal(canDeleteMessage(me("admin"), "ann", "admin"), false);
  assert.equal(canDeleteMessage(me("owner"), "ann", "admin"), true);
  assert.equal(canDeleteMessage(null, "bob", "member"), false);
});

test("eventText and leftText read like sentences", () => {
  assert.equal(eventText({ type: "member", change: "kicked", user: "bob", by: "ann", reason: "spam" }), "bob was removed by ann (spam)");
  assert.equal(eventText({ type: "member", change: "joined", user: "bob" }), "bob joined");
  assert.equal(eventText({ type: "member", change: "role", user: "bob", role: "admin", by: "ann" }), "bob is now admin (by ann)");
  assert.equal(eventText({ type: "room", topic: "news", by: "ann" }), "ann set the topic: news");
  assert.equal(eventText({ type: "room", topic: "", by: "ann" }), "ann cleared the topic");
  assert.match(eventText({ type: "member", change: "muted", user: "bob", by: "ann", until: "2026-11-25T09:00:00.000Z" }), /^bob was muted by ann until /);
  assert.equal(leftText("r", "kicked"), "You were removed from #r.");
  assert.equal(leftText("r", "room_deleted"), "#r was deleted.");
});

test("retryAfterReady waits at most what was left, and at most a first back-off", () => {
  assert.equal(retryAfterReady(200, () => 1), 200);
  assert.equal(retryAfterReady(20_000, () => 0), 500);
  assert.equal(retryAfterReady(20_000, () => 1), 1000);
});
