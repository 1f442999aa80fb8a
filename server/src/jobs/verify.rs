//! The `verify_photo` job (`JobKind::VerifyPhoto`): load the photo's bytes (the stored original
//! of an upload; the working copy of a Google photo, fetched with its owner's token), decode
//! them within the limits, run the shared kernel, store the verdict with its sharpness map.
//! Idempotent: a second delivery stores the same values.

use shared::kernel::BlurType;

use super::{Finished, JobError};
use crate::app::Deps;
use crate::db::photos::PhotoRow;
use crate::db::photos::Source;
use crate::db::{jobs::JobRow, photos, sharpness_map};
use crate::media::decode_gray;
use crate::photos::{PhotoError, remote};

/// The bytes a job works from: the stored original of an upload; the working copy of a Google
/// photo, fetched with its owner's token (Google's links need it, so nothing else may fetch
/// them).
pub(crate) async fn photo_bytes(ctx: &Deps, photo: &PhotoRow) -> Result<bytes::Bytes, JobError> {
    let retry = |e: &dyn std::fmt::Display| JobError::Retryable(e.to_string());
    if photo.source == Source::Google.as_str() {
        Ok(remote::working_copy(ctx, photo)
            .await
            .map_err(|e| match e {
                PhotoError::Google(g) => super::google_job_error(&g),
                PhotoError::Unrenderable(_) | PhotoError::Refused { .. } => {
                    JobError::Permanent(e.to_string())
                }
                other => retry(&other),
            })?
            .0)
    } else {
        let key = photo
            .blob_key
            .as_deref()
            .ok_or_else(|| JobError::Permanent("the photo has no stored image".into()))?;
        ctx.blobs
            .get(key)
            .await
            .map_err(|e| retry(&e))?
            .ok_or_else(|| JobError::Permanent("the stored image is missing".into()))
    }
}

/// Verifies the job's photo (`photo`, read when the job started); the verdict is the worker's
/// to store with the job's end.
pub async fn run(ctx: &Deps, job: &JobRow, photo: Option<PhotoRow>) -> Result<Finished, JobError> {
    let photo_id = job
        .photo_id
        .ok_or_else(|| JobError::Permanent("the job names no photo".into()))?;
    let Some(photo) = photo else {
        // Deleted since it was queued: nothing left to verify.
        return Ok(Finished::Plain);
    };
    let bytes = photo_bytes(ctx, &photo).await?;
    let limits = ctx.limits;
    // Waits while other decodes hold the process's budget; a photo over the whole budget
    // fails its own job with the figures, and never the worker.
    let _reserved = ctx
        .decode_budget
        .reserve(&bytes, crate::media::budget::Purpose::Judge, &limits)
        .await
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    // On the decode threads rather than tokio's blocking pool: back to back with the other
    // consumers' decodes, with no hop through the runtime between two (`media::threads`).
    let report = ctx
        .decode_threads
        .run(move || {
            let decoded = decode_gray(&bytes, &limits).map_err(|e| e.to_string())?;
            decoded.judge().map_err(|e| e.to_string())
        })
        .await
        .map_err(|e| JobError::Permanent(e.to_string()))?
        .map_err(JobError::Permanent)?;
    // Stored as "what kind of blur it is if blurred", so the type follows any threshold.
    let kind = match report.blur_type_at(0.0) {
        BlurType::Motion => "motion",
        BlurType::Defocus | BlurType::None => "defocus",
    };
    // `judge` has turned the map as the photo is shown. A map the stored form cannot hold
    // (none the kernel makes) is left out rather than failing a good verdict.
    let sharpness_map = match sharpness_map::encode(&report.sharpness_map) {
        Ok(bytes) => Some(bytes),
        Err(e) => {
            tracing::warn!(photo_id, error = %e, "sharpness map not stored");
            None
        }
    };
    let verdict = photos::Verdict {
        blur_score: f64::from(report.blur_score),
        blur_kind: kind,
        motion_angle_deg: report.motion_angle_deg.map(f64::from),
        sharpness_map,
    };
    Ok(Finished::Verdict { photo_id, verdict })
}
