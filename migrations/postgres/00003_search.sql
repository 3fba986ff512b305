-- Message search. messages.search holds the words of a message's current
-- text as a tsvector, for rows that are messages (kind 'message') and not
-- deleted (NULL for other rows). It is a stored generated column, so it is
-- computed in the statement that writes the row: a stored, edited or
-- deleted message is searchable as it is once its transaction commits.
--
-- Words are runs of letters (L*) and decimal digits (Nd), compared without
-- case and without folding diacritics, as on SQLite (FTS5 unicode61 with
-- categories 'L* Nd' and remove_diacritics 0). The text search parser is not
-- used: it would read e-mail addresses, URLs, hyphenated words and numbers
-- with dots as tokens of their own, where FTS5 sees several words. The words
-- are split by a regular expression under the ICU root collation, whose
-- [:alnum:] is letters and decimal digits whatever the database's locale,
-- lower-cased under the same collation, and turned into lexemes as they are
-- (the simple configuration's effect, without its parser). Final sigma is
-- folded to sigma and the dotted capital I (U+0130) is kept as it is, as
-- FTS5 and the service's query parser do (U+E000, a private-use character,
-- is never part of a word, so it can stand in for U+0130 while lower()
-- runs). Words are cut to 201 code points (a search
-- word has at most 200, so a longer word still matches as a prefix and never
-- exactly), which keeps each lexeme below PostgreSQL's limit of 2047 bytes.

-- +goose Up
-- +goose StatementBegin
-- chat_search_fold lower-cases search words, in the index and in queries.
CREATE FUNCTION chat_search_fold(t text) RETURNS text
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$ SELECT replace(translate(lower(replace(t, U&'\0130', U&'\E000') COLLATE "und-x-icu"), U&'\03C2', U&'\03C3'), U&'\E000', U&'\0130') $$;
-- +goose StatementEnd

-- +goose StatementBegin
-- chat_search_vector returns the words of a message text as lexemes. It
-- repeats chat_search_fold rather than calling it, so that it calls only
-- built-in functions whatever the search_path of the session that writes.
CREATE FUNCTION chat_search_vector(t text) RETURNS tsvector
LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE
AS $$
SELECT array_to_tsvector(coalesce(array_agg(
    replace(translate(lower(replace(left(w, 201), U&'\0130', U&'\E000') COLLATE "und-x-icu"), U&'\03C2', U&'\03C3'), U&'\E000', U&'\0130')), '{}'))
FROM regexp_split_to_table(t COLLATE "und-x-icu", '[^[:alnum:]]+') AS w
WHERE w <> ''
$$;
-- +goose StatementEnd

ALTER TABLE messages ADD COLUMN search tsvector GENERATED ALWAYS AS (
    CASE WHEN kind = 'message' AND NOT deleted THEN chat_search_vector(text) END
) STORED;

CREATE INDEX messages_search ON messages USING gin (search);

-- +goose Down
DROP INDEX messages_search;
ALTER TABLE messages DROP COLUMN search;
DROP FUNCTION chat_search_vector(text);
DROP FUNCTION chat_search_fold(text);
