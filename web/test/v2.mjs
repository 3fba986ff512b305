// Contract v2 in the page: a private room a stranger cannot see, an
// invitation and a kick seen live, a direct message, edits and deletions,
// unread badges across two pages of one user, and search. Skipped, with a
// line saying so, against a service without v2's rooms.

import { assertEqual, fail, hasV2, login, newPage, register, sendAcked, step, tid, waitMessage, waitState } from "./lib.mjs";

const password = "correct horse battery";
// slowMs bounds waits for what the page learns by polling GET /me/rooms.
const slowMs = 30_000;

export async function v2(browser) {
  if (!(await hasV2())) {
    step("v2: SKIPPED: the service has no GET /api/v1/me/rooms yet");
    return;
  }
  step("v2: fay, gus and hal register");
  const fay = await newPage(browser, "fay");
  await register(fay, password);
  const gus = await newPage(browser, "gus");
  await register(gus, password);
  const hal = await newPage(browser, "hal", "/?page_size=2");
  await register(hal, password);

  await privateRoom(fay, gus, hal);
  await directMessage(fay, gus);
  const zebraSeq = await editDelete(fay, gus);
  await search(hal, zebraSeq);
  if (!socketReadServed) {
    // The service stores read markers, but its socket does not take the
    // read frame yet: the unread-badge steps run once it does.
    step("v2: NOT RUN: the read frame is not served yet (unread badges across pages)");
    return;
  }
  await unread(browser, fay, gus);
}

// socketReadServed says whether the service's socket takes the read
// frame; the steps that need it wait for it.
const socketReadServed = true;

const item = (u, list, room) => u.page.locator(`[data-testid="${list}"] [data-testid="joined-room"][data-room="${room}"]`);
const title = (u, text) => u.page.waitForSelector(`[data-testid="room-title"]:text-is("${text}")`);

// fillDialog fills the open dialog's fields and submits it.
async function fillDialog(u, testid, values = {}) {
  const d = u.page.locator(`dialog[data-testid="${testid}"]`);
  await d.waitFor();
  for (const [name, v] of Object.entries(values)) {
    const f = d.locator(`[data-testid="dialog-${name}"]`);
    if ((await f.evaluate((e) => e.tagName)) === "SELECT") await f.selectOption(v);
    else await f.fill(v);
  }
  await d.getByTestId("dialog-submit").click();
  await d.waitFor({ state: "detached" });
}

async function eventShown(u, change, re) {
  const loc = u.page.locator(`[data-testid="room-event"][data-change="${change}"]`).last();
  await loc.waitFor();
  const text = await loc.textContent();
  if (!re.test(text)) fail(`${u.name}: ${change} event reads ${JSON.stringify(text)}`);
}

async function privateRoom(fay, gus, hal) {
  step("v2: fay creates the private #secret; hal, a stranger, can neither list nor join it");
  await tid(fay.page, "room-create").click();
  await fillDialog(fay, "create-dialog", { name: "secret", kind: "private", topic: "plans" });
  await title(fay, "#secret");
  await fay.page.waitForSelector('[data-testid="room-topic"]:text-is("plans")');
  await item(fay, "joined-rooms", "secret").waitFor();
  await tid(hal.page, "rooms-refresh").click();
  await hal.page.locator('[data-testid="room-item"][data-room="general"]').waitFor();
  assertEqual(await hal.page.locator('[data-testid="room-item"][data-room="secret"]').count(), 0, "hal: #secret listed");
  await tid(hal.page, "room-input").fill("secret");
  await tid(hal.page, "room-join").click();
  await hal.page.waitForSelector('[data-testid="notice"]:has-text("no such room, or it is private")');
  assertEqual(await item(hal, "joined-rooms", "secret").count(), 0, "hal: #secret among his rooms");

  step("v2: fay invites gus; he sees the invitation live and joins");
  await fay.page.getByTestId("action-invite").click();
  await fillDialog(fay, "invite-dialog", { username: "gus" });
  await gus.page.waitForSelector('[data-testid="notice"]:has-text("fay invited you to #secret")');
  await item(gus, "joined-rooms", "secret").getByTestId("invited-badge").waitFor();
  await item(gus, "joined-rooms", "secret").click();
  await title(gus, "#secret");
  await eventShown(fay, "joined", /gus joined/);

  step("v2: fay kicks gus; his page says so at once and drops the room");
  const row = fay.page.locator('[data-testid="room-member"][data-user="gus"]');
  await row.getByTestId("action-kick").click();
  await fillDialog(fay, "reason-dialog", { reason: "testing" });
  await gus.page.waitForSelector('[data-testid="notice"]:has-text("You were removed from #secret.")');
  await item(gus, "joined-rooms", "secret").waitFor({ state: "detached" });
  await eventShown(fay, "kicked", /gus was removed by fay \(testing\)/);
  assertEqual(await fay.page.locator('[data-testid="room-member"][data-user="fay"] [data-testid^="action-"]').count(), 0, "fay: actions on herself");
}

