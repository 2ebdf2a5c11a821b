-- Jobs: one process run over a list of cards or users, on the server. Every item's outcome
-- is stored as it completes (an item with an outcome is never run again), so that after a
-- crash "Run the rest" runs only what is left. A running job belongs to the process named by
-- lease_holder while lease_until is in the future; after that any replica may mark it
-- interrupted.
CREATE TABLE jobs (
    id BIGSERIAL PRIMARY KEY,
    process TEXT NOT NULL,
    started_by TEXT NOT NULL,
    started_by_id BIGINT NOT NULL,
    started_at BIGINT NOT NULL,
    finished_at BIGINT,
    status TEXT NOT NULL,
    total BIGINT NOT NULL,
    reason TEXT,
    article_id TEXT,
    recipient TEXT,
    address_one TEXT,
    postal_code TEXT,
    city TEXT,
    country_code TEXT,
    lease_holder TEXT,
    lease_until BIGINT,
    stop_requested BIGINT NOT NULL DEFAULT 0
);
-- One running job per operator.
CREATE UNIQUE INDEX jobs_one_running ON jobs (started_by_id) WHERE status = 'running';
CREATE INDEX jobs_by_starter ON jobs (started_by_id, id);
CREATE INDEX jobs_running ON jobs (status, lease_until);

CREATE TABLE job_items (
    job_id BIGINT NOT NULL REFERENCES jobs (id),
    position BIGINT NOT NULL,
    -- The card id, or the user's id.
    target TEXT NOT NULL,
    -- What the item page shows: the card id, or the user's name.
    label TEXT NOT NULL,
    before_state TEXT,
    after_state TEXT,
    -- NULL: still to run.
    outcome TEXT,
    message TEXT NOT NULL DEFAULT '',
    done_at BIGINT,
    PRIMARY KEY (job_id, position)
);
CREATE INDEX job_items_by_outcome ON job_items (job_id, outcome, position);
