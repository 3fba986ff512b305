// Reading a room's stored messages over REST: pages of history and the
// seqs a truncated replay left out.

// gapPagesMax bounds the REST pages read to fill one gap after a resume.
const gapPagesMax = 25;
// gapPageSize is the page size used to fill gaps (the server's maximum).
const gapPageSize = 200;

/**
 * readPage returns {messages, has_more}: the newest `limit` messages of the
 * room with seq < before, oldest first.
 */
export function readPage(session, room, before, limit) {
  return session.api("GET", `/api/v1/rooms/${encodeURIComponent(room)}/messages?before=${before}&limit=${limit}`);
}

/**
 * fillGap reads the messages with seq in [from, to] into the room state,
 * calling onAdded with each batch that was new. It reports whether the gap
 * was filled; when it was too large to read whole, the room keeps only the
 * newest part, contiguous, and "load older" goes on from there.
 */
export async function fillGap(session, r, [from, to], onAdded) {
  let before = to + 1;
  for (let pages = 0; pages < gapPagesMax; pages++) {
    const data = await readPage(session, r.name, before, gapPageSize);
    const list = data.messages || [];
    onAdded(r.addHistory(list));
    const low = list.length > 0 ? list[0].seq : 0;
    if (list.length === 0 || !data.has_more || low <= from) return true;
    before = low;
  }
  r.dropBelow(before);
  return false;
}
