//! The instant preview, on the page's side: a pool of preview workers (one per spare core, at
//! most four) and the scores they found, by photo. A grid asks for the photos it shows that
//! have no verified score yet; each score is shown on its card at once and sent to the server
//! (`PUT /photos/{id}/preview`), which keeps it until its own verified score replaces it.
//! Files the user adds are judged from the file itself while they upload; their scores are
//! kept by file name and size, which the photo they become carries.
//!
//! The state is a plain reducer, so its rules are tested natively.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use gloo_worker::{Spawnable, WorkerBridge};
use yew::prelude::*;

use crate::preview::{PreviewRequest, PreviewResponse, PreviewWorker};

/// Most workers, whatever the machine: the kernel takes a few milliseconds a photo, so more
/// would only compete with the page and the server for the same cores.
pub const MAX_WORKERS: usize = 4;

/// Workers for a machine with `cores` logical cores: one core is left to the page.
pub fn pool_size(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, MAX_WORKERS)
}

/// The previews the page knows.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Previews {
    /// Scores found, by photo.
    pub scores: HashMap<i64, f64>,
    /// Photos whose preview could not be made, with the reason.
    pub failed: HashMap<i64, String>,
    /// Photos asked for (answered or not): each is judged once per page load.
    pub asked: HashSet<i64>,
    /// Milliseconds from asking to the answer on the page, in the order answers came.
    pub timings: Vec<f64>,
    /// Scores of added files, by (file name, size in bytes).
    pub files: HashMap<(String, i64), f64>,
    /// Added files being judged, by (file name, size): the grid does not ask for the
    /// analysis image of the photos they become.
    pub files_pending: HashSet<(String, i64)>,
    /// Added files handed to the workers, and how many of them could not be judged.
    pub files_asked: usize,
    /// See `files_asked`.
    pub files_failed: usize,
}

/// What changes the previews.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewAction {
    /// These photos were handed to the workers.
    Asked(Vec<i64>),
    /// A worker answered.
    Judged {
        /// The photo.
        id: i64,
        /// Its score, or why there is none.
        score: Result<f32, String>,
        /// Milliseconds from asking to the answer.
        millis: f64,
    },
    /// These added files (name, size) were handed to the workers.
    FilesAsked(Vec<(String, i64)>),
    /// A worker judged an added file.
    FileJudged {
        /// Its name.
        name: String,
        /// Its size in bytes.
        size: i64,
        /// Its score, or why there is none.
        score: Result<f32, String>,
    },
}

impl Reducible for Previews {
    type Action = PreviewAction;

    fn reduce(self: Rc<Self>, action: PreviewAction) -> Rc<Self> {
        let mut p = (*self).clone();
        match action {
            PreviewAction::Asked(ids) => p.asked.extend(ids),
            PreviewAction::Judged { id, score, millis } => {
                match score {
                    Ok(s) => {
                        p.scores.insert(id, f64::from(s));
                    }
                    Err(e) => {
                        p.failed.insert(id, e);
                    }
                }
                p.timings.push(millis);
            }
            PreviewAction::FilesAsked(keys) => {
                p.files_asked += keys.len();
                p.files_pending.extend(keys);
            }
            PreviewAction::FileJudged { name, size, score } => {
                let key = (name, size);
                p.files_pending.remove(&key);
                match score {
                    Ok(s) => {
                        p.files.insert(key, f64::from(s));
                    }
                    Err(_) => p.files_failed += 1,
                }
            }
        }
        Rc::new(p)
    }
}

/// The workers; requests go round-robin.
pub struct Pool {
    bridges: Vec<WorkerBridge<PreviewWorker>>,
    origin: String,
    next: Cell<usize>,
    asked_at: RefCell<HashMap<i64, f64>>,
    /// Files being judged: their name, size and `blob:` URL (revoked once answered).
    files: RefCell<HashMap<u32, (String, i64, String)>>,
    next_file: Cell<u32>,
}

/// Most files of one addition previewed from the file: the rest are verified by the server
/// first anyway, long before a single worker would reach them.
pub const MAX_FILE_PREVIEWS: usize = 200;

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} workers)", self.bridges.len())
    }
}

