//! The shell: header, sidebar tabs and the page of the current tab. It follows
//! `/api/v1/auth/me`: nobody signed in (with Google sign-in configured) gets the sign-in
//! screen instead; the local user gets the app with the "Local mode" badge; a Google user gets
//! their menu, "Pick photos" and, when Google cannot be used, the banner that says why.
//!
//! The current tab follows the URL fragment, so links, reloads and the back button work. The
//! shell owns the shared [`Library`] state (threshold, refresh revision, upload and batch
//! progress) and the pick flow, and hands them to every page as contexts.

use gloo_events::EventListener;
use std::rc::Rc;

use yew::prelude::*;

use crate::account::{self, Account, AccountHandle};
use crate::components::picker::{PickContext, PickerStatus, use_picker};
use crate::components::{GoogleBanner, ThresholdSlider, UserMenu};
use crate::library::{Library, LibraryAction, LibraryHandle};
use crate::pages::{AlbumsPage, DebugPage, GalleryPage, SignInPage, StatisticsPage};
use crate::previews::{Pool, PreviewProvider};
use crate::tabs::Tab;

fn current_tab() -> Tab {
    web_sys::window()
        .and_then(|w| w.location().hash().ok())
        .map(|h| Tab::from_hash(&h))
        .unwrap_or(Tab::All)
}

fn logo() -> Html {
    html! {
        <a class="logo" href="#/all" aria-label="Classify home">
            <span class="logo-mark" aria-hidden="true">{"◎"}</span>
            <span>{"Classify"}</span>
        </a>
    }
}

/// The skip link's click: the focus moves to the page's content. The URL fragment names the
/// tab, so the link must not change it.
fn skip_to_content() -> Callback<MouseEvent> {
    Callback::from(|e: MouseEvent| {
        e.prevent_default();
        let main = web_sys::window()
            .and_then(|w| w.document())
            .and_then(|d| d.get_element_by_id("content"));
        if let Some(main) =
            main.and_then(|m| wasm_bindgen::JsCast::dyn_into::<web_sys::HtmlElement>(m).ok())
        {
            let _ = main.focus();
        }
    })
}

/// The whole app: asks who is there, then shows the sign-in screen or the shell.
#[component]
pub fn App() -> Html {
    let account = use_reducer(Account::default);
    {
        let account = account.clone();
        use_effect_with((), move |_| account::load(account));
    }
    use_effect_with((), |_| {
        crate::install::register_service_worker();
        crate::long_tasks::start();
    });
    match &*account {
        Account::Loading => html! {
            <div class="shell bare">
                <header class="header">{ logo() }</header>
                <main class="content" id="content">
                    <p class="muted" role="status">{"Loading…"}</p>
                </main>
            </div>
        },
        Account::SignedOut => html! {
            <div class="shell bare">
                <header class="header">{ logo() }</header>
                <main class="content" id="content"><SignInPage /></main>
            </div>
        },
        _ => html! { <Shell account={account.clone()} /> },
    }
}

/// Properties of [`Shell`].
#[derive(Clone, PartialEq, Properties)]
struct ShellProps {
    account: AccountHandle,
}

