//! Who is using the page, from `GET /api/v1/auth/me`: nobody yet (the sign-in screen), the
//! local user, or a Google user with the state of their Google connection. The shell follows
//! it; the banner and the "Pick photos" buttons follow the Google part.
//!
//! The reducer and the banner choice are plain Rust, so the rules are tested natively.

use std::rc::Rc;

use shared::api::{ErrorCode, GoogleAccount, Me};
use yew::prelude::*;

use crate::api::{self, ApiError};

/// Where the page stands with the server's idea of the user.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Account {
    /// `/auth/me` has not answered yet.
    #[default]
    Loading,
    /// Google sign-in is configured and nobody is signed in (401).
    SignedOut,
    /// `/auth/me` failed otherwise; the page still works as far as the server lets it.
    Unreachable(String),
    /// Someone is signed in (or the local user, in local mode).
    SignedIn(Rc<Me>),
}

/// What changes the account state.
#[derive(Debug, Clone, PartialEq)]
pub enum AccountAction {
    /// `/auth/me` answered.
    Loaded(Result<Me, ApiError>),
    /// A Google call was refused with `reauth_required` or `google_not_connected`: the banner
    /// shows at once, before `/auth/me` is asked again.
    GoogleRefused(ErrorCode),
}

impl Account {
    /// The signed-in user, if any.
    pub fn me(&self) -> Option<&Me> {
        match self {
            Account::SignedIn(me) => Some(me),
            _ => None,
        }
    }

    /// The signed-in user, to hand on to components.
    pub fn user(&self) -> Option<Rc<Me>> {
        match self {
            Account::SignedIn(me) => Some(me.clone()),
            _ => None,
        }
    }
}

/// The state an answer of `/auth/me` puts the page in.
pub fn from_me(result: Result<Me, ApiError>) -> Account {
    match result {
        Ok(me) => Account::SignedIn(Rc::new(me)),
        Err(e) if e.status() == Some(401) => Account::SignedOut,
        Err(e) => Account::Unreachable(e.message()),
    }
}

/// What a refusal of Google tells about the connection, before `/auth/me` confirms it.
pub fn refused(google: GoogleAccount, code: ErrorCode) -> GoogleAccount {
    match code {
        ErrorCode::ReauthRequired => GoogleAccount {
            needs_reauth: true,
            ..google
        },
        // Tokens present but the server found no Photos scope; or no tokens at all.
        ErrorCode::GoogleNotConnected if google.connected => GoogleAccount {
            photos_scope: false,
            ..google
        },
        ErrorCode::GoogleNotConnected => GoogleAccount {
            connected: false,
            ..google
        },
        _ => google,
    }
}

impl Reducible for Account {
    type Action = AccountAction;

    fn reduce(self: Rc<Self>, action: AccountAction) -> Rc<Self> {
        match action {
            AccountAction::Loaded(result) => Rc::new(from_me(result)),
            AccountAction::GoogleRefused(code) => match &*self {
                Account::SignedIn(me) => {
                    let Some(google) = me.google else {
                        return self;
                    };
                    let mut me = (**me).clone();
                    me.google = Some(refused(google, code));
                    Rc::new(Account::SignedIn(Rc::new(me)))
                }
                _ => self,
            },
        }
    }
}

/// The handle the shell holds.
pub type AccountHandle = UseReducerHandle<Account>;

/// Asks `/auth/me` (again) and records the answer.
pub fn load(account: AccountHandle) {
    wasm_bindgen_futures::spawn_local(async move {
        account.dispatch(AccountAction::Loaded(api::me().await));
    });
}

/// Why Google photos cannot be picked right now, shown above the page.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Banner {
    /// Google refused the stored refresh token.
    Reauth,
    /// Signed in, but the Photos Picker scope was not granted.
    NoPhotosScope,
    /// No Google tokens are stored (disconnected).
    Disconnected,
}

impl Banner {
    /// The sentence shown.
    pub fn text(self) -> &'static str {
        match self {
            Banner::Reauth => {
                "Google no longer accepts Classify's access (it was revoked or has expired). Sign in with Google again to pick and verify Google photos."
            }
            Banner::NoPhotosScope => {
                "You did not allow Classify to see the photos you pick. Choose permissions again and tick the Google Photos box."
            }
            Banner::Disconnected => "Google Photos is disconnected.",
        }
    }

    /// The link that fixes it: its words and where it goes.
    pub fn link(self) -> (&'static str, &'static str) {
        match self {
            Banner::Reauth => ("Sign in with Google again", api::GOOGLE_CONSENT),
            Banner::NoPhotosScope => ("Choose permissions again", api::GOOGLE_CONSENT),
            Banner::Disconnected => ("Connect Google Photos", api::GOOGLE_CONSENT),
        }
    }
}

/// The banner a user's state calls for (none in local mode, none when all is well).
pub fn banner(me: &Me) -> Option<Banner> {
    if me.mode != "google" {
        return None;
    }
    let google = me.google.unwrap_or_default();
    if google.needs_reauth {
        Some(Banner::Reauth)
    } else if !google.connected {
        Some(Banner::Disconnected)
    } else if !google.photos_scope {
        Some(Banner::NoPhotosScope)
    } else {
        None
    }
}

