//! The test handle: inject faults, expire things, pick or consent without a browser, and
//! inspect what clients did. `control_http` serves the same under `/_fake/`.

use std::collections::BTreeSet;
use std::time::SystemTime;

use serde::Serialize;
use url::Url;

use crate::faults::{Endpoint, Fault, RequestRecord};
use crate::grants::TokenResponse;
use crate::library::{LibraryAlbum, LibraryItem};
use crate::photos::{MediaType, Sharpness};
use crate::picker::{Pick, PickError};
use crate::state::{AppState, AuthRequest, normalize_scope};
use crate::wire::FormPairs;

/// Steers and inspects a running fake. Cheap to clone; every clone sees the same state.
#[derive(Clone)]
pub struct Control {
    pub(crate) shared: AppState,
}

/// Why a control call failed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ControlError {
    #[error("no test user {0}")]
    UnknownUser(String),
    #[error("not an authorization URL: {0}")]
    BadUrl(String),
    #[error("the authorization request was refused: {error}: {description}")]
    Refused { error: String, description: String },
    #[error("unknown scope {0}")]
    UnknownScope(String),
    #[error(transparent)]
    Pick(#[from] PickError),
    #[error("token exchange failed: {0}")]
    Token(String),
}

/// A request held by [`Control::hold_next`].
pub struct HeldRequest {
    reached: std::sync::Arc<tokio::sync::Notify>,
    release: std::sync::Arc<tokio::sync::Notify>,
}

impl HeldRequest {
    /// Waits until the request is held.
    pub async fn reached(&self) {
        self.reached.notified().await;
    }

    /// Lets it go on.
    pub fn release(&self) {
        self.release.notify_one();
    }
}

/// A picking session as the fake sees it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct SessionInfo {
    pub id: String,
    pub user_email: String,
    pub media_items_set: bool,
    /// Indices into the photos.
    pub picked: Vec<usize>,
    pub max_item_count: u64,
    #[serde(serialize_with = "crate::wire::ser_rfc3339")]
    pub expire_time: SystemTime,
}

/// One item of the fake library, for tests that check a classifier's verdict.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct PhotoInfo {
    pub index: usize,
    pub filename: String,
    pub mime_type: String,
    pub media_type: MediaType,
    pub sharpness: Sharpness,
    pub width: u32,
    pub height: u32,
}

impl Control {
    /// The next `times` requests to `endpoint` answer `status` with Google's error body for it
    /// (and `Retry-After` when given). Replaces any pending fault of that endpoint.
    pub fn fail_next(
        &self,
        endpoint: Endpoint,
        status: u16,
        times: u32,
        retry_after_secs: Option<u64>,
    ) {
        let mut inner = self.shared.lock();
        if times == 0 {
            inner.faults.remove(&endpoint);
        } else {
            let fault = Fault {
                status,
                remaining: times,
                retry_after: retry_after_secs,
                message: None,
            };
            inner.faults.insert(endpoint, fault);
        }
    }

    /// The next `times` requests to `endpoint` answer 429 `RESOURCE_EXHAUSTED` as Google does
    /// when the project's daily quota is spent ("... per day ...").
    pub fn exhaust_daily_quota(&self, endpoint: Endpoint, times: u32) {
        let fault = Fault {
            status: 429,
            remaining: times.max(1),
            retry_after: None,
            message: Some(
                "Quota exceeded for quota metric 'All requests' and limit 'All requests per day' of service 'photoslibrary.googleapis.com'.".into(),
            ),
        };
        self.shared.lock().faults.insert(endpoint, fault);
    }

    /// The next `batchCreate` answers these positions of its request as failed items (with
    /// this `google.rpc.Status` code, e.g. 13 as Google's intermittent "error while trying to
    /// create this media item"), and creates the others: 207, as Google does.
    pub fn fail_items_next_batch(&self, positions: &[usize], code: i64) {
        self.shared.lock().library.fail_items = positions.iter().map(|p| (*p, code)).collect();
    }

    /// Holds the next request to `endpoint` at `point` (before its handler runs, or after it
    /// ran with the answer kept back). Returns the hold's handle.
    pub fn hold_next(&self, endpoint: Endpoint, point: crate::faults::HoldPoint) -> HeldRequest {
        let reached = std::sync::Arc::new(tokio::sync::Notify::new());
        let release = std::sync::Arc::new(tokio::sync::Notify::new());
        self.shared.lock().holds.insert(
            endpoint,
            crate::faults::Hold {
                point,
                reached: reached.clone(),
                release: release.clone(),
            },
        );
        HeldRequest { reached, release }
    }

