// The log-in and register forms, logging out, and switching between them and
// the chat view.

import { $, conn, describe, session, setError } from "./ctx.js";
import { enterChat, forgetRooms } from "./chat.js";

/** showAuth shows the forms, with a notice; username prefills the login form. */
export function showAuth(text, username = "") {
  $("auth-view").hidden = false;
  $("chat-view").hidden = true;
  $("whoami").hidden = true;
  const n = $("auth-notice");
  n.textContent = text || "";
  n.hidden = !text;
  $("login-password").value = "";
  $("register-password").value = "";
  $("register-username").value = "";
  if (username) {
    // Whoever just left comes back through the login form, not the
    // register form.
    $("login-username").value = username;
    $("login-password").focus();
  }
  document.title = "Chat";
}

/** showChat shows the chat view for the logged-in user. */
export function showChat() {
  $("auth-view").hidden = true;
  $("chat-view").hidden = false;
  $("whoami").hidden = false;
  $("me").textContent = session.user ? session.user.username : "";
  $("auth-notice").hidden = true;
}

let lastUser = "";

session.addEventListener("ended", (ev) => {
  const reason = ev.detail.reason;
  if (reason === "logout") conn.stop("idle", "Logged out");
  else conn.stop("ended", "Session ended, log in again");
  forgetRooms();
  showAuth(reason === "logout" ? "" : "Your session ended. Log in again.", lastUser);
});

async function submit(ev, errorId, act) {
  ev.preventDefault();
  const f = ev.currentTarget;
  setError(errorId, null);
  f.querySelector("button").disabled = true;
  try {
    await act(f.username.value.trim(), f.password.value);
    lastUser = session.user ? session.user.username : "";
    enterChat();
  } catch (err) {
    setError(errorId, err);
  } finally {
    f.querySelector("button").disabled = false;
  }
}

$("login-form").addEventListener("submit", (ev) => submit(ev, "login-error", (u, p) => session.login(u, p)));

$("register-form").addEventListener("submit", (ev) =>
  submit(ev, "register-error", async (u, p) => {
    const user = await session.register(u, p);
    await session.login(user.username, p);
  }),
);

$("logout").addEventListener("click", () => {
  session.logout();
});

/** boot resumes the tab's session or shows the forms. */
export async function boot() {
  if (!session.active) {
    showAuth("");
    return;
  }
  try {
    if (await session.resume()) {
      lastUser = session.user.username;
      enterChat();
      return;
    }
  } catch (err) {
    if (session.active) {
      // The server is unreachable: the session may still be good.
      showAuth(`Cannot reach the server: ${describe(err)}`);
      return;
    }
  }
  showAuth("");
}
