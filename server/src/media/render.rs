//! The images a client is shown: a JPEG thumbnail, and the analysis image (the 8-bit luma at
//! the kernel's working resolution, as PNG, so a browser preview can run the kernel on exactly
//! the pixels the server judges).
//!
//! A thumbnail of a JPEG is decoded at a reduced scale (the DCT scaled to 1/2, 1/4 or 1/8), so
//! a 100-megapixel photo never needs its full-size pixels in memory.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, ImageReader};
use shared::kernel::WORKING_LONG_SIDE;

use super::{MediaError, MediaLimits, decode_gray, decoder_limits, image_error};

/// Long side of a thumbnail, in pixels.
pub const THUMB_LONG_SIDE: u32 = 320;

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
pub fn render(bytes: &[u8], size: ImageSize, limits: &MediaLimits) -> Result<Vec<u8>, MediaError> {
    let mut out = Vec::new();
    match size {
        ImageSize::Thumb => {
            let sniffed = super::sniff(bytes, limits)?;
            let img = if sniffed.format == ImageFormat::Jpeg {
                jpeg_at_reduced_scale(bytes, limits, THUMB_LONG_SIDE * 2)?
            } else {
                let mut reader = ImageReader::with_format(Cursor::new(bytes), sniffed.format);
                reader.limits(decoder_limits(limits));
                reader.decode().map_err(image_error)?
            };
            // Turned after shrinking: a quarter turn copies the image, and a 320-px copy is
            // cheap where a full-size one would double the decode's memory.
            let mut thumb =
                DynamicImage::ImageRgb8(img.thumbnail(THUMB_LONG_SIDE, THUMB_LONG_SIDE).to_rgb8());
            drop(img);
            // Phones store portrait photos sideways with an EXIF turn; show them upright.
            thumb.apply_orientation(super::exif::to_image_orientation(
                super::exif::read(bytes).orientation,
            ));
            let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 82);
            thumb
                .write_with_encoder(encoder)
                .map_err(|e| MediaError::Corrupt(e.to_string()))?;
        }
        ImageSize::Analysis => {
            let decoded = decode_gray(bytes, limits)?;
            let gray = decoded.gray.fit_long_side(WORKING_LONG_SIDE);
            drop(decoded);
            let buffer =
                image::GrayImage::from_raw(gray.width(), gray.height(), gray.data().to_vec())
                    .ok_or_else(|| MediaError::Corrupt("bad analysis image".into()))?;
            DynamicImage::ImageLuma8(buffer)
                .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
                .map_err(|e| MediaError::Corrupt(e.to_string()))?;
        }
    }
    Ok(out)
}

/// The JPEG a vision model is sent: the photo fitted into the size `size_for` gives for its
/// width and height (never larger than the model looks at), upright (EXIF turn applied),
/// quality 85. Returns the bytes and their width and height. CPU-bound: call it off the async
/// threads.
pub fn vision_jpeg(
    bytes: &[u8],
    limits: &MediaLimits,
    size_for: impl Fn(u32, u32) -> (u32, u32),
) -> Result<(Vec<u8>, u32, u32), MediaError> {
    let sniffed = super::sniff(bytes, limits)?;
    let (tw, th) = size_for(sniffed.width, sniffed.height);
    let img = if sniffed.format == ImageFormat::Jpeg {
        // Twice the target, so the resampling works from real detail.
        jpeg_at_reduced_scale(bytes, limits, tw.max(th).saturating_mul(2))?
    } else {
        let mut reader = ImageReader::with_format(Cursor::new(bytes), sniffed.format);
        reader.limits(decoder_limits(limits));
        reader.decode().map_err(image_error)?
    };
    let mut fitted = if img.width() > tw || img.height() > th {
        DynamicImage::ImageRgb8(
            img.resize(tw, th, image::imageops::FilterType::Triangle)
                .to_rgb8(),
        )
    } else {
        DynamicImage::ImageRgb8(img.to_rgb8())
    };
    drop(img);
    fitted.apply_orientation(super::exif::to_image_orientation(
        super::exif::read(bytes).orientation,
    ));
    let (width, height) = (fitted.width(), fitted.height());
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 85);
    fitted
        .write_with_encoder(encoder)
        .map_err(|e| MediaError::Corrupt(e.to_string()))?;
    Ok((out, width, height))
}

