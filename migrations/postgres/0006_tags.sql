-- AI tags (issue 14): which model gave a tag, the model's caption and blur opinion beside our
-- score, the tokens each tagging job really used, and the deployment's shared token budget.

-- The model that gave each tag ('' for rows from before this migration: there were none).
ALTER TABLE photo_tags ADD COLUMN model TEXT NOT NULL DEFAULT '';
-- The tag filter pages through one user's photos with a tag, newest first: one index range.
CREATE INDEX photo_tags_user_tag_photo_idx ON photo_tags (user_id, tag, photo_id DESC);
DROP INDEX photo_tags_user_tag_idx;

-- The model's caption and opinion of the photo (1 = looks blurred), and when it answered.
ALTER TABLE photos ADD COLUMN caption TEXT;
ALTER TABLE photos ADD COLUMN looks_blurred BIGINT CHECK (looks_blurred IN (0, 1));
ALTER TABLE photos ADD COLUMN tagged_at BIGINT;
ALTER TABLE photos ADD COLUMN tag_model TEXT;

-- Tokens a job's requests really used (the `usage` of every answer, summed over retries).
ALTER TABLE jobs ADD COLUMN prompt_tokens BIGINT;
ALTER TABLE jobs ADD COLUMN completion_tokens BIGINT;

-- Token buckets shared by every process of the deployment: tokens left and when they were
-- last counted (Unix ms). One row per budget (`tagging`).
CREATE TABLE rate_budgets (
    name        TEXT PRIMARY KEY,
    tokens      DOUBLE PRECISION NOT NULL,
    updated_at  BIGINT NOT NULL
);
