-- Disabling a user moves its session epoch on. The epoch is part of the auth hash that each
-- session keeps, so the user's sessions from before are refused for good, also after the
-- user is enabled again.
ALTER TABLE users ADD COLUMN session_epoch BIGINT NOT NULL DEFAULT 0;
