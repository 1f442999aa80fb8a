//! Media on the server: the shared reading of untrusted image bytes (`shared::media`: limits,
//! sniffing, decoding, EXIF, probing, the same code the browser's preview runs), plus what only
//! the server does with them.
//!
//! - `render`: the thumbnail and the analysis image the client shows.
//! - `budget`: the memory every decode in the process may hold at once.
//! - `threads`: the decode threads, one per core, that run the workers' verifications.

pub mod budget;
pub mod render;
pub mod threads;

pub use self::render::{ImageSize, render};

/// The cores this process may use (its CPU quota in a container), or 1 when the system cannot
/// tell: what decode threads, render slots, worker consumers and `scan` are sized by.
pub fn cores() -> usize {
    std::thread::available_parallelism().map_or(1, usize::from)
}
pub use shared::media::{
    DEFAULT_MAX_BYTES, DEFAULT_MAX_PIXELS, DecodedImage, MediaError, MediaLimits, Probe,
    SIGNATURE_BYTES, Sniffed, check_format, check_pixels, decode, decode_gray, decoder_limits,
    dimensions_in, exif, header_dimensions, image_error, probe, sniff, sniff_format,
};
