//! The `picker_import` job (`JobKind::PickerImport`): list every page of a Picker session's
//! items, store each photo by Google's persistent id (picking a photo again refreshes it, never
//! duplicates it), skip videos with a reason, queue verification at once (the links live 60
//! minutes), record the result, then delete the session at Google.
//!
//! Idempotent: a retry lists and upserts again; a session already recorded as imported only
//! has its Google session deleted.

use serde::{Deserialize, Serialize};

use super::{JobError, JobKind, google_job_error};
use crate::app::Deps;
use crate::db::jobs::JobRow;
use crate::db::photos::{self, Selection};
use crate::db::picker::{self, PickedPhoto, SessionRow};
use crate::google::picker::{PickedMediaItem, parse_duration, parse_time_ms};
use crate::google::{Google, GoogleError, account, scopes};
use crate::time::now_ms;

/// What an import job names.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImportPayload {
    /// Google's Picker session id.
    pub session_id: String,
    /// The photo quota of the server that queued the import (`CLASSIFY_QUOTA_PHOTOS`; 0: none).
    /// Carried here because workers are configured apart from the web side.
    #[serde(default)]
    pub max_photos: u64,
}

/// Base URLs live 60 minutes from the listing; we count 55, so a link is never used at the
/// very edge of its life.
const LINK_LIFE_MS: i64 = 55 * 60 * 1000;

/// More pages than 2,000 items could ever fill, even with empty pages between: a session
/// that never ends its pages is Google misbehaving, not a reason to loop forever.
const MAX_PAGES: usize = 200;

/// Why an item was skipped.
const SKIPPED_VIDEO: &str = "videos are not analysed";

/// Runs one import.
pub async fn run(deps: &Deps, job: &JobRow) -> Result<(), JobError> {
    let payload: ImportPayload = serde_json::from_str(&job.payload)
        .map_err(|e| JobError::Permanent(format!("bad import payload: {e}")))?;
    let user_id = job
        .user_id
        .ok_or_else(|| JobError::Permanent("the import names no user".into()))?;
    let google = deps
        .google
        .as_deref()
        .ok_or_else(|| JobError::Permanent("Google is not configured on this server".into()))?;
    let Some(session) = picker::get(deps.db.pool(), user_id, &payload.session_id)
        .await
        .map_err(|e| JobError::Retryable(e.to_string()))?
    else {
        // The user (or their account) is gone: nothing to import.
        return Ok(());
    };
    if session.job_id != Some(job.id) {
        // Another sync's job claimed the session; that one imports it.
        return Ok(());
    }
    let outcome = import(deps, google, user_id, &session, payload.max_photos).await;
    if let Err(e) = &outcome
        && !e.is_transient()
    {
        let _ = picker::set_status(
            deps.db.pool(),
            &session.id,
            "failed",
            Some(&format!("{}: {e}", e.code())),
        )
        .await;
    }
    outcome.map_err(|e| google_job_error(&e))
}

async fn import(
    deps: &Deps,
    google: &Google,
    user_id: i64,
    session: &SessionRow,
    max_photos: u64,
) -> Result<(), GoogleError> {
    let token = account::access_token(google, &deps.db, user_id, scopes::PICKER).await?;
    if session.status != "imported" {
        let listed_at = now_ms();
        let mut photo_ids = Vec::new();
        let mut skipped = 0_i64;
        let mut over_quota = 0_i64;
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_PAGES {
            let page = google
                .list_items(&token, &session.id, page_token.as_deref())
                .await?;
            // One transaction per page: one commit instead of one per photo. The user's row is
            // locked first, as uploads do, so an upload and an import count one after another.
            let mut tx = deps.db.pool().begin().await?;
            let mut held = photos::lock_usage(&mut tx, user_id).await?.photos;
            for item in &page.media_items {
                let Some(photo) = picked_photo(item, listed_at + LINK_LIFE_MS) else {
                    skipped += 1;
                    continue;
                };
                // A photo picked again is refreshed whatever the quota; a new one needs room.
                let known = picker::photo_id(&mut tx, user_id, &photo.google_id).await?;
                if known.is_none()
                    && max_photos > 0
                    && u64::try_from(held).unwrap_or(0) >= max_photos
                {
                    over_quota += 1;
                    continue;
                }
                photo_ids.push(picker::upsert_photo(&mut tx, user_id, &photo).await?);
                if known.is_none() {
                    held += 1;
                }
            }
            tx.commit().await?;
            // A page may be empty and still carry a token: only a missing token ends the list.
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page_token = Some(next),
                None => {
                    page_token = None;
                    break;
                }
            }
        }
        if page_token.is_some() {
            return Err(GoogleError::Protocol(format!(
                "the picked items did not end after {MAX_PAGES} pages"
            )));
        }
        photo_ids.sort_unstable();
        photo_ids.dedup();
        let queued = super::enqueue_for_photos(
            deps,
            user_id,
            JobKind::VerifyPhoto,
            &Selection::Ids(&photo_ids),
        )
        .await?;
        picker::record_import(
            deps.db.pool(),
            &session.id,
            photo_ids.len() as i64,
            skipped + over_quota,
            skipped_reason(skipped, over_quota, max_photos).as_deref(),
            Some(queued.batch_id),
        )
        .await?;
        tracing::info!(
            user_id,
            imported = photo_ids.len(),
            skipped,
            batch_id = queued.batch_id,
            "Picker session imported"
        );
    }
    // Google asks apps to delete sessions they are done with; the photos are stored already,
    // so a failure here is only logged.
    if let Err(e) = google.delete_session(&token, &session.id).await {
        tracing::warn!(error = %e, session = %session.id, "could not delete the Picker session");
    }
    Ok(())
}

/// Why items were skipped, as the session reports it: the quota first (the user can act on
/// it), then videos.
fn skipped_reason(videos: i64, over_quota: i64, max_photos: u64) -> Option<String> {
    match (videos, over_quota) {
        (_, 0) if videos > 0 => Some(SKIPPED_VIDEO.to_string()),
        (0, 0) => None,
        (0, n) => Some(format!(
            "{n} not imported: your library is full ({max_photos} photos allowed)"
        )),
        (_, n) => Some(format!(
            "{n} not imported: your library is full ({max_photos} photos allowed); {SKIPPED_VIDEO}"
        )),
    }
}

/// The photo an item describes, or `None` for what we do not analyse (videos, items without
/// a file).
fn picked_photo(item: &PickedMediaItem, link_expires_at: i64) -> Option<PickedPhoto> {
    if item.kind.as_deref() == Some("VIDEO") {
        return None;
    }
    let file = item.media_file.as_ref()?;
    if file.base_url.is_empty() {
        return None;
    }
    let meta = file.media_file_metadata.clone().unwrap_or_default();
    let photo = meta.photo_metadata.clone().unwrap_or_default();
    Some(PickedPhoto {
        google_id: item.id.clone(),
        // Google's names are the uploader's: cleaned like an upload's.
        filename: crate::photos::clean_filename(file.filename.as_deref()),
        mime_type: file.mime_type.clone(),
        width: meta.width,
        height: meta.height,
        taken_at: item.create_time.as_deref().and_then(parse_time_ms),
        exposure_time_s: photo
            .exposure_time
            .as_deref()
            .and_then(parse_duration)
            .map(|d| d.as_secs_f64()),
        focal_length_mm: photo.focal_length,
        aperture_f_number: photo.aperture_f_number,
        iso: photo.iso_equivalent,
        camera_make: meta.camera_make,
        camera_model: meta.camera_model,
        base_url: file.base_url.clone(),
        base_url_expires_at: link_expires_at,
    })
}
