-- Search for User (issue 13): the holders' search keys, lower-cased as the cards' are, so
-- that a prefix search on people is an index range scan, sorted and paged like the cards.
-- Every writer of card_holders sets them (`search_key` in Rust: trimmed, lower-cased with
-- Unicode rules). SQLite's lower() folds ASCII only, so the backfill copies the keys the
-- holder's cards already carry, which were made by the same Rust function; a holder without
-- a card (none are written before this migration) falls back to lower(trim(…)).
ALTER TABLE card_holders ADD COLUMN first_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN last_name_key TEXT NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN email_key TEXT NOT NULL DEFAULT '';
ALTER TABLE card_holders ADD COLUMN employee_id_key TEXT NOT NULL DEFAULT '';

UPDATE card_holders SET
    first_name_key = COALESCE(
        (SELECT c.first_name_key FROM cards c WHERE c.holder_id = card_holders.id LIMIT 1),
        lower(trim(first_name))),
    last_name_key = COALESCE(
        (SELECT c.last_name_key FROM cards c WHERE c.holder_id = card_holders.id LIMIT 1),
        lower(trim(last_name))),
    email_key = COALESCE(
        (SELECT c.email_key FROM cards c WHERE c.holder_id = card_holders.id LIMIT 1),
        lower(trim(email))),
    employee_id_key = COALESCE(
        (SELECT c.employee_id_key FROM cards c WHERE c.holder_id = card_holders.id LIMIT 1),
        lower(trim(employee_id)));

-- Each sort of the user list (Name, Email, Employee ID) walks one of these in order, in
-- either direction (the keys are never NULL), and a prefix on the same column is a range of
-- it. The Name index covers a last-name search and its sort: the table is read for the 50
-- rows shown. The tie-break is the id, as card_id is for cards.
CREATE INDEX card_holders_last_name_key ON card_holders (last_name_key, first_name_key, id);
CREATE INDEX card_holders_first_name_key ON card_holders (first_name_key, id);
CREATE INDEX card_holders_email_key ON card_holders (email_key, id);
-- Also how an import finds the person a row belongs to (by employee ID, else by email).
CREATE INDEX card_holders_employee_id_key ON card_holders (employee_id_key, id);
