//! Google photos' media: fetched from the photo's base URL with its owner's token, and held in
//! the blob store for at most [`CACHE_TTL_MS`] (Google's policy allows 60 minutes): every entry
//! is recorded in `media_cache` with its age, never served past its life, and deleted by
//! [`purge`]. One *working copy* per photo ([`WORK_SIDE`] pixels on the long side) feeds the
//! verification, the thumbnail and the analysis image, so they all see the same pixels and
//! Google is asked once.

use bytes::Bytes;

use super::{PhotoError, keys};
use crate::app::Deps;
use crate::db::photos::PhotoRow;
use crate::db::{media_cache, picker};
use crate::google::media::MediaParam;
use crate::google::{GoogleError, account, scopes};
use crate::media::ImageSize;
use crate::time::now_ms;

/// Long side of the working copy asked from Google: twice the kernel's working resolution, so
/// our own resize (the same as for uploads) makes the kernel's input. `examples/google_size.rs`
/// measures its agreement with full-size analysis on the dev set.
pub const WORK_SIDE: u32 = 1024;

/// Longest that Google media is kept or served: well inside Google's 60 minutes, leaving room
/// for the purge interval.
pub const CACHE_TTL_MS: i64 = 50 * 60 * 1000;

/// How often [`purge`] runs in `serve` and `worker`.
pub const PURGE_EVERY: std::time::Duration = std::time::Duration::from_secs(60);

fn google_of(deps: &Deps) -> Result<&crate::google::Google, PhotoError> {
    deps.google
        .as_deref()
        .ok_or(PhotoError::Google(GoogleError::NotConnected))
}

/// A cached entry if it is still young enough.
async fn cached(deps: &Deps, key: &str) -> Result<Option<(Bytes, i64)>, PhotoError> {
    let Some(stored_at) = media_cache::stored_at(deps.db.pool(), key).await? else {
        return Ok(None);
    };
    if stored_at <= now_ms() - CACHE_TTL_MS {
        return Ok(None);
    }
    Ok(deps.blobs.get(key).await?.map(|b| (b, stored_at)))
}

/// Records first, then stores: a crash between the two leaves a record without a blob (a
/// miss), never a blob the purge does not know about.
async fn keep(deps: &Deps, row: &PhotoRow, key: &str, bytes: Bytes) -> Result<i64, PhotoError> {
    let stored_at = media_cache::record(deps.db.pool(), key, row.user_id, row.id).await?;
    deps.blobs.put(key, bytes).await?;
    Ok(stored_at)
}

/// The owner's access token and the photo's live link; `LinkExpired` when the link is gone.
async fn link(deps: &Deps, row: &PhotoRow) -> Result<(String, String), PhotoError> {
    let google = google_of(deps)?;
    let base_url = match &row.base_url {
        Some(url) if !row.link_expired(now_ms()) => url.clone(),
        _ => return Err(PhotoError::Google(GoogleError::LinkExpired)),
    };
    let token = account::access_token(google, &deps.db, row.user_id, scopes::PICKER).await?;
    Ok((token, base_url))
}

/// The working copy of a Google photo: from the cache, else fetched (`=wN-hN`) and cached.
pub async fn working_copy(deps: &Deps, row: &PhotoRow) -> Result<(Bytes, i64), PhotoError> {
    let key = keys::google_media(row.user_id, row.id, "work");
    if let Some(hit) = cached(deps, &key).await? {
        return Ok(hit);
    }
    let (token, base_url) = link(deps, row).await?;
    let bytes = google_of(deps)?
        .fetch_media(
            &token,
            &base_url,
            MediaParam::Fit(WORK_SIDE),
            deps.limits.max_bytes,
        )
        .await?;
    let stored_at = keep(deps, row, &key, bytes.clone()).await?;
    Ok((bytes, stored_at))
}

/// A derived image (thumbnail, analysis) of a Google photo, rendered from the working copy the
/// way uploads are rendered, and cached with the working copy's age (never beyond it).
pub async fn derived(
    deps: &Deps,
    row: &PhotoRow,
    size: ImageSize,
) -> Result<(Bytes, i64), PhotoError> {
    let key = keys::google_media(row.user_id, row.id, size.as_str());
    if let Some(hit) = cached(deps, &key).await? {
        return Ok(hit);
    }
    let _rendering = deps.renders.lock(&key).await;
    if let Some(hit) = cached(deps, &key).await? {
        return Ok(hit);
    }
    let (work, _) = working_copy(deps, row).await?;
    let bytes = super::render_within_budget(deps, work, size).await?;
    let stored_at = keep(deps, row, &key, bytes.clone()).await?;
    Ok((bytes, stored_at))
}

/// The original bytes (`=d`: EXIF kept, location removed by Google), fetched each time and
/// never stored.
pub async fn original(deps: &Deps, row: &PhotoRow) -> Result<Bytes, PhotoError> {
    let (token, base_url) = link(deps, row).await?;
    Ok(google_of(deps)?
        .fetch_media(
            &token,
            &base_url,
            MediaParam::Download,
            deps.limits.max_bytes,
        )
        .await?)
}

/// What one purge removed.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Purged {
    /// Cached media entries deleted.
    pub media: u64,
    /// Expired base URLs forgotten.
    pub links: u64,
}

/// Deletes Google media older than the cache's life, and forgets expired base URLs. Every
/// replica runs it; each step is idempotent.
pub async fn purge(deps: &Deps, now: i64) -> Result<Purged, PhotoError> {
    let mut purged = Purged::default();
    loop {
        let keys = media_cache::older_than(deps.db.pool(), now - CACHE_TTL_MS, 500).await?;
        if keys.is_empty() {
            break;
        }
        for key in &keys {
            deps.blobs.delete(key).await?;
            media_cache::forget(deps.db.pool(), key).await?;
            purged.media += 1;
        }
    }
    purged.links = picker::clear_expired_links(deps.db.pool(), now).await?;
    Ok(purged)
}

/// Runs [`purge`] every [`PURGE_EVERY`] until `shutdown` fires.
pub async fn purge_loop(deps: Deps, shutdown: tokio_util::sync::CancellationToken) {
    loop {
        match purge(&deps, now_ms()).await {
            Ok(p) if p.media > 0 || p.links > 0 => {
                tracing::debug!(
                    media = p.media,
                    links = p.links,
                    "purged expired Google media"
                );
            }
            Ok(_) => {}
            Err(e) => tracing::warn!(error = %e, "could not purge expired Google media"),
        }
        tokio::select! {
            _ = shutdown.cancelled() => return,
            _ = tokio::time::sleep(PURGE_EVERY) => {}
        }
    }
}
