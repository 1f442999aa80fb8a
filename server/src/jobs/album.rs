//! The `album` job (`JobKind::Album`): fills a Google Photos album with copies of the chosen
//! photos. The Library API only adds items the app uploaded to albums the app created, so:
//! create the album once (its id stored before anything uses it), then rounds of up to 50
//! photos: fetch each original (a Google photo's `=d`, a local photo's blob) and upload it
//! (raw protocol, a few at a time), then one `batchCreate` of the round's tokens, serially (one
//! album job per user at a time). Every item's state is stored as it moves (pending → uploaded
//! → creating → added | skipped | failed), so a killed worker's successor continues where it
//! stopped.
//!
//! **Exactly once.** An item is claimed `creating` (a conditional UPDATE) before it is sent,
//! so two runs never send the same item. A run that finds `creating` items (its predecessor
//! died between sending `batchCreate` and storing the answer, or the answer was a 5xx or a
//! timeout) does not send them again blindly: it waits until that request must have ended
//! (the Google request timeout since the claim), reads the album back (`mediaItems:search`,
//! app-created album) and matches items by their file name, unique within the album: found
//! ones are `added`, the rest are sent again. Without the read scope they end `failed` with
//! the reason, never twice in the album.
//!
//! Throttling: 429 and 5xx are retried inside each call (`Retry-After` honoured); a longer
//! storm makes the job wait and go on (bounded), then retry as a job. The deployment's daily
//! Library quota stops the job as `paused` until Google's day turns (or a resume request).

use std::time::Duration;

use futures_util::StreamExt;
use serde::{Deserialize, Serialize};

use super::{JobError, google_job_error};
use crate::app::Deps;
use crate::db::albums::{self, AlbumRow, ItemDetail, ItemRow};
use crate::db::jobs::JobRow;
use crate::google::library::{BATCH_LIMIT, ItemResult, NewItem};
use crate::google::media::MediaParam;
use crate::google::{Google, GoogleError, account, scopes};
use crate::time::now_ms;

/// What an album job names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AlbumPayload {
    /// The album.
    pub album_id: i64,
}

/// Why an item is left out when its Google link has run out.
pub const LINK_EXPIRED: &str = "link expired — re-pick to include";
/// Uploads running at once per job: each holds one original in memory (at most
/// `CLASSIFY_MAX_FILE_MIB`).
const PARALLEL_UPLOADS: usize = 4;
/// Upload tokens live a day; older than this they are not used.
const TOKEN_LIFE_MS: i64 = 23 * 3600 * 1000;
/// Waits for a throttling Google within one run before the job is retried later.
const MAX_THROTTLE_WAITS: u32 = 8;
/// The longest of those waits.
const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// How a run ended, short of finishing.
#[derive(Debug)]
enum Stop {
    /// The day's quota is spent: pause until it turns.
    Paused { reason: String, resume_at: i64 },
    /// Retrying cannot help.
    Failed(String),
    /// Try again later (the job system retries).
    Retry(String),
}

impl From<GoogleError> for Stop {
    fn from(e: GoogleError) -> Self {
        match e {
            GoogleError::QuotaExhausted { resets_at_ms, .. } => Stop::Paused {
                reason: format!("{}: {e}", e.code()),
                resume_at: resets_at_ms,
            },
            e => match google_job_error(&e) {
                JobError::Retryable(r) => Stop::Retry(r),
                JobError::Permanent(r) => Stop::Failed(r),
            },
        }
    }
}

impl From<sqlx::Error> for Stop {
    fn from(e: sqlx::Error) -> Self {
        Stop::Retry(format!("database: {e}"))
    }
}

/// Runs one album job.
pub async fn run(deps: &Deps, job: &JobRow) -> Result<(), JobError> {
    let payload: AlbumPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("bad album payload: {e}")))?;
    let pool = deps.db.pool();
    let retry = |e: sqlx::Error| JobError::Retryable(e.to_string());
    let Some(album) = albums::get_any(pool, payload.album_id)
        .await
        .map_err(retry)?
    else {
        return Ok(()); // deleted with its user
    };
    if album.job_id != Some(job.id) || !matches!(album.status.as_str(), "queued" | "running") {
        return Ok(()); // a resume handed the album to another job, or it is settled
    }
    let google = deps
        .google
        .as_deref()
        .ok_or_else(|| JobError::Permanent("Google is not configured on this server".into()))?;
    albums::set_status(pool, album.id, "running", None, None)
        .await
        .map_err(retry)?;
    let outcome = fill(deps, google, &album).await;
    let last_attempt = job.attempts >= job.max_attempts;
    let settle = |status: &'static str, reason: Option<String>, resume_at: Option<i64>| async move {
        albums::set_status(pool, album.id, status, reason.as_deref(), resume_at).await
    };
    match outcome {
        Ok(()) => settle("done", None, None).await.map_err(retry),
        Err(Stop::Paused { reason, resume_at }) => {
            tracing::info!(album_id = album.id, %reason, "album paused");
            settle("paused", Some(reason), Some(resume_at))
                .await
                .map_err(retry)
        }
        Err(Stop::Failed(reason)) => {
            settle("failed", Some(reason.clone()), None)
                .await
                .map_err(retry)?;
            Err(JobError::Permanent(reason))
        }
        Err(Stop::Retry(reason)) => {
            if last_attempt {
                settle("failed", Some(reason.clone()), None)
                    .await
                    .map_err(retry)?;
            }
            Err(JobError::Retryable(reason))
        }
    }
}

