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

fn upload_view(upload: &UploadProgress) -> Html {
    let text = if upload.finished {
        format!(
            "Uploaded {} of {} files ({} stored).",
            upload.sent, upload.total, upload.stored
        )
    } else {
        format!("Uploading… {} of {} files", upload.sent, upload.total)
    };
    html! {
        <div class="activity-row" data-testid="upload-progress"
             data-sent={upload.sent.to_string()} data-total={upload.total.to_string()}
             data-finished={upload.finished.to_string()}>
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
            { previews.map(|p| file_preview_view(&p.state, library.threshold)).unwrap_or_default() }
            { library.batch.as_ref().map(|b| batch_view(b, library.streaming)).unwrap_or_default() }
            if let Some(error) = &library.error {
                <p class="error" role="alert" data-testid="activity-error">{ error }</p>
            }
        </div>
    }
}
