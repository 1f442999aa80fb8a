//! Media: untrusted image bytes in, the kernel's pixels out, with one set of limits and one
//! error type. Here in `shared` (feature `decode`) so the server's verification and the
//! browser's preview of a dropped file read a photo with the same code, step for step.
//!
//! - `probe`: the header of an upload (format by content, size, one still frame).
//! - `decode`: the luma pixels the kernel judges.
//! - `exif`: exposure hints, orientation, capture time and camera, read once by one parser.
//!
//! Every path starts with [`sniff`], so the byte, format and pixel limits are checked in one
//! place before anything is allocated for pixels. (The server adds its own: thumbnails and
//! the analysis image, and the memory budget of its decodes.)

pub mod decode;
pub mod exif;
pub mod probe;
#[cfg(any(test, feature = "test-images"))]
pub mod test_images;

use std::io::{BufRead, Cursor, Seek};

use crate::kernel::MAX_SIDE;
use image::{ImageFormat, ImageReader};

pub use self::decode::{DecodedImage, decode_gray};
pub use self::probe::{Probe, probe};

/// Bytes at the start of a file that hold every accepted format's signature (`image`'s longest
/// is 12).
pub const SIGNATURE_BYTES: usize = 64;

/// Default cap on the encoded size: 64 MiB.
pub const DEFAULT_MAX_BYTES: u64 = 64 * 1024 * 1024;
/// Default cap on the decoded pixel count: 100 megapixels.
pub const DEFAULT_MAX_PIXELS: u64 = 100_000_000;

/// What reading one photo may cost.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MediaLimits {
    /// Largest accepted encoded size, in bytes.
    pub max_bytes: u64,
    /// Largest accepted `width * height`.
    pub max_pixels: u64,
}

impl Default for MediaLimits {
    fn default() -> Self {
        Self {
            max_bytes: DEFAULT_MAX_BYTES,
            max_pixels: DEFAULT_MAX_PIXELS,
        }
    }
}

/// Why bytes are not a photo we can read. Probing an upload and decoding it fail the same way.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MediaError {
    /// No bytes at all.
    #[error("the file is empty")]
    Empty,
    /// More bytes than `MediaLimits::max_bytes`.
    #[error("the file is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Size of the input.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// The header announces more pixels (or a longer side) than allowed.
    #[error("the image is {width}x{height} pixels, more than the {max_pixels} pixels allowed")]
    TooManyPixels {
        /// Width from the header.
        width: u32,
        /// Height from the header.
        height: u32,
        /// The pixel limit (sides are also capped at `shared::kernel::MAX_SIDE`).
        max_pixels: u64,
    },
    /// Not JPEG, PNG, WebP or GIF.
    #[error("unsupported format: not a JPEG, PNG, WebP or GIF image")]
    Unsupported,
    /// An animation, not a photo.
    #[error("animated images are not supported")]
    Animated,
    /// The format was recognised but the data is damaged or truncated.
    #[error("corrupt image: {0}")]
    Corrupt(String),
    /// Decoding it alone would need more memory than the server may spend on decoding.
    #[error(
        "decoding this image needs about {need_mib} MiB, more than this server's decode budget of {budget_mib} MiB (CLASSIFY_DECODE_MEMORY_MIB)"
    )]
    OverBudget {
        /// What the decode would hold at its peak.
        need_mib: u64,
        /// The process's whole budget.
        budget_mib: u64,
    },
}

/// What the first bytes and the header say, once the limits passed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Sniffed {
    /// The format, by content.
    pub format: ImageFormat,
    /// Width from the header.
    pub width: u32,
    /// Height from the header.
    pub height: u32,
}

/// Checks size, format (by content, never by name) and the header's pixel count against
/// `limits`. Reads only the header: a decompression bomb is refused without allocating.
pub fn sniff(bytes: &[u8], limits: &MediaLimits) -> Result<Sniffed, MediaError> {
    let format = sniff_format(bytes, limits)?;
    let (width, height) = header_dimensions(bytes, format)?;
    check_pixels(width, height, limits)?;
    Ok(Sniffed {
        format,
        width,
        height,
    })
}

