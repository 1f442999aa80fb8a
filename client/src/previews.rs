//! The instant preview, on the page's side: a pool of preview workers (one per spare core, at
//! most four) and the scores they found, by photo. Cards whose photo has no verified score yet
//! are watched; each is judged as it comes within a screen of the viewport, so a user
//! scrolling finds its score already there. Answers reach the page once per frame (one render
//! for a burst of them); the worker also sends each to the server (`PUT /photos/{id}/preview`),
//! which keeps a score until its own verified one replaces it.
//! Files the user adds are judged from the file itself while they upload; their scores are
//! kept by file name and size, which the photo they become carries.
//!
//! A card subscribes to its own photo's answers, so an answer renders that one card, never the
//! whole grid; the app's panels (activity, Debug) follow a revision counter instead. The
//! state's rules are a plain `apply`, tested natively.

use std::cell::{Cell, RefCell};
use std::collections::{HashMap, HashSet};
use std::rc::Rc;

use gloo_worker::{Spawnable, WorkerBridge};
use yew::prelude::*;

use wasm_bindgen::JsCast;

use crate::clock::now_ms;
use crate::preview::{PreviewRequest, PreviewResponse, PreviewWorker};
use crate::visibility::Observer;

/// Most workers, whatever the machine: the kernel takes a few milliseconds a photo, so more
/// would only compete with the page and the server for the same cores.
pub const MAX_WORKERS: usize = 4;

/// Workers for a machine with `cores` logical cores: one core is left to the page.
pub fn pool_size(cores: usize) -> usize {
    cores.saturating_sub(1).clamp(1, MAX_WORKERS)
}

/// The previews the page knows: what its cards show.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Previews {
    /// Scores found, by photo.
    pub scores: HashMap<i64, f64>,
    /// Photos whose preview could not be made, with the reason.
    pub failed: HashMap<i64, String>,
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

/// A file's key: its name and size in bytes (what the photo it becomes carries).
pub type FileKey = (String, i64);

/// What changes the previews.
#[derive(Debug, Clone, PartialEq)]
pub enum PreviewAction {
    /// Workers answered (all answers of one frame at once, so the grid renders once).
    Answered {
        /// Photos: the id and its score, or why there is none.
        photos: Vec<(i64, Result<f32, String>)>,
        /// Added files: the key and its score, or why there is none.
        files: Vec<(FileKey, Result<f32, String>)>,
    },
    /// These added files were handed to the workers.
    FilesAsked(Vec<FileKey>),
}

impl Previews {
    /// Takes in what changed.
    pub fn apply(&mut self, action: PreviewAction) {
        let p = self;
        match action {
            PreviewAction::Answered { photos, files } => {
                for (id, score) in photos {
                    match score {
                        Ok(s) => {
                            p.scores.insert(id, f64::from(s));
                        }
                        Err(e) => {
                            p.failed.insert(id, e);
                        }
                    }
                }
                for (key, score) in files {
                    p.files_pending.remove(&key);
                    match score {
                        Ok(s) => {
                            p.files.insert(key, f64::from(s));
                        }
                        Err(_) => p.files_failed += 1,
                    }
                }
            }
            PreviewAction::FilesAsked(keys) => {
                p.files_asked += keys.len();
                p.files_pending.extend(keys);
            }
        }
    }
}

/// How many times the previews changed: what the app's panels re-render on.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct Revision(pub u64);

impl Reducible for Revision {
    type Action = ();

    fn reduce(self: Rc<Self>, _: ()) -> Rc<Self> {
        Rc::new(Revision(self.0.wrapping_add(1)))
    }
}

/// A card waiting for its photo's preview: its photo, the file it was added from, and what
/// renders it again.
#[derive(Debug)]
struct Subscriber {
    id: i64,
    file: Option<FileKey>,
    changed: Callback<()>,
}

