//! The header's user menu for a Google user: who is signed in, and Pick photos, Sign out,
//! Disconnect Google and Delete my account. It is a `<details>`, so the keyboard opens it
//! (Enter or Space on the summary); Escape and a click elsewhere close it.

use std::rc::Rc;

use gloo_events::EventListener;
use shared::api::Me;
use wasm_bindgen::JsCast;
use web_sys::{Element, HtmlElement, Node};
use yew::prelude::*;

use crate::account;
use crate::api;
use crate::components::picker::PickContext;

/// What "Disconnect Google" asks first.
const CONFIRM_DISCONNECT: &str = "Disconnect Google Photos?\n\nClassify's access to your Google account is revoked and its stored Google tokens are deleted. You stay signed in and your scores stay, but Google photos cannot be picked, verified or shown until you connect again.";
/// What "Delete my account" asks first.
const CONFIRM_DELETE: &str = "Delete your Classify account?\n\nEvery photo, score and upload you have in Classify is deleted, and Classify's access to Google is revoked. This cannot be undone. Your photos in Google Photos are not touched.";

/// Properties of [`UserMenu`].
#[derive(Clone, PartialEq, Properties)]
pub struct UserMenuProps {
    /// The signed-in user.
    pub me: Rc<Me>,
    /// Starting a pick.
    pub pick: PickContext,
    /// The picking is impossible until the banner's fix is applied: the item is hidden.
    pub pick_hidden: bool,
    /// The account changed on the server (Google disconnected): ask `/auth/me` again.
    pub on_changed: Callback<()>,
    /// An action failed: the message to show.
    pub on_error: Callback<String>,
}

fn confirm(question: &str) -> bool {
    web_sys::window()
        .and_then(|w| w.confirm_with_message(question).ok())
        .unwrap_or(false)
}

/// A fresh load of the app: after signing out or deleting the account nothing of the old
/// session may linger in the page's state.
fn reload_home() {
    if let Some(window) = web_sys::window() {
        window.location().assign("/").ok();
    }
}

fn close(details: &NodeRef) {
    if let Some(details) = details.cast::<Element>() {
        details.remove_attribute("open").ok();
    }
}

/// The menu.
#[component]
pub fn UserMenu(props: &UserMenuProps) -> Html {
    let details = use_node_ref();
    let avatar_failed = use_state_eq(|| false);
    let me = &props.me;
    let name = account::display_name(me).to_string();

    {
        // A click outside closes the menu, as menus do.
        let details = details.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window()
                .and_then(|w| w.document())
                .map(|document| {
                    EventListener::new(&document, "click", move |event| {
                        let inside = event
                            .target()
                            .and_then(|t| t.dyn_into::<Node>().ok())
                            .zip(details.cast::<Node>())
                            .is_some_and(|(target, menu)| menu.contains(Some(&target)));
                        if !inside {
                            close(&details);
                        }
                    })
                });
            move || drop(listener)
        });
    }

    let on_key = {
        let details = details.clone();
        Callback::from(move |e: KeyboardEvent| {
            if e.key() == "Escape" {
                close(&details);
                let summary = details
                    .cast::<Element>()
                    .and_then(|d| d.query_selector("summary").ok().flatten())
                    .and_then(|s| s.dyn_into::<HtmlElement>().ok());
                if let Some(summary) = summary {
                    summary.focus().ok();
                }
            }
        })
    };

    let pick = {
        let details = details.clone();
        let start = props.pick.start.clone();
        Callback::from(move |_: MouseEvent| {
            close(&details);
            start.emit(());
        })
    };

    let sign_out = {
        let on_error = props.on_error.clone();
        Callback::from(move |_: MouseEvent| {
            let on_error = on_error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::logout().await {
                    // Already signed out (401) ends in the same place.
                    Ok(()) => reload_home(),
                    Err(e) if e.status() == Some(401) => reload_home(),
                    Err(e) => on_error.emit(format!("Could not sign out: {}", e.message())),
                }
            });
        })
    };

    let disconnect = {
        let details = details.clone();
        let on_changed = props.on_changed.clone();
        let on_error = props.on_error.clone();
        Callback::from(move |_: MouseEvent| {
            close(&details);
            if !confirm(CONFIRM_DISCONNECT) {
                return;
            }
            let on_changed = on_changed.clone();
            let on_error = on_error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::disconnect_google().await {
                    Ok(()) => on_changed.emit(()),
                    Err(e) => {
                        on_error.emit(format!("Could not disconnect Google: {}", e.message()))
                    }
                }
            });
        })
    };

    let delete = {
        let details = details.clone();
        let on_error = props.on_error.clone();
        Callback::from(move |_: MouseEvent| {
            close(&details);
            if !confirm(CONFIRM_DELETE) {
                return;
            }
            let on_error = on_error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::delete_account().await {
                    Ok(()) => reload_home(),
                    Err(e) => {
                        on_error.emit(format!("Could not delete your account: {}", e.message()))
                    }
                }
            });
        })
    };

    let connected = me.google.is_some_and(|g| g.connected);
    let avatar = match me.picture.as_deref() {
        Some(src) if !*avatar_failed => {
            let failed = avatar_failed.clone();
            html! {
                <img class="avatar" src={src.to_string()} alt="" width="28" height="28"
                     referrerpolicy="no-referrer" onerror={Callback::from(move |_: Event| failed.set(true))} />
            }
        }
        _ => {
            html! { <span class="avatar initial" aria-hidden="true">{ account::initial(me) }</span> }
        }
    };

    html! {
        <details id="user-menu" class="user-menu" ref={details} onkeydown={on_key}>
            <summary aria-label={format!("Account menu of {name}")}>
                { avatar }
                <span class="user-name">{ name.clone() }</span>
                <span class="caret" aria-hidden="true">{"▾"}</span>
            </summary>
            <div class="menu">
                <p class="menu-who">
                    <strong>{ name.clone() }</strong>
                    if let Some(email) = me.email.as_deref().filter(|e| *e != name) {
                        <br /><span class="muted">{ email }</span>
                    }
                </p>
                if !props.pick_hidden {
                    <button type="button" id="menu-pick-photos" onclick={pick}
                            disabled={props.pick.blocked.is_some()} title={props.pick.blocked}>
                        {"Pick photos"}
                    </button>
                }
                <button type="button" id="sign-out" onclick={sign_out}>{"Sign out"}</button>
                if connected {
                    <button type="button" id="disconnect-google" onclick={disconnect}>
                        {"Disconnect Google"}
                    </button>
                }
                <button type="button" id="delete-account" class="danger" onclick={delete}>
                    {"Delete my account"}
                </button>
            </div>
        </details>
    }
}
