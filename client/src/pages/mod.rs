//! One component per sidebar tab.

mod debug;
mod gallery;
mod statistics;

pub use debug::DebugPage;
pub use gallery::GalleryPage;
pub use statistics::StatisticsPage;
