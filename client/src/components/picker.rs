//! "Pick photos" on the page: opens Google's picker in a new tab, follows the session while
//! the user picks, imports what they picked, then follows its verification with the shared
//! batch progress. The steps and their words are [`crate::pick`]; this module drives them
//! with the server's answers and shows the status panel.

use std::cell::{Cell, RefCell};
use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use shared::api::{ErrorCode, PickerSession};
use wasm_bindgen::JsValue;
use web_sys::Window;
use yew::prelude::*;

use crate::account::{self, AccountAction, AccountHandle};
use crate::api::{self, ApiError};
use crate::library::{LibraryAction, LibraryHandle};
use crate::pick::{self, Ending, Event, Flow};
use crate::work;

/// How often the import is polled: it runs on our server, so Google's pace does not apply.
const IMPORT_POLL_MS: u32 = 1_000;
/// Polls that may fail in a row (a restarting server, a busy Google) before the pick ends.
const POLL_RETRIES: u32 = 10;

/// What a failed call means for the page.
#[derive(Debug, Clone, PartialEq)]
pub enum Refusal {
    /// Google's access is gone or lacks the Photos scope: the banner says so and offers the fix.
    Banner(ErrorCode),
    /// The browser's session ended: the page goes back to the sign-in screen.
    SignedOut,
    /// The pick ends with these words.
    Show(Ending),
}

/// Maps an error to what the user is told; `doing` starts the sentence ("Could not open
/// Google Photos").
pub fn refusal(error: &ApiError, doing: &str) -> Refusal {
    match error.code() {
        Some(code @ (ErrorCode::ReauthRequired | ErrorCode::GoogleNotConnected)) => {
            Refusal::Banner(code)
        }
        Some(ErrorCode::UpstreamBusy) => Refusal::Show(Ending::Busy),
        _ if error.status() == Some(401) => Refusal::SignedOut,
        _ => Refusal::Show(Ending::Error(format!("{doing}: {}", error.message()))),
    }
}

/// What the page's pick buttons need.
#[derive(Clone, PartialEq)]
pub struct PickContext {
    /// Starts a pick. It opens the tab at once, so call it straight from a click: a popup
    /// blocker lets a tab through only while the click is being handled.
    pub start: Callback<()>,
    /// Why a pick cannot start now (buttons are disabled with it as their title).
    pub blocked: Option<&'static str>,
}

/// The one pick that may run, and the tab it opened. A cancel bumps `run`; the runner of an
/// older run then stops at its next step.
#[derive(Default)]
struct Control {
    run: Cell<u64>,
    tab: RefCell<Option<Window>>,
}

impl Control {
    fn begin(&self) -> u64 {
        let run = self.run.get().wrapping_add(1);
        self.run.set(run);
        run
    }

    fn close_tab(&self) {
        if let Some(tab) = self.tab.borrow_mut().take() {
            // Nothing to do if the user closed it already.
            tab.close().ok();
        }
    }
}

/// A blank tab, opened while the click is handled; it is sent to the picker once the server
/// has created the session.
fn open_blank_tab() -> Option<Window> {
    let tab = web_sys::window()?
        .open_with_url_and_target("", "_blank")
        .ok()
        .flatten()?;
    // Google's page must not be able to navigate ours through `opener`.
    tab.set_opener(&JsValue::NULL).ok();
    if let Some(document) = tab.document() {
        document.set_title("Google Photos · Classify");
        if let Some(body) = document.body() {
            body.set_text_content(Some("Opening Google Photos…"));
        }
    }
    Some(tab)
}

fn now_ms() -> f64 {
    js_sys::Date::now()
}

/// One pick, from the click to the end of its verification.
struct Runner {
    control: Rc<Control>,
    run: u64,
    set: UseStateSetter<Flow>,
    account: AccountHandle,
    library: Option<LibraryHandle>,
    flow: Flow,
    last: Option<PickerSession>,
    failures: u32,
}

impl Runner {
    fn live(&self) -> bool {
        self.control.run.get() == self.run
    }

    /// Moves the pick on; false once it was cancelled.
    fn apply(&mut self, event: Event) -> bool {
        if !self.live() {
            return false;
        }
        self.flow = pick::next(&self.flow, event);
        self.set.set(self.flow.clone());
        true
    }

