-- The tables of product.md §5. Times are Unix milliseconds (see migrations/README.md).

CREATE TABLE users (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    -- NULL for the single local user of the try-out mode (no Google sign-in configured).
    google_id       TEXT UNIQUE,
    email           TEXT,
    name            TEXT,
    picture         TEXT,
    blur_threshold  DOUBLE PRECISION NOT NULL DEFAULT 0.5
                    CHECK (blur_threshold >= 0 AND blur_threshold <= 1),
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);

-- Google tokens, encrypted by the server before they get here (never stored in the clear).
CREATE TABLE oauth_tokens (
    user_id                 BIGINT PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    access_token_enc        BYTEA NOT NULL,
    refresh_token_enc       BYTEA,
    expires_at              BIGINT,
    scope                   TEXT NOT NULL DEFAULT '',
    updated_at              BIGINT NOT NULL
);

CREATE TABLE photos (
    id                      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id                 BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    source                  TEXT NOT NULL CHECK (source IN ('google', 'local')),
    google_photo_id         TEXT,
    -- SHA-256 of the uploaded bytes: the same file uploaded twice is one photo.
    content_sha256          TEXT,
    blob_key                TEXT,
    filename                TEXT NOT NULL,
    mime_type               TEXT,
    size_bytes              BIGINT,
    width                   BIGINT,
    height                  BIGINT,
    taken_at                BIGINT,
    exposure_time_s         DOUBLE PRECISION,
    focal_length_mm         DOUBLE PRECISION,
    -- Google's media link and when it stops working (60 minutes after the pick).
    base_url                TEXT,
    base_url_expires_at     BIGINT,
    -- The worker's verified verdict.
    blur_score              DOUBLE PRECISION,
    blur_type               TEXT CHECK (blur_type IN ('motion', 'defocus', 'none')),
    motion_angle_deg        DOUBLE PRECISION,
    processed_at            BIGINT,
    -- The browser's instant preview; never counts as verified.
    preview_score           DOUBLE PRECISION,
    status                  TEXT NOT NULL DEFAULT 'unprocessed'
                            CHECK (status IN ('unprocessed', 'queued', 'done', 'failed')),
    error                   TEXT,
    created_at              BIGINT NOT NULL,
    updated_at              BIGINT NOT NULL,
    UNIQUE (user_id, google_photo_id),
    UNIQUE (user_id, content_sha256)
);
-- The gallery pages through a user's photos newest first, per filter.
CREATE INDEX photos_user_id_idx ON photos (user_id, id DESC);
CREATE INDEX photos_user_score_idx ON photos (user_id, blur_score, id DESC);
CREATE INDEX photos_user_status_idx ON photos (user_id, status, id DESC);

-- A batch groups the jobs one request queued, so its progress is one query.
CREATE TABLE batches (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    total           BIGINT NOT NULL DEFAULT 0,
    created_at      BIGINT NOT NULL
);

-- The source of truth for background work; the queue only carries job ids.
CREATE TABLE jobs (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT REFERENCES users (id) ON DELETE CASCADE,
    batch_id        BIGINT REFERENCES batches (id) ON DELETE CASCADE,
    photo_id        BIGINT REFERENCES photos (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL,
    payload         TEXT NOT NULL DEFAULT '{}',
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'done', 'failed')),
    attempts        BIGINT NOT NULL DEFAULT 0,
    max_attempts    BIGINT NOT NULL DEFAULT 3,
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL,
    started_at      BIGINT,
    finished_at     BIGINT
);
CREATE INDEX jobs_batch_status_idx ON jobs (batch_id, status);
CREATE INDEX jobs_status_updated_idx ON jobs (status, updated_at);

CREATE TABLE photo_tags (
    photo_id        BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    tag             TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    PRIMARY KEY (photo_id, tag)
);
CREATE INDEX photo_tags_user_tag_idx ON photo_tags (user_id, tag);

CREATE TABLE albums (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    google_album_id TEXT,
    title           TEXT NOT NULL,
    item_count      BIGINT NOT NULL DEFAULT 0,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'done', 'failed')),
    error           TEXT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX albums_user_idx ON albums (user_id, id DESC);

-- Which photos an album already holds, so a resumed album job never adds one twice.
CREATE TABLE album_items (
    album_id        BIGINT NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    photo_id        BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'added', 'failed')),
    error           TEXT,
    PRIMARY KEY (album_id, photo_id)
);
