//! Pieces the pages share: the upload area, the progress of the user's work, photo cards and
//! the photo view,
//! the threshold slider, the score histogram, and the Google parts (user menu, banner, the
//! pick flow and its status panel).

mod activity;
mod google_banner;
mod histogram;
mod photo_card;
mod photo_view;
pub mod picker;
mod threshold;
pub mod upload_area;
mod user_menu;

pub use activity::ActivityPanel;
pub use google_banner::GoogleBanner;
pub use histogram::{Bar, Histogram, bars};
pub use photo_card::{PhotoCard, blur_type_label, status_label};
pub use photo_view::{PhotoView, verdict_words};
pub use threshold::ThresholdSlider;
pub use upload_area::UploadArea;
pub use user_menu::UserMenu;