    fn refuse(&mut self, error: &ApiError, doing: &str) {
        if !self.live() {
            return;
        }
        self.control.close_tab();
        match refusal(error, doing) {
            // The banner explains and offers the fix; the panel steps aside.
            Refusal::Banner(code) => {
                self.account.dispatch(AccountAction::GoogleRefused(code));
                self.flow = Flow::Idle;
                self.set.set(Flow::Idle);
            }
            Refusal::SignedOut => {
                account::load(self.account.clone());
                self.apply(Event::Failed(Ending::Error(
                    "You are signed out. Sign in again to pick photos.".into(),
                )));
            }
            Refusal::Show(ending) => {
                self.apply(Event::Failed(ending));
            }
        }
    }

    /// Asks where the session stands; false when the pick is over (cancelled or failed).
    async fn poll(&mut self, id: &str, started: f64, doing: &str) -> bool {
        if !self.live() {
            return false;
        }
        match api::picker_session(id).await {
            Ok(session) => {
                self.failures = 0;
                self.last = Some(session.clone());
                self.apply(Event::Polled {
                    session,
                    elapsed_ms: (now_ms() - started) as i64,
                })
            }
            Err(e) if e.is_client_error() || self.failures >= POLL_RETRIES => {
                self.refuse(&e, doing);
                false
            }
            Err(_) => {
                self.failures += 1;
                self.live()
            }
        }
    }
}

async fn drive(mut r: Runner, tab: Option<Window>) {
    let session = match api::create_picker_session().await {
        Ok(session) => session,
        Err(e) => return r.refuse(&e, "Could not open Google Photos"),
    };
    if !r.live() {
        return;
    }
    let Some(uri) = session.picker_uri.clone() else {
        r.control.close_tab();
        r.apply(Event::Failed(Ending::Error(
            "Google sent no link to its picker. Pick again.".into(),
        )));
        return;
    };
    let tab_opened = tab
        .as_ref()
        .is_some_and(|t| t.closed() == Ok(false) && t.location().set_href(&uri).is_ok());
    let id = session.id.clone();
    let delay = pick::poll_delay_ms(session.poll_interval_ms);
    let started = now_ms();
    r.apply(Event::Created {
        session,
        tab_opened,
    });
    while matches!(r.flow, Flow::Picking { .. }) {
        TimeoutFuture::new(delay).await;
        if !r
            .poll(&id, started, "Lost track of the Google Photos session")
            .await
        {
            return;
        }
    }
    if matches!(r.flow, Flow::Picked { .. }) {
        // Google's picker closes its tab itself once the user pressed Done.
        r.control.tab.borrow_mut().take();
        match api::sync_picker_session(&id).await {
            Ok(_) => {
                r.apply(Event::SyncQueued);
            }
            Err(e) => return r.refuse(&e, "Could not import the photos"),
        }
    }
    while matches!(r.flow, Flow::Importing { .. }) {
        TimeoutFuture::new(IMPORT_POLL_MS).await;
        if !r.poll(&id, started, "Lost track of the import").await {
            return;
        }
    }
    if !matches!(r.flow, Flow::Imported { .. }) {
        return;
    }
    if let Some(library) = r.library.clone() {
        // The new photos appear at once, queued; the batch's end shows their scores.
        library.dispatch(LibraryAction::Refresh);
        if let Some(batch) = r.last.as_ref().and_then(|s| s.verify_batch_id) {
            work::follow_batch(library, batch).await;
        }
    }
    r.apply(Event::Verified);
}

/// The pick flow of the page: its state, what the pick buttons need, and the panel's
/// close action (cancel while picking, dismiss afterwards).
pub struct Picker {
    /// Where the pick stands.
    pub flow: Flow,
    /// For the pick buttons.
    pub context: PickContext,
    /// Cancels the pick (closing its tab) or dismisses its result.
    pub close: Callback<()>,
}

