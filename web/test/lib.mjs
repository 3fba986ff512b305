// Helpers of the real-browser test: pages that record their frames, the
// test driver's commands on stdin/stdout, and checks of what a page shows.

import { createInterface } from "node:readline";

export const base = process.env.CHAT_WEB_URL;
// stepMs bounds each wait for something to show on a page.
export const stepMs = 15_000;

const stdinLines = createInterface({ input: process.stdin });
const lineWaiters = [];
const lineQueue = [];
stdinLines.on("line", (l) => {
  const w = lineWaiters.shift();
  if (w) w(l.trim());
  else lineQueue.push(l.trim());
});
export function nextLine() {
  if (lineQueue.length > 0) return Promise.resolve(lineQueue.shift());
  return new Promise((res) => lineWaiters.push(res));
}

const t0 = Date.now();
export function step(text) {
  console.log(`step: ${((Date.now() - t0) / 1000).toFixed(1)}s ${text}`);
}

export function fail(text) {
  throw new Error(text);
}

export function assertEqual(got, want, what) {
  const g = JSON.stringify(got);
  const w = JSON.stringify(want);
  if (g !== w) fail(`${what}: got ${g}, want ${w}`);
}

export const pageErrors = [];

// watch records what one page does: its WebSocket frames and errors.
function watch(page, name) {
  const log = { sent: [], received: [], sockets: [] };
  page.on("pageerror", (err) => pageErrors.push(`${name}: ${err.message}`));
  page.on("console", (msg) => {
    // Failed requests show in the page itself; only script errors are logged.
    if (msg.type() === "error" && !msg.text().startsWith("Failed to load resource")) console.log(`console ${name}: ${msg.text()}`);
  });
  page.on("websocket", (ws) => {
    const n = log.sockets.length;
    log.sockets.push(ws.url());
    ws.on("framesent", (e) => log.sent.push({ n, at: Date.now(), frame: parse(e.payload) }));
    ws.on("framereceived", (e) => log.received.push({ n, frame: parse(e.payload) }));
  });
  return log;
}

function parse(payload) {
  try {
    return JSON.parse(String(payload));
  } catch {
    return { unparsed: String(payload) };
  }
}

// recordStates keeps every connection state the page shows in
// window.__states ("name:code").
const recordStates = () => {
  window.__states = [];
  window.__csp = [];
  document.addEventListener("securitypolicyviolation", (e) => window.__csp.push(`${e.violatedDirective} ${e.blockedURI}`));
  document.addEventListener("DOMContentLoaded", () => {
    const el = document.querySelector('[data-testid="conn-state"]');
    const note = () => {
      const s = `${el.dataset.state}:${el.dataset.code || ""}`;
      if (window.__states[window.__states.length - 1] !== s) window.__states.push(s);
    };
    note();
    new MutationObserver(note).observe(el, { attributes: true, attributeFilter: ["data-state", "data-code"] });
  });
};

export const opened = [];
// cspViolations lists what the page's Content-Security-Policy (its own meta
// tag, default-src 'self', and any header the service adds) blocked on the
// open pages.
export async function cspViolations() {
  const out = [];
  for (const u of opened) {
    if (u.page.isClosed()) continue;
    for (const v of await u.page.evaluate(() => window.__csp || [])) out.push(`${u.name}: ${v}`);
  }
  return out;
}

export async function newPage(browser, name, path = "/", viewport = { width: 1280, height: 800 }) {
  const context = await browser.newContext({ viewport, locale: "en-GB" });
  const page = await context.newPage();
  page.setDefaultTimeout(stepMs);
  await page.addInitScript(recordStates);
  const log = watch(page, name);
  const u = { name, context, page, log };
  opened.push(u);
  await page.goto(base + path);
  return u;
}

export const tid = (page, id) => page.getByTestId(id);

export async function waitState(u, state) {
  await u.page.waitForSelector(`[data-testid="conn-state"][data-state="${state}"]`);
}

