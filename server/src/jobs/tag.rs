//! The `tag_photo` job (`JobKind::TagPhoto`): a downsized JPEG of the photo (no larger than the
//! model looks at for the configured detail; a Google photo's from the same authorised working
//! copy verification uses) goes to the vision model as a data URL, within the deployment's
//! token budget; the normalised tags, caption and blur opinion are stored, and the tokens
//! every answer really used are added to the job's row.
//!
//! Failures: rate limits, 5xx and network errors were already retried inside
//! `Tagging::tag`; if they persist the job is retried by the queue. `insufficient_quota` fails
//! this job and, at once, every job of its batch still queued (they cannot succeed). A refusal,
//! a truncated answer, invalid JSON or empty tags fail this photo with that reason. Idempotent:
//! a second delivery replaces the tags with an equal answer.

use super::{JobError, JobKind};
use crate::app::Deps;
use crate::db::{jobs::JobRow, photos, tags};
use crate::media::budget::Purpose;
use crate::tagging::{TagError, VisionImage, vision_size};

/// Tags the job's photo.
pub async fn run(ctx: &Deps, job: &JobRow) -> Result<(), JobError> {
    let retry = |e: &dyn std::fmt::Display| JobError::Retryable(e.to_string());
    let photo_id = job
        .photo_id
        .ok_or_else(|| JobError::Permanent("the job names no photo".into()))?;
    let tagging = ctx.tagging.clone();
    if !tagging.enabled() {
        return Err(JobError::Permanent(format!(
            "{}: {}",
            TagError::Disabled.code(),
            TagError::Disabled
        )));
    }
    let Some(photo) = photos::get_any(&ctx.db, photo_id)
        .await
        .map_err(|e| retry(&e))?
    else {
        // Deleted since it was queued: nothing left to tag.
        return Ok(());
    };
    let bytes = super::verify::photo_bytes(ctx, &photo).await?;
    let detail = tagging.detail;
    // The long side the JPEG may have: 512 at low detail, 2048 at high or auto.
    let long = vision_size(detail, 8192, 1).0;
    let limits = ctx.limits;
    // Waits while other decodes hold the process's budget, as verification does.
    let reserved = ctx
        .decode_budget
        .reserve(&bytes, Purpose::Vision(long), &limits)
        .await
        .map_err(|e| JobError::Permanent(e.to_string()))?;
    let (jpeg, width, height) = tokio::task::spawn_blocking(move || {
        crate::media::render::vision_jpeg(&bytes, &limits, |w, h| vision_size(detail, w, h))
    })
    .await
    .map_err(|_| JobError::Permanent("preparing the image panicked".into()))?
    .map_err(|e| JobError::Permanent(e.to_string()))?;
    drop(reserved);
    let image = VisionImage {
        jpeg,
        width,
        height,
    };
    let (result, used) = tagging.tag(ctx.db.pool(), &image).await;
    // What the deployment spends, for the operator's dashboards (Prometheus, /metrics).
    let model = tagging.model.clone();
    metrics::counter!("classify_tagging_tokens_total", "model" => model.clone(), "kind" => "prompt")
        .increment(u64::try_from(used.prompt_tokens).unwrap_or(0));
    metrics::counter!("classify_tagging_tokens_total", "model" => model.clone(), "kind" => "completion")
        .increment(u64::try_from(used.completion_tokens).unwrap_or(0));
    let outcome = match &result {
        Ok(_) => "tagged",
        Err(e) => e.code(),
    };
    metrics::counter!("classify_tagging_photos_total", "model" => model, "outcome" => outcome)
        .increment(1);
    if used.prompt_tokens + used.completion_tokens > 0 {
        // Accounting only: a failure here must not lose the answer (or repeat a paid request).
        if let Err(e) = tags::add_job_usage(
            ctx.db.pool(),
            job.id,
            used.prompt_tokens,
            used.completion_tokens,
        )
        .await
        {
            tracing::warn!(job_id = job.id, error = %e, "could not record the tokens used");
        }
    }
    let answer = match result {
        Ok(answer) => answer,
        Err(e) => return Err(failed(ctx, job, &e).await),
    };
    let tagged = tags::Tagged {
        photo_id,
        tags: &answer.tags,
        caption: &answer.caption,
        looks_blurred: answer.looks_blurred,
        model: &tagging.model,
    };
    // The answer is paid for: a database hiccup is retried here rather than by running the
    // job (and paying) again.
    let mut tries = 0;
    loop {
        tries += 1;
        match tags::store(ctx.db.pool(), &tagged).await {
            Ok(_) => return Ok(()),
            Err(e) if tries < STORE_TRIES => {
                tracing::warn!(job_id = job.id, error = %e, "storing the tags failed; trying again");
                tokio::time::sleep(std::time::Duration::from_millis(100 * tries)).await;
            }
            Err(e) => return Err(retry(&e)),
        }
    }
}

/// Attempts at storing an answer before the job is retried.
const STORE_TRIES: u64 = 4;

/// The job's error for a tagging failure; out of quota also fails the rest of the batch.
async fn failed(ctx: &Deps, job: &JobRow, e: &TagError) -> JobError {
    let reason = format!("{}: {e}", e.code());
    if matches!(e, TagError::InsufficientQuota(_)) {
        match tags::batch_of(ctx.db.pool(), job.id).await {
            Ok(Some(batch_id)) => {
                match tags::fail_queued_in_batch(
                    ctx.db.pool(),
                    batch_id,
                    JobKind::TagPhoto.as_str(),
                    &reason,
                )
                .await
                {
                    Ok(n) => tracing::warn!(
                        batch_id,
                        failed = n,
                        "out of quota: the rest of the tagging batch failed"
                    ),
                    Err(e) => {
                        tracing::warn!(batch_id, error = %e, "out of quota, and the rest of the batch could not be failed")
                    }
                }
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(job_id = job.id, error = %e, "could not find the job's batch"),
        }
        return JobError::Permanent(reason);
    }
    if e.is_transient() {
        JobError::Retryable(reason)
    } else {
        JobError::Permanent(reason)
    }
}
