-- Hardening (issue 10): token versions and hashed session ids.

-- Bumped at logout and when a replayed refresh token is seen; every API token carries the
-- version it was issued at, so a bump ends every token already out.
ALTER TABLE users ADD COLUMN token_version BIGINT NOT NULL DEFAULT 0;

-- Session rows are now keyed by a SHA-256 of the cookie's id, so a copy of the table does not
-- hand out live sessions. Rows keyed by the plain id can no longer be found: drop them (their
-- users sign in again).
DELETE FROM sessions;
