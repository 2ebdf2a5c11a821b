-- Search for User (issue 13): the holders' search keys, lower-cased as the cards' are, so
-- that a prefix search on people is an index range scan, sorted and paged like the cards.
-- Every writer of card_holders sets them (`search_key` in Rust: trimmed, lower-cased with
-- Unicode rules); the defaults are dropped after the backfill, so a writer that forgets one
-- fails. The backfill copies the keys the holder's cards already carry, made by the same
-- Rust function; a holder without a card (none are written before this migration) falls
-- back to lower(trim(…)). COLLATE "C": compared bytewise, like the cards' keys, so the
-- prefix range [key, key || U+10FFFF) uses the index.
ALTER TABLE card_holders ADD COLUMN first_name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN last_name_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN email_key TEXT COLLATE "C" NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN employee_id_key TEXT COLLATE "C" NOT NULL DEFAULT '';

UPDATE card_holders h SET
    first_name_key = k.first_name_key,
    last_name_key = k.last_name_key,
    email_key = k.email_key,
    employee_id_key = k.employee_id_key
FROM (
    SELECT DISTINCT ON (holder_id) holder_id, first_name_key, last_name_key, email_key,
        employee_id_key
    FROM cards ORDER BY holder_id, card_id
) k
WHERE k.holder_id = h.id;
UPDATE card_holders SET
    first_name_key = lower(trim(first_name)),
    last_name_key = lower(trim(last_name)),
    email_key = lower(trim(email)),
    employee_id_key = lower(trim(employee_id))
WHERE NOT EXISTS (SELECT 1 FROM cards c WHERE c.holder_id = card_holders.id);

ALTER TABLE card_holders ALTER COLUMN first_name_key DROP DEFAULT;
ALTER TABLE card_holders ALTER COLUMN last_name_key DROP DEFAULT;
ALTER TABLE card_holders ALTER COLUMN email_key DROP DEFAULT;
ALTER TABLE card_holders ALTER COLUMN employee_id_key DROP DEFAULT;

-- Each sort of the user list (Name, Email, Employee ID) walks one of these in order, in
-- either direction (the keys are never NULL, so a backwards read is exactly the DESC
-- order), and a prefix on the same column is a range of it. The Name index covers a
-- last-name search and its sort: the table is read for the 50 rows shown. The tie-break is
-- the id, as card_id is for cards.
CREATE INDEX card_holders_last_name_key ON card_holders (last_name_key, first_name_key, id);
CREATE INDEX card_holders_first_name_key ON card_holders (first_name_key, id);
CREATE INDEX card_holders_email_key ON card_holders (email_key, id);
-- Also how an import finds the person a row belongs to (by employee ID, else by email).
CREATE INDEX card_holders_employee_id_key ON card_holders (employee_id_key, id);
