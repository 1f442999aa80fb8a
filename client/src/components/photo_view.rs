//! The photo view, for confirming a verdict before acting on it: the photo large, the verdict
//! in words, the score against the threshold, the blur type (an arrow along a camera shake),
//! where the photo is sharp (the kernel's map, laid over the photo on request), when it was
//! taken and with what camera, why it failed, its AI tags (a wrong one can be removed), and
//! Keep / Delete. The arrow keys step through the grid and Escape closes it, as in a
//! photographer's culling tool.

use shared::api::{ApiBlurType, Photo, VerificationStatus};
use shared::kernel::SharpnessMap;
use yew::prelude::*;

use crate::api;
use crate::components::blur_type_label;

/// The verdict in the words used everywhere (tabs, cards, statistics).
pub fn verdict_words(photo: &Photo) -> &'static str {
    match (photo.is_blurred, photo.status) {
        (Some(true), _) => "Blurred",
        (Some(false), _) => "Clear",
        (None, VerificationStatus::Failed) => "Could not be analysed",
        (None, VerificationStatus::Queued) => "Being analysed",
        (None, _) => "Not analysed yet",
    }
}

/// Whether browsers show the original as it is; other files (TIFF, HEIC, …) are shown as
/// their thumbnail, which the server renders from the decoded pixels.
pub fn browser_shows(mime: Option<&str>) -> bool {
    matches!(
        mime,
        Some("image/jpeg" | "image/png" | "image/webp" | "image/gif")
    )
}

/// A date and time in the reader's own locale and time zone.
fn local_time(ms: i64) -> String {
    let date = js_sys::Date::new(&wasm_bindgen::JsValue::from_f64(ms as f64));
    String::from(date.to_locale_string("default", &wasm_bindgen::JsValue::UNDEFINED))
}

/// A file size as people read it: "830 KB", "4.2 MB".
pub fn file_size(bytes: i64) -> String {
    let b = bytes as f64;
    if b >= 1e6 {
        format!("{:.1} MB", b / 1e6)
    } else {
        format!("{:.0} KB", (b / 1e3).max(1.0))
    }
}

/// How a cell of the sharpness map is drawn: its class, which the legend names in words.
pub fn cell_class(value: u8) -> &'static str {
    if value == SharpnessMap::FLAT {
        "flat"
    } else if value >= SharpnessMap::SHARP {
        "sharp"
    } else if value >= SharpnessMap::BLURRED {
        "soft"
    } else {
        "blurred"
    }
}

/// The map in words, for everyone (the overlay itself is hidden from screen readers).
pub fn map_summary(map: &SharpnessMap) -> String {
    let judged = map
        .cells
        .iter()
        .filter(|v| **v != SharpnessMap::FLAT)
        .count();
    let sharp = map
        .cells
        .iter()
        .filter(|v| cell_class(**v) == "sharp")
        .count();
    match judged {
        0 => "No area has enough detail to judge".to_string(),
        1 => format!("Sharp in {sharp} of 1 judged area"),
        n => format!("Sharp in {sharp} of {n} judged areas"),
    }
}

/// A map worth showing: cells that fill its grid, at least one of them.
fn drawable(map: &SharpnessMap) -> bool {
    !map.cells.is_empty() && map.cells.len() == usize::from(map.columns) * usize::from(map.rows)
}

/// The legend's rows: class, words.
const LEGEND: [(&str, &str); 4] = [
    ("sharp", "Sharp"),
    ("soft", "Soft (hatched)"),
    ("blurred", "Blurred (cross-hatched)"),
    ("flat", "Too flat to judge (dotted)"),
];

