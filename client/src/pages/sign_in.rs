//! The screen shown instead of the app when Google sign-in is configured and nobody is signed
//! in: what Classify does with Google Photos, and the way in. Signing in is a full-page
//! navigation: the server redirects to Google and back to `/`.

use yew::prelude::*;

use crate::api;

/// The sign-in screen.
#[component]
pub fn SignInPage() -> Html {
    html! {
        <section class="sign-in" aria-labelledby="sign-in-title">
            <div class="sign-in-mark" aria-hidden="true">{"◎"}</div>
            <h1 id="sign-in-title">{"Sign in to Classify"}</h1>
            <p>
                {"Classify finds the blurred photos among the ones you pick from Google Photos. It sees only the photos you pick, keeps their scores but no copies (images are held for less than an hour, as Google requires), and can be disconnected at any time."}
            </p>
            <a id="google-sign-in" class="button primary" href={api::GOOGLE_START}>
                {"Sign in with Google"}
            </a>
        </section>
    }
}
