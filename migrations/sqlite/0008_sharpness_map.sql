-- The kernel's sharpness map (issue 16), stored with the verdict it came with: one byte
-- columns, one byte rows, then columns × rows cells of 0–100 or 255 (too flat to judge), row by
-- row, turned as the photo is shown (`server::db::sharpness_map` encodes and checks it). NULL
-- until verified; only the photo's own view reads it, never a list.
ALTER TABLE photos ADD COLUMN sharpness_map BLOB;
