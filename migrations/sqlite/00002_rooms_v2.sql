-- Contract v2: room kinds, owners, topics and deletion; members with roles,
-- states, mutes and read markers; every stored event of a room's stream
-- (message, edit, delete, member, room) is a row of messages with the
-- room's next seq. Rooms that existed before become public rooms without an
-- owner and keep every message and seq. Times are INTEGER unix milliseconds.

-- +goose Up
ALTER TABLE users ADD COLUMN suspended_at INTEGER;

ALTER TABLE rooms ADD COLUMN kind TEXT NOT NULL DEFAULT 'public'
    CHECK (kind IN ('public', 'private', 'direct'));
ALTER TABLE rooms ADD COLUMN topic TEXT NOT NULL DEFAULT '';
ALTER TABLE rooms ADD COLUMN owner_id TEXT REFERENCES users (id);
-- A deleted room keeps its row (its name cannot be used again); its
-- messages and members are removed.
ALTER TABLE rooms ADD COLUMN deleted_at INTEGER;
-- The time of the room's newest stored event (its creation before any).
ALTER TABLE rooms ADD COLUMN last_event_at INTEGER NOT NULL DEFAULT 0;
-- msg_count counts the room's events of kind message ever stored; it is the
-- ord of the newest one.
ALTER TABLE rooms ADD COLUMN msg_count INTEGER NOT NULL DEFAULT 0 CHECK (msg_count >= 0);
-- member_count counts memberships in state member.
ALTER TABLE rooms ADD COLUMN member_count INTEGER NOT NULL DEFAULT 0 CHECK (member_count >= 0);
-- dm_key names a direct room's pair: the two user ids, sorted, joined by a
-- space. NULL for other kinds.
ALTER TABLE rooms ADD COLUMN dm_key TEXT;
CREATE UNIQUE INDEX rooms_dm_key ON rooms (dm_key) WHERE dm_key IS NOT NULL;

UPDATE rooms SET
    msg_count = last_seq,
    last_event_at = COALESCE((SELECT MAX(ts) FROM messages m WHERE m.room = rooms.name), created_at);

CREATE TABLE members (
    room        TEXT    NOT NULL REFERENCES rooms (name),
    user_id     TEXT    NOT NULL REFERENCES users (id),
    role        TEXT    NOT NULL DEFAULT 'member' CHECK (role IN ('owner', 'admin', 'member')),
    state       TEXT    NOT NULL CHECK (state IN ('member', 'invited', 'banned')),
    muted_until INTEGER,
    since       INTEGER NOT NULL,
    -- last_read is the seq up to which the user has read the room.
    last_read   INTEGER NOT NULL DEFAULT 0 CHECK (last_read >= 0),
    -- hidden_seq is set when a direct room's member left it: the room is
    -- hidden from them until a message with a higher seq is stored.
    hidden_seq  INTEGER,
    PRIMARY KEY (room, user_id)
) STRICT;

CREATE INDEX members_user_id ON members (user_id, state);

-- kind: message, edit, delete, member or room. user_id is the sender, the
-- editor, the deleter, or the one who made a member or room event (by).
-- target is the seq of the message an edit or delete applies to. data holds
-- a member or room event's fields as JSON. ord numbers a room's messages
-- (kind message) 1, 2, 3, …; NULL for other kinds. A deleted message keeps
-- seq, id, user_id and ts; its text is ''.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'message'
    CHECK (kind IN ('message', 'edit', 'delete', 'member', 'room'));
ALTER TABLE messages ADD COLUMN target INTEGER;
ALTER TABLE messages ADD COLUMN data TEXT;
ALTER TABLE messages ADD COLUMN ord INTEGER;
ALTER TABLE messages ADD COLUMN edited_at INTEGER;
ALTER TABLE messages ADD COLUMN deleted INTEGER NOT NULL DEFAULT 0 CHECK (deleted IN (0, 1));

UPDATE messages SET ord = seq;

-- A room's messages by sender (own messages are not unread) and its deleted
-- messages (deleted messages are not unread).
CREATE INDEX messages_room_user_seq ON messages (room, user_id, seq) WHERE kind = 'message';
CREATE INDEX messages_room_deleted ON messages (room, seq) WHERE deleted = 1;

-- +goose Down
DROP INDEX messages_room_deleted;
DROP INDEX messages_room_user_seq;
ALTER TABLE messages DROP COLUMN deleted;
ALTER TABLE messages DROP COLUMN edited_at;
ALTER TABLE messages DROP COLUMN ord;
ALTER TABLE messages DROP COLUMN data;
ALTER TABLE messages DROP COLUMN target;
ALTER TABLE messages DROP COLUMN kind;
DROP TABLE members;
DROP INDEX rooms_dm_key;
ALTER TABLE rooms DROP COLUMN dm_key;
ALTER TABLE rooms DROP COLUMN member_count;
ALTER TABLE rooms DROP COLUMN msg_count;
ALTER TABLE rooms DROP COLUMN last_event_at;
ALTER TABLE rooms DROP COLUMN deleted_at;
ALTER TABLE rooms DROP COLUMN owner_id;
ALTER TABLE rooms DROP COLUMN topic;
ALTER TABLE rooms DROP COLUMN kind;
ALTER TABLE users DROP COLUMN suspended_at;
