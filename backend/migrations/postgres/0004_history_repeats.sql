-- A card's repeated identical errors are one history row (issue 12): how many times it
-- happened in a row, and when it last did. Every other row keeps repeats = 1.
ALTER TABLE card_history ADD COLUMN repeats BIGINT NOT NULL DEFAULT 1;
ALTER TABLE card_history ADD COLUMN last_at BIGINT;