/// The app for someone who is in (or for whom `/auth/me` failed: the pages still say what
/// the server allows, and the Debug tab shows what is down).
#[component]
fn Shell(props: &ShellProps) -> Html {
    let tab = use_state(current_tab);
    let library = use_reducer(Library::default);
    // Whether AI tagging is on decides which actions the pages offer; asked once.
    {
        let library = library.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(info) = crate::api::tagging_info().await {
                    library.dispatch(crate::library::LibraryAction::Tagging(info));
                }
            });
        });
    }
    // The tabs' counts, again whenever the library changed (an upload, a batch, the threshold).
    let counts = use_state_eq(|| None::<shared::api::Stats>);
    {
        let counts = counts.clone();
        use_effect_with(library.revision, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(stats) = crate::api::stats().await {
                    counts.set(Some(stats));
                }
            });
        });
    }
    // The preview workers start with the shell and live as long as it does.
    let preview_pool: Rc<Pool> = (*use_memo((), |_| Pool::start())).clone();
    let account_error = use_state(|| None::<String>);
    let me = props.account.user();
    let google = me.as_deref().is_some_and(account::is_google);
    let banner = me.as_deref().and_then(account::banner);
    let picker = use_picker(
        props.account.clone(),
        Some(library.clone()),
        account::pick_blocked(me.as_deref()),
    );
    // Photos shared to the installed app arrive as `/?shared=N`: previewed, uploaded and
    // verified like photos chosen in the page.
    {
        let library = library.clone();
        let previews = preview_pool.clone();
        use_effect_with((), move |_| {
            let Some(announced) = crate::install::shared_count() else {
                return;
            };
            wasm_bindgen_futures::spawn_local(async move {
                match crate::install::take_shared().await {
                    Ok(files) if !files.is_empty() => {
                        crate::components::upload_area::start(&library, Some(&previews), files);
                    }
                    Ok(_) if announced == 0 => library.dispatch(LibraryAction::Failed(
                        "The share held no photos to add.".into(),
                    )),
                    Ok(_) => library.dispatch(LibraryAction::Failed(
                        "The shared photos could not be found on this device: please share them again."
                            .into(),
                    )),
                    Err(e) => library.dispatch(LibraryAction::Failed(format!(
                        "The shared photos could not be read: {e}"
                    ))),
                }
            });
        });
    }
    let offline = crate::install::use_offline();
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
        Tab::Albums => html! { <AlbumsPage google={google} /> },
        Tab::Statistics => html! { <StatisticsPage /> },
        Tab::Debug => html! { <DebugPage /> },
        gallery => html! { <GalleryPage tab={gallery} /> },
    };
    let on_changed = {
        let account = props.account.clone();
        let account_error = account_error.clone();
        Callback::from(move |()| {
            account_error.set(None);
            account::load(account.clone());
        })
    };
    let on_error = {
        let account_error = account_error.clone();
        Callback::from(move |message: String| account_error.set(Some(message)))
    };
    let pick_hidden = banner.is_some();
    let start = picker.context.start.reform(|_: MouseEvent| ());
    html! {
        <ContextProvider<LibraryHandle> context={library}>
        <ContextProvider<Rc<Pool>> context={preview_pool.clone()}>
        <PreviewProvider pool={preview_pool}>
        <ContextProvider<PickContext> context={picker.context.clone()}>
        <div class="shell">
            <a class="skip-link" href="#content" onclick={skip_to_content()}
               data-testid="skip-link">{"Skip to the photos"}</a>
            <header class="header">
                { logo() }
                <div class="header-tools">
                    <ThresholdSlider />
                    if me.as_deref().is_some_and(|m| !account::is_google(m)) {
                        <span class="mode" title="No Google account is configured: photos stay on this machine">
                            {"Local mode"}
                        </span>
                    }
                    if google && !pick_hidden {
                        <button type="button" id="pick-photos" class="primary" onclick={start}
                                disabled={picker.context.blocked.is_some()}
                                title={picker.context.blocked}>
                            {"Pick photos"}
                        </button>
                    }
                    if let Some(me) = me.clone().filter(|_| google) {
                        <UserMenu me={me} pick={picker.context.clone()} pick_hidden={pick_hidden}
                                  on_changed={on_changed} on_error={on_error} />
                    }
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
                                    if let Some(n) = counts.as_ref().and_then(|s| t.count(s)) {
                                        <span class="tab-count" data-testid="tab-count"
                                              aria-label={format!("{n} photos")}>{ n }</span>
                                    }
                                </a>
                            </li>
                        }
                    }) }
                </ul>
            </nav>
            <main class="content" id="content" tabindex="-1">
                if let Account::Unreachable(message) = &*props.account {
                    <p class="error" role="alert" id="me-error">
                        { format!("Classify could not tell who you are: {message}. ") }
                        <a href="/">{"Reload"}</a>
                    </p>
                }
                if let Some(banner) = banner {
                    <GoogleBanner banner={banner} />
                }
                if offline {
                    <p class="offline" role="status" data-testid="offline">
                        {"Offline: the server cannot be reached, so this is your library as you last saw it. Changes need a connection."}
                    </p>
                }
                if let Some(message) = &*account_error {
                    <p class="error" role="alert" id="account-error">{ message }</p>
                }
                if google {
                    <PickerStatus flow={picker.flow.clone()} on_start={picker.context.start.clone()}
                                  on_close={picker.close.clone()} />
                }
                { page }
            </main>
        </div>
        </ContextProvider<PickContext>>
        </PreviewProvider>
        </ContextProvider<Rc<Pool>>>
        </ContextProvider<LibraryHandle>>
    }
}
