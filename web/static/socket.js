// The WebSocket side: one connection to /ws that reconnects by itself as the
// close code says, paces what it sends under the server's rate limit, and
// reports a state a person can read.

/** SUBPROTOCOL is the protocol version the client speaks. */
export const SUBPROTOCOL = "chat.v1";

// Back-off for reconnecting: the n-th consecutive attempt waits a random time
// between half and all of min(backoffMaxMs, backoffBaseMs * 2^n).
const backoffBaseMs = 1000;
const backoffMaxMs = 30_000;
// restartSpreadMs spreads reconnects after a server shutdown (1001) so that a
// restarted service is not hit by every client at once.
const restartSpreadMs = 5000;
// stableMs is how long a connection must have lived for the next failure to
// start the back-off from the beginning again.
const stableMs = 30_000;
// readyPollMs is how often /readyz is asked, during a back-off wait, whether
// the service is back; once it answers, the back-off starts over.
const readyPollMs = 1000;
// Client frames are paced by a token bucket a little below the server's
// default limit (10 a second, bursts of 20).
const paceBurst = 16;
const pacePerSec = 8;

/**
 * Actions a close code leads to:
 *   stop     stay disconnected and say why
 *   ended    the session is over: log in again
 *   restart  the server is going away: reconnect after a random 0–5 s
 *   backoff  reconnect with exponential back-off
 *   slow     this client fell behind: reconnect with back-off
 *   refresh  refresh the access token, then reconnect
 *   check    no close frame: ask the REST API about the token, then reconnect
 */
const policies = {
  1000: { action: "stop", reason: "normal", text: "Disconnected" },
  1001: { action: "restart", reason: "going_away", text: "Server restarting" },
  1003: { action: "stop", reason: "binary_not_supported", text: "Stopped: the server refused a binary frame — a client bug" },
  1006: { action: "check", reason: "abnormal", text: "Connection lost" },
  1007: { action: "stop", reason: "invalid_utf8", text: "Stopped: the server refused invalid text — a client bug" },
  1008: { action: "stop", reason: "policy_violation", text: "Stopped: policy violation" },
  1009: { action: "stop", reason: "message_too_large", text: "Stopped: a frame was too large — a client bug" },
  1011: { action: "backoff", reason: "internal", text: "Server error" },
  1013: { action: "backoff", reason: "try_again_later", text: "Server overloaded" },
  4001: { action: "refresh", reason: "token_expired", text: "Token expired — refreshing" },
  4003: { action: "ended", reason: "session_revoked", text: "Session ended, log in again" },
  4008: { action: "slow", reason: "too_slow", text: "Too slow" },
};

/** closePolicy tells what to do after a close with this code. */
export function closePolicy(code) {
  return policies[code] || { action: "backoff", reason: "unknown", text: "Disconnected" };
}

/** backoffDelay is the wait before reconnect attempt n (0-based), with jitter. */
export function backoffDelay(attempt, rand = Math.random) {
  const cap = Math.min(backoffMaxMs, backoffBaseMs * 2 ** Math.min(attempt, 20));
  return Math.round(cap / 2 + rand() * (cap / 2));
}

/** restartDelay is the wait before reconnecting after 1001. */
export function restartDelay(rand = Math.random) {
  return Math.round(rand() * restartSpreadMs);
}

/** retryAfterReady is the wait left once /readyz answers during a wait of leftMs. */
export function retryAfterReady(leftMs, rand = Math.random) {
  return Math.min(leftMs, backoffDelay(0, rand));
}

/** socketURL is the /ws address of the page's own origin. */
export function socketURL(loc = globalThis.location) {
  const scheme = loc.protocol === "https:" ? "wss:" : "ws:";
  return `${scheme}//${loc.host}/ws`;
}

/**
 * Connection is one logical connection to the service across reconnects.
 * Events: "state" (detail: {name, text, code, until}), "welcome" (detail:
 * the welcome frame; the socket is ready), "frame" (detail: any other frame).
 *
 * State names: idle, connecting, connected, reconnecting, offline, stopped,
 * ended.
 */
export class Connection extends EventTarget {
  #url;
  #readyURL;
  #readyTimer = 0;
  #session;
  #win;
  #ws = null;
  #ready = false;
  #running = false;
  #attempt = 0;
  #openedAt = 0;
  #retryTimer = 0;
  #queue = [];
  #tokens = paceBurst;
  #lastFill = 0;
  #pump = 0;
  #refs = 0;
  #onOnline = () => this.#online();
  #onOffline = () => this.#offline();
  #onRefreshed = (ev) => this.#reauth(ev.detail);

  /** state is the last state reported. */
  state = { name: "idle", text: "Not connected", code: 0, until: 0 };

