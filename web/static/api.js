// The REST side of the chat service: JSON requests, its error shape, and the
// session that holds the tokens and keeps the access token fresh.
//
// The access token lives in memory only. The refresh token lives in memory
// and in sessionStorage (so a reload of this tab keeps the session), never in
// localStorage: it dies with the tab.

/** REFRESH_KEY is the sessionStorage key of the refresh token. */
export const REFRESH_KEY = "chat.refresh_token";

// refreshLeadMaxMs is how long before expiry the access token is refreshed,
// at most; a short-lived token is refreshed at 80 % of its life instead.
const refreshLeadMaxMs = 60_000;
// refreshRetryMs is the pause before retrying a refresh that failed for a
// reason other than the server refusing the token (network, 5xx).
const refreshRetryMs = 5_000;
// freshMarginMs is the least life an access token must have left to be used
// for a new request or handshake (a quarter of its life for a short-lived
// one); below it, it is refreshed first.
const freshMarginMs = 10_000;

/** APIError is a failed request: status 0 means the server was not reached. */
export class APIError extends Error {
  constructor(status, code, message, retryAfter = 0) {
    super(message);
    this.name = "APIError";
    this.status = status;
    this.code = code;
    this.retryAfter = retryAfter;
  }
}

/**
 * request sends one JSON request and returns the decoded answer (null for
 * 204). It throws an APIError carrying the service's error code.
 */
export async function request(method, path, { body, token, signal } = {}) {
  const headers = { Accept: "application/json" };
  if (body !== undefined) headers["Content-Type"] = "application/json";
  if (token) headers.Authorization = "Bearer " + token;
  let resp;
  try {
    resp = await fetch(path, {
      method,
      headers,
      body: body === undefined ? undefined : JSON.stringify(body),
      cache: "no-store",
      credentials: "omit",
      signal,
    });
  } catch (err) {
    if (err && err.name === "AbortError") throw err;
    throw new APIError(0, "network", "The server cannot be reached.");
  }
  if (resp.status === 204) return null;
  let data = null;
  try {
    data = await resp.json();
  } catch {
    // Not JSON: a proxy's page or an empty body; the status says enough.
  }
  if (!resp.ok) {
    const e = (data && data.error) || {};
    const retry = Number(resp.headers.get("Retry-After")) || 0;
    throw new APIError(resp.status, e.code || "http_" + resp.status, e.message || resp.statusText || "request failed", retry);
  }
  return data;
}

/** refreshDelay returns when to refresh a token that lives lifetimeMs. */
export function refreshDelay(lifetimeMs) {
  const lead = Math.min(refreshLeadMaxMs, lifetimeMs * 0.2);
  return Math.max(1000, lifetimeMs - lead);
}

/**
 * Session holds the tokens of one login. It fires "refreshed" (detail: the
 * new access token) after every refresh and "ended" (detail: {reason}) when
 * the session is over: logout, revocation, or a refresh token the server
 * refused.
 */
export class Session extends EventTarget {
  #storage;
  #access = "";
  #accessExp = 0;
  #accessLife = 0;
  #refresh = "";
  #timer = 0;
  #inflight = null;

  /** user is {id, username, created_at} once logged in. */
  user = null;

  constructor(storage = globalThis.sessionStorage) {
    super();
    this.#storage = storage || null;
    try {
      this.#refresh = (this.#storage && this.#storage.getItem(REFRESH_KEY)) || "";
    } catch {
      this.#refresh = "";
    }
  }

  /** active reports whether the session holds a refresh token. */
  get active() {
    return this.#refresh !== "";
  }

  /** accessExpiresAt is the access token's expiry in epoch ms (0: none). */
  get accessExpiresAt() {
    return this.#accessExp;
  }

  /** register creates an account and returns its User. */
  async register(username, password) {
    const data = await request("POST", "/api/v1/auth/register", { body: { username, password } });
    return data.user;
  }

  /** login starts a session and loads the user. */
  async login(username, password) {
    const pair = await request("POST", "/api/v1/auth/login", { body: { username, password } });
    this.#adopt(pair);
    await this.#loadUser();
  }

