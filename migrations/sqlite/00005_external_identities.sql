-- Users who sign in through an external OpenID Connect provider: one row per
-- (issuer, subject), the provider's stable id of the person. Such users have
-- an unusable password hash, so they cannot log in with a password.

-- +goose Up
CREATE TABLE external_identities (
    issuer     TEXT    NOT NULL,
    subject    TEXT    NOT NULL,
    user_id    TEXT    NOT NULL UNIQUE REFERENCES users (id),
    created_at INTEGER NOT NULL,
    PRIMARY KEY (issuer, subject)
) STRICT;

-- +goose Down
DROP TABLE external_identities;
