-- Photos verified against the user's threshold, browser sessions and API refresh tokens.

-- 1 = blurred, 0 = clear, NULL = not verified yet. Stored (and rewritten when the user moves
-- the threshold) so that every gallery filter is one keyset range on one index.
ALTER TABLE photos ADD COLUMN is_blurred INTEGER CHECK (is_blurred IN (0, 1));
CREATE INDEX photos_user_blurred_idx ON photos (user_id, is_blurred, id DESC);
DROP INDEX photos_user_score_idx;
DROP INDEX photos_user_status_idx;

-- A photo's pending verification is found without scanning the jobs of other photos.
CREATE INDEX jobs_photo_status_idx ON jobs (photo_id, status);
CREATE INDEX batches_user_idx ON batches (user_id, id);

-- tower-sessions records for the browser's session cookie.
CREATE TABLE sessions (
    id          TEXT PRIMARY KEY,
    data        TEXT NOT NULL,
    expires_at  BIGINT NOT NULL
);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Refresh tokens of REST API clients: single use (rotated on refresh), revocable at logout.
CREATE TABLE refresh_tokens (
    jti         TEXT PRIMARY KEY,
    user_id     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    expires_at  BIGINT NOT NULL,
    used_at     BIGINT,
    created_at  BIGINT NOT NULL
);
CREATE INDEX refresh_tokens_user_idx ON refresh_tokens (user_id);
