// What a new user trips over, at 1280×800 (erin) and 390×844 (dora): the
// login form after logout, the phone layout, live room counts, the
// composer's character limit, presence while disconnected, and reconnecting
// as soon as the service is back.

import { resolve } from "node:path";
import { assertEqual, driver, fail, newPage, register, sendAcked, step, tid, waitMembers, waitState } from "./lib.mjs";

const password = "correct horse battery";
const room = "polish";
const phone = { width: 390, height: 844 };

export async function polish(browser, outDir) {
  step("polish: erin at 1280×800 makes #polish; dora registers at 390×844");
  const erin = await newPage(browser, "erin");
  await register(erin, password);
  await tid(erin.page, "room-input").fill(room);
  await tid(erin.page, "room-join").click();
  await erin.page.waitForSelector(`[data-testid="room-title"]:text-is("#${room}")`);
  const dora = await newPage(browser, "dora", "/", phone);
  await register(dora, password);

  for (const u of [erin, dora]) await logoutLogin(u);
  await erin.page.locator(`[data-testid="room-item"][data-room="${room}"]`).click();
  await erin.page.waitForSelector(`[data-testid="room-title"]:text-is("#${room}")`);
  await layout(erin, dora);
  await liveCounts(erin, dora);
  for (const u of [erin, dora]) await overLimit(u);
  for (const u of [erin, dora]) await refused(u);
  await serviceDown(erin, dora);

  await erin.page.screenshot({ path: resolve(outDir, "polish-desktop.png") });
  await dora.page.screenshot({ path: resolve(outDir, "polish-phone.png") });
  await tid(dora.page, "tab-rooms").click();
  await dora.page.screenshot({ path: resolve(outDir, "polish-phone-rooms.png") });
  await tid(dora.page, "tab-room").click();
}

async function logoutLogin(u) {
  step(`${u.name} logs out: the login form holds her name, the register form is empty`);
  await tid(u.page, "logout").click();
  await tid(u.page, "auth-view").waitFor({ state: "visible" });
  assertEqual(await tid(u.page, "login-username").inputValue(), u.name, `${u.name}: login username after logout`);
  assertEqual(await tid(u.page, "register-username").inputValue(), "", `${u.name}: register username after logout`);
  assertEqual(await u.page.evaluate(() => document.activeElement.dataset.testid), "login-password", `${u.name}: focus after logout`);
  await tid(u.page, "login-password").fill(password);
  await tid(u.page, "login-submit").click();
  await waitState(u, "connected");
}

async function visible(u, id) {
  return tid(u.page, id).isVisible();
}

async function layout(desk, ph) {
  step("layout: three panes at 1280×800; one pane at a time, with tabs, at 390×844");
  const want = { sidebar: true, scroller: true, members: true, tabs: false };
  for (const [id, v] of Object.entries(want)) assertEqual(await visible(desk, id === "members" ? "member-count" : id), v, `${desk.name}: ${id} visible`);
  for (const u of [desk, ph]) {
    const ph = await tid(u.page, "composer-input").getAttribute("placeholder");
    if (!/Shift\+Enter/.test(ph)) fail(`${u.name}: composer placeholder ${JSON.stringify(ph)} does not mention Shift+Enter`);
  }
  assertEqual(
    [await visible(ph, "tabs"), await visible(ph, "sidebar"), await visible(ph, "scroller"), await visible(ph, "member-count")],
    [true, false, true, false],
    `${ph.name}: tabs, rooms, messages, people visible at phone width`,
  );
  const box = await tid(ph.page, "composer-input").boundingBox();
  if (!box || box.y + box.height > phone.height) fail(`${ph.name}: composer outside the screen: ${JSON.stringify(box)}`);
  await tid(ph.page, "tab-rooms").click();
  assertEqual([await visible(ph, "sidebar"), await visible(ph, "scroller")], [true, false], `${ph.name}: rooms tab`);
  await ph.page.locator(`[data-testid="room-item"][data-room="${room}"]`).click();
  await ph.page.waitForSelector(`[data-testid="room-title"]:text-is("#${room}")`);
  assertEqual([await visible(ph, "sidebar"), await visible(ph, "scroller")], [false, true], `${ph.name}: picking a room opens it`);
  await tid(ph.page, "tab-people").click();
  await waitMembers(ph, ["dora", "erin"]);
  assertEqual(await visible(ph, "members"), true, `${ph.name}: people tab shows who is here`);
  await tid(ph.page, "tab-room").click();
}