/// Milliseconds on the page's clock.
fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

impl Pool {
    /// Starts the workers; their answers go to `previews` and, when there is a score, to the
    /// server.
    pub fn start(previews: UseReducerDispatcher<Previews>) -> Rc<Pool> {
        let cores = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency())
            .unwrap_or(2.0) as usize;
        Rc::new_cyclic(|pool: &std::rc::Weak<Pool>| {
            let bridges = (0..pool_size(cores))
                .map(|_| {
                    let previews = previews.clone();
                    let pool = pool.clone();
                    PreviewWorker::spawner()
                        .callback(move |response| {
                            if let PreviewResponse::JudgedFile { key, score, .. } = response {
                                let file = pool
                                    .upgrade()
                                    .and_then(|p| p.files.borrow_mut().remove(&key));
                                if let Some((name, size, url)) = file {
                                    let _ = web_sys::Url::revoke_object_url(&url);
                                    previews.dispatch(PreviewAction::FileJudged {
                                        name,
                                        size,
                                        score,
                                    });
                                }
                            } else if let PreviewResponse::Judged { id, score, .. } = response {
                                let asked = pool
                                    .upgrade()
                                    .and_then(|p| p.asked_at.borrow_mut().remove(&id));
                                let millis = asked.map_or(f64::NAN, |t| now_ms() - t);
                                if let Ok(s) = score {
                                    wasm_bindgen_futures::spawn_local(async move {
                                        // The photo may be gone meanwhile; the preview is only
                                        // a hint, so a failed store changes nothing shown.
                                        let _ = crate::api::put_preview(id, f64::from(s)).await;
                                    });
                                }
                                previews.dispatch(PreviewAction::Judged { id, score, millis });
                            }
                        })
                        .spawn("/worker.js")
                })
                .collect();
            Pool {
                bridges,
                origin: web_sys::window()
                    .and_then(|w| w.location().origin().ok())
                    .unwrap_or_default(),
                next: Cell::new(0),
                asked_at: RefCell::new(HashMap::new()),
                files: RefCell::new(HashMap::new()),
                next_file: Cell::new(0),
            }
        })
    }

    /// Hands one photo to the next worker.
    pub fn ask(&self, id: i64) {
        if self.bridges.is_empty() {
            return;
        }
        let i = self.next.get() % self.bridges.len();
        self.next.set(i + 1);
        self.asked_at.borrow_mut().insert(id, now_ms());
        self.bridges[i].send(PreviewRequest::Analyze {
            id,
            origin: self.origin.clone(),
        });
    }

    /// Hands one added file to the next worker; false when it cannot be (no workers, or no
    /// URL for the file).
    pub fn ask_file(&self, file: &web_sys::File) -> bool {
        if self.bridges.is_empty() {
            return false;
        }
        let Ok(url) = web_sys::Url::create_object_url_with_blob(file) else {
            return false;
        };
        let key = self.next_file.get();
        self.next_file.set(key.wrapping_add(1));
        let size = file.size() as i64;
        self.files
            .borrow_mut()
            .insert(key, (file.name(), size, url.clone()));
        let i = self.next.get() % self.bridges.len();
        self.next.set(i + 1);
        self.bridges[i].send(PreviewRequest::AnalyzeFile { key, url });
        true
    }

    /// Workers in the pool.
    pub fn size(&self) -> usize {
        self.bridges.len()
    }
}

/// The previews and the pool, shared through the app's context.
#[derive(Debug, Clone)]
pub struct PreviewHandle {
    /// What is known.
    pub state: UseReducerHandle<Previews>,
    /// The workers.
    pub pool: Rc<Pool>,
}

impl PartialEq for PreviewHandle {
    fn eq(&self, other: &Self) -> bool {
        self.state == other.state && Rc::ptr_eq(&self.pool, &other.pool)
    }
}

