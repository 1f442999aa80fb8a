//! The user's long-running work: uploading files in chunks, then verifying the unprocessed
//! photos and following the batch (by its server-sent events, else by polling) until it ends.
//! Progress goes to the shared [`Library`](crate::library::Library) state, so any page can show
//! it; [`watch_batch`] follows any batch for a caller that keeps its own state.

use std::ops::Range;

use gloo_timers::future::TimeoutFuture;
use shared::api::{JobAccepted, JobProgress, PhotoFilter};

use crate::api::{self, ApiError};
use crate::library::{BatchKind, LibraryAction, LibraryHandle, Refused, Stored, batch_finished};

/// Files per upload request: the server accepts at most 16.
pub const FILES_PER_REQUEST: usize = 16;
/// Bytes per upload request beyond which a chunk is closed early, so one request stays well
/// inside the server's 30-second timeout on a slow link. A single larger file goes alone.
pub const BYTES_PER_REQUEST: f64 = 48.0 * 1024.0 * 1024.0;
/// How often a batch's progress is polled.
pub const POLL_MS: u32 = 500;
/// Polls that may fail in a row (a restarting server) before the page gives up.
const POLL_RETRIES: u32 = 10;

/// Splits files (given by size) into consecutive chunks of at most `max_files` files and,
/// unless one file alone is larger, at most `max_bytes` bytes.
pub fn plan_chunks(sizes: &[f64], max_files: usize, max_bytes: f64) -> Vec<Range<usize>> {
    let mut chunks = Vec::new();
    let mut start = 0;
    let mut bytes = 0.0;
    for (i, size) in sizes.iter().enumerate() {
        let full = i - start >= max_files.max(1) || (i > start && bytes + size > max_bytes);
        if full {
            chunks.push(start..i);
            start = i;
            bytes = 0.0;
        }
        bytes += size;
    }
    if start < sizes.len() {
        chunks.push(start..sizes.len());
    }
    chunks
}

/// Whether the browser should send a file: images, and files whose type it does not know
/// (the server judges by content). Anything the browser knows is not an image is skipped.
pub fn worth_sending(mime: &str) -> bool {
    mime.is_empty() || mime.starts_with("image/")
}

/// Uploads `files`, then verifies every unprocessed photo and follows the batch.
pub async fn upload_and_verify(library: LibraryHandle, files: Vec<web_sys::File>) {
    let (files, skipped): (Vec<_>, Vec<_>) =
        files.into_iter().partition(|f| worth_sending(&f.type_()));
    library.dispatch(LibraryAction::UploadStarted {
        total: files.len() + skipped.len(),
    });
    if !skipped.is_empty() {
        library.dispatch(LibraryAction::UploadChunk {
            sent: skipped.len(),
            stored: Stored::default(),
            refused: skipped
                .iter()
                .map(|f| Refused {
                    filename: f.name(),
                    reason: format!("not an image ({})", f.type_()),
                })
                .collect(),
        });
    }
    let sizes: Vec<f64> = files.iter().map(|f| f.size()).collect();
    let mut stored = Stored::default();
    for range in plan_chunks(&sizes, FILES_PER_REQUEST, BYTES_PER_REQUEST) {
        let chunk = &files[range];
        match upload_chunk(chunk).await {
            Ok((ok, refused)) => {
                stored += ok;
                library.dispatch(LibraryAction::UploadChunk {
                    sent: chunk.len(),
                    stored: ok,
                    refused,
                });
            }
            Err(e) => {
                library.dispatch(LibraryAction::Failed(format!(
                    "Upload stopped: {}",
                    e.message()
                )));
                library.dispatch(LibraryAction::Refresh);
                return;
            }
        }
    }
    library.dispatch(LibraryAction::UploadFinished);
    if stored.new + stored.already > 0 {
        verify_unprocessed(library).await;
    }
}

/// Sends one chunk; answers how many photos were stored (new, or already in the library) and
/// which files were refused.
/// When the server refuses the whole chunk it names only its first reason, so the files
/// are then sent one by one to give each refused file its own reason.
async fn upload_chunk(chunk: &[web_sys::File]) -> Result<(Stored, Vec<Refused>), ApiError> {
    match api::upload(chunk).await {
        Ok(response) => Ok((
            Stored::of(&response),
            response
                .rejected
                .into_iter()
                .map(|r| Refused::new(r.filename, &r.message))
                .collect(),
        )),
        Err(e) if e.is_client_error() && chunk.len() > 1 => {
            let mut stored = Stored::default();
            let mut refused = Vec::new();
            for file in chunk {
                let (ok, mut no) = Box::pin(upload_chunk(std::slice::from_ref(file))).await?;
                stored += ok;
                refused.append(&mut no);
            }
            Ok((stored, refused))
        }
        Err(e) if e.is_client_error() => Ok((
            Stored::default(),
            chunk
                .iter()
                .map(|f| Refused::new(f.name(), &e.message()))
                .collect(),
        )),
        Err(e) => Err(e),
    }
}

/// Queues verification of every unprocessed photo and follows the batch.
pub async fn verify_unprocessed(library: LibraryHandle) {
    verify_category(library, PhotoFilter::Unprocessed).await;
}

/// Queues verification of every photo of `filter` (the unprocessed, or the failed to retry
/// them) and follows the batch.
pub async fn verify_category(library: LibraryHandle, filter: PhotoFilter) {
    match api::analyze_filter(filter).await {
        Ok(accepted) => follow(library, accepted).await,
        Err(e) => library.dispatch(LibraryAction::Failed(format!(
            "Could not queue verification: {}",
            e.message()
        ))),
    }
}

