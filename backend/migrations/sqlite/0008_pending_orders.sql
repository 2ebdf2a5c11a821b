-- Order card: the order being placed for a user. It is stored before GO Cards is called, so
-- that when the reply is lost the next try sends the same Idempotency-Key and GO Cards
-- answers with the first order instead of making a second. One per user at most; it is
-- dropped when the card is created, or when GO Cards refuses the order for certain.
CREATE TABLE pending_orders (
    holder_id INTEGER PRIMARY KEY REFERENCES card_holders (id),
    idempotency_key TEXT NOT NULL UNIQUE,
    external_reference TEXT NOT NULL UNIQUE,
    article_id TEXT NOT NULL,
    recipient TEXT NOT NULL,
    address_one TEXT NOT NULL,
    postal_code TEXT NOT NULL,
    city TEXT NOT NULL,
    country_code TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    created_by TEXT NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0
);
