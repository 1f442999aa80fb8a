//! The blur threshold slider. The value moves at once under the thumb; the server is told
//! 300 ms after the last move (so dragging sends one request, not fifty), and every view
//! refetches once the server has stored it.

use std::cell::RefCell;
use std::rc::Rc;

use gloo_timers::callback::Timeout;
use shared::api::Settings;
use wasm_bindgen::JsCast;
use web_sys::HtmlInputElement;
use yew::prelude::*;

use crate::api;
use crate::library::{LibraryAction, LibraryHandle};

/// Quiet time after the last move before the threshold is saved.
const DEBOUNCE_MS: u32 = 300;

/// The slider, labelled, with the value beside it.
#[component]
pub fn ThresholdSlider() -> Html {
    let library = use_context::<LibraryHandle>();
    let shown = use_state(|| None::<f64>);
    let pending: Rc<RefCell<Option<Timeout>>> = use_mut_ref(|| None);
    let error = use_state(|| None::<String>);

    {
        let library = library.clone();
        let shown = shown.clone();
        let error = error.clone();
        use_effect_with((), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                match api::settings().await {
                    Ok(s) => {
                        shown.set(Some(s.blur_threshold));
                        if let Some(library) = library {
                            library.dispatch(LibraryAction::Threshold(s.blur_threshold));
                        }
                    }
                    Err(e) => error.set(Some(e.message())),
                }
            });
        });
    }

    let on_input = {
        let shown = shown.clone();
        let error = error.clone();
        Callback::from(move |e: InputEvent| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let Ok(value) = input.value().parse::<f64>() else {
                return;
            };
            shown.set(Some(value));
            let library = library.clone();
            let error = error.clone();
            // Replacing the timeout drops (cancels) the previous one.
            *pending.borrow_mut() = Some(Timeout::new(DEBOUNCE_MS, move || {
                wasm_bindgen_futures::spawn_local(async move {
                    match api::put_settings(&Settings {
                        blur_threshold: value,
                    })
                    .await
                    {
                        Ok(saved) => {
                            error.set(None);
                            if let Some(library) = library {
                                library.dispatch(LibraryAction::Threshold(saved.blur_threshold));
                            }
                        }
                        Err(e) => error.set(Some(e.message())),
                    }
                });
            }));
        })
    };

    let value = shown.unwrap_or(0.5);
    html! {
        <div class="threshold" data-testid="threshold">
            <label for="threshold-input">{"Blur threshold"}</label>
            <input
                id="threshold-input"
                type="range"
                min="0"
                max="1"
                step="0.01"
                value={format!("{value:.2}")}
                disabled={shown.is_none()}
                aria-describedby="threshold-help"
                oninput={on_input}
            />
            <output for="threshold-input" data-testid="threshold-value">{ format!("{value:.2}") }</output>
            <span id="threshold-help" class="visually-hidden">
                {"Photos scoring at least this are blurred."}
            </span>
            if let Some(e) = &*error {
                <span class="error" role="alert" title={e.clone()}>{"not saved"}</span>
            }
        </div>
    }
}
