//! Google sign-in and the Photos Picker: the JSON of `/api/v1/auth/google/*` and
//! `/api/v1/picker/*`, and the Google part of `/api/v1/auth/me`.

use serde::{Deserialize, Serialize};

/// The state of the user's Google connection, as `/auth/me` reports it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct GoogleAccount {
    /// Tokens are stored: the server can reach Google Photos for this user.
    pub connected: bool,
    /// Google refused the stored refresh token (revoked, expired): the user must sign in
    /// again before Google photos can be picked, verified or shown.
    pub needs_reauth: bool,
    /// The user granted the Photos Picker scope (Google lets users untick it at consent).
    pub photos_scope: bool,
    /// The user granted the Library scope that album creation needs (asked for later).
    pub library_scope: bool,
}

/// Where a Picker session stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
#[serde(rename_all = "snake_case")]
pub enum PickerStatus {
    /// The user is choosing photos in Google's picker.
    Picking,
    /// The user pressed Done; the photos can be synced.
    Picked,
    /// The import job is queued or running.
    Importing,
    /// The picked photos are stored and their verification is queued.
    Imported,
    /// The import failed (`error` says why).
    Failed,
    /// The session ended before the user finished picking.
    Expired,
}

/// A Picker session: `POST /api/v1/picker/sessions`, `GET /api/v1/picker/sessions/{id}`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct PickerSession {
    /// Google's session id.
    pub id: String,
    /// Open this in a new tab or window (it already ends in `/autoclose`); absent once the
    /// user is done, because Google's picker then no longer answers.
    pub picker_uri: Option<String>,
    /// When Google ends the session (Unix ms).
    pub expire_time: i64,
    /// How often to poll this session while picking, in milliseconds (Google's
    /// `pollingConfig.pollInterval`).
    pub poll_interval_ms: i64,
    /// Stop polling after this many milliseconds (Google's `pollingConfig.timeoutIn`).
    pub timeout_ms: i64,
    /// The user pressed Done in the picker.
    pub media_items_set: bool,
    /// Where the session stands.
    pub status: PickerStatus,
    /// Photos stored by the import so far.
    pub imported: i64,
    /// Items skipped (videos), with `skipped_reason`.
    pub skipped: i64,
    /// Why items were skipped.
    pub skipped_reason: Option<String>,
    /// The batch verifying the imported photos (follow it at `/api/v1/blur/jobs/{id}`).
    pub verify_batch_id: Option<i64>,
    /// Why the import failed.
    pub error: Option<String>,
}

/// The import of a Picker session was queued (202).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[cfg_attr(feature = "openapi", derive(utoipa::ToSchema))]
pub struct SyncAccepted {
    /// The session being imported; poll it for progress.
    pub session_id: String,
    /// The import job.
    pub job_id: i64,
}