async function directMessage(fay, gus) {
  step("v2: fay starts a direct message with gus; it shows under his direct messages");
  await tid(fay.page, "dm-start").click();
  await fillDialog(fay, "dm-dialog", { username: "gus" });
  await title(fay, "@gus");
  await sendAcked(fay, "hi gus, privately");
  const dm = gus.page.locator('[data-testid="dm-rooms"] [data-testid="joined-room"]');
  await dm.filter({ hasText: "@fay" }).waitFor({ timeout: slowMs });
  await dm.filter({ hasText: "@fay" }).click();
  await title(gus, "@fay");
  await gus.page.locator('[data-testid="message-text"]:text-is("hi gus, privately")').waitFor();
  await gus.page.locator('[data-testid="room-actions"] [data-testid="action-leave"]').waitFor();
  assertEqual(await gus.page.locator('[data-testid="room-actions"] [data-testid^="action-"]').evaluateAll((b) => b.map((e) => e.dataset.testid)), ["action-leave"], "gus: actions in a direct room");
}

async function joinByName(u, room) {
  await tid(u.page, "room-input").fill(room);
  await tid(u.page, "room-join").click();
  await title(u, "#" + room);
}

async function seqOf(u, text) {
  const li = u.page.locator('[data-testid="messages"] [data-testid="message"]').filter({ has: u.page.locator(`[data-testid="message-text"]:text-is("${text}")`) });
  return Number(await li.first().getAttribute("data-seq"));
}

async function editDelete(fay, gus) {
  step("v2: in #open, fay edits and deletes her messages; gus sees both live and after a reload");
  await joinByName(fay, "open");
  await joinByName(gus, "open");
  await sendAcked(fay, "the zebra crossing");
  const zebra = await seqOf(fay, "the zebra crossing");
  await sendAcked(fay, "first draft");
  const seq = await seqOf(fay, "first draft");
  await waitMessage(gus, seq, "first draft");
  assertEqual(await gus.page.locator(`[data-testid="message"][data-seq="${seq}"] [data-testid="message-edit"]`).count(), 0, "gus: edit on fay's message");
  await fay.page.locator(`[data-testid="message"][data-seq="${seq}"] [data-testid="message-edit"]`).click();
  assertEqual(await tid(fay.page, "composer-input").inputValue(), "first draft", "fay: composer while editing");
  await tid(fay.page, "composer-input").fill("final text");
  await tid(fay.page, "composer-input").press("Enter");
  await waitMessage(gus, seq, "final text");
  await gus.page.locator(`[data-testid="message"][data-seq="${seq}"] [data-testid="edited"]`).waitFor();
  await fay.page.locator(`[data-testid="message"][data-seq="${seq}"] [data-testid="message-delete"]`).click();
  await fillDialog(fay, "confirm-dialog");
  await gus.page.waitForSelector(`[data-testid="message"][data-seq="${seq}"][data-deleted="true"]`);
  for (const text of ["one", "two", "three", "four"]) await sendAcked(fay, text);
  await gus.page.reload();
  await waitState(gus, "connected");
  await title(gus, "#open");
  await gus.page.waitForSelector(`[data-testid="message"][data-seq="${seq}"][data-deleted="true"]`);
  assertEqual(await gus.page.locator(`[data-testid="message"][data-seq="${seq}"] [data-testid="message-text"]`).textContent(), "This message was deleted.", "gus: tombstone after reload");
  return zebra;
}

async function badge(u, room) {
  const b = item(u, "joined-rooms", room);
  return Number((await b.getAttribute("data-unread")) || 0);
}

async function unread(browser, fay, gus) {
  step("v2: fay on a second page; gus writes in #open; both her pages show 2 unread");
  const fay2 = await newPage(browser, "fay");
  await login(fay2, password);
  await waitState(fay2, "connected");
  for (const u of [fay, fay2]) {
    await item(u, "joined-rooms", "general").click();
    await title(u, "#general");
    await item(u, "joined-rooms", "open").waitFor({ timeout: slowMs });
  }
  await sendAcked(gus, "are you there?");
  await sendAcked(gus, "hello?");
  for (const u of [fay, fay2]) {
    await u.page.waitForFunction(() => document.querySelector('[data-testid="joined-rooms"] [data-room="open"]')?.dataset.unread === "2", null, { timeout: slowMs });
    await item(u, "joined-rooms", "open").getByTestId("unread-badge").waitFor();
  }
  step("v2: fay reads #open on one page; the badge clears on the other");
  await item(fay, "joined-rooms", "open").click();
  await waitMessage(fay, await seqOf(gus, "hello?"), "hello?");
  await fay2.page.waitForFunction(() => document.querySelector('[data-testid="joined-rooms"] [data-room="open"]')?.dataset.unread === "0", null, { timeout: slowMs });
  assertEqual(await badge(fay, "open"), 0, "fay: unread in the room she reads");
  if (!fay.log.sent.some((s) => s.frame.type === "read" && s.frame.room === "open")) fail("fay: no read frame sent");
}

async function search(hal, seq) {
  step("v2: hal searches for zebra and jumps to the message, in a room he never joined");
  await tid(hal.page, "search-input").fill("zebr");
  await tid(hal.page, "search-input").press("Enter");
  const res = hal.page.locator(`[data-testid="search-result"][data-room="open"][data-seq="${seq}"]`);
  await res.waitFor();
  await res.click();
  await title(hal, "#open");
  await hal.page.waitForSelector(`[data-testid="message"][data-seq="${seq}"].found`);
  await waitMessage(hal, seq, "the zebra crossing");
}
