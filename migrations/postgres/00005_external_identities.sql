-- Users who sign in through an external OpenID Connect provider: one row per
-- (issuer, subject), the provider's stable id of the person. Such users have
-- an unusable password hash, so they cannot log in with a password.

-- +goose Up
CREATE TABLE external_identities (
    issuer     text        NOT NULL,
    subject    text        NOT NULL,
    user_id    text        NOT NULL REFERENCES users (id),
    created_at timestamptz NOT NULL,
    CONSTRAINT external_identities_pkey PRIMARY KEY (issuer, subject),
    CONSTRAINT external_identities_user_id_key UNIQUE (user_id)
);

-- +goose Down
DROP TABLE external_identities;