    /// Drops every pending fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Every base URL handed out so far answers 403 from now on.
    pub fn expire_base_urls(&self) {
        let now = SystemTime::now();
        self.shared
            .lock()
            .base_urls
            .values_mut()
            .for_each(|b| b.expires = now);
    }

    /// Every access token issued so far is expired (refresh tokens still work).
    pub fn expire_access_tokens(&self) {
        let now = SystemTime::now();
        self.shared
            .lock()
            .access
            .values_mut()
            .for_each(|a| a.expires = now);
    }

    /// Every picking session is past its `expireTime`.
    pub fn expire_sessions(&self) {
        let now = SystemTime::now();
        self.shared
            .lock()
            .sessions
            .values_mut()
            .for_each(|s| s.expire_time = now);
    }

    /// Revokes all grants of a user (their refresh tokens then get `invalid_grant`).
    pub fn revoke_user(&self, email: &str) -> Result<(), ControlError> {
        if self.shared.revoke_user(email) {
            Ok(())
        } else {
            Err(ControlError::UnknownUser(email.into()))
        }
    }

    /// Presses Done in a session's picker with these items; returns how many were picked.
    pub fn pick(&self, session_id: &str, pick: Pick) -> Result<usize, ControlError> {
        Ok(self.shared.pick(session_id, pick)?)
    }

    /// Consents as `email` to an authorization URL (as a browser would after Allow) and
    /// returns the redirect to the app's `redirect_uri` with `code`, `scope` and `state`.
    /// `scopes: None` keeps every requested scope; `Some(list)` grants the sign-in scopes plus
    /// only those of `list` (short or full names), like unticking the others.
    pub fn approve(
        &self,
        auth_url: &str,
        email: &str,
        scopes: Option<&[&str]>,
    ) -> Result<String, ControlError> {
        let request = self.auth_request(auth_url)?;
        let user = self
            .shared
            .user_by_email(email)
            .ok_or_else(|| ControlError::UnknownUser(email.into()))?;
        let chosen: Vec<String> = match scopes {
            None => request.scopes.clone(),
            Some(list) => list.iter().filter_map(|s| normalize_scope(s)).collect(),
        };
        Ok(self
            .shared
            .decision_redirect(request, Some((user, &chosen))))
    }

    /// Presses Cancel on the consent screen: the redirect carries `error=access_denied`.
    pub fn deny(&self, auth_url: &str) -> Result<String, ControlError> {
        let request = self.auth_request(auth_url)?;
        Ok(self.shared.decision_redirect(request, None))
    }

    fn auth_request(&self, auth_url: &str) -> Result<AuthRequest, ControlError> {
        let url = Url::parse(auth_url).map_err(|e| ControlError::BadUrl(e.to_string()))?;
        let query = FormPairs::parse(url.query().unwrap_or_default().as_bytes());
        self.shared
            .parse_auth_request(&query)
            .map_err(|r| ControlError::Refused {
                error: r.error.into(),
                description: r.description,
            })
    }

    /// Tokens for `email` with `scopes` (short or full names), as if the user had consented and
    /// the app had exchanged the code; `offline` adds a refresh token.
    pub fn mint_tokens(
        &self,
        email: &str,
        scopes: &[&str],
        offline: bool,
    ) -> Result<TokenResponse, ControlError> {
        let user = self
            .shared
            .user_by_email(email)
            .ok_or_else(|| ControlError::UnknownUser(email.into()))?;
        let mut full: Vec<String> = Vec::new();
        for s in scopes {
            let n = normalize_scope(s).ok_or_else(|| ControlError::UnknownScope((*s).into()))?;
            if !full.contains(&n) {
                full.push(n);
            }
        }
        let redirect_uri = format!("{}/_fake/minted", self.shared.origin);
        let request = AuthRequest {
            client_id: self.shared.opts.client_id.clone(),
            redirect_uri: redirect_uri.clone(),
            scopes: full.clone(),
            state: None,
            challenge: None,
            offline,
            include_granted_scopes: false,
            prompt_consent: true,
            login_hint: None,
            nonce: None,
        };
        let code = self.shared.consent(request, user, &full);
        let client_id = self.shared.opts.client_id.clone();
        self.shared
            .exchange_code(&code, &client_id, Some(&redirect_uri), None)
            .map_err(|e| ControlError::Token(e.description))
    }