/// Properties of [`PhotoView`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct PhotoViewProps {
    /// The photo shown.
    pub photo: Photo,
    /// The user's threshold (marked on the score bar), once loaded.
    pub threshold: Option<f64>,
    /// The photo's place in the grid (1-based) and the number of photos loaded.
    pub position: (usize, usize),
    /// Closes the view.
    pub on_close: Callback<()>,
    /// Steps to the previous (-1) or next (+1) photo.
    pub on_step: Callback<isize>,
    /// Deletes the photo (the grid confirms and moves on).
    pub on_delete: Callback<i64>,
    /// A request about this photo is under way.
    #[prop_or_default]
    pub working: bool,
    /// A wrong AI tag is to go: the photo and the tag.
    #[prop_or_default]
    pub on_remove_tag: Callback<(i64, String)>,
}

/// The view, as a modal dialog over the grid.
#[component]
pub fn PhotoView(props: &PhotoViewProps) -> Html {
    let p = &props.photo;
    let dialog = use_node_ref();
    // Focus moves into the dialog when it opens, so the keys work at once and a screen
    // reader announces it; the grid gets focus back when it closes (gallery).
    {
        let dialog = dialog.clone();
        use_effect_with(p.id, move |_| {
            if let Some(el) = dialog.cast::<web_sys::HtmlElement>() {
                let _ = el.focus();
            }
        });
    }
    let fallback = use_state_eq(|| false);
    {
        let fallback = fallback.clone();
        use_effect_with(p.id, move |_| fallback.set(false));
    }
    // The sharpness map comes with the photo's detail, which lists leave out: fetched for a
    // verified photo, again when it is verified anew. An answer for a photo the view has since
    // stepped away from is dropped. The toggle stays as it is while stepping, so culling can
    // go on with the map shown.
    let detail = use_state_eq(|| None::<(i64, Option<i64>, Option<SharpnessMap>)>);
    let showing = use_mut_ref(|| (p.id, p.processed_at));
    *showing.borrow_mut() = (p.id, p.processed_at);
    {
        let detail = detail.clone();
        let showing = showing.clone();
        use_effect_with(
            (p.id, p.processed_at, p.verified),
            move |&(id, at, verified)| {
                if verified {
                    wasm_bindgen_futures::spawn_local(async move {
                        if let Ok(d) = api::photo_detail(id).await
                            && *showing.borrow() == (id, at)
                        {
                            detail.set(Some((id, at, d.sharpness_map)));
                        }
                    });
                }
            },
        );
    }
    let map = (*detail)
        .as_ref()
        .filter(|(id, at, _)| *id == p.id && *at == p.processed_at)
        .and_then(|(_, _, m)| m.clone())
        .filter(drawable);
    let map_on = use_state_eq(|| false);
    let toggle_map = {
        let map_on = map_on.clone();
        Callback::from(move |_: MouseEvent| map_on.set(!*map_on))
    };
    let (index, total) = props.position;
    let has_prev = index > 1;
    let has_next = index < total;
    let onkeydown = {
        let on_close = props.on_close.clone();
        let on_step = props.on_step.clone();
        // Enter and Space keep their meaning on the buttons; the arrows and Escape are the
        // view's own wherever the focus is inside it.
        Callback::from(move |e: KeyboardEvent| match e.key().as_str() {
            "Escape" => {
                e.prevent_default();
                on_close.emit(());
            }
            "ArrowLeft" if has_prev => {
                e.prevent_default();
                on_step.emit(-1);
            }
            "ArrowRight" if has_next => {
                e.prevent_default();
                on_step.emit(1);
            }
            _ => {}
        })
    };
    let src = if browser_shows(p.mime_type.as_deref()) && !*fallback {
        format!("/api/v1/photos/{}/image?size=original", p.id)
    } else {
        api::thumb_url(p.id)
    };
    let onerror = {
        let fallback = fallback.clone();
        Callback::from(move |_: Event| fallback.set(true))
    };
    let verdict = verdict_words(p);
    let verdict_class = match p.is_blurred {
        Some(true) => "blurred",
        Some(false) => "clear",
        None => "unknown",
    };
    let score = p.blur_score.map(|s| s.clamp(0.0, 1.0));
    let threshold = props.threshold.map(|t| t.clamp(0.0, 1.0));
    let against = threshold.map_or_else(String::new, |t| format!(" · threshold {t:.2}"));
    let arrow = match (p.blur_type, p.motion_angle_deg) {
        (Some(ApiBlurType::Motion), Some(angle)) => html! {
            // Counter-clockwise on screen, 0° = horizontal streaks; SVG turns clockwise.
            <svg class="shake-arrow" viewBox="-12 -12 24 24" width="24" height="24"
                 role="img" aria-label={format!("shake direction {angle:.0}°")}
                 data-testid="shake-arrow" data-angle={format!("{angle:.0}")}>
                <g transform={format!("rotate({:.1})", -angle)}>
                    <line x1="-9" y1="0" x2="9" y2="0" />
                    <polyline points="5,-4 9,0 5,4" />
                    <polyline points="-5,-4 -9,0 -5,4" />
                </g>
            </svg>
        },
        _ => html! {},
    };
    let id = p.id;
    let close = props.on_close.reform(|_: MouseEvent| ());
    let prev = props.on_step.reform(|_: MouseEvent| -1);
    let next = props.on_step.reform(|_: MouseEvent| 1);
    let delete = props.on_delete.reform(move |_: MouseEvent| id);
    let mut facts: Vec<(&str, String)> = Vec::new();
    if let Some(taken) = p.taken_at {
        facts.push(("Taken", local_time(taken)));
    }
    facts.push(("Added", local_time(p.created_at)));
    if let Some(camera) = &p.camera {
        if let Some(name) = camera.name() {
            facts.push(("Camera", name));
        }
        let settings = camera.settings();
        if !settings.is_empty() {
            facts.push(("Settings", settings));
        }
    }
    if let (Some(w), Some(h)) = (p.width, p.height) {
        facts.push(("Size", format!("{w} × {h} px")));
    }
    if let Some(bytes) = p.size_bytes {
        facts.push(("File", file_size(bytes)));
    }
    facts.push((
        "Source",
        if p.source == "google" {
            "Google Photos".to_string()
        } else {
            "uploaded".to_string()
        },
    ));
    if let Some(at) = p.processed_at {
        facts.push(("Verified", local_time(at)));
    }
    html! {
        <div class="photo-view-backdrop" onclick={close.clone()} data-testid="photo-view-backdrop">
            <div class="photo-view" role="dialog" aria-modal="true" aria-labelledby="photo-view-title"
                 tabindex="-1" ref={dialog} {onkeydown} data-testid="photo-view"
                 data-photo-id={id.to_string()} data-verdict={verdict_class}
                 onclick={Callback::from(|e: MouseEvent| e.stop_propagation())}>
                <header class="photo-view-header">
                    <h2 id="photo-view-title" data-testid="photo-view-title">{ &p.filename }</h2>
                    <span class="muted" data-testid="photo-view-position">
                        { format!("{index} of {total}") }
                    </span>
                    <button type="button" class="close" onclick={close} aria-label="Close"
                            data-testid="photo-view-close">{"✕"}</button>
                </header>
                <div class="photo-view-body">
                    <figure class="photo-view-image">
                        <div class="photo-frame">
                            <img src={src} alt={p.filename.clone()} decoding="async" {onerror} />
                            if let (Some(m), true) = (&map, *map_on) {
                                // Decoration over the photo, hidden from screen readers: the
                                // summary beside it says the same in words.
                                <div class="sharpness-overlay" aria-hidden="true"
                                     data-testid="sharpness-overlay"
                                     data-columns={m.columns.to_string()} data-rows={m.rows.to_string()}
                                     style={format!("grid-template-columns: repeat({}, 1fr); grid-template-rows: repeat({}, 1fr)", m.columns, m.rows)}>
                                    { for m.cells.iter().map(|v| html! {
                                        <span class={classes!("map-cell", cell_class(*v))}
                                              data-value={v.to_string()} />
                                    }) }
                                </div>
                            }
                        </div>
                    </figure>
                    <aside class="photo-view-facts">
                        <p class={classes!("verdict", verdict_class)} data-testid="photo-view-verdict">
                            { verdict }
                        </p>
                        if let Some(s) = score {
                            <div class="score-bar large" role="meter" aria-label="Blur score"
                                 aria-valuemin="0" aria-valuemax="1"
                                 aria-valuenow={format!("{s:.2}")}
                                 aria-valuetext={format!("{s:.2}{against}")}>
                                <span class={classes!("score-fill", verdict_class)}
                                      style={format!("width: {:.1}%", s * 100.0)} />
                                if let Some(t) = threshold {
                                    <span class="threshold-mark" data-testid="threshold-mark"
                                          data-threshold={format!("{t:.2}")}
                                          style={format!("left: {:.1}%", t * 100.0)}
                                          title={format!("threshold {t:.2}")} />
                                }
                            </div>
                            <p class="muted" data-testid="photo-view-score">
                                { format!("score {s:.2}{against}") }
                            </p>
                        }
                        if p.blur_type.is_some() {
                            <p class="blur-type" data-testid="photo-view-type">
                                { arrow }{ blur_type_label(p.blur_type) }
                            </p>
                        }
                        if let Some(m) = &map {
                            <div class="sharpness" data-testid="sharpness">
                                <button type="button" class="toggle" onclick={toggle_map}
                                        aria-pressed={(*map_on).to_string()}
                                        data-testid="sharpness-toggle">{"Show sharpness"}</button>
                                <p class="muted" data-testid="sharpness-summary">{ map_summary(m) }</p>
                                if *map_on {
                                    <ul class="map-legend" data-testid="sharpness-legend">
                                        { for LEGEND.iter().map(|(class, words)| html! {
                                            <li>
                                                <span class="map-swatch" aria-hidden="true">
                                                    <span class={classes!("map-cell", *class)} />
                                                </span>
                                                { *words }
                                            </li>
                                        }) }
                                    </ul>
                                }
                            </div>
                        }
                        if let Some(error) = &p.error {
                            <p class="error" data-testid="photo-view-error">
                                { format!("Could not be analysed: {error}") }
                            </p>
                        }
                        if !p.tags.is_empty() {
                            <div class="view-tags">
                                <ul class="tags" data-testid="photo-view-tags" aria-label="AI tags">
                                    { for p.tags.iter().map(|tag| {
                                        let pair = (id, tag.clone());
                                        let remove = props.on_remove_tag.reform(move |_: MouseEvent| pair.clone());
                                        html! {
                                            <li class="tag removable" data-tag={tag.clone()}>
                                                { tag }
                                                <button type="button" class="remove-tag" onclick={remove}
                                                        aria-label={format!("Remove the tag {tag}")}
                                                        data-testid="remove-tag">{"×"}</button>
                                            </li>
                                        }
                                    }) }
                                </ul>
                                if let Some(caption) = &p.caption {
                                    <p class="caption muted" data-testid="photo-view-caption">{ caption }</p>
                                }
                                if let Some(model_blurred) = p.looks_blurred {
                                    <p class="muted model-opinion">
                                        { format!("The tagging model found it {}.", if model_blurred { "blurred" } else { "sharp" }) }
                                    </p>
                                }
                            </div>
                        }
                        <dl class="facts">
                            { for facts.into_iter().map(|(k, v)| html! {
                                <><dt>{ k }</dt><dd>{ v }</dd></>
                            }) }
                        </dl>
                        <div class="actions">
                            <button type="button" onclick={next.clone()} disabled={!has_next}
                                    title="Keep this photo and show the next one (→)"
                                    data-testid="photo-view-keep">{"Keep"}</button>
                            <button type="button" class="danger" onclick={delete}
                                    disabled={props.working}
                                    data-testid="photo-view-delete">{"Delete"}</button>
                        </div>
                        <div class="stepper">
                            <button type="button" onclick={prev} disabled={!has_prev}
                                    aria-label="Previous photo" data-testid="photo-view-prev">{"← Previous"}</button>
                            <button type="button" onclick={next} disabled={!has_next}
                                    aria-label="Next photo" data-testid="photo-view-next">{"Next →"}</button>
                        </div>
                    </aside>
                </div>
            </div>
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_verdict_reads_the_same_words_as_the_tabs() {
        let mut photo: Photo = match serde_json::from_value(serde_json::json!({
            "id": 1, "filename": "a.jpg", "source": "local", "mime_type": "image/jpeg",
            "size_bytes": 1, "width": 1, "height": 1, "blur_score": 0.9,
            "is_blurred": true, "blur_type": "motion", "motion_angle_deg": 10.0,
            "preview_score": null, "status": "done", "verified": true, "error": null,
            "processed_at": 1, "created_at": 0
        })) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert_eq!(verdict_words(&photo), "Blurred");
        photo.is_blurred = Some(false);
        assert_eq!(verdict_words(&photo), "Clear");
        photo.is_blurred = None;
        photo.status = VerificationStatus::Failed;
        assert_eq!(verdict_words(&photo), "Could not be analysed");
        photo.status = VerificationStatus::Unprocessed;
        assert_eq!(verdict_words(&photo), "Not analysed yet");
    }

    #[test]
    fn only_formats_browsers_draw_are_shown_as_originals() {
        assert!(browser_shows(Some("image/jpeg")));
        assert!(browser_shows(Some("image/webp")));
        assert!(!browser_shows(Some("image/tiff")));
        assert!(!browser_shows(None));
    }

    #[test]
    fn map_cells_read_as_the_legend_says() {
        assert_eq!(cell_class(100), "sharp");
        assert_eq!(cell_class(SharpnessMap::SHARP), "sharp");
        assert_eq!(cell_class(SharpnessMap::SHARP - 1), "soft");
        assert_eq!(cell_class(SharpnessMap::BLURRED), "soft");
        assert_eq!(cell_class(SharpnessMap::BLURRED - 1), "blurred");
        assert_eq!(cell_class(0), "blurred");
        assert_eq!(cell_class(SharpnessMap::FLAT), "flat");
        // Every class drawn has a row in the legend.
        for v in 0..=255u8 {
            let class = cell_class(v);
            assert!(LEGEND.iter().any(|(c, _)| *c == class), "{v}: {class}");
        }
    }

    #[test]
    fn the_map_summary_counts_judged_areas_only() {
        let map = |cells: Vec<u8>| SharpnessMap {
            columns: cells.len() as u16,
            rows: 1,
            cells,
        };
        assert_eq!(
            map_summary(&map(vec![90, 10, SharpnessMap::FLAT, 45, 30])),
            "Sharp in 2 of 4 judged areas"
        );
        assert_eq!(
            map_summary(&map(vec![5, SharpnessMap::FLAT])),
            "Sharp in 0 of 1 judged area"
        );
        assert_eq!(
            map_summary(&map(vec![SharpnessMap::FLAT; 3])),
            "No area has enough detail to judge"
        );
        assert!(drawable(&map(vec![1, 2])));
        assert!(!drawable(&map(Vec::new())));
        assert!(!drawable(&SharpnessMap {
            columns: 2,
            rows: 2,
            cells: vec![1, 2, 3],
        }));
    }

    #[test]
    fn file_sizes_read_in_kilo_and_megabytes() {
        assert_eq!(file_size(830_000), "830 KB");
        assert_eq!(file_size(4_200_000), "4.2 MB");
        assert_eq!(file_size(10), "1 KB");
    }
}
