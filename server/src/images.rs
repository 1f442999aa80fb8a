//! Upload checks and derived images.
//!
//! - `probe` reads only the header of an upload: its real format (by content, never by name),
//!   its size, and whether it is something we analyse (one still frame, within the limits).
//!   Full decoding waits for the worker, so an upload answers fast.
//! - `render` makes the images the client shows: a JPEG thumbnail, and the analysis image (the
//!   8-bit luma at the kernel's working resolution, as PNG, so a browser preview can run the
//!   kernel on exactly the pixels the server judges).

use std::io::Cursor;

use image::codecs::gif::GifDecoder;
use image::metadata::Orientation;
use image::{AnimationDecoder, DynamicImage, ImageDecoder, ImageFormat, ImageReader, Limits};
use shared::kernel::{MAX_SIDE, WORKING_LONG_SIDE};

use crate::decode::{DecodeError, DecodeLimits, decode_gray};

/// Long side of a thumbnail, in pixels.
pub const THUMB_LONG_SIDE: u32 = 320;

/// What the header of an accepted upload says.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Probe {
    /// MIME type of the sniffed format.
    pub mime: &'static str,
    /// Width in pixels.
    pub width: u32,
    /// Height in pixels.
    pub height: u32,
}

/// Why an upload is refused before it is stored.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProbeError {
    /// Nothing was sent.
    #[error("the file is empty")]
    Empty,
    /// Over the byte limit.
    #[error("the file is {size} bytes, more than the {max} allowed")]
    TooLarge {
        /// Bytes sent.
        size: u64,
        /// The limit.
        max: u64,
    },
    /// Not a JPEG, PNG, WebP or GIF.
    #[error("not a supported image (JPEG, PNG, WebP or GIF)")]
    Unsupported,
    /// An animation, not a photo.
    #[error("animated images are not supported")]
    Animated,
    /// The header is unreadable, or announces no pixels or too many.
    #[error("{0}")]
    Invalid(String),
}

/// Checks an upload's header against `limits`; see the module doc.
pub fn probe(bytes: &[u8], limits: &DecodeLimits) -> Result<Probe, ProbeError> {
    if bytes.is_empty() {
        return Err(ProbeError::Empty);
    }
    let size = bytes.len() as u64;
    if size > limits.max_bytes {
        return Err(ProbeError::TooLarge {
            size,
            max: limits.max_bytes,
        });
    }
    let format = image::guess_format(bytes).map_err(|_| ProbeError::Unsupported)?;
    if !matches!(
        format,
        ImageFormat::Jpeg | ImageFormat::Png | ImageFormat::WebP | ImageFormat::Gif
    ) {
        return Err(ProbeError::Unsupported);
    }
    let (width, height) = ImageReader::with_format(Cursor::new(bytes), format)
        .into_dimensions()
        .map_err(|e| ProbeError::Invalid(format!("unreadable image header: {e}")))?;
    let pixels = u64::from(width) * u64::from(height);
    if pixels == 0 {
        return Err(ProbeError::Invalid(format!(
            "the image has no pixels ({width}x{height})"
        )));
    }
    if pixels > limits.max_pixels || width > MAX_SIDE || height > MAX_SIDE {
        return Err(ProbeError::Invalid(format!(
            "the image is {width}x{height} pixels, more than the {} allowed",
            limits.max_pixels
        )));
    }
    if format == ImageFormat::Gif && is_animated_gif(bytes, limits) {
        return Err(ProbeError::Animated);
    }
    Ok(Probe {
        mime: format.to_mime_type(),
        width,
        height,
    })
}

/// True when the GIF has a second frame. Frames are decoded within the pixel limit, and a
/// GIF too damaged to read counts as a still (the worker then reports the damage).
fn is_animated_gif(bytes: &[u8], limits: &DecodeLimits) -> bool {
    let Ok(mut decoder) = GifDecoder::new(Cursor::new(bytes)) else {
        return false;
    };
    let _ = image::ImageDecoder::set_limits(&mut decoder, decoder_limits(limits));
    decoder.into_frames().take(2).filter(Result::is_ok).count() > 1
}

fn decoder_limits(limits: &DecodeLimits) -> Limits {
    let mut l = Limits::default();
    l.max_image_width = Some(MAX_SIDE);
    l.max_image_height = Some(MAX_SIDE);
    // The largest pixel type (16-bit RGBA) is 8 bytes a pixel.
    l.max_alloc = Some(limits.max_pixels.saturating_mul(8));
    l
}

/// The derived images a client can ask for.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ImageSize {
    /// A JPEG whose long side is `THUMB_LONG_SIDE`.
    #[default]
    Thumb,
    /// The kernel's input: luma at the working resolution, as PNG.
    Analysis,
}

impl ImageSize {
    /// The name used in blob keys and URLs.
    pub fn as_str(self) -> &'static str {
        match self {
            ImageSize::Thumb => "thumb",
            ImageSize::Analysis => "analysis",
        }
    }

    /// The MIME type of the rendered image.
    pub fn mime(self) -> &'static str {
        match self {
            ImageSize::Thumb => "image/jpeg",
            ImageSize::Analysis => "image/png",
        }
    }
}