/// Follows a batch to its end, reporting each step (see [`follow_batch_of`]).
pub async fn follow(library: LibraryHandle, accepted: JobAccepted) {
    follow_batch(library, accepted.batch_id).await;
}

/// Follows the batch `batch_id` to its end, reporting each step (also the verification an
/// import of Google photos queued).
pub async fn follow_batch(library: LibraryHandle, batch_id: i64) {
    follow_batch_of(library, batch_id, BatchKind::Verify).await;
}

/// [`follow_batch`] for a batch of any kind, with its progress, the views' refetches and how
/// it is followed going to the shared state.
pub async fn follow_batch_of(library: LibraryHandle, batch_id: i64, kind: BatchKind) {
    library.dispatch(LibraryAction::Streaming(true));
    let followed = watch_batch(batch_id, |heard| match heard {
        Heard::Progress(progress) => library.dispatch(LibraryAction::Batch(progress, kind)),
        Heard::Verdicts => library.dispatch(LibraryAction::Refresh),
        Heard::Polling => library.dispatch(LibraryAction::Streaming(false)),
    })
    .await;
    if let Err(e) = followed {
        library.dispatch(LibraryAction::Failed(format!(
            "Lost track of the {}: {}",
            match kind {
                BatchKind::Verify => "verification",
                BatchKind::Tag => "tagging",
            },
            e.message()
        )));
    }
}

/// What following a batch hears, in order.
#[derive(Debug)]
pub enum Heard {
    /// The batch's progress (the last one says it ended).
    Progress(JobProgress),
    /// Verdicts arrived since the views last refetched (at most once a second while the
    /// batch streams), so cards can change as the batch goes rather than all at its end.
    Verdicts,
    /// The stream could not be had (a proxy that buffers it, the user's stream limit
    /// reached) or broke before the end: polling takes over.
    Polling,
}

/// Follows the batch `batch_id` to its end, by its server-sent events, else by polling every
/// [`POLL_MS`]; `heard` is told each step. `Err` when polling too loses the batch (the server
/// refuses the request, or is unreachable for [`POLL_RETRIES`] polls in a row).
pub async fn watch_batch(batch_id: i64, mut heard: impl FnMut(Heard)) -> Result<(), ApiError> {
    if follow_events(batch_id, &mut heard).await.is_ok() {
        return Ok(());
    }
    heard(Heard::Polling);
    poll_batch(batch_id, &mut heard).await
}

/// The least time between two refetches of the views while a batch streams its progress.
const REFRESH_EVERY_MS: f64 = 1000.0;

/// Follows `GET /blur/jobs/{id}/events` to the batch's end; `Err` if the stream could not be
/// opened or ended first.
async fn follow_events(batch_id: i64, heard: &mut impl FnMut(Heard)) -> Result<(), ()> {
    use futures_util::StreamExt;
    use gloo_net::eventsource::futures::EventSource;

    let mut source =
        EventSource::new(&format!("/api/v1/blur/jobs/{batch_id}/events")).map_err(|_| ())?;
    let mut events = source.subscribe("progress").map_err(|_| ())?;
    let mut refreshed = (0, js_sys::Date::now());
    while let Some(item) = events.next().await {
        let Ok((_, message)) = item else {
            break;
        };
        let Some(progress) = message
            .data()
            .as_string()
            .and_then(|d| serde_json::from_str::<JobProgress>(&d).ok())
        else {
            continue;
        };
        let finished = batch_finished(&progress);
        let settled = progress.done + progress.failed;
        heard(Heard::Progress(progress));
        if finished {
            source.close();
            return Ok(());
        }
        let now = js_sys::Date::now();
        if settled > refreshed.0 && now - refreshed.1 >= REFRESH_EVERY_MS {
            refreshed = (settled, now);
            heard(Heard::Verdicts);
        }
    }
    source.close();
    Err(())
}

/// Polls the batch every [`POLL_MS`] until it ends.
async fn poll_batch(batch_id: i64, heard: &mut impl FnMut(Heard)) -> Result<(), ApiError> {
    let mut failures = 0;
    loop {
        match api::job(batch_id).await {
            Ok(progress) => {
                failures = 0;
                let finished = batch_finished(&progress);
                heard(Heard::Progress(progress));
                if finished {
                    return Ok(());
                }
            }
            Err(e) if failures >= POLL_RETRIES || e.is_client_error() => return Err(e),
            Err(_) => failures += 1,
        }
        TimeoutFuture::new(POLL_MS).await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn chunks_hold_at_most_sixteen_files() {
        let sizes = vec![1.0; 40];
        assert_eq!(plan_chunks(&sizes, 16, 1e9), vec![0..16, 16..32, 32..40]);
        assert_eq!(plan_chunks(&[], 16, 1e9), Vec::<Range<usize>>::new());
    }

    #[test]
    fn chunks_close_early_on_bytes_but_a_big_file_still_goes() {
        let sizes = [10.0, 10.0, 25.0, 5.0, 100.0, 1.0];
        assert_eq!(plan_chunks(&sizes, 16, 30.0), vec![0..2, 2..4, 4..5, 5..6]);
    }

    #[test]
    fn only_known_non_images_are_skipped() {
        assert!(worth_sending("image/jpeg"));
        assert!(worth_sending(""));
        assert!(!worth_sending("text/plain"));
    }
}