impl Subscriber {
    /// Whether answers for these photos and files change what the card shows.
    fn concerned(&self, photos: &HashSet<i64>, files: &HashSet<FileKey>) -> bool {
        photos.contains(&self.id) || self.file.as_ref().is_some_and(|k| files.contains(k))
    }
}

/// How long previews took on this page, in milliseconds, for the Debug tab and the tests.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Timings {
    /// From a card first on screen to its score shown (0 when the score was there first,
    /// because the card was judged while it was still just below the fold).
    pub on_screen: Vec<f64>,
    /// From asking a worker to the score shown (queueing included).
    pub asked: Vec<f64>,
    /// The worker's part: fetching the analysis image.
    pub fetch: Vec<f64>,
    /// The worker's part: decoding it and running the kernel.
    pub judge: Vec<f64>,
}

/// How far below the fold a card is judged before it shows: one screen, so a user scrolling
/// at a reading pace finds the scores already there.
pub const PREFETCH_MARGIN: &str = "100% 0px";

/// Per-photo bookkeeping of the pool.
#[derive(Debug, Default)]
struct Book {
    /// Photos asked for, with when: each is judged once per page load.
    asked: HashMap<i64, f64>,
    /// Photos whose score is shown, with when.
    shown: HashMap<i64, f64>,
    /// Photos on screen before their score was shown, with when they came.
    seen: HashMap<i64, f64>,
    /// Cards watched: the file each photo was added from, if this page added it.
    watched: HashMap<i64, Option<FileKey>>,
    /// Files asked for (being judged or judged): their photos need no analysis image.
    file_keys: HashSet<FileKey>,
    /// Files being judged, by the page's number: their key and `blob:` URL (revoked once
    /// answered).
    files: HashMap<u32, (FileKey, String)>,
    /// Answers not yet on the page.
    pending_photos: Vec<(i64, Result<f32, String>)>,
    pending_files: Vec<(FileKey, Result<f32, String>)>,
    /// A frame is requested to show the pending answers.
    frame_requested: bool,
    timings: Timings,
}

/// The workers (requests go round-robin), the observers that tell which cards are on screen,
/// and what was asked, answered and shown.
pub struct Pool {
    bridges: Vec<WorkerBridge<PreviewWorker>>,
    origin: String,
    next: Cell<usize>,
    next_file: Cell<u32>,
    book: RefCell<Book>,
    /// What is known; read by the cards and panels as they render.
    state: RefCell<Previews>,
    /// The cards on the page, by subscription number.
    cards: RefCell<HashMap<u32, Subscriber>>,
    next_card: Cell<u32>,
    /// Counts the frames that showed answers: a card compares it between its render and its
    /// subscription.
    shown_revision: Cell<u64>,
    /// Told once per frame in which anything changed: the panels' revision (see
    /// [`PreviewProvider`]).
    changed: RefCell<Option<Callback<()>>>,
    me: std::rc::Weak<Pool>,
    /// Asks for a card's preview as it comes within [`PREFETCH_MARGIN`].
    near: Option<Observer>,
    /// Notes when a card is really on screen.
    visible: Option<Observer>,
}

impl PartialEq for Pool {
    /// One pool per page: equal only to itself.
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self, other)
    }
}

/// Most files of one addition previewed from the file: the rest are verified by the server
/// first anyway, long before a single worker would reach them.
pub const MAX_FILE_PREVIEWS: usize = 200;

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Pool({} workers)", self.bridges.len())
    }
}

/// The photo id a card element carries (`data-photo-id`).
fn photo_id(element: &web_sys::Element) -> Option<i64> {
    element.get_attribute("data-photo-id")?.parse().ok()
}

/// Stops watching a card when dropped (the card left the page, or no longer needs a preview).
#[derive(Debug)]
pub struct Watching {
    pool: std::rc::Weak<Pool>,
    element: web_sys::Element,
    id: i64,
}

