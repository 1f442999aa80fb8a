//! One photo of the grid: thumbnail in a fixed 4:3 box (nothing moves while images and
//! scores arrive; a button that opens the photo view), filename, score bar, verification
//! status and blur type (or, until the server has verified it, the browser's preview, marked
//! as such), its AI tags, and the Analyze / Tag / Delete actions. A Google photo whose link expired
//! shows its scores without an image (none is requested) and offers to pick it again.

use shared::api::{ApiBlurType, Photo, VerificationStatus};
use std::rc::Rc;

use yew::prelude::*;

use crate::api;
use crate::components::picker::PickContext;

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

/// A Google photo whose link ran out: its image cannot be fetched until it is picked again.
pub fn link_expired(photo: &Photo) -> bool {
    photo.link_expired
        || photo
            .error
            .as_deref()
            .is_some_and(|e| e.starts_with("link_expired"))
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
    /// The photo was opened (its image clicked, or Enter on it).
    pub on_open: Callback<i64>,
    /// The photo is selected for a bulk action.
    #[prop_or_default]
    pub selected: bool,
    /// Its selection box was clicked: the id, and whether Shift was held (a range).
    pub on_select: Callback<(i64, bool)>,
    /// The preview workers: a card whose photo needs a preview is watched by them, and
    /// judged as it nears the screen (previews of what the user sees, not of every photo
    /// loaded). The card shows the browser's preview score from them (this page's, the
    /// added file's, or the one the server kept) and renders again when it arrives.
    #[prop_or_default]
    pub preview_pool: Option<Rc<crate::previews::Pool>>,
    /// The user's threshold, once loaded (the preview's verdict is judged against it).
    #[prop_or_default]
    pub threshold: Option<f64>,
    /// "Tag" was pressed; `None` while AI tagging is off (no button then).
    #[prop_or_default]
    pub on_tag: Option<Callback<i64>>,
    /// One of the photo's tags was clicked: show only the photos with it.
    #[prop_or_default]
    pub on_tag_filter: Callback<Option<String>>,
}

/// The photo's AI tags as chips; a click on one filters the grid by it.
pub fn tag_chips(tags: &[String], on_tag_filter: &Callback<Option<String>>) -> Html {
    if tags.is_empty() {
        return html! {};
    }
    html! {
        <ul class="tags" data-testid="tags" aria-label="AI tags">
            { for tags.iter().map(|tag| {
                let pick = tag.clone();
                let onclick = on_tag_filter.reform(move |_: MouseEvent| Some(pick.clone()));
                html! {
                    <li><button type="button" class="tag" {onclick} data-tag={tag.clone()}
                                title={format!("Show the photos tagged {tag}")}>{ tag }</button></li>
                }
            }) }
        </ul>
    }
}

/// What the card says of a photo's score: the verified one when there is one, else the
/// browser's preview, marked as such.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Shown {
    /// The server's verified score and verdict.
    Verified {
        /// The score.
        score: f64,
        /// The verdict (under the user's threshold).
        blurred: bool,
        /// The preview said the other verdict.
        preview_differs: bool,
    },
    /// Only the browser's preview so far.
    Preview {
        /// The score.
        score: f64,
        /// Its verdict under the threshold, once the threshold is known.
        blurred: Option<bool>,
    },
    /// Nothing yet.
    Nothing,
}

/// The rule for [`Shown`]: the verified score always wins; a preview whose verdict (under the
/// same threshold) differs from it is pointed out.
pub fn shown(photo: &Photo, preview: Option<f64>, threshold: Option<f64>) -> Shown {
    let preview_blurred = |s: f64| threshold.map(|t| s >= t);
    match (photo.blur_score, photo.is_blurred, preview) {
        (Some(score), Some(blurred), preview) => Shown::Verified {
            score,
            blurred,
            preview_differs: preview
                .and_then(preview_blurred)
                .is_some_and(|p| p != blurred),
        },
        (_, _, Some(score)) => Shown::Preview {
            score,
            blurred: preview_blurred(score),
        },
        _ => Shown::Nothing,
    }
}

