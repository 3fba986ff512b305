-- Initial schema. Times are timestamptz, written with millisecond precision.
-- Room names use the "C" collation so that they sort byte-wise, as on SQLite.

-- +goose Up
CREATE TABLE users (
    id            text        NOT NULL PRIMARY KEY,
    username      text        NOT NULL,
    password_hash text        NOT NULL,
    created_at    timestamptz NOT NULL,
    CONSTRAINT users_username_key UNIQUE (username)
);

CREATE TABLE sessions (
    id         text        NOT NULL PRIMARY KEY,
    user_id    text        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz
);

CREATE INDEX sessions_user_id ON sessions (user_id);
CREATE INDEX sessions_expires_at ON sessions (expires_at);

-- Only the SHA-256 of a refresh token is stored.
CREATE TABLE refresh_tokens (
    hash       bytea       NOT NULL PRIMARY KEY,
    session_id text        NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at timestamptz NOT NULL,
    spent_at   timestamptz,
    created_at timestamptz NOT NULL
);

CREATE INDEX refresh_tokens_session_id ON refresh_tokens (session_id);
CREATE INDEX refresh_tokens_expires_at ON refresh_tokens (expires_at);

CREATE TABLE rooms (
    name       text COLLATE "C" NOT NULL PRIMARY KEY,
    created_at timestamptz      NOT NULL,
    last_seq   bigint           NOT NULL DEFAULT 0 CHECK (last_seq >= 0)
);

-- ref is the sender's idempotency key; it is cleared once its 24 h window
-- has passed so that it can be used again.
CREATE TABLE messages (
    room    text COLLATE "C" NOT NULL REFERENCES rooms (name),
    seq     bigint           NOT NULL CHECK (seq > 0),
    id      text             NOT NULL,
    user_id text             NOT NULL REFERENCES users (id),
    text    text             NOT NULL,
    ts      timestamptz      NOT NULL,
    ref     text,
    CONSTRAINT messages_pkey PRIMARY KEY (room, seq),
    CONSTRAINT messages_id_key UNIQUE (id),
    CONSTRAINT messages_user_ref_key UNIQUE (user_id, ref)
);

CREATE INDEX messages_ref_ts ON messages (ts) WHERE ref IS NOT NULL;

-- +goose Down
DROP TABLE messages;
DROP TABLE rooms;
DROP TABLE refresh_tokens;
DROP TABLE sessions;
DROP TABLE users;