impl Drop for Watching {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            for observer in [&pool.near, &pool.visible].into_iter().flatten() {
                observer.unwatch(&self.element);
            }
            pool.book.borrow_mut().watched.remove(&self.id);
        }
    }
}

/// Stops a card's subscription when dropped.
#[derive(Debug)]
pub struct Subscription {
    pool: std::rc::Weak<Pool>,
    number: u32,
}

impl Drop for Subscription {
    fn drop(&mut self) {
        if let Some(pool) = self.pool.upgrade() {
            pool.cards.borrow_mut().remove(&self.number);
        }
    }
}

impl Pool {
    /// Starts the workers and the observers; answers go to the cards that show them, to the
    /// panels (once a frame, see [`PreviewProvider`]) and, when there is a score, to the server.
    pub fn start() -> Rc<Pool> {
        let cores = web_sys::window()
            .map(|w| w.navigator().hardware_concurrency())
            .unwrap_or(2.0) as usize;
        Rc::new_cyclic(|me: &std::rc::Weak<Pool>| {
            let bridges = (0..pool_size(cores))
                .map(|_| {
                    let pool = me.clone();
                    PreviewWorker::spawner()
                        .callback(move |response| {
                            if let Some(pool) = pool.upgrade() {
                                pool.answered(response);
                            }
                        })
                        .spawn("/worker.js")
                })
                .collect();
            let near = {
                let pool = me.clone();
                Observer::new(PREFETCH_MARGIN, move |element| {
                    if let (Some(pool), Some(id)) = (pool.upgrade(), photo_id(element)) {
                        pool.near(id);
                    }
                })
            };
            let visible = {
                let pool = me.clone();
                Observer::new("0px", move |element| {
                    if let (Some(pool), Some(id)) = (pool.upgrade(), photo_id(element)) {
                        pool.on_screen(id);
                    }
                })
            };
            Pool {
                bridges,
                origin: web_sys::window()
                    .and_then(|w| w.location().origin().ok())
                    .unwrap_or_default(),
                next: Cell::new(0),
                next_file: Cell::new(0),
                book: RefCell::new(Book::default()),
                state: RefCell::new(Previews::default()),
                cards: RefCell::new(HashMap::new()),
                next_card: Cell::new(0),
                shown_revision: Cell::new(0),
                changed: RefCell::new(None),
                me: me.clone(),
                near,
                visible,
            }
        })
    }

    /// Watches a card (an element with `data-photo-id`) whose photo needs a preview: it is
    /// asked for as it nears the screen, unless `file` (the file it was added from, on this
    /// page) is judged instead.
    pub fn watch(&self, element: &web_sys::Element, file: Option<FileKey>) -> Option<Watching> {
        let id = photo_id(element)?;
        self.book.borrow_mut().watched.insert(id, file);
        match (&self.near, &self.visible) {
            (Some(near), Some(visible)) => {
                near.watch(element);
                visible.watch(element);
            }
            // No IntersectionObserver: judged at once rather than never.
            _ => self.near(id),
        }
        Some(Watching {
            pool: self.me.clone(),
            element: element.clone(),
            id,
        })
    }

    /// A watched card came within the prefetch margin.
    fn near(&self, id: i64) {
        let wanted = {
            let book = self.book.borrow();
            let from_file = book
                .watched
                .get(&id)
                .and_then(Option::as_ref)
                .is_some_and(|key| book.file_keys.contains(key));
            !from_file && !book.asked.contains_key(&id)
        };
        if wanted {
            self.ask(id);
        }
    }

    /// A watched card came on screen.
    fn on_screen(&self, id: i64) {
        let now = now_ms();
        // Normally asked already (the prefetch margin came first); if the card arrived faster
        // than that observer reported, it is asked now and timed from here.
        self.near(id);
        let mut book = self.book.borrow_mut();
        if !book.asked.contains_key(&id) {
            // Judged from the file it was added from instead.
            return;
        }
        if book.shown.contains_key(&id) {
            book.timings.on_screen.push(0.0);
        } else {
            book.seen.insert(id, now);
        }
    }

