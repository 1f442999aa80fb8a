//! SQL for `users`: the local try-out user, lookups by id, and the blur threshold.

use sqlx::{AnyPool, FromRow};

use crate::time::now_ms;

/// One row of `users`.
#[derive(Debug, Clone, PartialEq, FromRow)]
pub struct UserRow {
    /// The id.
    pub id: i64,
    /// Google's account id; `None` for the local user.
    pub google_id: Option<String>,
    /// Email address.
    pub email: Option<String>,
    /// Display name.
    pub name: Option<String>,
    /// Avatar URL.
    pub picture: Option<String>,
    /// Score at or above which a photo counts as blurred.
    pub blur_threshold: f64,
}

const COLUMNS: &str = "id, google_id, email, name, picture, blur_threshold";

/// Loads one user.
pub async fn get(pool: &AnyPool, id: i64) -> Result<Option<UserRow>, sqlx::Error> {
    sqlx::query_as(&format!("SELECT {COLUMNS} FROM users WHERE id = $1"))
        .bind(id)
        .fetch_optional(pool)
        .await
}

/// The single user of local mode (no Google account), created on first start.
pub async fn ensure_local(pool: &AnyPool) -> Result<i64, sqlx::Error> {
    let existing: Option<(i64,)> =
        sqlx::query_as("SELECT id FROM users WHERE google_id IS NULL ORDER BY id LIMIT 1")
            .fetch_optional(pool)
            .await?;
    if let Some((id,)) = existing {
        return Ok(id);
    }
    create(pool, None, Some("Local user")).await
}

/// Creates a user (tests and, later, first Google sign-in).
pub async fn create(
    pool: &AnyPool,
    google_id: Option<&str>,
    name: Option<&str>,
) -> Result<i64, sqlx::Error> {
    let now = now_ms();
    let (id,): (i64,) = sqlx::query_as(
        "INSERT INTO users (google_id, name, created_at, updated_at) VALUES ($1, $2, $3, $3)
         RETURNING id",
    )
    .persistent(false) // binds an Option: see "Nullable binds" in db/mod.rs
    .bind(google_id)
    .bind(name)
    .bind(now)
    .fetch_one(pool)
    .await?;
    Ok(id)
}

/// Stores a new threshold and re-derives `is_blurred` of every verified photo in the same
/// transaction, so every filter and count follows it at once.
pub async fn set_threshold(pool: &AnyPool, id: i64, threshold: f64) -> Result<(), sqlx::Error> {
    let mut tx = pool.begin().await?;
    sqlx::query("UPDATE users SET blur_threshold = $2, updated_at = $3 WHERE id = $1")
        .bind(id)
        .bind(threshold)
        .bind(now_ms())
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "UPDATE photos SET is_blurred = CASE WHEN blur_score >= $2 THEN 1 ELSE 0 END
         WHERE user_id = $1 AND blur_score IS NOT NULL
           AND (is_blurred IS NULL OR is_blurred <> CASE WHEN blur_score >= $2 THEN 1 ELSE 0 END)",
    )
    .bind(id)
    .bind(threshold)
    .execute(&mut *tx)
    .await?;
    tx.commit().await
}
