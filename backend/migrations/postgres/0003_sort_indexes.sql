-- Sorting the search by "Ordered" and "Last checked" (issue 12): each is served by an index,
-- with or without a status, in both directions, so a page costs the rows before it and not a
-- sort of every match. The search sorts `<column> ASC|DESC NULLS LAST, card_id` the same way.
-- A PostgreSQL index read backwards gives DESC NULLS FIRST, so each descending sort has an
-- index of its own, declared exactly as the ORDER BY.

-- Replaced by the same columns with card_id, the search's tie-break.
DROP INDEX cards_state_ordered;
CREATE INDEX cards_state_ordered ON cards (state, ordered_at, card_id);
CREATE INDEX cards_state_ordered_desc ON cards (state, ordered_at DESC NULLS LAST, card_id DESC);
CREATE INDEX cards_ordered ON cards (ordered_at, card_id);
CREATE INDEX cards_ordered_desc ON cards (ordered_at DESC NULLS LAST, card_id DESC);
CREATE INDEX cards_last_checked ON cards (last_checked_at, card_id);
CREATE INDEX cards_last_checked_desc ON cards (last_checked_at DESC NULLS LAST, card_id DESC);
-- A status and "Last checked", ascending: cards_open_checked (state, last_checked_at, card_id),
-- from 0002.
CREATE INDEX cards_state_last_checked_desc ON cards
    (state, last_checked_at DESC NULLS LAST, card_id DESC);
