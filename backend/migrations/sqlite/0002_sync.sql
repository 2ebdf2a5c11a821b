-- The batch sync and webhooks (issue 6).

-- One row: the watermark, the lease that lets one process run the sync at a time, and the
-- schedule. Every replica reads and writes it; the lease is taken with one guarded UPDATE.
CREATE TABLE sync_state (
    id INTEGER PRIMARY KEY CHECK (id = 1),
    -- The changed-cards cursor of the last item applied, as JSON (`ListCursor`); NULL: from the start.
    watermark TEXT,
    lease_holder TEXT,
    lease_until INTEGER,
    next_run_at INTEGER,
    run_requested INTEGER NOT NULL DEFAULT 0,
    requested_by TEXT
);
INSERT INTO sync_state (id) VALUES (1);

-- One row per run, with its live progress and its counts.
CREATE TABLE sync_runs (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    holder TEXT NOT NULL,
    -- "schedule", or the admin who ran it now.
    started_by TEXT NOT NULL,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    status TEXT NOT NULL CHECK (status IN ('running', 'completed', 'failed', 'interrupted')),
    phase TEXT NOT NULL DEFAULT 'listing',
    total INTEGER,
    checked INTEGER NOT NULL DEFAULT 0,
    changed INTEGER NOT NULL DEFAULT 0,
    unchanged INTEGER NOT NULL DEFAULT 0,
    failed INTEGER NOT NULL DEFAULT 0,
    error TEXT
);
CREATE INDEX sync_runs_started ON sync_runs (started_at);

-- What went wrong in a run, card by card.
CREATE TABLE sync_errors (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    run_id INTEGER NOT NULL,
    at INTEGER NOT NULL,
    card_id TEXT,
    message TEXT NOT NULL
);
CREATE INDEX sync_errors_run ON sync_errors (run_id, id);

-- Open orders GO Cards answered 404 for, in consecutive runs; three runs is "needs attention".
CREATE TABLE sync_not_found (
    card_id TEXT PRIMARY KEY,
    runs INTEGER NOT NULL,
    last_run_id INTEGER NOT NULL,
    first_at INTEGER NOT NULL,
    last_at INTEGER NOT NULL
);

-- Webhook events already applied, so that a replay is refused, after a restart too.
CREATE TABLE webhook_events (
    event_id TEXT PRIMARY KEY,
    received_at INTEGER NOT NULL,
    card_id TEXT NOT NULL
);
CREATE INDEX webhook_events_received ON webhook_events (received_at);

-- The sync's poll: open orders by when they were last checked.
CREATE INDEX cards_open_checked ON cards (state, last_checked_at, card_id);