    /// Hands one photo to the next worker.
    fn ask(&self, id: i64) {
        if self.bridges.is_empty() {
            return;
        }
        let i = self.next.get() % self.bridges.len();
        self.next.set(i + 1);
        self.book.borrow_mut().asked.insert(id, now_ms());
        self.bridges[i].send(PreviewRequest::Analyze {
            id,
            origin: self.origin.clone(),
        });
    }

    /// A worker answered (and sent the score to the server itself): the score goes onto the
    /// page with the next frame, together with every other answer of that frame.
    fn answered(&self, response: PreviewResponse) {
        let mut book = self.book.borrow_mut();
        match response {
            PreviewResponse::Judged {
                id,
                score,
                fetch_millis,
                millis,
            } => {
                book.timings.fetch.push(fetch_millis);
                book.timings.judge.push(millis - fetch_millis);
                book.pending_photos.push((id, score));
            }
            PreviewResponse::JudgedFile { key, score, .. } => {
                if let Some((file, url)) = book.files.remove(&key) {
                    let _ = web_sys::Url::revoke_object_url(&url);
                    book.pending_files.push((file, score));
                }
            }
            PreviewResponse::Pong { .. } => return,
        }
        if !book.frame_requested {
            book.frame_requested = true;
            drop(book);
            self.request_frame();
        }
    }

    /// Shows the pending answers before the next paint (at once without a window).
    fn request_frame(&self) {
        let pool = self.me.clone();
        let show = move || {
            if let Some(pool) = pool.upgrade() {
                pool.show_pending();
            }
        };
        let Some(window) = web_sys::window() else {
            show();
            return;
        };
        let callback = wasm_bindgen::closure::Closure::once_into_js(show);
        if window
            .request_animation_frame(callback.unchecked_ref())
            .is_err()
        {
            // No frames to wait for (a hidden page may give none): show them now.
            self.show_pending();
        }
    }

    fn show_pending(&self) {
        let now = now_ms();
        let (photos, files) = {
            let mut book = self.book.borrow_mut();
            book.frame_requested = false;
            let photos = std::mem::take(&mut book.pending_photos);
            let files = std::mem::take(&mut book.pending_files);
            for (id, _) in &photos {
                book.shown.insert(*id, now);
                if let Some(asked) = book.asked.get(id).copied() {
                    book.timings.asked.push(now - asked);
                }
                if let Some(seen) = book.seen.remove(id) {
                    book.timings.on_screen.push(now - seen);
                }
            }
            (photos, files)
        };
        if photos.is_empty() && files.is_empty() {
            return;
        }
        let answered: HashSet<i64> = photos.iter().map(|(id, _)| *id).collect();
        let answered_files: HashSet<FileKey> = files.iter().map(|(k, _)| k.clone()).collect();
        self.state
            .borrow_mut()
            .apply(PreviewAction::Answered { photos, files });
        self.shown_revision
            .set(self.shown_revision.get().wrapping_add(1));
        // Collected first: a card rendering again must find nothing borrowed.
        let to_tell: Vec<Callback<()>> = self
            .cards
            .borrow()
            .values()
            .filter(|c| c.concerned(&answered, &answered_files))
            .map(|c| c.changed.clone())
            .collect();
        for card in to_tell {
            card.emit(());
        }
        self.tell_panels();
    }

    /// Tells `changed` whenever the preview of photo `id` (or of `file`, the file it was added
    /// from) arrives, until the subscription is dropped. `rendered_at` is the [`Pool::revision`]
    /// the card rendered with: answers shown since then, before it subscribed, tell it at once.
    pub fn subscribe(
        &self,
        id: i64,
        file: Option<FileKey>,
        rendered_at: u64,
        changed: Callback<()>,
    ) -> Subscription {
        let number = self.next_card.get();
        self.next_card.set(number.wrapping_add(1));
        if self.revision() != rendered_at {
            changed.emit(());
        }
        self.cards
            .borrow_mut()
            .insert(number, Subscriber { id, file, changed });
        Subscription {
            pool: self.me.clone(),
            number,
        }
    }

