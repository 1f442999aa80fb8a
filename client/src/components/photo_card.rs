//! One photo of the grid: thumbnail in a fixed 4:3 box (nothing moves while images and
//! scores arrive), filename, score bar, verification status and blur type, and the
//! Analyze / Delete actions.

use shared::api::{ApiBlurType, Photo, VerificationStatus};
use yew::prelude::*;

use crate::api;

/// The status badge: a CSS class / `data-status` value and the words shown.
pub fn status_label(status: VerificationStatus) -> (&'static str, &'static str) {
    match status {
        VerificationStatus::Done => ("verified", "verified"),
        VerificationStatus::Queued => ("queued", "queued"),
        VerificationStatus::Failed => ("failed", "failed"),
        VerificationStatus::Unprocessed => ("unprocessed", "not analysed"),
    }
}

/// How a blur type reads on a card.
pub fn blur_type_label(blur_type: Option<ApiBlurType>) -> &'static str {
    match blur_type {
        Some(ApiBlurType::Motion) => "camera shake",
        Some(ApiBlurType::Defocus) => "out of focus",
        Some(ApiBlurType::None) => "sharp",
        None => "",
    }
}

/// Properties of [`PhotoCard`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct PhotoCardProps {
    /// The photo.
    pub photo: Photo,
    /// An Analyze or Delete request for this photo is under way.
    #[prop_or_default]
    pub working: bool,
    /// "Analyze" was pressed.
    pub on_analyze: Callback<i64>,
    /// "Delete" was pressed.
    pub on_delete: Callback<i64>,
}

/// One card.
#[component]
pub fn PhotoCard(props: &PhotoCardProps) -> Html {
    let p = &props.photo;
    let (status_class, status_text) = status_label(p.status);
    let verdict = match p.is_blurred {
        Some(true) => "blurred",
        Some(false) => "clear",
        None => "unknown",
    };
    let score = p.blur_score.unwrap_or(0.0).clamp(0.0, 1.0);
    let score_text = p
        .blur_score
        .map_or_else(|| "–".to_string(), |s| format!("{s:.2}"));
    let id = p.id;
    let on_analyze = props.on_analyze.reform(move |_: MouseEvent| id);
    let on_delete = props.on_delete.reform(move |_: MouseEvent| id);
    let analyze_label = if p.status == VerificationStatus::Done {
        "Re-analyze"
    } else {
        "Analyze"
    };
    let busy = props.working || p.status == VerificationStatus::Queued;
    html! {
        <li class={classes!("card", verdict)} data-testid="photo-card"
            data-photo-id={id.to_string()} data-status={status_class} data-verdict={verdict}>
            <div class="thumb">
                <img src={api::thumb_url(id)} alt={p.filename.clone()} loading="lazy"
                     decoding="async" width="320" height="240" />
            </div>
            <div class="card-body">
                <p class="filename" title={p.filename.clone()}>{ &p.filename }</p>
                <div class="score">
                    <div class="score-bar" role="meter" aria-label="Blur score"
                         aria-valuemin="0" aria-valuemax="1"
                         aria-valuenow={p.blur_score.map(|s| format!("{s:.2}"))}
                         aria-valuetext={score_text.clone()}>
                        <span class={classes!("score-fill", verdict)}
                              style={format!("width: {:.1}%", score * 100.0)} />
                    </div>
                    <span class="score-value" data-testid="score">{ score_text }</span>
                </div>
                <p class="status-line">
                    <span class={classes!("status", status_class)}
                          title={p.error.clone()} data-testid="status">{ status_text }</span>
                    <span class="muted">{ blur_type_label(p.blur_type) }</span>
                </p>
                if let Some(error) = &p.error {
                    <p class="visually-hidden">{ format!("Verification failed: {error}") }</p>
                }
                <div class="actions">
                    <button type="button" onclick={on_analyze} disabled={busy}
                            aria-label={format!("{analyze_label} {}", p.filename)}
                            data-testid="analyze">{ analyze_label }</button>
                    <button type="button" class="danger" onclick={on_delete} disabled={props.working}
                            aria-label={format!("Delete {}", p.filename)}
                            data-testid="delete">{"Delete"}</button>
                </div>
            </div>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_has_its_own_badge() {
        let all = [
            VerificationStatus::Unprocessed,
            VerificationStatus::Queued,
            VerificationStatus::Done,
            VerificationStatus::Failed,
        ];
        let mut classes: Vec<_> = all.iter().map(|s| status_label(*s).0).collect();
        classes.sort_unstable();
        classes.dedup();
        assert_eq!(classes.len(), all.len());
        assert_eq!(status_label(VerificationStatus::Done).1, "verified");
    }

    #[test]
    fn an_unverified_photo_shows_no_blur_type() {
        assert_eq!(blur_type_label(None), "");
        assert_eq!(blur_type_label(Some(ApiBlurType::Motion)), "camera shake");
    }
}
