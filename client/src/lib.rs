//! Classify's web app. The app bin renders [`App`]; the worker bin runs [`preview::PreviewWorker`].
//!
//! Logic that can be tested natively (tab routing, formatting) lives in plain functions;
//! components only arrange it.

pub mod account; // who is signed in (`/auth/me`), the Google banner's choice
pub mod api; // typed calls to the server
pub mod app; // the shell: header, sidebar, the page of the current tab
pub mod clock; // the page's clock for timing its own work
pub mod components; // upload area, progress, photo cards and view, slider, histogram, menus
pub mod export; // the gallery's photos as a CSV download
pub mod files; // files from inputs and drops (folders walked)
pub mod format; // numbers and durations as people read them
pub mod hooks; // callbacks that keep their identity, so long lists do not re-render
pub mod install; // the service worker: installing, offline copies, photos shared to the app
pub mod library; // the state every page shares: threshold, refresh revision, progress
pub mod long_tasks; // main-thread tasks over 50 ms, for the Debug tab
pub mod pages; // one component per tab, and the sign-in screen
pub mod pick; // the steps of picking photos in Google Photos, and their words
pub mod preview; // the preview Web Worker: the blur kernel on the analysis image
pub mod previews; // the pool of preview workers and the scores they found
pub mod tabs; // the sidebar's tabs and their URL fragments
pub mod tagging; // AI tagging's consent question: where photos go, what it costs
pub mod visibility; // when an element first comes on screen (IntersectionObserver)
pub mod work; // uploading in chunks, then verifying and following the batch

pub use app::App;
