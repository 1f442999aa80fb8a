//! One run of an album job: Google's album created once, then rounds of up to 50 photos
//! (uploads a few at a time, each token stored as it arrives; then one `batchCreate`), every
//! item's state stored as it moves, and the items a lost `batchCreate` answer left `creating`
//! settled by reading the album back (see the module above for why that is exactly once).

use std::time::Duration;

use futures_util::StreamExt;

use super::{LINK_EXPIRED, Stop};
use crate::app::Deps;
use crate::db::albums::{self, AlbumRow, ItemDetail, ItemRow};
use crate::google::library::{BATCH_LIMIT, ItemResult, NewItem};
use crate::google::media::MediaParam;
use crate::google::{Google, GoogleError, account, scopes};
use crate::time::now_ms;

/// Uploads running at once per job: each holds one original in memory (at most
/// `CLASSIFY_MAX_FILE_MIB`).
const PARALLEL_UPLOADS: usize = 4;
/// Upload tokens live a day; older than this they are not used.
const TOKEN_LIFE_MS: i64 = 23 * 3600 * 1000;
/// Waits for a throttling Google within one run before the job is retried later.
const MAX_THROTTLE_WAITS: u32 = 8;
/// The longest of those waits.
const MAX_THROTTLE_WAIT: Duration = Duration::from_secs(60);

/// Everything a run does, in order; each step is safe to repeat.
pub(super) async fn fill(deps: &Deps, google: &Google, album: &AlbumRow) -> Result<(), Stop> {
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

    /// Moves one of this album's items from state `from` to `to` (see `albums::move_item`).
    async fn move_item(
        &self,
        photo_id: i64,
        from: &str,
        to: &str,
        detail: ItemDetail<'_>,
    ) -> Result<bool, sqlx::Error> {
        albums::move_item(self.pool(), self.album.id, photo_id, from, to, detail).await
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

    /// Uploads these pending items, a few at a time; each ends `uploaded` (stored the moment
    /// its token arrives, so a killed worker loses at most the uploads in flight), `skipped`
    /// (link expired) or `failed`.
    async fn upload(&mut self, token: &str, items: Vec<ItemRow>) -> Result<(), Stop> {
        let this = &*self;
        let mut results = futures_util::stream::iter(items)
            .map(|item| async move {
                let outcome = this.upload_one(token, &item).await;
                (item, outcome)
            })
            .buffer_unordered(PARALLEL_UPLOADS);
        let mut stop: Option<GoogleError> = None;
        while let Some((item, outcome)) = results.next().await {
            let (to, reason) = match outcome {
                Ok(upload_token) => {
                    this.move_item(
                        item.photo_id,
                        "pending",
                        "uploaded",
                        ItemDetail::Uploaded(&upload_token),
                    )
                    .await?;
                    continue;
                }
                Err(GoogleError::LinkExpired) => ("skipped", LINK_EXPIRED.to_string()),
                Err(
                    e @ (GoogleError::TooLarge(_)
                    | GoogleError::HostNotAllowed(_)
                    | GoogleError::Protocol(_)
                    | GoogleError::Api { .. }),
                ) => ("failed", e.to_string()),
                Err(e) => {
                    // Throttling, quota, outages: the item stays pending for later.
                    stop.get_or_insert(e);
                    continue;
                }
            };
            this.move_item(item.photo_id, "pending", to, ItemDetail::Reason(&reason))
                .await?;
        }
        drop(results);
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
                    self.move_item(item.photo_id, "creating", to, detail)
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
                let ids = sent.iter().map(|i| i.photo_id);
                self.fail_creating(ids, &reason).await
            }
            // A 5xx, a timeout, an unreadable answer: Google may have created them. Read the
            // album back before anything is sent again (our own request has ended: no wait).
            Err(e) => {
                tracing::warn!(album_id = self.album.id, error = %e, "batchCreate outcome unknown; reading the album back");
                self.reconcile(false).await
            }
        }
    }

    /// Claimed items that Google refused before doing anything: they may be sent again.
    async fn unclaim(&self, items: &[&ItemRow]) -> Result<(), Stop> {
        for item in items {
            self.move_item(item.photo_id, "creating", "uploaded", ItemDetail::None)
                .await?;
        }
        Ok(())
    }

    /// These `creating` items end `failed` with `reason`.
    async fn fail_creating(
        &self,
        ids: impl Iterator<Item = i64>,
        reason: &str,
    ) -> Result<(), Stop> {
        for id in ids {
            self.move_item(id, "creating", "failed", ItemDetail::Reason(reason))
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
                return self
                    .fail_creating(creating.iter().map(|i| i.photo_id), reason)
                    .await;
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
            self.move_item(item.photo_id, "creating", moved.0, moved.1)
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