/// Everything a run does, in order; each step is safe to repeat.
async fn fill(deps: &Deps, google: &Google, album: &AlbumRow) -> Result<(), Stop> {
    let pool = deps.db.pool();
    let user_id = album.user_id;
    let token = account::access_token(google, &deps.db, user_id, scopes::LIBRARY_APPEND).await?;
    let album_id = match &album.google_album_id {
        Some(id) => id.clone(),
        None => {
            let created = google.create_album(pool, &token, &album.title).await?;
            albums::set_google_album(pool, album.id, &created.id, created.product_url.as_deref())
                .await?;
            created.id
        }
    };
    albums::expire_tokens(pool, album.id, now_ms() - TOKEN_LIFE_MS).await?;
    let mut run = Run {
        deps,
        google,
        album,
        album_id,
        throttled: 0,
    };
    // A predecessor's batchCreate whose answer was never stored: it may still be in flight.
    run.reconcile(true).await?;
    loop {
        // Tokens are refreshed a minute before they expire: fetched per round.
        let token =
            account::access_token(google, &deps.db, user_id, scopes::LIBRARY_APPEND).await?;
        let pending = albums::items_in(pool, album.id, "pending", BATCH_LIMIT as i64).await?;
        run.upload(&token, pending).await?;
        let uploaded = albums::items_in(pool, album.id, "uploaded", BATCH_LIMIT as i64).await?;
        if uploaded.is_empty() {
            let left = albums::items_in(pool, album.id, "pending", 1).await?;
            if left.is_empty() {
                return Ok(());
            }
            continue;
        }
        run.create(&token, &uploaded).await?;
    }
}

struct Run<'a> {
    deps: &'a Deps,
    google: &'a Google,
    album: &'a AlbumRow,
    /// Google's album id.
    album_id: String,
    /// Throttling waits so far in this run.
    throttled: u32,
}

