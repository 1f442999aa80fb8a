//! The steps of picking photos in Google Photos, as a state machine: open a session, wait
//! while the user picks in Google's tab, import what they picked, then verify it. The runner
//! in [`crate::components::picker`] drives it with the server's answers; the rules and the
//! words shown live here, in plain Rust, so they are tested natively.

use shared::api::{PickerSession, PickerStatus};

/// Polls while the user picks never come faster than this, whatever Google advises.
pub const MIN_POLL_MS: u32 = 1_000;

/// Where a pick stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub enum Flow {
    /// Nothing under way (the panel is empty).
    #[default]
    Idle,
    /// The session is being created; the blank tab waits for its link.
    Opening,
    /// The user is choosing photos in Google's tab.
    Picking {
        /// Google's session id.
        session: String,
        /// The picker's link, for the "Open Google Photos" fallback.
        picker_uri: String,
        /// The blank tab opened and was sent to the picker.
        tab_opened: bool,
    },
    /// The user pressed Done; the import is being queued.
    Picked {
        /// Google's session id.
        session: String,
    },
    /// The import job runs.
    Importing {
        /// Google's session id.
        session: String,
    },
    /// The photos are stored.
    Imported {
        /// Photos stored.
        imported: i64,
        /// Items skipped (videos).
        skipped: i64,
        /// Their verification batch is still being followed.
        verifying: bool,
    },
    /// The pick ended without photos.
    Ended(Ending),
}

/// Why a pick ended without photos.
#[derive(Debug, Clone, PartialEq)]
pub enum Ending {
    /// Google ended the session before the user pressed Done.
    Expired,
    /// The session's `timeout_ms` passed while the user was still picking.
    TimedOut,
    /// The import failed, with the server's reason.
    Failed(Option<String>),
    /// Google asked us to slow down.
    Busy,
    /// Anything else, in words.
    Error(String),
}

/// What moves a pick on.
#[derive(Debug, Clone, PartialEq)]
pub enum Event {
    /// The server created the session.
    Created {
        /// The session.
        session: PickerSession,
        /// The blank tab was sent to the picker.
        tab_opened: bool,
    },
    /// A poll of the session answered, `elapsed_ms` after the session was created.
    Polled {
        /// The session as the server sees it now.
        session: PickerSession,
        /// Time since the session was created.
        elapsed_ms: i64,
    },
    /// The server queued the import.
    SyncQueued,
    /// The verification batch of the imported photos ended.
    Verified,
    /// A step failed.
    Failed(Ending),
}

impl Flow {
    /// A pick is under way: another cannot start.
    pub fn active(&self) -> bool {
        matches!(
            self,
            Flow::Opening | Flow::Picking { .. } | Flow::Picked { .. } | Flow::Importing { .. }
        )
    }

    /// A short name for the panel's `data-state` (tests and styles read it).
    pub fn name(&self) -> &'static str {
        match self {
            Flow::Idle => "idle",
            Flow::Opening => "opening",
            Flow::Picking { .. } => "picking",
            Flow::Picked { .. } | Flow::Importing { .. } => "importing",
            Flow::Imported {
                verifying: true, ..
            } => "verifying",
            Flow::Imported { .. } => "imported",
            Flow::Ended(Ending::Expired | Ending::TimedOut) => "expired",
            Flow::Ended(Ending::Failed(_)) => "failed",
            Flow::Ended(_) => "error",
        }
    }

    /// The sentence the status panel shows.
    pub fn message(&self) -> String {
        match self {
            Flow::Idle => String::new(),
            Flow::Opening => "Opening Google Photos…".into(),
            Flow::Picking { .. } => {
                "Choose photos in the Google Photos tab, then press Done.".into()
            }
            Flow::Picked { .. } | Flow::Importing { .. } => "Importing your photos…".into(),
            Flow::Imported {
                imported,
                skipped,
                verifying,
            } => imported_message(*imported, *skipped, *verifying),
            Flow::Ended(Ending::Expired | Ending::TimedOut) => {
                "The Google Photos session ended before you pressed Done. Pick again.".into()
            }
            Flow::Ended(Ending::Failed(Some(error))) => format!("The import failed: {error}"),
            Flow::Ended(Ending::Failed(None)) => "The import failed.".into(),
            Flow::Ended(Ending::Busy) => "Google is busy; try again in a minute.".into(),
            Flow::Ended(Ending::Error(message)) => message.clone(),
        }
    }
}