  constructor({ url, session, win = globalThis, readyURL = "/readyz" }) {
    super();
    this.#url = url;
    this.#readyURL = readyURL;
    this.#session = session;
    this.#win = win;
  }

  /** ready reports whether the socket is open and welcomed. */
  get ready() {
    return this.#ready;
  }

  /** start connects and keeps connecting until stop. */
  start() {
    if (this.#running) return;
    this.#running = true;
    this.#attempt = 0;
    this.#win.addEventListener("online", this.#onOnline);
    this.#win.addEventListener("offline", this.#onOffline);
    this.#session.addEventListener("refreshed", this.#onRefreshed);
    this.#connect();
  }

  /** stop closes the socket (1000) and reconnects no more. */
  stop(name = "idle", text = "Not connected") {
    this.#running = false;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#readyTimer);
    this.#win.removeEventListener("online", this.#onOnline);
    this.#win.removeEventListener("offline", this.#onOffline);
    this.#session.removeEventListener("refreshed", this.#onRefreshed);
    this.#drop(1000);
    this.#setState(name, text, 0, 0);
  }

  /** reconnectNow skips the wait of a pending reconnect. */
  reconnectNow() {
    if (!this.#running) {
      this.start();
      return;
    }
    if (this.#ws) return;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#readyTimer);
    this.#connect();
  }

  /**
   * send queues a frame for the open socket and reports whether it was
   * queued; frames are paced under the server's rate limit. A frame of type
   * "typing" is dropped rather than queued behind others.
   */
  send(frame) {
    if (!this.#ready) return false;
    if (frame.type === "typing" && this.#queue.length > 0) return false;
    this.#queue.push(JSON.stringify(frame));
    this.#flush();
    return true;
  }

  /** nextRef returns a ref unique within this page. */
  nextRef(prefix) {
    this.#refs += 1;
    return `${prefix}-${this.#refs}`;
  }

  #flush() {
    clearTimeout(this.#pump);
    const now = Date.now();
    if (this.#lastFill) {
      this.#tokens = Math.min(paceBurst, this.#tokens + ((now - this.#lastFill) / 1000) * pacePerSec);
    }
    this.#lastFill = now;
    while (this.#queue.length > 0 && this.#tokens >= 1 && this.#ws && this.#ready) {
      this.#tokens -= 1;
      this.#ws.send(this.#queue.shift());
    }
    if (this.#queue.length > 0 && this.#ready) {
      this.#pump = setTimeout(() => this.#flush(), Math.ceil(1000 / pacePerSec));
    }
  }

  async #connect() {
    clearTimeout(this.#readyTimer);
    if (!this.#running || this.#ws) return;
    if (this.#win.navigator && this.#win.navigator.onLine === false) {
      this.#setState("offline", "Offline — waiting for the network", this.state.code, 0);
      return;
    }
    this.#setState("connecting", "Connecting…", this.state.code, 0);
    let token;
    try {
      token = await this.#session.fresh();
    } catch (err) {
      if (!this.#running) return;
      if (err.status === 401) {
        this.#ended();
      } else {
        this.#retry(backoffDelay(this.#attempt++), "Server unreachable", 0, true);
      }
      return;
    }
    if (!this.#running || this.#ws) return;
    let ws;
    try {
      ws = new WebSocket(this.#url, [SUBPROTOCOL, "access_token." + token]);
    } catch {
      this.#retry(backoffDelay(this.#attempt++), "Cannot open a socket", 0, true);
      return;
    }
    this.#ws = ws;
    this.#ready = false;
    ws.onmessage = (ev) => this.#message(ws, ev);
    ws.onclose = (ev) => this.#closed(ws, ev.code, ev.reason);
    ws.onerror = () => {
      // The close event that follows carries what is known.
    };
  }

  #message(ws, ev) {
    if (ws !== this.#ws) return;
    let frame;
    try {
      frame = JSON.parse(ev.data);
    } catch {
      return;
    }
    if (!frame || typeof frame.type !== "string") return;
    if (frame.type === "welcome") {
      this.#ready = true;
      this.#openedAt = Date.now();
      this.#queue = [];
      this.#tokens = paceBurst;
      this.#lastFill = 0;
      this.#setState("connected", "Connected", 0, 0);
      this.dispatchEvent(new CustomEvent("welcome", { detail: frame }));
      return;
    }
    if (frame.type === "error" && (frame.code === "token_expired" || frame.code === "invalid_token") && String(frame.ref || "").startsWith("auth-")) {
      // The token sent in an auth frame was refused; get another one. A
      // revoked session is closed by the server with 4003 anyway.
      this.#session.refresh().catch(() => {});
    }
    this.dispatchEvent(new CustomEvent("frame", { detail: frame }));
  }

  // reauth hands a refreshed access token to the open socket.
  #reauth(token) {
    if (this.#ready) {
      this.send({ type: "auth", token, ref: this.nextRef("auth") });
    }
  }

  #drop(code) {
    const ws = this.#ws;
    this.#ws = null;
    this.#ready = false;
    this.#queue = [];
    clearTimeout(this.#pump);
    if (ws) {
      ws.onmessage = null;
      ws.onclose = null;
      try {
        ws.close(code);
      } catch {
        // Already closing.
      }
    }
  }

  async #closed(ws, code, reason) {
    if (ws !== this.#ws) return;
    this.#ws = null;
    this.#ready = false;
    this.#queue = [];
    clearTimeout(this.#pump);
    this.dispatchEvent(new CustomEvent("closed", { detail: { code, reason } }));
    if (!this.#running) return;
    if (this.#openedAt && Date.now() - this.#openedAt > stableMs) this.#attempt = 0;
    this.#openedAt = 0;
    const p = closePolicy(code);
    const label = `${p.text} (${code}${reason ? " " + reason : ""})`;
    switch (p.action) {
      case "stop":
        this.#running = false;
        this.#setState("stopped", label, code, 0);
        return;
      case "ended":
        this.#ended(code);
        return;
      case "restart":
        this.#retry(restartDelay(), "Server restarting", code);
        return;
      case "slow":
        this.#retry(backoffDelay(this.#attempt++), "Too slow", code, true);
        return;
      case "refresh":
        this.#setState("reconnecting", label, code, 0);
        try {
          await this.#session.refresh();
        } catch (err) {
          if (err.status === 401) this.#ended(code);
          else this.#retry(backoffDelay(this.#attempt++), "Server unreachable", code, true);
          return;
        }
        this.#retry(0, "Token refreshed", code);
        return;
      case "check":
        await this.#checkToken(code);
        return;
      default:
        this.#retry(backoffDelay(this.#attempt++), p.text, code, true);
    }
  }

  // checkToken follows a connection that ended without a close frame (or a
  // refused handshake): a refused token is refreshed, anything else waits.
  async #checkToken(code) {
    this.#setState("reconnecting", "Connection lost — checking the session…", code, 0);
    const verdict = await this.#session.check();
    if (!this.#running) return;
    if (verdict === "token_expired" || verdict === "invalid_token") {
      try {
        await this.#session.refresh();
      } catch (err) {
        if (err.status === 401) this.#ended(code);
        else this.#retry(backoffDelay(this.#attempt++), "Server unreachable", code, true);
        return;
      }
      this.#retry(backoffDelay(0), "Connection lost", code);
      return;
    }
    const what = verdict === "network" ? "Server unreachable" : "Connection lost";
    this.#retry(backoffDelay(this.#attempt++), what, code, true);
  }

  #ended(code = 0) {
    this.#running = false;
    this.#drop(1000);
    this.#setState("ended", "Session ended, log in again", code, 0);
    this.#session.end("revoked");
  }

  // retry reconnects after ms; a back-off wait (poll) also asks /readyz
  // every second and starts the back-off over once the service answers.
  #retry(ms, what, code, poll = false) {
    if (!this.#running) return;
    clearTimeout(this.#retryTimer);
    clearTimeout(this.#readyTimer);
    const until = Date.now() + ms;
    const text = code === 4008 ? "Reconnecting (too slow)" : `${what} — reconnecting`;
    this.#setState("reconnecting", text, code, until);
    this.#retryTimer = setTimeout(() => this.#connect(), ms);
    if (poll && ms > readyPollMs) this.#readyTimer = setTimeout(() => this.#pollReady(what, code), readyPollMs);
  }

  async #pollReady(what, code) {
    let ok = false;
    try {
      const resp = await fetch(this.#readyURL, { cache: "no-store", credentials: "omit" });
      ok = resp.ok;
    } catch {
      // Still down.
    }
    if (!this.#running || this.#ws || this.state.name !== "reconnecting") return;
    const left = this.state.until - Date.now();
    if (!ok) {
      if (left > readyPollMs) this.#readyTimer = setTimeout(() => this.#pollReady(what, code), readyPollMs);
      return;
    }
    this.#attempt = 0;
    this.#retry(retryAfterReady(Math.max(0, left)), "Service is back", code);
  }

  #online() {
    if (!this.#running || this.#ws) return;
    this.#attempt = 0;
    clearTimeout(this.#retryTimer);
    this.#connect();
  }

  #offline() {
    if (!this.#running || this.#ws) return;
    clearTimeout(this.#retryTimer);
    this.#setState("offline", "Offline — waiting for the network", this.state.code, 0);
  }

  #setState(name, text, code, until) {
    this.state = { name, text, code, until };
    this.dispatchEvent(new CustomEvent("state", { detail: this.state }));
  }
}