/// The byte limit and the format by content: the checks that need no header parse.
pub fn sniff_format(bytes: &[u8], limits: &MediaLimits) -> Result<ImageFormat, MediaError> {
    check_format(bytes, bytes.len() as u64, limits)
}

/// [`sniff_format`] for a file of `size` bytes that starts with `head` (its first bytes: the
/// format's signature is within the first [`SIGNATURE_BYTES`]).
pub fn check_format(
    head: &[u8],
    size: u64,
    limits: &MediaLimits,
) -> Result<ImageFormat, MediaError> {
    if size == 0 {
        return Err(MediaError::Empty);
    }
    if size > limits.max_bytes {
        return Err(MediaError::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let format = image::guess_format(head).map_err(|_| MediaError::Unsupported)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(MediaError::Unsupported);
    }
    Ok(format)
}

/// The size the header of `bytes` announces.
pub fn header_dimensions(bytes: &[u8], format: ImageFormat) -> Result<(u32, u32), MediaError> {
    dimensions_in(Cursor::new(bytes), format)
}

/// The size the header read from `reader` announces, reading only the header.
pub fn dimensions_in<R: BufRead + Seek>(
    reader: R,
    format: ImageFormat,
) -> Result<(u32, u32), MediaError> {
    if format == ImageFormat::Jpeg {
        // The `image` crate's JPEG decoder copies its whole input before it parses the header
        // (a 60 MB upload would be held twice); zune-jpeg, which it wraps, reads the header
        // from the reader itself, with the same options.
        let options = zune_core::options::DecoderOptions::default()
            .set_strict_mode(false)
            .set_max_width(usize::MAX)
            .set_max_height(usize::MAX);
        let mut decoder = zune_jpeg::JpegDecoder::new_with_options(reader, options);
        let corrupt = |e: &dyn std::fmt::Display| {
            MediaError::Corrupt(format!("Format error decoding Jpeg: {e}"))
        };
        decoder.decode_headers().map_err(|e| corrupt(&e))?;
        let (width, height) = decoder
            .dimensions()
            .ok_or_else(|| corrupt(&"no frame header"))?;
        return Ok((
            u32::try_from(width).unwrap_or(u32::MAX),
            u32::try_from(height).unwrap_or(u32::MAX),
        ));
    }
    ImageReader::with_format(reader, format)
        .into_dimensions()
        .map_err(image_error)
}

/// Refuses an image with no pixels, more than the limit, or a side over the kernel's maximum.
pub fn check_pixels(width: u32, height: u32, limits: &MediaLimits) -> Result<(), MediaError> {
    let pixels = u64::from(width) * u64::from(height);
    if pixels > limits.max_pixels || width > MAX_SIDE || height > MAX_SIDE {
        return Err(MediaError::TooManyPixels {
            width,
            height,
            max_pixels: limits.max_pixels,
        });
    }
    if pixels == 0 {
        return Err(MediaError::Corrupt(format!(
            "the image has no pixels ({width}x{height})"
        )));
    }
    Ok(())
}

/// The `image` crate's limits for a decode within `limits`: the largest pixel type (16-bit
/// RGBA, 8 bytes a pixel) plus one 8-bit copy made after decoding count against it.
pub fn decoder_limits(limits: &MediaLimits) -> image::Limits {
    let mut l = image::Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    l.max_alloc = Some(limits.max_pixels.saturating_mul(9));
    l
}

/// An `image` crate failure as ours.
pub fn image_error(err: image::ImageError) -> MediaError {
    match err {
        image::ImageError::Unsupported(_) => MediaError::Unsupported,
        image::ImageError::Limits(e) => {
            MediaError::Corrupt(format!("over the decoder limits: {e}"))
        }
        other => MediaError::Corrupt(other.to_string()),
    }
}