/// Why photos cannot be picked for this user (`None`: they can). The "Pick photos" buttons
/// are hidden while the banner explains a broken connection; others are disabled with this.
pub fn pick_blocked(me: Option<&Me>) -> Option<&'static str> {
    let Some(me) = me else {
        return Some("Classify could not tell who you are; reload the page.");
    };
    if !is_google(me) {
        Some("Picking from Google Photos needs Google sign-in, which this server does not offer.")
    } else if banner(me).is_some() {
        Some("Connect Google Photos first: see the notice at the top of the page.")
    } else {
        None
    }
}

/// Whether the user signed in with Google (not the local user).
pub fn is_google(me: &Me) -> bool {
    me.mode == "google"
}

/// The name the header shows: the display name, else the email, else a plain word.
pub fn display_name(me: &Me) -> &str {
    [me.name.as_deref(), me.email.as_deref()]
        .into_iter()
        .flatten()
        .map(str::trim)
        .find(|s| !s.is_empty())
        .unwrap_or("Your account")
}

/// The letter shown when there is no avatar (or it does not load).
pub fn initial(me: &Me) -> String {
    display_name(me)
        .chars()
        .next()
        .map(|c| c.to_uppercase().collect())
        .unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::Settings;

    fn me(mode: &str, google: Option<GoogleAccount>) -> Me {
        Me {
            id: 1,
            email: Some("ada@example.com".into()),
            name: None,
            picture: None,
            mode: mode.into(),
            settings: Settings {
                blur_threshold: 0.5,
            },
            google,
        }
    }

    fn connected() -> GoogleAccount {
        GoogleAccount {
            connected: true,
            needs_reauth: false,
            photos_scope: true,
            library_scope: false,
        }
    }

    #[test]
    fn local_mode_and_a_healthy_connection_show_no_banner() {
        assert_eq!(banner(&me("local", None)), None);
        assert_eq!(banner(&me("google", Some(connected()))), None);
    }

    #[test]
    fn each_broken_connection_has_its_banner() {
        let reauth = GoogleAccount {
            needs_reauth: true,
            ..connected()
        };
        assert_eq!(banner(&me("google", Some(reauth))), Some(Banner::Reauth));
        let no_scope = GoogleAccount {
            photos_scope: false,
            ..connected()
        };
        assert_eq!(
            banner(&me("google", Some(no_scope))),
            Some(Banner::NoPhotosScope)
        );
        let gone = GoogleAccount::default();
        assert_eq!(
            banner(&me("google", Some(gone))),
            Some(Banner::Disconnected)
        );
        assert_eq!(banner(&me("google", None)), Some(Banner::Disconnected));
        // Re-consent fixes the first two; the third connects again.
        assert!(Banner::Reauth.link().1.ends_with("?consent=true"));
        assert!(Banner::NoPhotosScope.link().1.ends_with("?consent=true"));
    }

    #[test]
    fn a_401_means_signed_out_and_other_failures_do_not() {
        let err = |status| ApiError::Server {
            status,
            code: Some(ErrorCode::Unauthorized),
            message: "no session".into(),
            action_url: None,
        };
        assert_eq!(from_me(Err(err(401))), Account::SignedOut);
        assert!(matches!(from_me(Err(err(500))), Account::Unreachable(_)));
        assert!(matches!(
            from_me(Err(ApiError::Network("down".into()))),
            Account::Unreachable(_)
        ));
        assert!(matches!(
            from_me(Ok(me("local", None))),
            Account::SignedIn(_)
        ));
    }

    #[test]
    fn a_google_refusal_shows_its_banner_at_once() {
        let signed_in = Rc::new(from_me(Ok(me("google", Some(connected())))));
        let after = signed_in
            .clone()
            .reduce(AccountAction::GoogleRefused(ErrorCode::ReauthRequired));
        assert_eq!(after.me().and_then(banner), Some(Banner::Reauth));
        let after = signed_in
            .clone()
            .reduce(AccountAction::GoogleRefused(ErrorCode::GoogleNotConnected));
        assert_eq!(after.me().and_then(banner), Some(Banner::NoPhotosScope));
        let after = signed_in.reduce(AccountAction::GoogleRefused(ErrorCode::NotFound));
        assert_eq!(after.me().and_then(banner), None);
    }

    #[test]
    fn only_a_healthy_google_connection_can_pick() {
        assert_eq!(pick_blocked(Some(&me("google", Some(connected())))), None);
        let reauth = GoogleAccount {
            needs_reauth: true,
            ..connected()
        };
        assert!(pick_blocked(Some(&me("google", Some(reauth)))).is_some());
        assert!(pick_blocked(Some(&me("local", None))).is_some());
        assert!(pick_blocked(None).is_some());
    }

    #[test]
    fn the_header_names_the_user_by_name_then_email() {
        let mut m = me("google", Some(connected()));
        assert_eq!(display_name(&m), "ada@example.com");
        assert_eq!(initial(&m), "A");
        m.name = Some("Grace".into());
        assert_eq!(display_name(&m), "Grace");
        m.name = Some("  ".into());
        m.email = None;
        assert_eq!(display_name(&m), "Your account");
    }
}
