//! The Debug tab: live health of the server's dependencies (polled from `/health/services`)
//! and whether the preview Web Worker starts.

use std::rc::Rc;

use gloo_timers::callback::Interval;
use gloo_worker::Spawnable;
use shared::api::{ServiceStatus, ServicesReport};
use yew::prelude::*;

use crate::api::{self, ApiError};
use crate::format;
use crate::preview::{PreviewRequest, PreviewResponse, PreviewWorker};

/// How often the tab refreshes, in milliseconds.
const REFRESH_MS: u32 = 5_000;

#[derive(Debug, Clone, PartialEq)]
enum Health {
    Loading,
    Loaded(Rc<ServicesReport>),
    Failed(ApiError),
}

fn status_label(status: ServiceStatus) -> &'static str {
    match status {
        ServiceStatus::Up => "up",
        ServiceStatus::Down => "down",
    }
}

/// The debug page.
#[component]
pub fn DebugPage() -> Html {
    let health = use_state(|| Health::Loading);
    let worker = use_state(|| None::<String>);

    {
        let health = health.clone();
        use_effect_with((), move |_| {
            let refresh = move || {
                let health = health.clone();
                wasm_bindgen_futures::spawn_local(async move {
                    health.set(match api::services().await {
                        Ok(report) => Health::Loaded(Rc::new(report)),
                        Err(e) => Health::Failed(e),
                    });
                });
            };
            refresh();
            let interval = Interval::new(REFRESH_MS, refresh);
            move || drop(interval)
        });
    }

    {
        let worker = worker.clone();
        use_effect_with((), move |_| {
            let bridge = PreviewWorker::spawner()
                .callback(move |response| match response {
                    PreviewResponse::Pong { version, .. } => {
                        worker.set(Some(format!("ready (v{version})")))
                    }
                    PreviewResponse::Judged { .. } | PreviewResponse::JudgedFile { .. } => {}
                })
                .spawn("/worker.js");
            bridge.send(PreviewRequest::Ping(1));
            move || drop(bridge)
        });
    }

    let services = match &*health {
        Health::Loading => html! { <p class="muted">{"Checking…"}</p> },
        Health::Failed(e) => html! {
            <p class="error" role="alert" id="health-error">{ e.to_string() }</p>
        },
        Health::Loaded(report) => html! {
            <>
                <p id="overall" data-status={status_label(report.status)}>
                    {"Overall: "}
                    <span class={classes!("badge", status_label(report.status))}>
                        { status_label(report.status) }
                    </span>
                    <span class="muted">
                        { format!(" · version {} · up {}", report.version, format::uptime(report.uptime_s)) }
                    </span>
                </p>
                // On a narrow screen the table scrolls inside its own box, not the page.
                <div class="table-scroll" role="region" aria-label="Services" tabindex="0">
                <table class="services">
                    <thead>
                        <tr><th>{"Service"}</th><th>{"Backend"}</th><th>{"Status"}</th><th>{"Latency"}</th><th>{"Detail"}</th></tr>
                    </thead>
                    <tbody>
                        { for report.services.iter().map(|s| html! {
                            <tr data-service={s.name.clone()} data-status={status_label(s.status)}>
                                <td>{ &s.name }</td>
                                <td>{ &s.kind }</td>
                                <td><span class={classes!("badge", status_label(s.status))}>{ status_label(s.status) }</span></td>
                                <td>{ format::latency(s.latency_ms) }</td>
                                <td class="muted">{ s.error.clone().unwrap_or_default() }</td>
                            </tr>
                        }) }
                    </tbody>
                </table>
                </div>
            </>
        },
    };

    let previews = use_context::<crate::previews::PreviewHandle>();
    let preview_stats = previews.map(|h| {
        use crate::previews::percentile;
        let t = h.pool.timings();
        let state = h.pool.state();
        let ms = |v: Option<f64>| v.map(|m| format!("{m:.1}"));
        let median = percentile(&t.on_screen, 0.5);
        let p95 = percentile(&t.on_screen, 0.95);
        let (long_tasks, longest) = crate::long_tasks::summary();
        html! {
            <>
            <p id="preview-stats" data-workers={h.pool.size().to_string()}
               data-count={t.asked.len().to_string()}
               data-seen={t.on_screen.len().to_string()}
               data-files={state.files.len().to_string()}
               data-median-ms={ms(median)} data-p95-ms={ms(p95)}
               data-asked-median-ms={ms(percentile(&t.asked, 0.5))}
               data-asked-p95-ms={ms(percentile(&t.asked, 0.95))}
               data-fetch-median-ms={ms(percentile(&t.fetch, 0.5))}
               data-judge-median-ms={ms(percentile(&t.judge, 0.5))}>
                { format!("Instant preview: {} workers; {} photos asked for, {} answered on this page", h.pool.size(), h.pool.asked(), t.asked.len()) }
                if let (Some(m), Some(p)) = (median, p95) {
                    { format!(", {} median, {} p95 from coming on screen to the score", crate::format::latency(m), crate::format::latency(p)) }
                }
                if let (Some(f), Some(j)) = (percentile(&t.fetch, 0.5), percentile(&t.judge, 0.5)) {
                    { format!(" (a worker's median: {} fetching the image, {} judging it)", crate::format::latency(f), crate::format::latency(j)) }
                }
                if state.files_asked > 0 {
                    { format!("; {} of {} added files previewed from the file", state.files.len(), state.files_asked) }
                }
                if !state.failed.is_empty() {
                    { format!("; {} could not be previewed", state.failed.len()) }
                }
            </p>
            if crate::long_tasks::recorded() {
                <p id="long-tasks" data-count={long_tasks.to_string()}
                   data-longest-ms={format!("{longest:.0}")}>
                    { format!("Main-thread tasks over 50 ms since the page opened: {long_tasks}") }
                    if long_tasks > 0 {
                        { format!(" (longest {})", crate::format::latency(longest)) }
                    }
                </p>
            }
            </>
        }
    });

    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{"Debug"}</h1>
            <h2>{"Services"}</h2>
            { services }
            <h2>{"Browser"}</h2>
            <p id="preview-worker" data-status={if worker.is_some() { "up" } else { "starting" }}>
                {"Preview worker: "}
                { (*worker).clone().unwrap_or_else(|| "starting…".to_string()) }
            </p>
            { for preview_stats }
            <p class="muted">
                {"Raw reports: "}
                <a href="/health/services">{"/health/services"}</a>{" · "}
                <a href="/health/ready">{"/health/ready"}</a>{" · "}
                <a href="/metrics">{"/metrics"}</a>
            </p>
        </section>
    }
}