impl Run<'_> {
    fn pool(&self) -> &sqlx::AnyPool {
        self.deps.db.pool()
    }

    /// Waits out a throttling Google (its `Retry-After`, else doubling from 2 s), a bounded
    /// number of times per run.
    async fn throttle(&mut self, retry_after: Option<Duration>) -> Result<(), Stop> {
        self.throttled += 1;
        if self.throttled > MAX_THROTTLE_WAITS {
            return Err(Stop::Retry(
                "rate_limited: Google kept asking to slow down".into(),
            ));
        }
        let backoff = Duration::from_secs(1 << self.throttled.min(6));
        let wait = retry_after.unwrap_or(backoff).min(MAX_THROTTLE_WAIT);
        tracing::info!(
            album_id = self.album.id,
            wait_ms = wait.as_millis() as u64,
            "Google is throttling; waiting"
        );
        tokio::time::sleep(wait).await;
        Ok(())
    }

    /// Uploads these pending items, a few at a time; each ends `uploaded`, `skipped` (link
    /// expired) or `failed`.
    async fn upload(&mut self, token: &str, items: Vec<ItemRow>) -> Result<(), Stop> {
        let this = &*self;
        let results: Vec<(ItemRow, Result<String, GoogleError>)> =
            futures_util::stream::iter(items)
                .map(|item| async move {
                    let outcome = this.upload_one(token, &item).await;
                    (item, outcome)
                })
                .buffer_unordered(PARALLEL_UPLOADS)
                .collect()
                .await;
        let mut stop: Option<GoogleError> = None;
        for (item, outcome) in results {
            let (to, detail) = match &outcome {
                Ok(upload_token) => ("uploaded", ItemDetail::Uploaded(upload_token)),
                Err(GoogleError::LinkExpired) => ("skipped", ItemDetail::Reason(LINK_EXPIRED)),
                Err(
                    e @ (GoogleError::TooLarge(_)
                    | GoogleError::HostNotAllowed(_)
                    | GoogleError::Api { .. }),
                ) => {
                    let reason = e.to_string();
                    albums::move_item(
                        self.pool(),
                        self.album.id,
                        item.photo_id,
                        "pending",
                        "failed",
                        ItemDetail::Reason(&reason),
                    )
                    .await?;
                    continue;
                }
                Err(_) => {
                    // Throttling, quota, outages: the item stays pending for later.
                    if let Err(e) = outcome {
                        stop.get_or_insert(e);
                    }
                    continue;
                }
            };
            albums::move_item(
                self.pool(),
                self.album.id,
                item.photo_id,
                "pending",
                to,
                detail,
            )
            .await?;
        }
        match stop {
            None => Ok(()),
            Some(GoogleError::RateLimited { retry_after }) => self.throttle(retry_after).await,
            Some(GoogleError::Unavailable(_)) => self.throttle(None).await,
            Some(e) => Err(e.into()),
        }
    }

    /// One item's original, uploaded: its token.
    async fn upload_one(&self, token: &str, item: &ItemRow) -> Result<String, GoogleError> {
        let bytes = self.original(token, item).await?;
        let mime = item.mime_type.as_deref().unwrap_or("image/jpeg");
        self.google.upload(self.pool(), token, bytes, mime).await
    }

    /// The original bytes: a local photo's blob, a Google photo's `=d` (while its link lives).
    async fn original(&self, token: &str, item: &ItemRow) -> Result<bytes::Bytes, GoogleError> {
        if item.source == "local" {
            let key = item.blob_key.as_deref().ok_or(GoogleError::LinkExpired)?;
            return match self.deps.blobs.get(key).await {
                Ok(Some(bytes)) => Ok(bytes),
                Ok(None) => Err(GoogleError::Protocol("the photo's file is missing".into())),
                Err(e) => Err(GoogleError::Unavailable(e.to_string())),
            };
        }
        let live = item.base_url_expires_at.is_some_and(|t| t > now_ms());
        let Some(base_url) = item.base_url.as_deref().filter(|_| live) else {
            return Err(GoogleError::LinkExpired);
        };
        self.google
            .fetch_media(
                token,
                base_url,
                MediaParam::Download,
                self.deps.limits.max_bytes,
            )
            .await
    }

    /// One `batchCreate` of these uploaded items (≤ 50), each item's outcome stored.
    async fn create(&mut self, token: &str, items: &[ItemRow]) -> Result<(), Stop> {
        let ids: Vec<i64> = items.iter().map(|i| i.photo_id).collect();
        let claimed = albums::claim_for_create(self.pool(), self.album.id, &ids).await?;
        let sent: Vec<&ItemRow> = items
            .iter()
            .filter(|i| claimed.contains(&i.photo_id) && i.upload_token.is_some())
            .collect();
        let new_items: Vec<NewItem<'_>> = sent
            .iter()
            .filter_map(|i| {
                Some(NewItem {
                    upload_token: i.upload_token.as_deref()?,
                    file_name: &i.file_name,
                })
            })
            .collect();
        if new_items.is_empty() {
            return Ok(());
        }
        match self
            .google
            .batch_create(self.pool(), token, &self.album_id, &new_items)
            .await
        {
            Ok(results) => {
                for (item, result) in sent.iter().zip(results) {
                    let (to, detail) = match &result {
                        ItemResult::Created(media_id) => ("added", ItemDetail::Added(media_id)),
                        ItemResult::Failed(reason) => ("failed", ItemDetail::Reason(reason)),
                    };
                    albums::move_item(
                        self.pool(),
                        self.album.id,
                        item.photo_id,
                        "creating",
                        to,
                        detail,
                    )
                    .await?;
                }
                Ok(())
            }
            // Refused before anything was done: the items can be sent again.
            Err(GoogleError::RateLimited { retry_after }) => {
                self.unclaim(&sent).await?;
                self.throttle(retry_after).await
            }
            Err(e @ GoogleError::QuotaExhausted { .. }) => {
                self.unclaim(&sent).await?;
                Err(e.into())
            }
            Err(GoogleError::Api {
                status, message, ..
            }) if (400..500).contains(&status) => {
                let reason = format!("Google refused the items ({status}): {message}");
                for item in &sent {
                    albums::move_item(
                        self.pool(),
                        self.album.id,
                        item.photo_id,
                        "creating",
                        "failed",
                        ItemDetail::Reason(&reason),
                    )
                    .await?;
                }
                Ok(())
            }
            // A 5xx, a timeout, an unreadable answer: Google may have created them. Read the
            // album back before anything is sent again (our own request has ended: no wait).
            Err(e) => {
                tracing::warn!(album_id = self.album.id, error = %e, "batchCreate outcome unknown; reading the album back");
                self.reconcile(false).await
            }
        }
    }

    async fn unclaim(&self, items: &[&ItemRow]) -> Result<(), Stop> {
        for item in items {
            albums::move_item(
                self.pool(),
                self.album.id,
                item.photo_id,
                "creating",
                "uploaded",
                ItemDetail::None,
            )
            .await?;
        }
        Ok(())
    }

    /// Settles `creating` items: those the album holds (by file name) are `added`, the others
    /// go back to `uploaded` (or `pending`, their token too old). `wait`: a request of another
    /// (dead) run may still be in flight, so first wait until it must have ended.
    async fn reconcile(&mut self, wait: bool) -> Result<(), Stop> {
        let mut creating =
            albums::items_in(self.pool(), self.album.id, "creating", i64::MAX).await?;
        if creating.is_empty() {
            return Ok(());
        }
        if wait {
            let newest = creating.iter().map(|i| i.updated_at).max().unwrap_or(0);
            let margin = self.google.request_timeout + Duration::from_secs(1);
            let until = newest + i64::try_from(margin.as_millis()).unwrap_or(i64::MAX / 4);
            let left = until - now_ms();
            if left > 0 {
                tracing::info!(
                    album_id = self.album.id,
                    wait_ms = left,
                    "waiting for an earlier batchCreate to end"
                );
                tokio::time::sleep(Duration::from_millis(left.unsigned_abs())).await;
            }
            creating = albums::items_in(self.pool(), self.album.id, "creating", i64::MAX).await?;
        }
        let user_id = self.album.user_id;
        let token = match account::access_token(
            self.google,
            &self.deps.db,
            user_id,
            scopes::LIBRARY_READ_APP,
        )
        .await
        {
            Ok(token) => token,
            Err(GoogleError::ScopeMissing) => {
                // Without the read scope the album cannot be checked: never risk a duplicate.
                let reason = "unknown whether Google added it (the answer was lost and Classify may not read the album back): check the album";
                for item in &creating {
                    albums::move_item(
                        self.pool(),
                        self.album.id,
                        item.photo_id,
                        "creating",
                        "failed",
                        ItemDetail::Reason(reason),
                    )
                    .await?;
                }
                return Ok(());
            }
            Err(e) => return Err(e.into()),
        };
        let present = self
            .google
            .album_items(self.pool(), &token, &self.album_id)
            .await?;
        let by_name: std::collections::HashMap<&str, &str> = present
            .iter()
            .map(|m| (m.filename.as_str(), m.id.as_str()))
            .collect();
        let fresh_after = now_ms() - TOKEN_LIFE_MS;
        for item in &creating {
            let moved = match by_name.get(item.file_name.as_str()) {
                Some(media_id) => ("added", ItemDetail::Added(media_id)),
                None => match item.upload_token.as_deref() {
                    Some(_) if item.uploaded_at.is_some_and(|at| at > fresh_after) => {
                        ("uploaded", ItemDetail::None)
                    }
                    _ => ("pending", ItemDetail::None),
                },
            };
            albums::move_item(
                self.pool(),
                self.album.id,
                item.photo_id,
                "creating",
                moved.0,
                moved.1,
            )
            .await?;
        }
        tracing::info!(
            album_id = self.album.id,
            checked = creating.len(),
            "settled items whose batchCreate answer was lost"
        );
        Ok(())
    }
}