/// Holds the pick flow; `blocked` says why Google cannot be used now (see [`crate::account::pick_blocked`]).
#[hook]
pub fn use_picker(
    account: AccountHandle,
    library: Option<LibraryHandle>,
    blocked: Option<&'static str>,
) -> Picker {
    let flow = use_state(Flow::default);
    let control = use_memo((), |_| Control::default());
    let start = {
        let set = flow.setter();
        let control = control.clone();
        Callback::from(move |()| {
            let run = control.begin();
            control.close_tab();
            let tab = open_blank_tab();
            control.tab.replace(tab.clone());
            set.set(Flow::Opening);
            let runner = Runner {
                control: control.clone(),
                run,
                set: set.clone(),
                account: account.clone(),
                library: library.clone(),
                flow: Flow::Opening,
                last: None,
                failures: 0,
            };
            wasm_bindgen_futures::spawn_local(drive(runner, tab));
        })
    };
    let close = {
        let set = flow.setter();
        let control = control.clone();
        Callback::from(move |()| {
            control.begin();
            control.close_tab();
            set.set(Flow::Idle);
        })
    };
    let blocked = blocked.or(flow.active().then_some("Photos are being picked already."));
    Picker {
        flow: (*flow).clone(),
        context: PickContext { start, blocked },
        close,
    }
}

/// Properties of [`PickerStatus`].
#[derive(Clone, PartialEq, Properties)]
pub struct PickerStatusProps {
    /// Where the pick stands.
    pub flow: Flow,
    /// "Pick again".
    pub on_start: Callback<()>,
    /// "Cancel" or "Dismiss".
    pub on_close: Callback<()>,
}

/// The status panel: one sentence, the picker's link while picking, and the way out. It is
/// an `aria-live` region, so screen readers announce each step.
#[component]
pub fn PickerStatus(props: &PickerStatusProps) -> Html {
    let flow = &props.flow;
    let close = props.on_close.reform(|_: MouseEvent| ());
    let start = props.on_start.reform(|_: MouseEvent| ());
    let body = match flow {
        Flow::Idle => Html::default(),
        _ => html! {
            <>
                <p class="picker-message" data-testid="picker-message">{ flow.message() }</p>
                if let Flow::Picking { picker_uri, tab_opened, .. } = flow {
                    if !tab_opened {
                        <p class="muted">{"Your browser did not open a new tab: open Google Photos with this link."}</p>
                    }
                    <a id="open-picker" href={picker_uri.clone()} target="_blank" rel="noopener"
                       class={classes!("button", (!tab_opened).then_some("primary"))}>
                        {"Open Google Photos"}
                    </a>
                }
                if matches!(flow, Flow::Opening | Flow::Picked { .. } | Flow::Importing { .. })
                    || matches!(flow, Flow::Imported { verifying: true, .. }) {
                    <progress aria-label="Import progress" />
                }
                <div class="picker-actions">
                    if matches!(flow, Flow::Opening | Flow::Picking { .. }) {
                        <button type="button" id="picker-cancel" onclick={close}>{"Cancel"}</button>
                    } else if matches!(flow, Flow::Ended(_)) {
                        <button type="button" id="pick-again" class="primary" onclick={start}>{"Pick again"}</button>
                        <button type="button" id="picker-dismiss" onclick={close}>{"Dismiss"}</button>
                    } else if matches!(flow, Flow::Imported { .. }) {
                        <button type="button" id="picker-dismiss" onclick={close}>{"Dismiss"}</button>
                    }
                </div>
            </>
        },
    };
    html! {
        <div id="picker-status" class="picker-status" aria-live="polite" data-state={flow.name()}>
            { body }
        </div>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn errors_map_to_banners_words_or_the_sign_in_screen() {
        let err = |status, code| ApiError::Server {
            status,
            code,
            message: "m".into(),
            action_url: None,
        };
        assert_eq!(
            refusal(&err(401, Some(ErrorCode::ReauthRequired)), "x"),
            Refusal::Banner(ErrorCode::ReauthRequired)
        );
        assert_eq!(
            refusal(&err(409, Some(ErrorCode::GoogleNotConnected)), "x"),
            Refusal::Banner(ErrorCode::GoogleNotConnected)
        );
        assert_eq!(
            refusal(&err(503, Some(ErrorCode::UpstreamBusy)), "x"),
            Refusal::Show(Ending::Busy)
        );
        assert_eq!(
            refusal(&err(401, Some(ErrorCode::Unauthorized)), "x"),
            Refusal::SignedOut
        );
        assert_eq!(
            refusal(&err(409, Some(ErrorCode::Conflict)), "Could not import"),
            Refusal::Show(Ending::Error("Could not import: m".into()))
        );
    }
}
