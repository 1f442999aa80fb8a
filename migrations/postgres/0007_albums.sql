-- Albums of clear photos (issue 13). The tables of 0001 were never written to by any release,
-- so they are replaced rather than altered (SQLite cannot change a CHECK in place).
DROP TABLE album_items;
DROP TABLE albums;

-- One album job: a Google Photos album (kind 'google') or a downloadable collection
-- ('collection', local photos and local mode). 'paused' = stopped by the deployment's daily
-- Library quota until resume_at (or a resume request).
CREATE TABLE albums (
    id              BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    user_id         BIGINT NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind            TEXT NOT NULL CHECK (kind IN ('google', 'collection')),
    title           TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'paused', 'done', 'failed')),
    -- Stored the moment Google answers albums.create, before anything is added to it.
    google_album_id TEXT,
    product_url     TEXT,
    -- The job that owns the album now (a resume makes a new one).
    job_id          BIGINT,
    error           TEXT,
    resume_at       BIGINT,
    created_at      BIGINT NOT NULL,
    updated_at      BIGINT NOT NULL
);
CREATE INDEX albums_user_idx ON albums (user_id, id DESC);
CREATE INDEX albums_status_resume_idx ON albums (status, resume_at);
-- batchCreate must run serially per user: at most one album of a user is being made at once.
CREATE UNIQUE INDEX albums_one_active_per_user_idx ON albums (user_id)
    WHERE status IN ('queued', 'running');

-- Each photo of an album and how far it got: pending → uploaded (upload token kept, valid a
-- day) → creating (sent in a batchCreate whose answer is not stored yet) → added | skipped |
-- failed. file_name is unique within the album: after a crash, the album's contents are
-- matched to 'creating' items by it, so nothing is sent twice.
CREATE TABLE album_items (
    album_id        BIGINT NOT NULL REFERENCES albums (id) ON DELETE CASCADE,
    photo_id        BIGINT NOT NULL REFERENCES photos (id) ON DELETE CASCADE,
    position        BIGINT NOT NULL,
    file_name       TEXT NOT NULL,
    status          TEXT NOT NULL DEFAULT 'pending'
                    CHECK (status IN ('pending', 'uploaded', 'creating', 'added', 'skipped', 'failed')),
    upload_token    TEXT,
    uploaded_at     BIGINT,
    media_item_id   TEXT,
    error           TEXT,
    updated_at      BIGINT NOT NULL,
    PRIMARY KEY (album_id, photo_id)
);
CREATE UNIQUE INDEX album_items_position_idx ON album_items (album_id, position);
CREATE UNIQUE INDEX album_items_file_name_idx ON album_items (album_id, file_name);
CREATE INDEX album_items_status_idx ON album_items (album_id, status, position);

-- Library API requests the whole deployment spent per day (Google's day: midnight Pacific).
CREATE TABLE library_quota (
    day     BIGINT PRIMARY KEY,
    used    BIGINT NOT NULL
);