    /// Changes whenever answers are shown.
    pub fn revision(&self) -> u64 {
        self.shown_revision.get()
    }

    /// Tells the panels that the previews changed.
    fn tell_panels(&self) {
        let changed = self.changed.borrow().clone();
        if let Some(changed) = changed {
            changed.emit(());
        }
    }

    /// What is known so far.
    pub fn state(&self) -> std::cell::Ref<'_, Previews> {
        self.state.borrow()
    }

    /// The preview shown for a photo, and where it came from (see [`preview_of`],
    /// [`source_of`]).
    pub fn preview(&self, photo: &shared::api::Photo) -> (Option<f64>, Option<&'static str>) {
        let state = self.state.borrow();
        (preview_of(&state, photo), source_of(&state, photo))
    }

    /// Asks for the previews of files being added (the first [`MAX_FILE_PREVIEWS`]).
    pub fn ask_files(&self, files: &[web_sys::File]) {
        let asked: Vec<FileKey> = files
            .iter()
            .take(MAX_FILE_PREVIEWS)
            .filter(|f| self.ask_file(f))
            .map(|f| (f.name(), f.size() as i64))
            .collect();
        if !asked.is_empty() {
            self.state
                .borrow_mut()
                .apply(PreviewAction::FilesAsked(asked));
            self.tell_panels();
        }
    }

    /// Hands one added file to the next worker; false when it cannot be (no workers, or no
    /// URL for the file).
    fn ask_file(&self, file: &web_sys::File) -> bool {
        if self.bridges.is_empty() {
            return false;
        }
        let Ok(url) = web_sys::Url::create_object_url_with_blob(file) else {
            return false;
        };
        let key = self.next_file.get();
        self.next_file.set(key.wrapping_add(1));
        let file_key = (file.name(), file.size() as i64);
        {
            let mut book = self.book.borrow_mut();
            book.file_keys.insert(file_key.clone());
            book.files.insert(key, (file_key, url.clone()));
        }
        let i = self.next.get() % self.bridges.len();
        self.next.set(i + 1);
        self.bridges[i].send(PreviewRequest::AnalyzeFile { key, url });
        true
    }

    /// Workers in the pool.
    pub fn size(&self) -> usize {
        self.bridges.len()
    }

    /// Photos asked for on this page so far.
    pub fn asked(&self) -> usize {
        self.book.borrow().asked.len()
    }

    /// The timings so far.
    pub fn timings(&self) -> Timings {
        self.book.borrow().timings.clone()
    }
}

/// The pool and the previews' revision, shared through the app's context with the panels that
/// show totals (a new revision renders them again). The grid takes the pool alone (its own
/// context, which never changes), so an answer does not render the grid.
#[derive(Debug, Clone)]
pub struct PreviewHandle {
    /// The workers and what they found.
    pub pool: Rc<Pool>,
    /// Changes whenever the previews do.
    pub revision: u64,
}

impl PartialEq for PreviewHandle {
    fn eq(&self, other: &Self) -> bool {
        self.revision == other.revision && Rc::ptr_eq(&self.pool, &other.pool)
    }
}

/// Properties of [`PreviewProvider`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct PreviewProviderProps {
    /// The app's pool.
    pub pool: Rc<Pool>,
    /// What sees the [`PreviewHandle`].
    pub children: Html,
}