export async function register(u, password) {
  await tid(u.page, "register-username").fill(u.name);
  await tid(u.page, "register-password").fill(password);
  await tid(u.page, "register-submit").click();
  await tid(u.page, "chat-view").waitFor({ state: "visible" });
  await waitState(u, "connected");
  assertEqual(await tid(u.page, "me").textContent(), u.name, `${u.name}: user shown after register`);
}

export async function login(u, password) {
  await tid(u.page, "login-username").fill(u.name);
  await tid(u.page, "login-password").fill(password);
  await tid(u.page, "login-submit").click();
}

export async function members(u) {
  return u.page.locator('[data-testid="members"] [data-testid="member"]').evaluateAll((els) => els.map((e) => e.dataset.user));
}

export async function waitMembers(u, want) {
  const sel = want.map((n) => `[data-testid="member"][data-user="${n}"]`);
  await u.page.waitForFunction(
    ([sels, count]) => sels.every((s) => document.querySelector(s)) && document.querySelectorAll('[data-testid="members"] [data-testid="member"]').length === count,
    [sel, want.length],
  );
  assertEqual(await members(u), [...want].sort(), `${u.name}: members`);
}

export async function messages(u) {
  return u.page.locator('[data-testid="messages"] [data-testid="message"]').evaluateAll((els) =>
    els.map((e) => ({ seq: Number(e.dataset.seq), from: e.dataset.from, text: e.querySelector('[data-testid="message-text"]').textContent })),
  );
}

// waitMessage waits until message seq shows text (an edit may reach the
// page a moment after the message) and fails with what it shows instead.
export async function waitMessage(u, seq, text) {
  const sel = `[data-testid="messages"] [data-testid="message"][data-seq="${seq}"]`;
  const loc = u.page.locator(sel);
  await loc.waitFor();
  await u.page
    .waitForFunction(([s, want]) => document.querySelector(s)?.querySelector('[data-testid="message-text"]')?.textContent === want, [sel, text], { timeout: stepMs })
    .catch(() => {});
  const got = await loc.getByTestId("message-text").textContent();
  assertEqual(got, text, `${u.name}: text of message ${seq}`);
}

export async function typeAndSend(u, text) {
  const box = tid(u.page, "composer-input");
  await box.pressSequentially(text, { delay: 5 });
  await box.press("Enter");
}

// sendAcked sends a message and waits until the page shows it with its seq.
export async function sendAcked(u, text) {
  await typeAndSend(u, text);
  await u.page.waitForFunction(
    (t) =>
      Array.from(document.querySelectorAll('[data-testid="messages"] [data-testid="message"]')).some(
        (e) => e.querySelector('[data-testid="message-text"]').textContent === t,
      ) && !document.querySelector('[data-testid="pending-message"]'),
    text,
  );
}

export async function waitTyping(u, text) {
  await u.page.waitForFunction((t) => document.querySelector('[data-testid="typing"]').textContent === t, text);
}

// checkOrder asserts that a page shows exactly these texts, in seq order,
// with seqs 1..n and no duplicate.
export async function checkTranscript(u, want) {
  const got = await messages(u);
  assertEqual(
    got.map((m) => m.seq),
    want.map((_, i) => i + 1),
    `${u.name}: seqs shown`,
  );
  assertEqual(
    got.map((m) => m.text),
    want.map((w) => w.text),
    `${u.name}: texts shown`,
  );
  assertEqual(
    got.map((m) => m.from),
    want.map((w) => w.from),
    `${u.name}: senders shown`,
  );
}


// driver asks the Go test to do something to the service (RESTART, STOP,
// START) and waits for its "OK".
export async function driver(command) {
  console.log(command);
  const ok = await nextLine();
  if (ok !== "OK") fail(`${command}: got ${JSON.stringify(ok)} from the test driver, want "OK"`);
}

// hasV2 reports whether the service serves contract v2's rooms (GET
// /api/v1/me/rooms answers 401 without a token instead of 404).
export async function hasV2() {
  const resp = await fetch(base + "/api/v1/me/rooms");
  return resp.status === 401;
}
