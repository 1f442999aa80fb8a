//! The progress of the user's work: "Uploaded n of N", the files refused with the server's
//! reason, the added files previewed in the browser meanwhile, and the verification or tagging
//! batch (done / failed / total). It is an `aria-live` region,
//! so screen readers announce each step.

use yew::prelude::*;

use crate::library::{BatchKind, BatchProgress, LibraryHandle, UploadProgress};
use crate::previews::{PreviewHandle, Previews};

/// What the browser found in the added files while they upload: judged, of asked, and how
/// many of those look blurred under `threshold`.
pub fn file_preview_text(previews: &Previews, threshold: f64) -> Option<String> {
    if previews.files_asked == 0 {
        return None;
    }
    let judged = previews.files.len() + previews.files_failed;
    let blurred = previews.files.values().filter(|s| **s >= threshold).count();
    Some(format!(
        "Previewed in your browser: {judged} of {} files, {blurred} look blurred.",
        previews.files_asked
    ))
}

fn file_preview_view(previews: &Previews, threshold: Option<f64>) -> Html {
    let Some(text) = threshold.and_then(|t| file_preview_text(previews, t)) else {
        return html! {};
    };
    html! {
        <div class="activity-row muted" data-testid="file-previews"
             data-judged={previews.files.len().to_string()}
             data-asked={previews.files_asked.to_string()}>
            { text }
        </div>
    }
}

/// What a finished upload did, in words: new photos, files already in the library (not stored
/// twice), and the refused ones counted (each is named once, below).
pub fn upload_summary(upload: &UploadProgress) -> String {
    let plural = |n: usize, one: &str, many: &str| {
        if n == 1 {
            format!("1 {one}")
        } else {
            format!("{n} {many}")
        }
    };
    let mut parts = vec![format!("{} new", upload.stored.new)];
    if upload.stored.already > 0 {
        parts.push(format!("{} already in your library", upload.stored.already));
    }
    if !upload.refused.is_empty() {
        parts.push(format!("{} refused", upload.refused.len()));
    }
    format!(
        "Uploaded {}: {}.",
        plural(upload.total, "file", "files"),
        parts.join(", ")
    )
}

fn upload_view(upload: &UploadProgress) -> Html {
    let text = if upload.finished {
        upload_summary(upload)
    } else {
        format!("Uploading… {} of {} files", upload.sent, upload.total)
    };
    html! {
        <div class="activity-row" data-testid="upload-progress"
             data-sent={upload.sent.to_string()} data-total={upload.total.to_string()}
             data-finished={upload.finished.to_string()}
             data-new={upload.stored.new.to_string()}
             data-already={upload.stored.already.to_string()}>
            <progress max={upload.total.max(1).to_string()} value={upload.sent.to_string()}
                      aria-label="Upload progress" />
            <span>{ text }</span>
            if !upload.refused.is_empty() {
                <details class="refused" open=true>
                    <summary>{ format!("{} file(s) refused", upload.refused.len()) }</summary>
                    <ul data-testid="refused">
                        { for upload.refused.iter().map(|r| html! {
                            <li><strong>{ &r.filename }</strong>{": "}{ &r.reason }</li>
                        }) }
                    </ul>
                </details>
            }
        </div>
    }
}

fn batch_view(batch: &BatchProgress, streaming: bool) -> Html {
    let p = &batch.progress;
    let finished = p.done + p.failed;
    let (label, text) = match (batch.kind, batch.finished) {
        (BatchKind::Verify, true) => (
            "Verification progress",
            format!(
                "Verification finished: {} verified, {} failed, of {}.",
                p.done, p.failed, p.total
            ),
        ),
        (BatchKind::Verify, false) => (
            "Verification progress",
            format!(
                "Verifying… {} of {} ({} failed)",
                finished, p.total, p.failed
            ),
        ),
        (BatchKind::Tag, true) => (
            "Tagging progress",
            format!(
                "Tagging finished: {} tagged, {} failed, of {}.",
                p.done, p.failed, p.total
            ),
        ),
        (BatchKind::Tag, false) => (
            "Tagging progress",
            format!("Tagging… {} of {} ({} failed)", finished, p.total, p.failed),
        ),
    };
    html! {
        <div class="activity-row" data-testid="batch-progress"
             data-kind={match batch.kind { BatchKind::Verify => "verify", BatchKind::Tag => "tag" }}
             data-via={if streaming { "events" } else { "polling" }}
             data-done={p.done.to_string()} data-failed={p.failed.to_string()}
             data-total={p.total.to_string()} data-finished={batch.finished.to_string()}>
            <progress max={p.total.max(1).to_string()} value={finished.to_string()}
                      aria-label={label} />
            <span>{ text }</span>
        </div>
    }
}

/// The progress region (empty until the user starts something).
#[component]
pub fn ActivityPanel() -> Html {
    let Some(library) = use_context::<LibraryHandle>() else {
        return html! {};
    };
    let previews = use_context::<PreviewHandle>();
    html! {
        <div class="activity" aria-live="polite" data-testid="activity">
            { library.upload.as_ref().map(upload_view).unwrap_or_default() }
            { previews.map(|p| file_preview_view(&p.pool.state(), library.threshold)).unwrap_or_default() }
            { library.batch.as_ref().map(|b| batch_view(b, library.streaming)).unwrap_or_default() }
            if let Some(error) = &library.error {
                <p class="error" role="alert" data-testid="activity-error">{ error }</p>
            }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::library::{Refused, Stored};

    fn upload(new: usize, already: usize, refused: &[&str]) -> UploadProgress {
        UploadProgress {
            sent: new + already + refused.len(),
            total: new + already + refused.len(),
            stored: Stored { new, already },
            refused: refused
                .iter()
                .map(|f| Refused {
                    filename: (*f).into(),
                    reason: "the file is empty".into(),
                })
                .collect(),
            finished: true,
        }
    }

    #[test]
    fn duplicates_read_as_already_in_the_library_not_as_stored() {
        assert_eq!(
            upload_summary(&upload(3, 0, &[])),
            "Uploaded 3 files: 3 new."
        );
        assert_eq!(
            upload_summary(&upload(12, 4, &[])),
            "Uploaded 16 files: 12 new, 4 already in your library."
        );
        assert_eq!(
            upload_summary(&upload(0, 1, &["empty.jpg"])),
            "Uploaded 2 files: 0 new, 1 already in your library, 1 refused."
        );
        assert_eq!(
            upload_summary(&upload(1, 0, &[])),
            "Uploaded 1 file: 1 new."
        );
    }
}
