-- Sorting the search by "Ordered" and "Last checked" (issue 12): each is served by an index,
-- with or without a status, in both directions, so a page costs the rows before it and not a
-- sort of every match. The search sorts `<column> ASC|DESC NULLS LAST, card_id` the same way.
-- SQLite reads one index on the column for both directions: it walks the values and the
-- NULLs as two ranges, so NULLS LAST needs no index of its own here (PostgreSQL does).

-- Replaced by the same columns with card_id, the search's tie-break.
DROP INDEX cards_state_ordered;
CREATE INDEX cards_state_ordered ON cards (state, ordered_at, card_id);
CREATE INDEX cards_ordered ON cards (ordered_at, card_id);
CREATE INDEX cards_last_checked ON cards (last_checked_at, card_id);
-- A status and "Last checked": cards_open_checked (state, last_checked_at, card_id), from 0002.