impl PreviewHandle {
    /// Asks for the previews of those of `photos` that need one and were not asked for yet:
    /// no verified score, not failed, a link that still works, no stored preview.
    pub fn ask_for<'a>(&self, photos: impl IntoIterator<Item = &'a shared::api::Photo>) {
        let ids: Vec<i64> = photos
            .into_iter()
            .filter(|p| needs_preview(p) && !self.state.asked.contains(&p.id))
            // Judged, or being judged, from the file it was added from.
            .filter(|p| !from_file(&self.state, p))
            .map(|p| p.id)
            .collect();
        if ids.is_empty() {
            return;
        }
        for id in &ids {
            self.pool.ask(*id);
        }
        self.state.dispatch(PreviewAction::Asked(ids));
    }

    /// Asks for the previews of files being added (the first [`MAX_FILE_PREVIEWS`]).
    pub fn ask_files(&self, files: &[web_sys::File]) {
        let asked: Vec<(String, i64)> = files
            .iter()
            .take(MAX_FILE_PREVIEWS)
            .filter(|f| self.pool.ask_file(f))
            .map(|f| (f.name(), f.size() as i64))
            .collect();
        if !asked.is_empty() {
            self.state.dispatch(PreviewAction::FilesAsked(asked));
        }
    }

    /// Where the preview shown for a photo comes from (see [`source_of`]).
    pub fn source_of(&self, photo: &shared::api::Photo) -> Option<&'static str> {
        source_of(&self.state, photo)
    }

    /// The preview of a photo: the page's own, else the one the server kept.
    pub fn score_of(&self, photo: &shared::api::Photo) -> Option<f64> {
        preview_of(&self.state, photo)
    }
}

/// The preview shown for a photo: the page's by photo, else (while it is unverified) the one
/// of the file it was added from, else the one the server kept.
pub fn preview_of(previews: &Previews, photo: &shared::api::Photo) -> Option<f64> {
    previews
        .scores
        .get(&photo.id)
        .copied()
        .or_else(|| file_score(previews, photo))
        .or(photo.preview_score)
}

/// Where [`preview_of`] found the preview: `page`, `file` or `server`.
pub fn source_of(previews: &Previews, photo: &shared::api::Photo) -> Option<&'static str> {
    if previews.scores.contains_key(&photo.id) {
        Some("page")
    } else if file_score(previews, photo).is_some() {
        Some("file")
    } else {
        photo.preview_score.map(|_| "server")
    }
}

fn file_key(photo: &shared::api::Photo) -> Option<(String, i64)> {
    Some((photo.filename.clone(), photo.size_bytes?))
}

/// The score of the file an unverified photo was added from.
fn file_score(previews: &Previews, photo: &shared::api::Photo) -> Option<f64> {
    if photo.verified {
        return None;
    }
    previews.files.get(&file_key(photo)?).copied()
}

/// Whether the photo's preview comes, or will come, from the file it was added from.
fn from_file(previews: &Previews, photo: &shared::api::Photo) -> bool {
    file_key(photo)
        .is_some_and(|k| previews.files.contains_key(&k) || previews.files_pending.contains(&k))
}

/// Whether a photo is worth previewing: the server has not judged it, and can serve it.
pub fn needs_preview(photo: &shared::api::Photo) -> bool {
    use shared::api::VerificationStatus;
    !photo.verified
        && photo.preview_score.is_none()
        && photo.status != VerificationStatus::Failed
        && !photo.link_expired
}

