// The chat page: log in, pick rooms, read and write messages. User text is
// only ever put in the page with textContent. Each concern lives in its own
// module; this one loads them and starts.

import "./status.js";
import "./layout.js";
import "./chat.js";
import "./composer.js";
import "./sidebar.js";
import "./members.js";
import "./search.js";
import { renderState } from "./status.js";
import { boot } from "./auth.js";

renderState();
boot();
