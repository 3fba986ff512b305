// At phone width the chat view shows one pane at a time (rooms, the open
// room, or its people), picked with tabs; wider screens show all three.

import { $ } from "./ctx.js";

/** showPane picks the pane shown at phone width: rooms, room or people. */
export function showPane(name) {
  $("chat-view").dataset.pane = name;
  for (const b of document.querySelectorAll('[data-testid^="tab-"]')) {
    const on = b.dataset.pane === name;
    b.classList.toggle("active", on);
    b.setAttribute("aria-selected", String(on));
  }
}

for (const b of document.querySelectorAll('[data-testid^="tab-"]')) {
  b.addEventListener("click", () => showPane(b.dataset.pane));
}
showPane("room");