/// Renders a derived image from the original's bytes. CPU-bound: call it off the async threads.
pub fn render(
    bytes: &[u8],
    size: ImageSize,
    limits: &DecodeLimits,
) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::new();
    match size {
        ImageSize::Thumb => {
            let format = image::guess_format(bytes).map_err(|_| DecodeError::UnsupportedFormat)?;
            probe(bytes, limits).map_err(|e| DecodeError::Corrupt(e.to_string()))?;
            let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
            reader.limits(decoder_limits(limits));
            let corrupt = |e: image::ImageError| DecodeError::Corrupt(e.to_string());
            let mut decoder = reader.into_decoder().map_err(corrupt)?;
            // Phones store portrait photos sideways with an EXIF turn; show them upright.
            let orientation = decoder.orientation().unwrap_or(Orientation::NoTransforms);
            let img = DynamicImage::from_decoder(decoder).map_err(corrupt)?;
            // Turned after shrinking: a quarter turn copies the image, and a 320-px copy is
            // cheap where a full-size one would double the decode's memory.
            let mut thumb =
                DynamicImage::ImageRgb8(img.thumbnail(THUMB_LONG_SIDE, THUMB_LONG_SIDE).to_rgb8());
            thumb.apply_orientation(orientation);
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
            thumb
                .write_with_encoder(encoder)
                .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
        }
        ImageSize::Analysis => {
            let decoded = decode_gray(bytes, limits)?;
            let gray = decoded.gray.fit_long_side(WORKING_LONG_SIDE);
            let buffer =
                image::GrayImage::from_raw(gray.width(), gray.height(), gray.data().to_vec())
                    .ok_or_else(|| DecodeError::Corrupt("bad analysis image".into()))?;
            DynamicImage::ImageLuma8(buffer)
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .map_err(|e| DecodeError::Corrupt(e.to_string()))?;
        }
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn png(width: u32, height: u32) -> Vec<u8> {
        let img = image::GrayImage::from_fn(width, height, |x, y| {
            image::Luma([((x * 7 + y * 3) % 256) as u8])
        });
        let mut out = Vec::new();
        DynamicImage::ImageLuma8(img)
            .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
            .unwrap();
        out
    }

    #[test]
    fn a_png_is_probed_by_content() {
        let probe = probe(&png(40, 30), &DecodeLimits::default()).unwrap();
        assert_eq!(
            (probe.mime, probe.width, probe.height),
            ("image/png", 40, 30)
        );
    }

    #[test]
    fn non_images_and_empty_files_are_refused() {
        let limits = DecodeLimits::default();
        assert_eq!(probe(b"", &limits), Err(ProbeError::Empty));
        assert_eq!(
            probe(b"hello, I am text", &limits),
            Err(ProbeError::Unsupported)
        );
        let small = DecodeLimits {
            max_bytes: 10,
            ..limits
        };
        assert!(matches!(
            probe(&png(4, 4), &small),
            Err(ProbeError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_pixel_limit_is_checked_from_the_header() {
        let limits = DecodeLimits {
            max_pixels: 100,
            ..DecodeLimits::default()
        };
        assert!(matches!(
            probe(&png(20, 20), &limits),
            Err(ProbeError::Invalid(_))
        ));
    }

    #[test]
    fn thumbnails_of_sideways_stored_photos_are_upright() {
        use crate::decode::tests::{encode, with_exif_orientation};
        // Stored 400×200: dark everywhere but a bright top-left quarter, so every one of the
        // eight orientations puts the bright corner in a different place or shape.
        let stored = image::RgbImage::from_fn(400, 200, |x, y| {
            let v = if x < 200 && y < 100 { 250 } else { 10 };
            image::Rgb([v, v, v])
        });
        let stored = encode(&stored, ImageFormat::Jpeg);
        let thumb = |o: u16| {
            let bytes = with_exif_orientation(&stored, o);
            let t = render(&bytes, ImageSize::Thumb, &DecodeLimits::default()).unwrap();
            image::load_from_memory(&t).unwrap().to_luma8()
        };
        let (long, short) = (THUMB_LONG_SIDE, THUMB_LONG_SIDE / 2);
        // (orientation, shown size, the corner where the bright quarter is shown)
        let cases = [
            (1, (long, short), "top-left"),
            (2, (long, short), "top-right"),
            (3, (long, short), "bottom-right"),
            (4, (long, short), "bottom-left"),
            (5, (short, long), "top-left"),
            (6, (short, long), "top-right"),
            (7, (short, long), "bottom-right"),
            (8, (short, long), "bottom-left"),
        ];
        for (o, size, bright) in cases {
            let t = thumb(o);
            assert_eq!(t.dimensions(), size, "orientation {o}");
            let (w, h) = size;
            let corners = [
                ("top-left", 4, 4),
                ("top-right", w - 5, 4),
                ("bottom-right", w - 5, h - 5),
                ("bottom-left", 4, h - 5),
            ];
            for (name, x, y) in corners {
                let v = t.get_pixel(x, y).0[0];
                assert_eq!(v > 128, name == bright, "orientation {o}: {name} is {v}");
            }
        }
    }

    #[test]
    fn thumbnails_fit_the_long_side_and_analysis_images_the_working_size() {
        let limits = DecodeLimits::default();
        let original = png(1000, 500);
        let thumb = render(&original, ImageSize::Thumb, &limits).unwrap();
        let t = image::load_from_memory(&thumb).unwrap();
        assert_eq!(
            (t.width(), t.height()),
            (THUMB_LONG_SIDE, THUMB_LONG_SIDE / 2)
        );
        let analysis = render(&original, ImageSize::Analysis, &limits).unwrap();
        let a = image::load_from_memory(&analysis).unwrap();
        assert_eq!(
            (a.width(), a.height()),
            (WORKING_LONG_SIDE, WORKING_LONG_SIDE / 2)
        );
    }
}
