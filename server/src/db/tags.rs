//! SQL for AI tags: a photo's tags (`photo_tags`, with the model and time), the model's caption
//! and blur opinion on the photo, the user's tag counts, removing a tag, and the tokens a
//! tagging job used.
//!
//! Every query a request makes names the user, so another user's tags are invisible.

use std::collections::HashMap;

use shared::api::TagCount;
use sqlx::AnyPool;

use crate::time::now_ms;

/// What the model said about a photo, as stored.
#[derive(Debug, Clone, Copy)]
pub struct Tagged<'a> {
    /// The photo.
    pub photo_id: i64,
    /// Normalised tags.
    pub tags: &'a [String],
    /// One line.
    pub caption: &'a str,
    /// The model's opinion.
    pub looks_blurred: bool,
    /// The model that answered.
    pub model: &'a str,
}

/// Stores a photo's tags, replacing the ones an earlier tagging gave (idempotent: a second
/// delivery of the job stores the same). False when the photo is gone.
pub async fn store(pool: &AnyPool, t: &Tagged<'_>) -> Result<bool, sqlx::Error> {
    let now = now_ms();
    let mut tx = pool.begin().await?;
    // A write first: on SQLite it takes the write lock at once, where a read followed by a
    // write could find the snapshot stale (SQLITE_BUSY, which no busy timeout waits out).
    let owner: Option<(i64,)> = sqlx::query_as(
        "UPDATE photos SET caption = $2, looks_blurred = $3, tagged_at = $4, tag_model = $5,
             updated_at = $4
         WHERE id = $1 RETURNING user_id",
    )
    .bind(t.photo_id)
    .bind(t.caption)
    .bind(i64::from(t.looks_blurred))
    .bind(now)
    .bind(t.model)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((user_id,)) = owner else {
        return Ok(false);
    };
    sqlx::query("DELETE FROM photo_tags WHERE photo_id = $1")
        .bind(t.photo_id)
        .execute(&mut *tx)
        .await?;
    for tag in t.tags {
        sqlx::query(
            "INSERT INTO photo_tags (photo_id, user_id, tag, model, created_at)
             VALUES ($1, $2, $3, $4, $5) ON CONFLICT (photo_id, tag) DO NOTHING",
        )
        .bind(t.photo_id)
        .bind(user_id)
        .bind(tag)
        .bind(t.model)
        .bind(now)
        .execute(&mut *tx)
        .await?;
    }
    tx.commit().await?;
    Ok(true)
}

/// Most ids one `IN` list holds.
const MAX_IN_LIST: usize = 512;

/// Placeholders for an `IN` list of `n` ids: the next power of two, at least 8.
fn in_list_slots(n: usize) -> usize {
    n.next_power_of_two().clamp(8, MAX_IN_LIST)
}

/// The tags of these photos (alphabetical per photo); photos without tags are absent.
pub async fn of_photos(
    pool: &AnyPool,
    ids: &[i64],
) -> Result<HashMap<i64, Vec<String>>, sqlx::Error> {
    let mut all: HashMap<i64, Vec<String>> = HashMap::new();
    for chunk in ids.chunks(MAX_IN_LIST) {
        // The list is padded to a power of two with id 0 (no photo has it), so every gallery
        // page asks with one of a handful of statement texts, each prepared once per
        // connection, instead of parsing and planning a new one per page.
        let slots = in_list_slots(chunk.len());
        let placeholders = (1..=slots)
            .map(|i| format!("${i}"))
            .collect::<Vec<_>>()
            .join(", ");
        let sql = format!(
            "SELECT photo_id, tag FROM photo_tags WHERE photo_id IN ({placeholders})
             ORDER BY photo_id, tag"
        );
        let mut query = sqlx::query_as::<_, (i64, String)>(&sql);
        for id in chunk
            .iter()
            .copied()
            .chain(std::iter::repeat(0))
            .take(slots)
        {
            query = query.bind(id);
        }
        for (photo_id, tag) in query.fetch_all(pool).await? {
            all.entry(photo_id).or_default().push(tag);
        }
    }
    Ok(all)
}

