//! One component per sidebar tab, and the sign-in screen.

mod debug;
mod gallery;
mod sign_in;
mod statistics;

pub use debug::DebugPage;
pub use gallery::GalleryPage;
pub use sign_in::SignInPage;
pub use statistics::StatisticsPage;
