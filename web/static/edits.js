// Editing and deleting messages: which of them the user may touch, and the
// confirmation before a deletion.

import { myName, state } from "./ctx.js";
import { canDeleteMessage } from "./perms.js";
import { startEdit } from "./composer.js";
import { sendChange } from "./outbox.js";
import { confirmDialog } from "./dialog.js";

/**
 * messageActions returns the handlers for the buttons a message gets: edit
 * for the author's own, delete for the author's own and for a moderator
 * over its author. Only on a server that speaks contract v2.
 */
export function messageActions(r, m) {
  if (!state.v2 || !r || m.deleted || r.info === null) return {};
  const me = myName();
  const member = r.membership || null;
  const acts = {};
  if (m.from === me) acts.onEdit = () => startEdit(r, m);
  const authorRole = r.roles ? r.roles.get(m.from) : "";
  if (canDeleteMessage(member && { ...member, username: me }, m.from, authorRole) || m.from === me) {
    acts.onDelete = async () => {
      const who = m.from === me ? "your message" : `${m.from}'s message`;
      if (await confirmDialog(`Delete ${who}?`, "It is replaced by a note that it was deleted, for everyone.", "Delete")) sendChange(r, m.seq);
    };
  }
  return acts;
}
