-- Users of the desk (operators and admins).
CREATE TABLE users (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    username TEXT NOT NULL UNIQUE,
    password_hash TEXT NOT NULL,
    role TEXT NOT NULL CHECK (role IN ('operator', 'admin')),
    enabled INTEGER NOT NULL DEFAULT 1,
    created_at INTEGER NOT NULL
);

-- The people cards are made for.
CREATE TABLE card_holders (
    -- Ids are chosen by the writer, so that bulk inserts need no round trip per row.
    id INTEGER PRIMARY KEY,
    first_name TEXT NOT NULL,
    last_name TEXT NOT NULL,
    email TEXT NOT NULL,
    employee_id TEXT NOT NULL
);
CREATE INDEX card_holders_email ON card_holders (email);

-- Cards. The holder's search keys are copied here, lower-cased, so that a search by state
-- and name prefix is one index range scan.
CREATE TABLE cards (
    card_id TEXT PRIMARY KEY,
    holder_id INTEGER NOT NULL REFERENCES card_holders (id),
    state TEXT NOT NULL,
    ordered_at INTEGER,
    last_checked_at INTEGER,
    version INTEGER NOT NULL DEFAULT 1,
    gocards_status TEXT,
    failure_reason TEXT,
    updated_at INTEGER NOT NULL,
    first_name_key TEXT NOT NULL,
    last_name_key TEXT NOT NULL,
    email_key TEXT NOT NULL,
    employee_id_key TEXT NOT NULL
);
CREATE INDEX cards_state_card ON cards (state, card_id);
-- The operator's usual search (a state and a last-name prefix) reads only these covering
-- indexes to find and sort a page; the table and the holder are read for the 50 rows shown.
CREATE INDEX cards_state_last_name ON cards
    (state, last_name_key, card_id, first_name_key, ordered_at, last_checked_at, holder_id);
CREATE INDEX cards_last_name ON cards
    (last_name_key, card_id, state, first_name_key, ordered_at, last_checked_at, holder_id);
CREATE INDEX cards_state_ordered ON cards (state, ordered_at);
CREATE INDEX cards_first_name ON cards (first_name_key);
CREATE INDEX cards_email ON cards (email_key);
CREATE INDEX cards_employee_id ON cards (employee_id_key);
CREATE INDEX cards_holder ON cards (holder_id);

-- One row per event in a card's life.
CREATE TABLE card_history (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    card_id TEXT NOT NULL REFERENCES cards (card_id),
    at INTEGER NOT NULL,
    kind TEXT NOT NULL CHECK (kind IN ('changed', 'no_change', 'error', 'refused')),
    source TEXT NOT NULL CHECK (source IN ('manual', 'sync', 'webhook')),
    actor TEXT,
    from_state TEXT NOT NULL,
    to_state TEXT NOT NULL,
    gocards_status TEXT,
    detail TEXT
);
CREATE INDEX card_history_card ON card_history (card_id, id);

-- Which processes admins enabled as Additional Commands on which card-state tab.
CREATE TABLE enabled_commands (
    state TEXT NOT NULL,
    process TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (state, process)
);

-- Key-value settings (GO Cards connection, sync settings, ...).
CREATE TABLE settings (
    key TEXT PRIMARY KEY,
    value TEXT NOT NULL,
    updated_at INTEGER NOT NULL,
    updated_by TEXT
);

-- Who changed which setting, and when. Secrets are never written here in clear.
CREATE TABLE admin_audit (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    at INTEGER NOT NULL,
    actor TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
);
