-- Initial schema. Times are INTEGER unix milliseconds (UTC).

-- +goose Up
CREATE TABLE users (
    id            TEXT    NOT NULL PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,
    password_hash TEXT    NOT NULL,
    created_at    INTEGER NOT NULL
) STRICT;

CREATE TABLE sessions (
    id         TEXT    NOT NULL PRIMARY KEY,
    user_id    TEXT    NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    revoked_at INTEGER
) STRICT;

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Only the SHA-256 of a refresh token is stored.
CREATE TABLE refresh_tokens (
    hash       BLOB    NOT NULL PRIMARY KEY,
    session_id TEXT    NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    spent_at   INTEGER,
    created_at INTEGER NOT NULL
) STRICT;

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE rooms (
    name       TEXT    NOT NULL PRIMARY KEY,
    created_at INTEGER NOT NULL,
    last_seq   INTEGER NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
) STRICT;

-- ref is the sender's idempotency key; it is cleared once its 24 h window
-- has passed so that it can be used again.
CREATE TABLE messages (
    room    TEXT    NOT NULL REFERENCES rooms (name),
    seq     INTEGER NOT NULL CHECK (seq > 0),
    id      TEXT    NOT NULL UNIQUE,
    user_id TEXT    NOT NULL REFERENCES users (id),
    text    TEXT    NOT NULL,
    ts      INTEGER NOT NULL,
    ref     TEXT,
    PRIMARY KEY (room, seq),
    UNIQUE (user_id, ref)
) STRICT;

CREATE INDEX messages_ref_ts ON messages (ts) WHERE ref IS NOT NULL;

-- +goose Down
DROP TABLE messages;
DROP TABLE rooms;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
