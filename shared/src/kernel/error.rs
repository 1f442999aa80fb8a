//! The kernel's typed error: every bad input becomes one of these, never a panic.

use thiserror::Error;

/// Why an image could not be analysed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum KernelError {
    /// Width or height is zero.
    #[error("image has no pixels ({width}x{height})")]
    EmptyImage {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
    },
    /// The pixel buffer does not have `width * height * channels` bytes.
    #[error("pixel buffer has {actual} bytes, expected {expected}")]
    BufferSizeMismatch {
        /// Bytes the dimensions call for.
        expected: usize,
        /// Bytes given.
        actual: usize,
    },
    /// A side or the pixel count exceeds what the fixed-point resampler is sized for.
    #[error(
        "image {width}x{height} exceeds the kernel limits (side <= {max_side}, pixels <= {max_pixels})"
    )]
    TooLarge {
        /// Width in pixels.
        width: u32,
        /// Height in pixels.
        height: u32,
        /// `MAX_SIDE`.
        max_side: u32,
        /// `MAX_PIXELS`.
        max_pixels: u64,
    },
}