/// The `q` quantile (0 to 1) of `values` by the nearest rank; `None` when empty. Values that
/// are not numbers (an answer whose asking time was lost) are left out.
pub fn percentile(values: &[f64], q: f64) -> Option<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|v| v.is_finite()).collect();
    if sorted.is_empty() {
        return None;
    }
    sorted.sort_by(f64::total_cmp);
    let rank = (q.clamp(0.0, 1.0) * sorted.len() as f64).ceil() as usize;
    sorted.get(rank.saturating_sub(1)).copied()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn percentiles_by_nearest_rank() {
        let v: Vec<f64> = (1..=100).map(f64::from).collect();
        assert_eq!(percentile(&v, 0.5), Some(50.0));
        assert_eq!(percentile(&v, 0.95), Some(95.0));
        assert_eq!(percentile(&[3.0, f64::NAN, 1.0], 0.5), Some(1.0));
        assert_eq!(percentile(&[], 0.5), None);
    }

    #[test]
    fn one_core_is_left_to_the_page_and_the_pool_stays_small() {
        assert_eq!(pool_size(0), 1);
        assert_eq!(pool_size(1), 1);
        assert_eq!(pool_size(2), 1);
        assert_eq!(pool_size(4), 3);
        assert_eq!(pool_size(64), MAX_WORKERS);
    }

    #[test]
    fn a_files_preview_follows_it_into_the_photo_it_became_until_verified() {
        let p = Rc::new(Previews::default()).reduce(PreviewAction::FilesAsked(vec![
            ("a.jpg".into(), 1234),
            ("b.jpg".into(), 9),
        ]));
        assert!(p.files_pending.contains(&("a.jpg".to_string(), 1234)));
        let p = p.reduce(PreviewAction::FileJudged {
            name: "a.jpg".into(),
            size: 1234,
            score: Ok(0.75),
        });
        let p = p.reduce(PreviewAction::FileJudged {
            name: "b.jpg".into(),
            size: 9,
            score: Err("the file is empty".into()),
        });
        assert_eq!((p.files_asked, p.files_failed), (2, 1));
        assert!(p.files_pending.is_empty());
        let mut photo: shared::api::Photo = serde_json::from_value(serde_json::json!({
            "id": 5, "filename": "a.jpg", "source": "local", "mime_type": "image/jpeg",
            "size_bytes": 1234, "width": 10, "height": 10, "blur_score": null,
            "is_blurred": null, "blur_type": null, "motion_angle_deg": null,
            "preview_score": null, "status": "queued", "verified": false, "error": null,
            "processed_at": null, "created_at": 0
        }))
        .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(preview_of(&p, &photo), Some(0.75));
        assert_eq!(source_of(&p, &photo), Some("file"));
        assert!(from_file(&p, &photo), "its analysis image is not asked for");
        photo.size_bytes = Some(1235);
        assert_eq!(
            preview_of(&p, &photo),
            None,
            "another file of the same name"
        );
        photo.size_bytes = Some(1234);
        photo.verified = true;
        assert_eq!(preview_of(&p, &photo), None, "the verdict replaces it");
    }

    #[test]
    fn answers_are_kept_by_photo_with_their_timings() {
        let p = Rc::new(Previews::default());
        let p = p.reduce(PreviewAction::Asked(vec![1, 2]));
        let p = p.reduce(PreviewAction::Judged {
            id: 1,
            score: Ok(0.25),
            millis: 12.0,
        });
        let p = p.reduce(PreviewAction::Judged {
            id: 2,
            score: Err("the server answered 404".into()),
            millis: 3.0,
        });
        assert_eq!(p.scores.get(&1), Some(&0.25));
        assert!(p.failed.contains_key(&2) && !p.scores.contains_key(&2));
        assert_eq!(p.timings, [12.0, 3.0]);
        assert!(p.asked.contains(&1) && p.asked.contains(&2));
    }

    #[test]
    fn only_unjudged_servable_photos_need_a_preview() {
        let mut photo: shared::api::Photo = match serde_json::from_value(serde_json::json!({
            "id": 1, "filename": "a.jpg", "source": "local", "mime_type": "image/jpeg",
            "size_bytes": 1, "width": 1, "height": 1, "blur_score": null,
            "is_blurred": null, "blur_type": null, "motion_angle_deg": null,
            "preview_score": null, "status": "queued", "verified": false, "error": null,
            "processed_at": null, "created_at": 0
        })) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        assert!(needs_preview(&photo));
        photo.preview_score = Some(0.3);
        assert!(!needs_preview(&photo), "the server kept one");
        photo.preview_score = None;
        photo.status = shared::api::VerificationStatus::Failed;
        assert!(!needs_preview(&photo));
        photo.status = shared::api::VerificationStatus::Done;
        photo.verified = true;
        assert!(!needs_preview(&photo));
    }
}
