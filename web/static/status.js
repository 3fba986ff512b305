// The connection line in the top bar: what the socket is doing, and when it
// tries again.

import { $, conn } from "./ctx.js";

let stateTimer = 0;

/** renderState shows the connection's state. */
export function renderState() {
  const s = conn.state;
  const el = $("conn-state");
  el.dataset.state = s.name;
  el.dataset.code = String(s.code || "");
  el.dataset.until = s.name === "reconnecting" && s.until ? String(s.until) : "";
  let text = s.text;
  if (s.name === "reconnecting" && s.until) {
    const left = Math.max(0, Math.ceil((s.until - Date.now()) / 1000));
    text += left > 0 ? ` in ${left} s` : "…";
  }
  $("conn-text").textContent = text;
  $("reconnect").hidden = !(s.name === "reconnecting" || s.name === "stopped" || s.name === "offline");
  clearInterval(stateTimer);
  if (s.name === "reconnecting" && s.until > Date.now()) stateTimer = setInterval(renderState, 1000);
}

conn.addEventListener("state", renderState);
$("reconnect").addEventListener("click", () => conn.reconnectNow());
