//! The state every page shares: the user's threshold, a revision that grows whenever the
//! library changed in a way that every view must refetch (an upload ended, a batch started or
//! ended, the threshold moved), and the progress of the user's long-running work (an upload, a
//! batch). It lives in the shell so progress survives a tab switch.
//!
//! The reducer is plain Rust, so the rules are tested natively.

use std::rc::Rc;

use shared::api::{BatchStatus, JobProgress, TaggingInfo};
use yew::prelude::*;

/// A file the upload did not store, with the reason.
#[derive(Debug, Clone, PartialEq)]
pub struct Refused {
    /// The file's name.
    pub filename: String,
    /// Why (the server's message, or why the browser skipped it).
    pub reason: String,
}

impl Refused {
    /// A refused file and why. The server's reason may begin with the file's name (its error
    /// for a whole request names the file); the page names the file once, beside the reason.
    pub fn new(filename: String, reason: &str) -> Self {
        let reason = reason
            .strip_prefix(filename.as_str())
            .and_then(|r| r.strip_prefix(": "))
            .unwrap_or(reason)
            .to_string();
        Self { filename, reason }
    }
}

/// The photos an upload stored: new ones, and files the library already held (the same bytes
/// uploaded before come back as the photo they already are, not as a second copy).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stored {
    /// New photos.
    pub new: usize,
    /// Files that were already in the library.
    pub already: usize,
}

impl Stored {
    /// What one upload answer stored.
    pub fn of(response: &shared::api::UploadResponse) -> Self {
        let already = response
            .items
            .iter()
            .filter(|p| response.duplicates.contains(&p.id))
            .count();
        Self {
            new: response.items.len() - already,
            already,
        }
    }
}

impl std::ops::AddAssign for Stored {
    fn add_assign(&mut self, other: Self) {
        self.new += other.new;
        self.already += other.already;
    }
}

/// Where an upload stands.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct UploadProgress {
    /// Files handled so far (stored, duplicates and refused).
    pub sent: usize,
    /// Files to handle.
    pub total: usize,
    /// Photos stored: new ones, and files the library already held.
    pub stored: Stored,
    /// Files the server (or the browser) refused.
    pub refused: Vec<Refused>,
    /// The upload is over.
    pub finished: bool,
}

/// What a batch does, for the words that report it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BatchKind {
    /// The server verifies the photos' blur.
    #[default]
    Verify,
    /// A vision model tags the photos.
    Tag,
}

/// Where a batch stands.
#[derive(Debug, Clone, PartialEq)]
pub struct BatchProgress {
    /// The last progress the server reported.
    pub progress: JobProgress,
    /// Polling stopped: the batch is done (or failed).
    pub finished: bool,
    /// What it does.
    pub kind: BatchKind,
}

/// Everything the pages share.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Library {
    /// The user's blur threshold, once known.
    pub threshold: Option<f64>,
    /// Grows when every view must refetch.
    pub revision: u32,
    /// The current or last upload.
    pub upload: Option<UploadProgress>,
    /// The current or last verification batch.
    pub batch: Option<BatchProgress>,
    /// The last error of the user's work (shown until the next action).
    pub error: Option<String>,
    /// AI tagging as the server offers it, once asked (`None`: not known yet).
    pub tagging: Option<TaggingInfo>,
    /// The current batch is followed by its server-sent events (else by polling).
    pub streaming: bool,
}

impl Library {
    /// An upload or a batch is under way (the buttons that start one wait).
    pub fn busy(&self) -> bool {
        self.upload.as_ref().is_some_and(|u| !u.finished)
            || self.batch.as_ref().is_some_and(|b| !b.finished)
    }
}

/// What changes the shared state.
#[derive(Debug, Clone, PartialEq)]
pub enum LibraryAction {
    /// The threshold the server holds (loaded or saved); views refetch when it changed.
    Threshold(f64),
    /// Something changed on the server: every view refetches.
    Refresh,
    /// An upload of `total` files starts.
    UploadStarted {
        /// Files to send.
        total: usize,
    },
    /// One request of an upload answered.
    UploadChunk {
        /// Files the request carried.
        sent: usize,
        /// Photos it stored.
        stored: Stored,
        /// Files it refused.
        refused: Vec<Refused>,
    },
    /// The upload is over.
    UploadFinished,
    /// The server reported a batch's progress.
    Batch(JobProgress, BatchKind),
    /// What the server says of AI tagging.
    Tagging(TaggingInfo),
    /// How the current batch is followed: by its events (`true`) or by polling.
    Streaming(bool),
    /// Work failed; the message is shown.
    Failed(String),
}

/// A batch has finished: nothing is left to wait for.
pub fn batch_finished(progress: &JobProgress) -> bool {
    matches!(progress.status, BatchStatus::Done | BatchStatus::Failed)
}

impl Reducible for Library {
    type Action = LibraryAction;