/// Hands a paused or failed album to a new job (a resume request, or its day has turned);
/// false when it was not resumable (another resume won, or the user has another album being
/// made). Failed items are tried again.
pub async fn resume(
    deps: &Deps,
    album_id: i64,
    user_id: i64,
    from: &[&str],
) -> Result<bool, sqlx::Error> {
    let payload = serde_json::json!({ "album_id": album_id }).to_string();
    let job_id = super::create_one(deps, user_id, super::JobKind::Album, &payload).await?;
    let mut conn = deps.db.pool().acquire().await?;
    let resumed = albums::requeue(&mut conn, album_id, from, job_id).await?;
    drop(conn);
    if resumed {
        albums::retry_failed(deps.db.pool(), album_id).await?;
    }
    // Pushed either way: a job that does not own its album ends at once, doing nothing.
    super::push(deps, job_id).await;
    Ok(resumed)
}

/// Resumes the paused albums whose Google day has turned (the sweeper calls this).
pub async fn resume_due(deps: &Deps) -> Result<u64, sqlx::Error> {
    let mut resumed = 0;
    for (album_id, user_id) in albums::due_for_resume(deps.db.pool(), now_ms()).await? {
        if resume(deps, album_id, user_id, &["paused"]).await? {
            resumed += 1;
        }
    }
    Ok(resumed)
}