/// "Imported 3 photos, 1 skipped (videos are not analysed) — verifying…".
pub fn imported_message(imported: i64, skipped: i64, verifying: bool) -> String {
    let mut text = format!(
        "Imported {imported} {}",
        if imported == 1 { "photo" } else { "photos" }
    );
    if skipped > 0 {
        text.push_str(&format!(", {skipped} skipped (videos are not analysed)"));
    }
    text.push_str(if verifying { " — verifying…" } else { "." });
    text
}

/// The state a session's status puts a pick in.
fn from_session(flow: &Flow, session: &PickerSession, elapsed_ms: i64) -> Flow {
    match session.status {
        PickerStatus::Picking if elapsed_ms >= session.timeout_ms => Flow::Ended(Ending::TimedOut),
        PickerStatus::Picking => flow.clone(),
        PickerStatus::Picked => Flow::Picked {
            session: session.id.clone(),
        },
        PickerStatus::Importing => Flow::Importing {
            session: session.id.clone(),
        },
        PickerStatus::Imported => Flow::Imported {
            imported: session.imported,
            skipped: session.skipped,
            verifying: session.verify_batch_id.is_some(),
        },
        PickerStatus::Failed => Flow::Ended(Ending::Failed(session.error.clone())),
        PickerStatus::Expired => Flow::Ended(Ending::Expired),
    }
}

/// The next state. Events that do not fit the current state (a late answer after a
/// cancel) change nothing.
pub fn next(flow: &Flow, event: Event) -> Flow {
    match (flow, event) {
        (
            Flow::Opening,
            Event::Created {
                session,
                tab_opened,
            },
        ) => Flow::Picking {
            picker_uri: session.picker_uri.clone().unwrap_or_default(),
            session: session.id,
            tab_opened,
        },
        (
            Flow::Picking { .. } | Flow::Picked { .. } | Flow::Importing { .. },
            Event::Polled {
                session,
                elapsed_ms,
            },
        ) => match (flow, session.status) {
            // After the import was queued, a stale "picked" answer must not send it again.
            (Flow::Importing { .. }, PickerStatus::Picked) => flow.clone(),
            _ => from_session(flow, &session, elapsed_ms),
        },
        (Flow::Picked { session }, Event::SyncQueued) => Flow::Importing {
            session: session.clone(),
        },
        (
            Flow::Imported {
                imported, skipped, ..
            },
            Event::Verified,
        ) => Flow::Imported {
            imported: *imported,
            skipped: *skipped,
            verifying: false,
        },
        (f, Event::Failed(ending)) if f.active() => Flow::Ended(ending),
        (f, _) => f.clone(),
    }
}