/// Where a Google photo's image would be, when it cannot be shown: why, and "Re-pick to
/// refresh" (picking it again gives the server a fresh link).
fn placeholder(photo: &Photo, expired: bool, pick: Option<&PickContext>) -> Html {
    let (class, text) = if expired {
        ("link-expired", "Link expired")
    } else {
        ("image-unavailable", "Image unavailable")
    };
    let blocked = pick.map_or(Some("Picking from Google Photos is not available."), |p| {
        p.blocked
    });
    let onclick = pick.map(|p| p.start.reform(|_: MouseEvent| ()));
    html! {
        <div class={classes!("thumb-placeholder", class)} data-testid={class}>
            <span class="placeholder-text">{ text }</span>
            <button type="button" class="repick" onclick={onclick} disabled={blocked.is_some()}
                    title={blocked} aria-label={format!("Re-pick to refresh {}", photo.filename)}
                    data-testid="repick">
                {"Re-pick to refresh"}
            </button>
        </div>
    }
}

/// One card.
#[component]
pub fn PhotoCard(props: &PhotoCardProps) -> Html {
    let p = &props.photo;
    let pick_context = use_context::<PickContext>();
    // `data-preview-from`: `page` (this page's worker, from the analysis image), `file` (from
    // the file as it was added) or `server` (kept by the server).
    let (preview, preview_from) = crate::previews::use_card_preview(props.preview_pool.clone(), p);
    let card = use_node_ref();
    {
        let card = card.clone();
        let pool = props.preview_pool.clone();
        let wanted = crate::previews::needs_preview(p);
        let file = crate::previews::file_key(p);
        use_effect_with((p.id, wanted, pool.is_some()), move |(_, wanted, _)| {
            let watching = pool
                .filter(|_| *wanted)
                .zip(card.cast::<web_sys::Element>())
                .and_then(|(pool, element)| pool.watch(&element, file));
            move || drop(watching)
        });
    }
    let expired = link_expired(p);
    let google = p.source == "google";
    // An image can fail (a Google link run out since the page loaded, Google busy, an upload
    // cut short): the card then says so instead of showing a broken image. A changed photo
    // gets another try.
    let broken = use_state_eq(|| false);
    {
        let broken = broken.clone();
        use_effect_with((p.id, p.link_expired, p.processed_at), move |_| {
            broken.set(false);
        });
    }
    let id = p.id;
    let open = props.on_open.reform(move |_: MouseEvent| id);
    let thumb = if expired || (google && *broken) {
        placeholder(p, expired, pick_context.as_ref())
    } else if *broken {
        // An upload whose pixels cannot be read (a file cut short): words, not a broken image.
        html! {
            <button type="button" class="thumb-open thumb-missing" onclick={open}
                    aria-label={format!("No image: the file cannot be read (open {})", p.filename)}
                    data-testid="open">
                <span class="placeholder-text">{"No image: the file cannot be read"}</span>
            </button>
        }
    } else {
        let onerror = {
            let broken = broken.clone();
            Callback::from(move |_: Event| broken.set(true))
        };
        html! {
            <button type="button" class="thumb-open" onclick={open}
                    aria-label={format!("Open {}", p.filename)} data-testid="open">
                <img src={api::thumb_url(p.id)} alt={p.filename.clone()} loading="lazy"
                     decoding="async" width="320" height="240" {onerror} />
            </button>
        }
    };
    let (status_class, status_text) = status_label(p.status);
    let view = shown(p, preview, props.threshold);
    let meter = p.blur_score.or(preview);
    let (verdict, score, preview_note) = match view {
        Shown::Verified {
            score,
            blurred,
            preview_differs,
        } => (
            if blurred { "blurred" } else { "clear" },
            Some(score),
            preview_differs.then_some("Verified: the browser's preview said otherwise"),
        ),
        Shown::Preview { score, blurred } => (
            match blurred {
                Some(true) => "preview-blurred",
                Some(false) => "preview-clear",
                None => "unknown",
            },
            Some(score),
            Some(match blurred {
                Some(true) => "Preview: blurred (the server verifies it)",
                Some(false) => "Preview: clear (the server verifies it)",
                None => "Preview (the server verifies it)",
            }),
        ),
        Shown::Nothing => ("unknown", None, None),
    };
    let score_text = score.map_or_else(|| "–".to_string(), |s| format!("{s:.2}"));
    let score = score.unwrap_or(0.0).clamp(0.0, 1.0);
    let on_analyze = props.on_analyze.reform(move |_: MouseEvent| id);
    let on_delete = props.on_delete.reform(move |_: MouseEvent| id);
    let analyze_label = if p.status == VerificationStatus::Done {
        "Re-analyze"
    } else {
        "Analyze"
    };
    let busy = props.working || p.status == VerificationStatus::Queued;
    let on_select = props
        .on_select
        .reform(move |e: MouseEvent| (id, e.shift_key()));
    html! {
        <li ref={card} class={classes!("card", verdict, props.selected.then_some("selected"))}
            data-testid="photo-card" data-photo-id={id.to_string()} data-status={status_class}
            data-verdict={verdict} data-selected={props.selected.to_string()}
            data-preview={preview.map(|s| s.to_string())}
            data-preview-from={preview_from}>
            <div class="thumb">
                { thumb }
                <input type="checkbox" class="select" checked={props.selected} onclick={on_select}
                       aria-label={format!("Select {}", p.filename)} data-testid="select" />
            </div>
            <div class="card-body">
                <p class="filename" title={p.filename.clone()}>{ &p.filename }</p>
                <div class="score">
                    // A meter only when there is a score to read (verified, or the preview);
                    // without one the bar is empty and the status says why.
                    <div class="score-bar" role={meter.map(|_| "meter")}
                         aria-label={meter.map(|_| "Blur score")}
                         aria-valuemin={meter.map(|_| "0")} aria-valuemax={meter.map(|_| "1")}
                         aria-valuenow={meter.map(|s| format!("{s:.2}"))}
                         aria-valuetext={meter.map(|_| score_text.clone())}
                         aria-hidden={meter.is_none().then_some("true")}>
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
                if let Some(note) = preview_note {
                    <p class="preview-note" data-testid="preview-note">{ note }</p>
                }
                { tag_chips(&p.tags, &props.on_tag_filter) }
                if let Some(error) = &p.error {
                    // Visible, not a tooltip: the reason decides what the user does next.
                    <p class="failure" data-testid="failure">{ format!("Failed: {error}") }</p>
                }
                <div class="actions">
                    <button type="button" onclick={on_analyze} disabled={busy}
                            aria-label={format!("{analyze_label} {}", p.filename)}
                            data-testid="analyze">{ analyze_label }</button>
                    if let Some(on_tag) = &props.on_tag {
                        <button type="button" onclick={on_tag.reform(move |_: MouseEvent| id)}
                                disabled={busy}
                                aria-label={format!("Tag {} with AI", p.filename)}
                                title="Describe it with AI tags (asks first: the photo is sent to the model's provider)"
                                data-testid="tag">{"Tag"}</button>
                    }
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
    fn the_verified_score_wins_and_a_differing_preview_is_pointed_out() {
        let mut photo: Photo = match serde_json::from_value(serde_json::json!({
            "id": 1, "filename": "a.jpg", "source": "local", "mime_type": null,
            "size_bytes": null, "width": null, "height": null, "blur_score": null,
            "is_blurred": null, "blur_type": null, "motion_angle_deg": null,
            "preview_score": null, "status": "queued", "verified": false, "error": null,
            "processed_at": null, "created_at": 0
        })) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(shown(&photo, None, Some(0.5)), Shown::Nothing);
        assert_eq!(
            shown(&photo, Some(0.7), Some(0.5)),
            Shown::Preview {
                score: 0.7,
                blurred: Some(true)
            }
        );
        assert_eq!(
            shown(&photo, Some(0.7), None),
            Shown::Preview {
                score: 0.7,
                blurred: None
            }
        );
        photo.blur_score = Some(0.4);
        photo.is_blurred = Some(false);
        assert_eq!(
            shown(&photo, Some(0.7), Some(0.5)),
            Shown::Verified {
                score: 0.4,
                blurred: false,
                preview_differs: true
            }
        );
        assert_eq!(
            shown(&photo, Some(0.45), Some(0.5)),
            Shown::Verified {
                score: 0.4,
                blurred: false,
                preview_differs: false
            }
        );
    }

    #[test]
    fn an_unverified_photo_shows_no_blur_type() {
        assert_eq!(blur_type_label(None), "");
        assert_eq!(blur_type_label(Some(ApiBlurType::Motion)), "camera shake");
    }

    #[test]
    fn a_photo_link_expires_by_flag_or_by_its_jobs_error() {
        let mut photo: Photo = match serde_json::from_value(serde_json::json!({
            "id": 1, "filename": "a.jpg", "source": "google", "mime_type": null,
            "size_bytes": null, "width": null, "height": null, "blur_score": 0.2,
            "is_blurred": false, "blur_type": "none", "motion_angle_deg": null,
            "preview_score": null, "status": "done", "verified": true, "error": null,
            "processed_at": 1, "created_at": 0
        })) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert!(!link_expired(&photo), "link_expired defaults to false");
        photo.error = Some("link_expired: pick it again".into());
        assert!(link_expired(&photo));
        photo.error = Some("google_unavailable: later".into());
        assert!(!link_expired(&photo));
        photo.link_expired = true;
        assert!(link_expired(&photo));
    }
}