    fn reduce(self: Rc<Self>, action: LibraryAction) -> Rc<Self> {
        let mut next = (*self).clone();
        match action {
            LibraryAction::Threshold(t) => {
                if next.threshold.is_some_and(|old| old != t) {
                    next.revision = next.revision.wrapping_add(1);
                }
                next.threshold = Some(t);
            }
            LibraryAction::Refresh => next.revision = next.revision.wrapping_add(1),
            LibraryAction::UploadStarted { total } => {
                next.error = None;
                next.batch = None;
                next.upload = Some(UploadProgress {
                    total,
                    ..UploadProgress::default()
                });
            }
            LibraryAction::UploadChunk {
                sent,
                stored,
                refused,
            } => {
                if let Some(upload) = next.upload.as_mut() {
                    upload.sent += sent;
                    upload.stored += stored;
                    upload.refused.extend(refused);
                }
            }
            LibraryAction::UploadFinished => {
                if let Some(upload) = next.upload.as_mut() {
                    upload.finished = true;
                }
                // New photos appear in All and Unprocessed at once.
                next.revision = next.revision.wrapping_add(1);
            }
            LibraryAction::Tagging(info) => next.tagging = Some(info),
            LibraryAction::Streaming(on) => next.streaming = on,
            LibraryAction::Batch(progress, kind) => {
                let finished = batch_finished(&progress);
                let new_batch = self
                    .batch
                    .as_ref()
                    .is_none_or(|b| b.progress.batch_id != progress.batch_id);
                if new_batch {
                    next.error = None;
                }
                // A new batch: views refetch so its photos show as queued; at its end they
                // refetch again to show the scores.
                if new_batch || finished {
                    // The scores are stored: every view shows them.
                    next.revision = next.revision.wrapping_add(1);
                }
                next.batch = Some(BatchProgress {
                    progress,
                    finished,
                    kind,
                });
            }
            LibraryAction::Failed(message) => {
                next.error = Some(message);
                if let Some(upload) = next.upload.as_mut() {
                    upload.finished = true;
                }
                if let Some(batch) = next.batch.as_mut() {
                    batch.finished = true;
                }
            }
        }
        Rc::new(next)
    }
}

/// The handle pages get from the context.
pub type LibraryHandle = UseReducerHandle<Library>;

#[cfg(test)]
mod tests {
    use super::*;

    fn reduce(library: Library, action: LibraryAction) -> Library {
        (*Rc::new(library).reduce(action)).clone()
    }

    fn progress(status: BatchStatus, done: i64) -> JobProgress {
        JobProgress {
            batch_id: 7,
            job_id: 7,
            status,
            done,
            failed: 0,
            total: 3,
        }
    }

    #[test]
    fn loading_the_threshold_does_not_refetch_but_moving_it_does() {
        let loaded = reduce(Library::default(), LibraryAction::Threshold(0.5));
        assert_eq!(loaded.revision, 0);
        let same = reduce(loaded.clone(), LibraryAction::Threshold(0.5));
        assert_eq!(same.revision, 0);
        let moved = reduce(loaded, LibraryAction::Threshold(0.6));
        assert_eq!(moved.revision, 1);
        assert_eq!(moved.threshold, Some(0.6));
    }

    #[test]
    fn a_refused_file_is_named_once() {
        let r = Refused::new("empty.jpg".into(), "empty.jpg: the file is empty");
        assert_eq!(
            (r.filename.as_str(), r.reason.as_str()),
            ("empty.jpg", "the file is empty")
        );
        let r = Refused::new("a.jpg".into(), "the file is empty");
        assert_eq!(r.reason, "the file is empty");
        let r = Refused::new("a.jpg".into(), "a.jpgx: odd");
        assert_eq!(r.reason, "a.jpgx: odd");
    }

    #[test]
    fn an_upload_counts_its_chunks_and_refreshes_when_over() {
        let mut l = reduce(
            Library::default(),
            LibraryAction::UploadStarted { total: 20 },
        );
        assert!(l.busy());
        l = reduce(
            l,
            LibraryAction::UploadChunk {
                sent: 16,
                stored: Stored {
                    new: 12,
                    already: 3,
                },
                refused: vec![Refused {
                    filename: "a.txt".into(),
                    reason: "not an image".into(),
                }],
            },
        );
        l = reduce(
            l,
            LibraryAction::UploadChunk {
                sent: 4,
                stored: Stored { new: 4, already: 0 },
                refused: vec![],
            },
        );
        let upload = l.upload.clone().unwrap_or_default();
        assert_eq!(
            (upload.sent, upload.stored, upload.refused.len()),
            (
                20,
                Stored {
                    new: 16,
                    already: 3
                },
                1
            )
        );
        let before = l.revision;
        l = reduce(l, LibraryAction::UploadFinished);
        assert!(!l.busy());
        assert_eq!(l.revision, before + 1);
    }

    #[test]
    fn a_batch_refreshes_the_views_when_it_starts_and_when_it_finishes() {
        let mut l = reduce(
            Library::default(),
            LibraryAction::Batch(progress(BatchStatus::Running, 1), BatchKind::Verify),
        );
        assert!(l.busy());
        assert_eq!(l.revision, 1, "a new batch shows its photos queued");
        l = reduce(
            l,
            LibraryAction::Batch(progress(BatchStatus::Running, 2), BatchKind::Verify),
        );
        assert_eq!(l.revision, 1, "progress alone does not refetch");
        l = reduce(
            l,
            LibraryAction::Batch(progress(BatchStatus::Done, 3), BatchKind::Verify),
        );
        assert!(!l.busy());
        assert_eq!(l.revision, 2);
    }

    #[test]
    fn a_failure_ends_the_work_and_keeps_the_message() {
        let l = reduce(
            Library::default(),
            LibraryAction::UploadStarted { total: 2 },
        );
        let l = reduce(l, LibraryAction::Failed("disk full".into()));
        assert!(!l.busy());
        assert_eq!(l.error.as_deref(), Some("disk full"));
    }
}
