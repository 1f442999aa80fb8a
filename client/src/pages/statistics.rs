//! The Statistics tab: counts per category, blur types, and the histogram of verified scores
//! with the threshold drawn on it, from `GET /api/v1/stats`. It refetches when the shared
//! library revision grows (a batch ended, the threshold moved).

use std::rc::Rc;

use shared::api::Stats;
use yew::prelude::*;

use crate::api;
use crate::components::Histogram;
use crate::library::LibraryHandle;

#[derive(Debug, Clone, PartialEq)]
enum Loaded {
    Loading,
    Ready(Rc<Stats>),
    Failed(String),
}

/// The rows of the counts table: label, `data-testid` suffix, value.
pub fn count_rows(s: &Stats) -> [(&'static str, &'static str, i64); 5] {
    [
        ("All photos", "total", s.total),
        ("Clear", "clear", s.not_blurred),
        ("Blurred", "blurred", s.blurred),
        ("Unprocessed", "unprocessed", s.unprocessed),
        ("Failed", "failed", s.failed),
    ]
}

/// The statistics page.
#[component]
pub fn StatisticsPage() -> Html {
    let library = use_context::<LibraryHandle>();
    let revision = library.as_ref().map_or(0, |l| l.revision);
    let stats = use_state(|| Loaded::Loading);

    {
        let stats = stats.clone();
        use_effect_with(revision, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                stats.set(match api::stats().await {
                    Ok(s) => Loaded::Ready(Rc::new(s)),
                    Err(e) => Loaded::Failed(e.to_string()),
                });
            });
        });
    }

    let body = match &*stats {
        Loaded::Loading => html! { <p class="muted">{"Loading…"}</p> },
        Loaded::Failed(e) => html! { <p class="error" role="alert">{ e }</p> },
        Loaded::Ready(s) if s.total == 0 => html! {
            <div class="empty" role="status" data-testid="stats-empty">
                <div class="empty-icon" aria-hidden="true">{"▁▃▅"}</div>
                <h2>{"No statistics yet"}</h2>
                <p>{"Counts per category, a histogram of blur scores with your threshold, and blur types appear once photos are analysed."}</p>
            </div>
        },
        Loaded::Ready(s) => html! {
            <>
                <h2>{"Photos"}</h2>
                <dl class="counts" data-testid="counts">
                    { for count_rows(s).into_iter().map(|(label, id, value)| html! {
                        <div class={classes!("count", id, (value > 0).then_some("nonzero"))}>
                            <dt>{ label }</dt>
                            <dd data-testid={format!("stat-{id}")}>{ value }</dd>
                        </div>
                    }) }
                </dl>
                <h2>{"Blur types"}</h2>
                <dl class="counts types">
                    <div class="count"><dt>{"Camera shake"}</dt><dd data-testid="stat-motion">{ s.by_type.motion }</dd></div>
                    <div class="count"><dt>{"Out of focus"}</dt><dd data-testid="stat-defocus">{ s.by_type.defocus }</dd></div>
                </dl>
                <h2>{"Blur scores"}</h2>
                <Histogram bins={s.histogram.clone()} threshold={s.blur_threshold} />
                if s.ai_audit.tagged > 0 {
                    <h2>{"The tagging model's opinion"}</h2>
                    <p data-testid="ai-audit" data-tagged={s.ai_audit.tagged.to_string()}
                       data-disagreements={s.ai_audit.disagreements.to_string()}>
                        { audit_text(&s.ai_audit) }
                    </p>
                }
            </>
        },
    };

    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{"Statistics"}</h1>
            { body }
        </section>
    }
}

/// How often the vision model and the kernel disagree, in words: a cheap audit of the kernel
/// on the user's own photos.
pub fn audit_text(a: &shared::api::AiAudit) -> String {
    let share = if a.tagged > 0 {
        100.0 * a.disagreements as f64 / a.tagged as f64
    } else {
        0.0
    };
    format!(
        "Of {} tagged photos, the model found {} blurred; it disagrees with the blur verdict on {} ({share:.0} %).",
        a.tagged, a.model_says_blurred, a.disagreements
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::TypeCounts;

    #[test]
    fn the_audit_says_how_often_model_and_kernel_disagree() {
        let text = audit_text(&shared::api::AiAudit {
            tagged: 40,
            model_says_blurred: 12,
            disagreements: 3,
        });
        assert_eq!(
            text,
            "Of 40 tagged photos, the model found 12 blurred; it disagrees with the blur verdict on 3 (8 %)."
        );
    }

    #[test]
    fn the_counts_name_each_category_once() {
        let s = Stats {
            total: 10,
            blurred: 3,
            not_blurred: 5,
            unprocessed: 2,
            failed: 1,
            blur_threshold: 0.5,
            by_type: TypeCounts::default(),
            histogram: vec![],
            ai_audit: Default::default(),
        };
        let rows = count_rows(&s);
        assert_eq!(
            rows.map(|r| r.2),
            [10, 5, 3, 2, 1],
            "total, clear, blurred, unprocessed, failed"
        );
    }
}
