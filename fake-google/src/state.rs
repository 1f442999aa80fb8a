//! The fake's memory: pending consents, codes, grants and tokens, picking sessions, base URLs,
//! faults and the request log, behind one mutex that is never held across an `.await`.

use std::collections::{BTreeSet, HashMap};
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::SystemTime;

use crate::errors::ApiError;
use crate::faults::{Endpoint, Fault, RequestRecord};
use crate::library::LibraryState;
use crate::options::{Options, TestUser};
use crate::photos::Photo;

/// Scope of the Picker API and of picked items' base URLs.
pub const PICKER_SCOPE: &str = "https://www.googleapis.com/auth/photospicker.mediaitems.readonly";
/// The full form of the `email` scope.
pub const EMAIL_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.email";
/// The full form of the `profile` scope.
pub const PROFILE_SCOPE: &str = "https://www.googleapis.com/auth/userinfo.profile";

/// Everything a request handler needs: the options, the public origin and the mutable state.
pub(crate) struct Shared {
    pub opts: Options,
    pub origin: String,
    inner: Mutex<Inner>,
}

pub(crate) type AppState = Arc<Shared>;

impl Shared {
    pub fn new(opts: Options, origin: String) -> Self {
        let inner = Inner {
            empty_pages: opts.empty_pages,
            ..Inner::default()
        };
        Self {
            opts,
            origin,
            inner: Mutex::new(inner),
        }
    }

    /// The state; a panic in another handler does not wedge the fake.
    pub fn lock(&self) -> MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(PoisonError::into_inner)
    }

    pub fn user(&self, index: usize) -> Option<&TestUser> {
        self.opts.users.get(index)
    }

    pub fn user_by_email(&self, email: &str) -> Option<usize> {
        self.opts
            .users
            .iter()
            .position(|u| u.email.eq_ignore_ascii_case(email))
    }

    pub fn photo(&self, index: usize) -> Option<&Photo> {
        self.opts.photos.get(index)
    }

    /// The user and scopes behind a bearer token, or Google's 401 for a missing, unknown,
    /// expired or revoked one.
    pub fn authenticate(&self, token: Option<&str>) -> Result<Caller, ApiError> {
        let token = token.ok_or_else(ApiError::credentials_missing)?;
        let inner = self.lock();
        let access = inner
            .access
            .get(token)
            .filter(|a| a.expires > SystemTime::now())
            .ok_or_else(ApiError::unauthenticated)?;
        let grant = inner
            .grants
            .get(access.grant)
            .filter(|g| !g.revoked)
            .ok_or_else(ApiError::unauthenticated)?;
        Ok(Caller {
            user: grant.user,
            scopes: access.scopes.clone(),
        })
    }

    /// Like [`Shared::authenticate`], and the token must carry `scope` (else 403).
    pub fn authorize(&self, token: Option<&str>, scope: &str) -> Result<Caller, ApiError> {
        let caller = self.authenticate(token)?;
        if caller.scopes.contains(scope) {
            Ok(caller)
        } else {
            Err(ApiError::insufficient_scope())
        }
    }
}

/// Who called an API with a valid access token.
#[derive(Debug, Clone)]
pub(crate) struct Caller {
    pub user: usize,
    pub scopes: BTreeSet<String>,
}

#[derive(Default)]
pub(crate) struct Inner {
    pub pending: HashMap<String, AuthRequest>,
    pub codes: HashMap<String, AuthCode>,
    /// Index = grant id; revoked grants stay so their tokens keep failing.
    pub grants: Vec<Grant>,
    pub access: HashMap<String, AccessToken>,
    pub refresh: HashMap<String, RefreshToken>,
    pub revoked: Vec<String>,
    pub sessions: HashMap<String, Session>,
    pub session_seq: u64,
    pub base_urls: HashMap<String, BaseUrl>,
    pub faults: HashMap<Endpoint, Fault>,
    pub holds: HashMap<Endpoint, crate::faults::Hold>,
    pub log: Vec<RequestRecord>,
    pub empty_pages: bool,
    pub library: LibraryState,
}

/// PKCE method of an authorization request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum PkceMethod {
    Plain,
    S256,
}

/// A validated `/o/oauth2/v2/auth` request.
#[derive(Debug, Clone)]
pub(crate) struct AuthRequest {
    pub client_id: String,
    pub redirect_uri: String,
    /// Requested scopes in their full form, in request order, without duplicates.
    pub scopes: Vec<String>,
    pub state: Option<String>,
    pub challenge: Option<(String, PkceMethod)>,
    pub offline: bool,
    pub include_granted_scopes: bool,
    pub prompt_consent: bool,
    pub login_hint: Option<String>,
    pub nonce: Option<String>,
}

#[derive(Debug, Clone)]
pub(crate) struct AuthCode {
    pub request: AuthRequest,
    pub grant: usize,
    /// The scopes the tokens of this code carry.
    pub scopes: BTreeSet<String>,
    pub issue_refresh: bool,
    pub expires: SystemTime,
}

/// One user's consent to one client; revoking any of its tokens revokes all of them.
#[derive(Debug, Clone)]
pub(crate) struct Grant {
    pub user: usize,
    pub client_id: String,
    pub scopes: BTreeSet<String>,
    pub revoked: bool,
}

#[derive(Debug, Clone)]
pub(crate) struct AccessToken {
    pub grant: usize,
    pub scopes: BTreeSet<String>,
    pub expires: SystemTime,
}

#[derive(Debug, Clone)]
pub(crate) struct RefreshToken {
    pub grant: usize,
    pub scopes: BTreeSet<String>,
}

/// A Picker API session.
#[derive(Debug, Clone)]
pub(crate) struct Session {
    pub id: String,
    pub user: usize,
    pub seq: u64,
    pub expire_time: SystemTime,
    pub max_items: u64,
    /// Indices into the photos, in library order, once the user pressed Done.
    pub picked: Option<Vec<usize>>,
    /// The base-URL token of each picked photo, made on first listing.
    pub base_urls: HashMap<usize, String>,
}

/// A media base URL (`/media/<token>`).
#[derive(Debug, Clone)]
pub(crate) struct BaseUrl {
    pub user: usize,
    pub photo: usize,
    pub expires: SystemTime,
}

/// The `sign-in` scopes the consent page grants without a checkbox.
pub(crate) fn is_sign_in_scope(scope: &str) -> bool {
    matches!(scope, "openid" | EMAIL_SCOPE | PROFILE_SCOPE)
}

/// The full form of a scope (`email` → its URL), or `None` for one Google would reject.
pub(crate) fn normalize_scope(scope: &str) -> Option<String> {
    match scope {
        "openid" => Some("openid".into()),
        "email" | EMAIL_SCOPE => Some(EMAIL_SCOPE.into()),
        "profile" | PROFILE_SCOPE => Some(PROFILE_SCOPE.into()),
        s if s.starts_with("https://www.googleapis.com/auth/") && s.len() > 32 => Some(s.into()),
        _ => None,
    }
}