/// Gives its children the [`PreviewHandle`], with a revision that changes whenever the
/// previews do. The revision lives here, not in the app's shell, so an answer renders this
/// provider and the panels that read the handle, not the whole app.
#[component]
pub fn PreviewProvider(props: &PreviewProviderProps) -> Html {
    let revision = use_reducer(Revision::default);
    {
        let dispatcher = revision.dispatcher();
        use_effect_with(props.pool.clone(), move |pool| {
            *pool.changed.borrow_mut() = Some(Callback::from(move |()| dispatcher.dispatch(())));
            let pool = pool.clone();
            move || *pool.changed.borrow_mut() = None
        });
    }
    let handle = PreviewHandle {
        pool: props.pool.clone(),
        revision: revision.0,
    };
    html! {
        <ContextProvider<PreviewHandle> context={handle}>
            { props.children.clone() }
        </ContextProvider<PreviewHandle>>
    }
}

/// A card's preview, and where it came from: read from the pool, and rendered again when its
/// photo's (or its file's) answer arrives.
#[hook]
pub fn use_card_preview(
    pool: Option<Rc<Pool>>,
    photo: &shared::api::Photo,
) -> (Option<f64>, Option<&'static str>) {
    let render = use_force_update();
    let id = photo.id;
    let file = file_key(photo);
    {
        let pool = pool.clone();
        // An answer shown between this card's render and its subscription would otherwise
        // never reach it.
        let rendered_at = pool.as_ref().map_or(0, |p| p.revision());
        use_effect_with((id, file), move |(id, file)| {
            let subscription = pool.map(|pool| {
                pool.subscribe(
                    *id,
                    file.clone(),
                    rendered_at,
                    Callback::from(move |()| render.force_update()),
                )
            });
            move || drop(subscription)
        });
    }
    match pool {
        Some(pool) => pool.preview(photo),
        // No pool: nothing found on this page, so the same rules give the server's.
        None => {
            let none = Previews::default();
            (preview_of(&none, photo), source_of(&none, photo))
        }
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

/// The key of the file a photo was added from.
pub fn file_key(photo: &shared::api::Photo) -> Option<FileKey> {
    Some((photo.filename.clone(), photo.size_bytes?))
}

/// The score of the file an unverified photo was added from.
fn file_score(previews: &Previews, photo: &shared::api::Photo) -> Option<f64> {
    if photo.verified {
        return None;
    }
    previews.files.get(&file_key(photo)?).copied()
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
        let mut p = Previews::default();
        p.apply(PreviewAction::FilesAsked(vec![
            ("a.jpg".into(), 1234),
            ("b.jpg".into(), 9),
        ]));
        assert!(p.files_pending.contains(&("a.jpg".to_string(), 1234)));
        p.apply(PreviewAction::Answered {
            photos: vec![],
            files: vec![
                (("a.jpg".into(), 1234), Ok(0.75)),
                (("b.jpg".into(), 9), Err("the file is empty".into())),
            ],
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
        assert_eq!(file_key(&photo), Some(("a.jpg".to_string(), 1234)));
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
    fn an_answer_concerns_only_the_card_of_its_photo_or_of_its_file() {
        let card = |id, file: Option<(&str, i64)>| Subscriber {
            id,
            file: file.map(|(n, s)| (n.to_string(), s)),
            changed: Callback::noop(),
        };
        let photos: HashSet<i64> = [7].into();
        let files: HashSet<FileKey> = [("a.jpg".to_string(), 10)].into();
        assert!(card(7, None).concerned(&photos, &files));
        assert!(card(8, Some(("a.jpg", 10))).concerned(&photos, &files));
        assert!(!card(8, Some(("a.jpg", 11))).concerned(&photos, &files));
        assert!(!card(8, None).concerned(&photos, &files));
    }

    #[test]
    fn answers_of_one_frame_are_kept_by_photo() {
        let mut p = Previews::default();
        p.apply(PreviewAction::Answered {
            photos: vec![(1, Ok(0.25)), (2, Err("the server answered 404".into()))],
            files: vec![],
        });
        assert_eq!(p.scores.get(&1), Some(&0.25));
        assert!(p.failed.contains_key(&2) && !p.scores.contains_key(&2));
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
