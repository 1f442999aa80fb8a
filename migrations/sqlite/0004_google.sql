-- Google sign-in and the Photos Picker (issue: Google Photos). Google media may be kept at
-- most 60 minutes (policy), so cached media is tracked here with its age and purged; base
-- URLs are cleared once they expire. Ids, metadata and scores stay.

-- Google refused the user's refresh token (invalid_grant): they must sign in again.
ALTER TABLE users ADD COLUMN needs_reauth BIGINT NOT NULL DEFAULT 0;

-- The camera data the Picker reports beside exposure time and focal length.
ALTER TABLE photos ADD COLUMN camera_make TEXT;
ALTER TABLE photos ADD COLUMN camera_model TEXT;
ALTER TABLE photos ADD COLUMN aperture_f_number REAL;
ALTER TABLE photos ADD COLUMN iso BIGINT;
CREATE INDEX photos_base_url_expiry_idx ON photos (base_url_expires_at);

-- One Picker session per "Pick photos": Google's id, what polling needs, and the import.
CREATE TABLE picker_sessions (
    id                  TEXT PRIMARY KEY,
    user_id             BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    picker_uri          TEXT,
    expire_at           BIGINT NOT NULL,
    poll_interval_ms    BIGINT NOT NULL,
    timeout_ms          BIGINT NOT NULL,
    media_items_set     BIGINT NOT NULL DEFAULT 0,
    status              TEXT NOT NULL DEFAULT 'picking'
                        CHECK (status IN ('picking', 'picked', 'importing', 'imported', 'failed', 'expired')),
    job_id              BIGINT,
    imported            BIGINT NOT NULL DEFAULT 0,
    skipped             BIGINT NOT NULL DEFAULT 0,
    skipped_reason      TEXT,
    verify_batch_id     BIGINT,
    error               TEXT,
    created_at          BIGINT NOT NULL,
    updated_at          BIGINT NOT NULL
);
CREATE INDEX picker_sessions_user_idx ON picker_sessions (user_id, created_at);

-- Google media held for a short while (working copies, thumbnails); the purge deletes each
-- entry and its blob before it is 60 minutes old.
CREATE TABLE media_cache (
    key         TEXT PRIMARY KEY,
    user_id     BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    photo_id    BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    created_at  BIGINT NOT NULL
);
CREATE INDEX media_cache_created_idx ON media_cache (created_at);
CREATE INDEX media_cache_photo_idx ON media_cache (photo_id);