async function count(u, name) {
  return Number(await u.page.locator(`[data-testid="room-item"][data-room="${name}"] [data-testid="room-count"]`).textContent());
}

async function liveCounts(erin, dora) {
  step("All rooms: counts follow new messages without a reload");
  const before = await count(erin, room);
  await sendAcked(dora, "hello from the phone");
  for (const u of [erin, dora]) {
    await u.page.waitForFunction(
      ([r, n]) => Number(document.querySelector(`[data-testid="room-item"][data-room="${r}"] [data-testid="room-count"]`).textContent) === n,
      [room, before + 1],
    );
  }
}

async function overLimit(u) {
  step(`${u.name}: the counter shows near the limit; text over it stays in the composer`);
  const box = tid(u.page, "composer-input");
  await box.fill("short");
  assertEqual(await visible(u, "char-count"), false, `${u.name}: counter for a short text`);
  await box.fill("x".repeat(3900));
  assertEqual(await tid(u.page, "char-count").textContent(), "3900 / 4000", `${u.name}: counter near the limit`);
  await box.fill("é".repeat(4001));
  assertEqual(await tid(u.page, "char-count").getAttribute("data-over"), "true", `${u.name}: counter over the limit`);
  assertEqual(await tid(u.page, "char-count").textContent(), "4001 / 4000 — 1 too many", `${u.name}: counter text over the limit`);
  assertEqual(await tid(u.page, "composer-send").isDisabled(), true, `${u.name}: send disabled over the limit`);
  const sent = u.log.sent.length;
  await box.press("Enter");
  assertEqual((await box.inputValue()).length, 4001, `${u.name}: composer text after Enter over the limit`);
  if (u.log.sent.slice(sent).some((s) => s.frame.type === "send")) fail(`${u.name}: sent a text over the limit`);
  await box.fill("");
}

async function refused(u) {
  const max = Number(process.env.CHAT_WEB_MAX_TEXT) || 4000;
  step(`${u.name}: a text the service refuses (over its ${max}) comes back to the composer`);
  const text = "y".repeat(max + 1);
  await tid(u.page, "composer-input").fill(text);
  await tid(u.page, "composer-input").press("Enter");
  await u.page.waitForFunction((t) => document.querySelector('[data-testid="composer-input"]').value === t, text);
  const err = u.log.received.find((r) => r.frame.type === "error" && r.frame.code === "text_too_long");
  if (!err) fail(`${u.name}: no text_too_long from the service`);
  assertEqual(await tid(u.page, "char-count").textContent(), `${max + 1} / ${max} — 1 too many`, `${u.name}: counter after the refusal`);
  assertEqual(await u.page.locator('[data-testid="pending-message"]').count(), 0, `${u.name}: pending messages after the refusal`);
  await tid(u.page, "composer-input").fill("");
  await sendAcked(u, "short enough");
}

async function serviceDown(erin, dora) {
  step("the service stops: presence is unknown; the back-off grows");
  await driver("STOP");
  for (const u of [erin, dora]) {
    await u.page.waitForSelector('[data-testid="members"][data-presence="unknown"]', { state: "attached" });
    assertEqual(await u.page.locator('[data-testid="members"] [data-testid="member"]').count(), 0, `${u.name}: people listed while disconnected`);
  }
  assertEqual(await visible(erin, "presence-unknown"), true, "erin: presence marked unknown");
  const deadline = Date.now() + 45_000;
  let until = 0;
  // The wait after 1001 is a random spread, not a back-off: wait for the
  // back-off after failed attempts (a failed handshake, 1006, or a failed
  // token refresh, no code) to pass 4.5 s.
  const state = tid(erin.page, "conn-state");
  while (Date.now() < deadline) {
    until = (await state.getAttribute("data-code")) !== "1001" ? Number(await state.getAttribute("data-until")) || 0 : 0;
    if (until - Date.now() >= 4500) break;
    await erin.page.waitForTimeout(100);
  }
  if (until - Date.now() < 4500) fail("erin: the back-off never grew past 4.5 s");
  step(`the service starts again; erin's next try was due in ${until - Date.now()} ms`);
  await driver("START");
  await waitState(erin, "connected");
  const early = until - Date.now();
  if (early < 1000) fail(`erin: reconnected only ${early} ms before the back-off ended: /readyz did not cut it short`);
  step(`erin reconnected ${early} ms before her back-off would have ended`);
  await waitState(dora, "connected");
  await waitMembers(erin, ["dora", "erin"]);
  assertEqual(await erin.page.locator('[data-testid="members"]').getAttribute("data-presence"), "known", "erin: presence after the rejoin");
}
