//! Pieces the pages share: the upload area, the progress of the user's work, photo cards,
//! the threshold slider and the score histogram.

mod activity;
mod histogram;
mod photo_card;
mod threshold;
mod upload_area;

pub use activity::ActivityPanel;
pub use histogram::{Bar, Histogram, bars};
pub use photo_card::{PhotoCard, blur_type_label, status_label};
pub use threshold::ThresholdSlider;
pub use upload_area::UploadArea;
