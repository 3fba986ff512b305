-- Unread counts that do not walk a room's history. uord numbers a user's
-- messages in a room: for a row of kind 'message', the number of messages
-- (kind 'message', deleted or not) its user_id has stored in that room up to
-- and including this one; 0 for other kinds. The user's own messages after
-- a seq S are then the uord of their newest message in the room less the
-- uord of their newest message at or before S: two seeks of
-- messages_room_user_seq, which carries uord so that the table is not read.
--
-- uord is assigned once, by the group commit that stores the message while
-- it holds the room, and never changes. The search triggers (00003) fire on
-- updates of text, kind and deleted only, so the backfill below does not
-- touch the search index.
--
-- messages_room_deleted carries user_id, so the other users' deleted
-- messages after a seq are counted from the index alone.

-- +goose Up
ALTER TABLE messages ADD COLUMN uord INTEGER NOT NULL DEFAULT 0 CHECK (uord >= 0);

UPDATE messages SET uord = n.uord
FROM (SELECT room, seq, row_number() OVER (PARTITION BY room, user_id ORDER BY seq) AS uord
      FROM messages WHERE kind = 'message') AS n
WHERE messages.room = n.room AND messages.seq = n.seq;

DROP INDEX messages_room_user_seq;
CREATE INDEX messages_room_user_seq ON messages (room, user_id, seq, uord) WHERE kind = 'message';
DROP INDEX messages_room_deleted;
CREATE INDEX messages_room_deleted ON messages (room, seq, user_id) WHERE deleted = 1;

-- +goose Down
DROP INDEX messages_room_deleted;
CREATE INDEX messages_room_deleted ON messages (room, seq) WHERE deleted = 1;
DROP INDEX messages_room_user_seq;
CREATE INDEX messages_room_user_seq ON messages (room, user_id, seq) WHERE kind = 'message';
ALTER TABLE messages DROP COLUMN uord;