/// A JPEG decoded with its DCT scaled down (1/8 at most) to the smallest size that still
/// covers `want_long` on its long side (twice the thumbnail for a thumbnail), so the result is
/// resampled from real detail while the full image is never held: a 100-megapixel photo costs
/// ~5 MB of pixels instead of ~300 MB.
fn jpeg_at_reduced_scale(
    bytes: &[u8],
    limits: &MediaLimits,
    want_long: u32,
) -> Result<DynamicImage, MediaError> {
    let corrupt = |e: jpeg_decoder::Error| MediaError::Corrupt(e.to_string());
    let mut decoder = jpeg_decoder::Decoder::new(Cursor::new(bytes));
    // The coefficient buffer of a progressive JPEG is full size even when the output is not.
    decoder.set_max_decoding_buffer_size(
        usize::try_from(limits.max_pixels.saturating_mul(4)).unwrap_or(usize::MAX),
    );
    decoder.read_info().map_err(corrupt)?;
    let info = decoder
        .info()
        .ok_or_else(|| MediaError::Corrupt("no frame header".into()))?;
    let (w, h) = (u32::from(info.width), u32::from(info.height));
    super::check_pixels(w, h, limits)?;
    let want = u16::try_from(want_long.max(1)).unwrap_or(u16::MAX);
    let (request_w, request_h) = if w >= h {
        (
            want,
            u16::try_from(u64::from(want) * u64::from(h) / u64::from(w.max(1))).unwrap_or(1),
        )
    } else {
        (
            u16::try_from(u64::from(want) * u64::from(w) / u64::from(h.max(1))).unwrap_or(1),
            want,
        )
    };
    let (sw, sh) = decoder
        .scale(request_w.max(1), request_h.max(1))
        .map_err(corrupt)?;
    let pixels = decoder.decode().map_err(corrupt)?;
    let (sw, sh) = (u32::from(sw), u32::from(sh));
    let bad = || MediaError::Corrupt("the decoded size does not match the header".into());
    Ok(match info.pixel_format {
        jpeg_decoder::PixelFormat::L8 => {
            DynamicImage::ImageLuma8(image::GrayImage::from_raw(sw, sh, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::L16 => {
            let wide: Vec<u16> = pixels
                .chunks_exact(2)
                .map(|c| u16::from_be_bytes([c[0], c[1]]))
                .collect();
            DynamicImage::ImageLuma16(image::ImageBuffer::from_raw(sw, sh, wide).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::RGB24 => {
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(sw, sh, pixels).ok_or_else(bad)?)
        }
        jpeg_decoder::PixelFormat::CMYK32 => {
            // Adobe CMYK JPEGs store inverted values; a plain conversion is close enough for a
            // thumbnail.
            let rgb: Vec<u8> = pixels
                .chunks_exact(4)
                .flat_map(|p| {
                    let k = u16::from(p[3]);
                    [p[0], p[1], p[2]].map(|c| ((u16::from(c) * k) / 255) as u8)
                })
                .collect();
            DynamicImage::ImageRgb8(image::RgbImage::from_raw(sw, sh, rgb).ok_or_else(bad)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::media::test_images::png;

    #[test]
    fn thumbnails_of_sideways_stored_photos_are_upright() {
        use shared::media::test_images::{encode, with_exif_orientation};
        // Stored 400×200: dark everywhere but a bright top-left quarter, so every one of the
        // eight orientations puts the bright corner in a different place or shape.
        let stored = image::RgbImage::from_fn(400, 200, |x, y| {
            let v = if x < 200 && y < 100 { 250 } else { 10 };
            image::Rgb([v, v, v])
        });
        let stored = encode(&stored, ImageFormat::Jpeg);
        let thumb = |o: u16| {
            let bytes = with_exif_orientation(&stored, o);
            let t = render(&bytes, ImageSize::Thumb, &MediaLimits::default()).unwrap();
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
        let limits = MediaLimits::default();
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