    /// With `true`, `mediaItems.list` serves an empty page (with a `nextPageToken`) before
    /// every page of items.
    pub fn set_empty_pages(&self, on: bool) {
        self.shared.lock().empty_pages = on;
    }

    /// Every request so far (except `/_fake/*`), oldest first.
    pub fn requests(&self) -> Vec<RequestRecord> {
        self.shared.lock().log.clone()
    }

    /// How many requests reached `endpoint` (including injected failures).
    pub fn count(&self, endpoint: Endpoint) -> usize {
        let inner = self.shared.lock();
        inner
            .log
            .iter()
            .filter(|r| r.endpoint == Some(endpoint))
            .count()
    }

    /// How many `grant_type=refresh_token` requests the token endpoint answered with 200.
    pub fn refresh_count(&self) -> usize {
        let inner = self.shared.lock();
        inner
            .log
            .iter()
            .filter(|r| r.status == 200 && r.detail.as_deref() == Some("grant_type=refresh_token"))
            .count()
    }

    pub fn clear_requests(&self) {
        self.shared.lock().log.clear();
    }

    /// Every token killed by a revocation (`/revoke` or [`Control::revoke_user`]).
    pub fn revoked_tokens(&self) -> Vec<String> {
        self.shared.lock().revoked.clone()
    }

    /// Sessions not deleted yet, oldest first (expired ones included).
    pub fn live_sessions(&self) -> Vec<SessionInfo> {
        let inner = self.shared.lock();
        let mut sessions: Vec<_> = inner.sessions.values().collect();
        sessions.sort_by_key(|s| s.seq);
        sessions
            .into_iter()
            .map(|s| SessionInfo {
                id: s.id.clone(),
                user_email: self
                    .shared
                    .user(s.user)
                    .map(|u| u.email.clone())
                    .unwrap_or_default(),
                media_items_set: s.picked.is_some(),
                picked: s.picked.clone().unwrap_or_default(),
                max_item_count: s.max_items,
                expire_time: s.expire_time,
            })
            .collect()
    }

    /// The library every user sees.
    pub fn photos(&self) -> Vec<PhotoInfo> {
        self.shared
            .opts
            .photos
            .iter()
            .enumerate()
            .map(|(index, p)| PhotoInfo {
                index,
                filename: p.filename.clone(),
                mime_type: p.mime_type.clone(),
                media_type: p.media_type,
                sharpness: p.sharpness,
                width: p.width,
                height: p.height,
            })
            .collect()
    }

    /// The persistent `PickedMediaItem.id` of photo `index` in the library of `email`.
    pub fn item_id(&self, email: &str, index: usize) -> Option<String> {
        let user = self.shared.user_by_email(email)?;
        (index < self.shared.opts.photos.len()).then(|| self.shared.item_id(user, index))
    }

    /// Albums created through the Library API.
    pub fn albums(&self) -> Vec<LibraryAlbum> {
        self.shared.lock().library.albums.clone()
    }

    /// A base URL for photo `index` in the library of `email`, live for `base_url_ttl`, as a
    /// Picker listing hands out (for tests that store photos without a picking session).
    pub fn mint_base_url(&self, email: &str, index: usize) -> Option<String> {
        let user = self.shared.user_by_email(email)?;
        self.shared.photo(index)?;
        let token = crate::wire::random_token(40);
        let expires = std::time::SystemTime::now() + self.shared.opts.base_url_ttl;
        self.shared.lock().base_urls.insert(
            token.clone(),
            crate::state::BaseUrl {
                user,
                photo: index,
                expires,
            },
        );
        Some(format!("{}/media/{token}", self.shared.origin))
    }

    /// Media items created through `mediaItems:batchCreate`.
    pub fn library_items(&self) -> Vec<LibraryItem> {
        self.shared.lock().library.items.clone()
    }

    /// The scopes currently granted to `email` by the fake's client (all live grants).
    pub fn granted_scopes(&self, email: &str) -> BTreeSet<String> {
        let Some(user) = self.shared.user_by_email(email) else {
            return BTreeSet::new();
        };
        let inner = self.shared.lock();
        inner
            .grants
            .iter()
            .filter(|g| g.user == user && !g.revoked)
            .flat_map(|g| g.scopes.iter().cloned())
            .collect()
    }
}
