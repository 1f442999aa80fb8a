//! The shell: header, sidebar tabs and the page of the current tab. The current tab follows
//! the URL fragment, so links, reloads and the back button work. The shell owns the shared
//! [`Library`] state (threshold, refresh revision, upload and batch progress) and hands it to
//! every page as a context.

use gloo_events::EventListener;
use yew::prelude::*;

use crate::components::ThresholdSlider;
use crate::library::Library;
use crate::pages::{DebugPage, GalleryPage, StatisticsPage};
use crate::tabs::Tab;

fn current_tab() -> Tab {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| Tab::from_hash(&h))
        .unwrap_or(Tab::All)
}

/// The whole app.
#[component]
pub fn App() -> Html {
    let tab = use_state(current_tab);
    let library = use_reducer(Library::default);
    {
        let tab = tab.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window().map(|window| {
                EventListener::new(&window, "hashchange", move |_| tab.set(current_tab()))
            });
            move || drop(listener)
        });
    }
    let page = match *tab {
        Tab::Statistics => html! { <StatisticsPage /> },
        Tab::Debug => html! { <DebugPage /> },
        gallery => html! { <GalleryPage tab={gallery} /> },
    };
    html! {
        <ContextProvider<crate::library::LibraryHandle> context={library}>
        <div class="shell">
            <header class="header">
                <a class="logo" href="#/all" aria-label="Classify home">
                    <span class="logo-mark" aria-hidden="true">{"◎"}</span>
                    <span>{"Classify"}</span>
                </a>
                <div class="header-tools">
                    <ThresholdSlider />
                    <span class="mode" title="No Google account is configured: photos stay on this machine">
                        {"Local mode"}
                    </span>
                </div>
            </header>
            <nav class="sidebar" aria-label="Views">
                <ul>
                    { for Tab::ALL.into_iter().map(|t| {
                        let current = t == *tab;
                        html! {
                            <li>
                                <a href={t.href()}
                                   class={classes!("tab", current.then_some("active"))}
                                   aria-current={current.then_some("page")}
                                   id={format!("tab-{}", t.slug())}>
                                    { t.label() }
                                </a>
                            </li>
                        }
                    }) }
                </ul>
            </nav>
            <main class="content" id="content">{ page }</main>
        </div>
        </ContextProvider<crate::library::LibraryHandle>>
    }
}
