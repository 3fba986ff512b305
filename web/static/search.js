// Searching messages (GET /api/v1/search) and jumping to a result: the room
// opens and its history is read back to the message, which is highlighted.

import { $, describe, notice, session, state } from "./ctx.js";
import { el, formatTime } from "./view.js";
import { followRoom, selectRoom } from "./chat.js";
import { insertMessage } from "./messages.js";
import { readPage } from "./history.js";
import { showPane } from "./layout.js";

// jumpPagesMax bounds the pages read back to reach a result.
const jumpPagesMax = 25;
// jumpPageSize is the size of those pages (the service's maximum).
const jumpPageSize = 200;

let next = null;
let query = "";

$("search-form").addEventListener("submit", (ev) => {
  ev.preventDefault();
  query = $("search-input").value.trim();
  if (!query) return;
  next = null;
  search(false);
});
$("search-more").addEventListener("click", () => search(true));
$("search-close").addEventListener("click", () => {
  $("search-results").hidden = true;
});

async function search(more) {
  const box = $("search-results");
  const ul = $("search-list");
  box.hidden = false;
  showPane("room"); // at phone width the results show in the chat pane
  if (!more) ul.replaceChildren();
  $("search-status").textContent = "Searching…";
  const before = more && next ? `&before=${encodeURIComponent(next)}` : "";
  let data;
  try {
    data = await session.api("GET", `/api/v1/search?q=${encodeURIComponent(query)}&limit=20${before}`);
  } catch (err) {
    $("search-status").textContent = err.code === "invalid_request" ? "Type at least one word (letters or digits)." : `Search failed: ${describe(err)}`;
    return;
  }
  for (const m of data.results || []) ul.append(resultItem(m));
  next = data.next || null;
  $("search-more").hidden = !next;
  const n = ul.children.length;
  $("search-status").textContent = n === 0 ? `Nothing found for “${query}”.` : `${n}${next ? "+" : ""} result${n === 1 ? "" : "s"} for “${query}”`;
}

function resultItem(m) {
  return el(
    "li",
    {},
    el(
      "button",
      { type: "button", className: "result", testid: "search-result", data: { room: m.room, seq: String(m.seq) }, on: { click: () => jump(m.room, m.seq) } },
      el("span", { className: "meta", textContent: `#${m.room} · ${m.from} · ${formatTime(m.ts)}` }),
      el("span", { className: "text", textContent: m.text }),
    ),
  );
}

/** jump opens a room and shows message seq in it, reading history back to it. */
export async function jump(room, seq) {
  $("search-results").hidden = true;
  const r = followRoom(room);
  selectRoom(room);
  try {
    // Read back from what is held, so that what is held stays contiguous.
    await synced(r);
    let before = r.oldestSeq() || r.lastSeq + 1;
    for (let i = 0; i < jumpPagesMax && !r.messages.has(seq) && before > seq; i++) {
      const data = await readPage(session, room, before, jumpPageSize);
      const list = data.messages || [];
      const added = r.addHistory(list);
      if (state.active === room) for (const m of added) insertMessage(m, false);
      r.hasMore = !!data.has_more;
      r.historyLoaded = true;
      if (list.length === 0 || !data.has_more) break;
      before = list[0].seq;
    }
  } catch (err) {
    notice(`Search: ${describe(err)}`);
    return;
  }
  r.found = seq;
  highlight(seq);
}

// synced waits (a few seconds at most) for the room's first joined frame.
async function synced(r) {
  for (let i = 0; i < 50 && !r.synced; i++) await new Promise((res) => setTimeout(res, 100));
}

function highlight(seq) {
  const li = document.querySelector(`[data-testid="messages"] [data-testid="message"][data-seq="${seq}"]`);
  if (!li) {
    notice("That message is no longer there.");
    return;
  }
  for (const o of document.querySelectorAll(".message.found")) o.classList.remove("found");
  li.classList.add("found");
  li.scrollIntoView({ block: "center" });
}