/// Most tags `GET /api/v1/tags` lists.
pub const MAX_LISTED: i64 = 1000;

/// The user's tags with how many photos carry each, most used first, then by name.
pub async fn counts(pool: &AnyPool, user_id: i64) -> Result<Vec<TagCount>, sqlx::Error> {
    let rows: Vec<(String, i64)> = sqlx::query_as(
        "SELECT tag, COUNT(*) AS n FROM photo_tags WHERE user_id = $1
         GROUP BY tag ORDER BY n DESC, tag LIMIT $2",
    )
    .bind(user_id)
    .bind(MAX_LISTED)
    .fetch_all(pool)
    .await?;
    Ok(rows
        .into_iter()
        .map(|(tag, count)| TagCount { tag, count })
        .collect())
}

/// Removes one tag from one of the user's photos; false when the user has no such photo or
/// the photo no such tag.
pub async fn remove(
    pool: &AnyPool,
    user_id: i64,
    photo_id: i64,
    tag: &str,
) -> Result<bool, sqlx::Error> {
    let done =
        sqlx::query("DELETE FROM photo_tags WHERE photo_id = $1 AND user_id = $2 AND tag = $3")
            .bind(photo_id)
            .bind(user_id)
            .bind(tag)
            .execute(pool)
            .await?;
    Ok(done.rows_affected() == 1)
}

/// Adds the tokens one run of a job used to its row (summed over runs: every answered request
/// is billed).
pub async fn add_job_usage(
    pool: &AnyPool,
    job_id: i64,
    prompt_tokens: i64,
    completion_tokens: i64,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "UPDATE jobs SET prompt_tokens = COALESCE(prompt_tokens, 0) + $2,
             completion_tokens = COALESCE(completion_tokens, 0) + $3
         WHERE id = $1",
    )
    .bind(job_id)
    .bind(prompt_tokens)
    .bind(completion_tokens)
    .execute(pool)
    .await?;
    Ok(())
}

/// Ends every still-queued job of `kind` in a batch as failed with `reason` (the account ran
/// out of quota: the rest of the batch cannot succeed). Returns how many.
pub async fn fail_queued_in_batch(
    pool: &AnyPool,
    batch_id: i64,
    kind: &str,
    reason: &str,
) -> Result<u64, sqlx::Error> {
    let now = now_ms();
    let done = sqlx::query(
        "UPDATE jobs SET status = 'failed', error = $3, finished_at = $4, updated_at = $4,
             lease_until = NULL
         WHERE batch_id = $1 AND kind = $2 AND status = 'queued'",
    )
    .bind(batch_id)
    .bind(kind)
    .bind(reason)
    .bind(now)
    .execute(pool)
    .await?;
    Ok(done.rows_affected())
}

/// The batch a job belongs to.
pub async fn batch_of(pool: &AnyPool, job_id: i64) -> Result<Option<i64>, sqlx::Error> {
    let row: Option<(Option<i64>,)> = sqlx::query_as("SELECT batch_id FROM jobs WHERE id = $1")
        .bind(job_id)
        .fetch_optional(pool)
        .await?;
    Ok(row.and_then(|(b,)| b))
}

#[cfg(test)]
mod tests {
    use super::{MAX_IN_LIST, in_list_slots};

    #[test]
    fn in_lists_take_few_shapes_and_always_fit() {
        for n in 1..=MAX_IN_LIST {
            let slots = in_list_slots(n);
            assert!(slots >= n && slots.is_power_of_two() && slots >= 8, "{n}");
        }
        let shapes: std::collections::BTreeSet<usize> =
            (1..=MAX_IN_LIST).map(in_list_slots).collect();
        assert_eq!(shapes.len(), 7, "8, 16, ..., 512");
    }
}
