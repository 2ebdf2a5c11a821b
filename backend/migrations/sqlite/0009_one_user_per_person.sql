-- One person is one user (processes.md). Before 0007 every card got a holder row of its
-- own, so a person with several cards was several users, and "already has an open order"
-- looked at one of them only. Rows with the same employee ID (or, with none, the same
-- email), as the import now links them, become the one with the lowest id: their cards move
-- to it and the other rows go.
CREATE TEMP TABLE holder_merge (old_id INTEGER PRIMARY KEY, new_id INTEGER NOT NULL);
INSERT INTO holder_merge (old_id, new_id)
SELECT old_id, new_id FROM (
    SELECT id AS old_id,
           MIN(id) OVER (PARTITION BY CASE WHEN employee_id_key <> '' THEN 'e:' || employee_id_key
                                           ELSE 'm:' || email_key END) AS new_id
    FROM card_holders
    WHERE employee_id_key <> '' OR email_key <> ''
) m
WHERE old_id <> new_id;
UPDATE cards SET holder_id = (SELECT new_id FROM holder_merge WHERE old_id = cards.holder_id)
    WHERE holder_id IN (SELECT old_id FROM holder_merge);
-- Pending orders came with 0008, in the same release: none can name a merged row yet.
DELETE FROM pending_orders WHERE holder_id IN (SELECT old_id FROM holder_merge);
DELETE FROM card_holders WHERE id IN (SELECT old_id FROM holder_merge);
DROP TABLE holder_merge;
