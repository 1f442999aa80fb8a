//! One component per sidebar tab (the photo grids, albums, statistics, debug), and the sign-in
//! screen.

mod albums;
mod debug;
mod gallery;
mod sign_in;
mod statistics;

pub use albums::AlbumsPage;
pub use debug::DebugPage;
pub use gallery::GalleryPage;
pub use sign_in::SignInPage;
pub use statistics::StatisticsPage;