/// How long to wait between polls while the user picks: Google's advice, never less than
/// [`MIN_POLL_MS`].
pub fn poll_delay_ms(advised_ms: i64) -> u32 {
    u32::try_from(advised_ms.max(i64::from(MIN_POLL_MS))).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(status: PickerStatus) -> PickerSession {
        PickerSession {
            id: "s1".into(),
            picker_uri: Some("https://photos.google.com/picker/s1/autoclose".into()),
            expire_time: 0,
            poll_interval_ms: 5_000,
            timeout_ms: 60_000,
            media_items_set: false,
            status,
            imported: 0,
            skipped: 0,
            skipped_reason: None,
            verify_batch_id: None,
            error: None,
        }
    }

    fn picking() -> Flow {
        next(
            &Flow::Opening,
            Event::Created {
                session: session(PickerStatus::Picking),
                tab_opened: true,
            },
        )
    }

    fn polled(flow: &Flow, s: PickerSession, elapsed_ms: i64) -> Flow {
        next(
            flow,
            Event::Polled {
                session: s,
                elapsed_ms,
            },
        )
    }

    #[test]
    fn a_created_session_waits_for_the_user_with_its_link() {
        let flow = picking();
        assert_eq!(
            flow,
            Flow::Picking {
                session: "s1".into(),
                picker_uri: "https://photos.google.com/picker/s1/autoclose".into(),
                tab_opened: true,
            }
        );
        assert!(flow.active());
        assert_eq!(polled(&flow, session(PickerStatus::Picking), 5_000), flow);
    }

    #[test]
    fn done_in_google_leads_to_the_import_then_the_verification() {
        let picked = polled(&picking(), session(PickerStatus::Picked), 5_000);
        assert_eq!(
            picked,
            Flow::Picked {
                session: "s1".into()
            }
        );
        assert_eq!(picked.message(), "Importing your photos…");
        let importing = next(&picked, Event::SyncQueued);
        assert_eq!(
            importing,
            Flow::Importing {
                session: "s1".into()
            }
        );
        // A late "picked" answer does not queue the import twice.
        assert_eq!(
            polled(&importing, session(PickerStatus::Picked), 9_000),
            importing
        );
        let mut done = session(PickerStatus::Imported);
        done.imported = 3;
        done.skipped = 1;
        done.verify_batch_id = Some(42);
        let imported = polled(&importing, done, 12_000);
        assert!(!imported.active());
        assert_eq!(
            imported.message(),
            "Imported 3 photos, 1 skipped (videos are not analysed) — verifying…"
        );
        let verified = next(&imported, Event::Verified);
        assert_eq!(
            verified.message(),
            "Imported 3 photos, 1 skipped (videos are not analysed)."
        );
        assert_eq!(verified.name(), "imported");
    }

    #[test]
    fn an_expired_session_and_a_timeout_both_ask_to_pick_again() {
        let expired = polled(&picking(), session(PickerStatus::Expired), 5_000);
        assert_eq!(expired, Flow::Ended(Ending::Expired));
        let timed_out = polled(&picking(), session(PickerStatus::Picking), 60_000);
        assert_eq!(timed_out, Flow::Ended(Ending::TimedOut));
        for flow in [expired, timed_out] {
            assert!(!flow.active());
            assert_eq!(
                flow.message(),
                "The Google Photos session ended before you pressed Done. Pick again."
            );
        }
        // Done pressed at the last moment still counts.
        assert!(matches!(
            polled(&picking(), session(PickerStatus::Picked), 60_000),
            Flow::Picked { .. }
        ));
    }

    #[test]
    fn a_failed_import_shows_the_servers_reason() {
        let importing = next(
            &polled(&picking(), session(PickerStatus::Picked), 1),
            Event::SyncQueued,
        );
        let mut failed = session(PickerStatus::Failed);
        failed.error = Some("Google refused the download".into());
        let flow = polled(&importing, failed, 2);
        assert_eq!(
            flow.message(),
            "The import failed: Google refused the download"
        );
        assert_eq!(flow.name(), "failed");
    }

    #[test]
    fn late_answers_after_a_cancel_change_nothing() {
        assert_eq!(
            polled(&Flow::Idle, session(PickerStatus::Picked), 1),
            Flow::Idle
        );
        assert_eq!(next(&Flow::Idle, Event::Failed(Ending::Busy)), Flow::Idle);
        assert_eq!(
            next(&Flow::Opening, Event::Failed(Ending::Busy)).message(),
            "Google is busy; try again in a minute."
        );
    }

    #[test]
    fn the_imported_message_counts_skipped_items_only_when_there_are_some() {
        assert_eq!(imported_message(1, 0, false), "Imported 1 photo.");
        assert_eq!(
            imported_message(5, 0, true),
            "Imported 5 photos — verifying…"
        );
        assert_eq!(
            imported_message(0, 2, false),
            "Imported 0 photos, 2 skipped (videos are not analysed)."
        );
    }

    #[test]
    fn polls_never_come_faster_than_advised_nor_than_a_second() {
        assert_eq!(poll_delay_ms(5_000), 5_000);
        assert_eq!(poll_delay_ms(0), MIN_POLL_MS);
        assert_eq!(poll_delay_ms(-3), MIN_POLL_MS);
        assert_eq!(poll_delay_ms(i64::MAX), u32::MAX);
    }
}
