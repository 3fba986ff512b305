-- Message search. messages_fts is an FTS5 index over the text of the rows
-- of messages that are messages (kind 'message') and not deleted; other
-- stream events and deleted messages are not in it. It keeps no copy of the
-- text (external content: messages, by rowid) and is kept up to date by the
-- triggers below, inside the transaction that writes the message, so a
-- stored, edited or deleted message is searchable as it is once its
-- transaction commits.
--
-- Words are runs of letters (L*) and decimal digits (Nd), compared without
-- case and without folding diacritics, as on PostgreSQL (00003_search.sql
-- there): every other character separates words, so an e-mail address, a
-- URL, a hyphenated word or a version number is several words.
--
-- The index refers to rows by rowid. VACUUM may renumber the rowids of
-- messages (it has no INTEGER PRIMARY KEY): after a VACUUM, rebuild the
-- index with the statements of this migration's Up section after
-- INSERT INTO messages_fts (messages_fts) VALUES ('delete-all').

-- +goose Up
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    text,
    content = 'messages',
    content_rowid = 'rowid',
    tokenize = "unicode61 remove_diacritics 0 categories 'L* Nd'"
);

INSERT INTO messages_fts (rowid, text)
SELECT rowid, text FROM messages WHERE kind = 'message' AND deleted = 0;

-- +goose StatementBegin
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages
WHEN new.kind = 'message' AND new.deleted = 0
BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.rowid, new.text);
END;
-- +goose StatementEnd

-- An external-content index must be told the exact text it indexed to
-- remove a row: the old text of an indexed row, before the change.
-- +goose StatementBegin
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text, kind, deleted ON messages
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text)
    SELECT 'delete', old.rowid, old.text WHERE old.kind = 'message' AND old.deleted = 0;
    INSERT INTO messages_fts (rowid, text)
    SELECT new.rowid, new.text WHERE new.kind = 'message' AND new.deleted = 0;
END;
-- +goose StatementEnd

-- +goose StatementBegin
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages
WHEN old.kind = 'message' AND old.deleted = 0
BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.rowid, old.text);
END;
-- +goose StatementEnd

-- +goose Down
DROP TRIGGER messages_fts_delete;
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_insert;
DROP TABLE messages_fts;