  /**
   * resume continues the session kept in sessionStorage after a reload and
   * reports whether there was one that the server still accepts.
   */
  async resume() {
    if (!this.#refresh) return false;
    await this.refresh();
    await this.#loadUser();
    return true;
  }

  async #loadUser() {
    const data = await this.api("GET", "/api/v1/me");
    this.user = data.user;
  }

  /**
   * refresh trades the refresh token for a new pair and returns the new
   * access token. Concurrent calls share one request, since a refresh token
   * is single use and presenting a spent one ends the session.
   */
  refresh() {
    if (!this.#inflight) {
      this.#inflight = this.#doRefresh().finally(() => {
        this.#inflight = null;
      });
    }
    return this.#inflight;
  }

  async #doRefresh() {
    const rt = this.#refresh;
    if (!rt) throw new APIError(401, "invalid_token", "Not logged in.");
    let pair;
    try {
      pair = await request("POST", "/api/v1/auth/refresh", { body: { refresh_token: rt } });
    } catch (err) {
      if (err.status === 401) {
        this.end("expired");
      } else if (this.#refresh === rt) {
        this.#schedule(refreshRetryMs);
      }
      throw err;
    }
    if (this.#refresh !== rt) {
      // Logged out while the request was in flight.
      throw new APIError(401, "invalid_token", "Logged out.");
    }
    this.#adopt(pair);
    this.dispatchEvent(new CustomEvent("refreshed", { detail: pair.access_token }));
    return pair.access_token;
  }

  #adopt(pair) {
    const lifetime = Math.max(1, Number(pair.expires_in) || 0) * 1000;
    this.#access = pair.access_token;
    this.#accessExp = Date.now() + lifetime;
    this.#accessLife = lifetime;
    this.#refresh = pair.refresh_token;
    try {
      if (this.#storage) this.#storage.setItem(REFRESH_KEY, pair.refresh_token);
    } catch {
      // Storage full or disabled: the session lasts as long as the page.
    }
    this.#schedule(refreshDelay(lifetime));
  }

  #schedule(ms) {
    clearTimeout(this.#timer);
    this.#timer = setTimeout(() => {
      this.refresh().catch(() => {
        // #doRefresh already rescheduled or ended the session.
      });
    }, ms);
  }

  /** fresh returns an access token with at least a few seconds to live. */
  async fresh() {
    const margin = Math.min(freshMarginMs, this.#accessLife / 4);
    if (!this.#access || this.#accessExp - Date.now() < margin) {
      return this.refresh();
    }
    return this.#access;
  }

  /**
   * api sends an authenticated request; an access token the server refuses
   * is refreshed once and the request repeated.
   */
  async api(method, path, opts = {}) {
    const token = await this.fresh();
    try {
      return await request(method, path, { ...opts, token });
    } catch (err) {
      if (err.status !== 401) throw err;
      const again = await this.refresh();
      return request(method, path, { ...opts, token: again });
    }
  }

  /**
   * check asks the server whether the current access token is good, without
   * refreshing it: "ok", the error code ("token_expired", "invalid_token"),
   * or "network" when the server was not reached.
   */
  async check() {
    try {
      await request("GET", "/api/v1/me", { token: this.#access });
      return "ok";
    } catch (err) {
      if (err.status === 0) return "network";
      return err.code;
    }
  }

  /** logout revokes the session on the server and forgets it here. */
  async logout() {
    const rt = this.#refresh;
    this.end("logout");
    if (!rt) return;
    try {
      await request("POST", "/api/v1/auth/logout", { body: { refresh_token: rt } });
    } catch {
      // Already gone on the server, or unreachable: it expires by itself.
    }
  }

  /** end forgets the tokens and fires "ended" once. */
  end(reason) {
    const had = this.#refresh !== "" || this.#access !== "";
    clearTimeout(this.#timer);
    this.#access = "";
    this.#accessExp = 0;
    this.#refresh = "";
    this.user = null;
    try {
      if (this.#storage) this.#storage.removeItem(REFRESH_KEY);
    } catch {
      // Nothing stored.
    }
    if (had) this.dispatchEvent(new CustomEvent("ended", { detail: { reason } }));
  }
}
