//! Defensive decoding: untrusted file bytes in, the kernel's `GrayImage` out.
//!
//! - The format is sniffed from the content (magic bytes), never from the file name.
//! - Byte size and pixel count are checked before any pixel buffer is allocated: the pixel
//!   count comes from the header alone, so a decompression bomb (a tiny PNG claiming
//!   100 000 × 100 000 pixels) is refused without allocating.
//! - JPEG (most photos) is decoded straight to luma: only the Y channel is entropy-decoded and
//!   transformed, no chroma upsampling or colour conversion. Truncated JPEGs are refused rather
//!   than analysed with a grey-filled bottom half.
//! - Every failure is a `MediaError`; no input makes this module panic.

use std::io::Cursor;

use crate::kernel::{BlurReport, ExposureHints, GrayImage, KernelError, MAX_SIDE, analyze};
use image::{DynamicImage, ImageFormat, ImageReader};
use zune_core::bytestream::ZCursor;
use zune_core::colorspace::ColorSpace;
use zune_core::options::DecoderOptions;

use super::{
    MediaError, MediaLimits, check_pixels, decoder_limits, header_dimensions, image_error,
};

/// A decoded photo, ready for `shared::kernel::analyze`.
#[derive(Debug, Clone, PartialEq)]
pub struct DecodedImage {
    /// 8-bit luma at the original resolution.
    pub gray: GrayImage,
    /// Width of the encoded image, in pixels.
    pub width: u32,
    /// Height of the encoded image, in pixels.
    pub height: u32,
    /// MIME type of the sniffed format, e.g. `image/jpeg`.
    pub mime: &'static str,
    /// Exposure time and focal length from EXIF, when present.
    pub exposure: ExposureHints,
    /// EXIF `Orientation` (1–8; 1 = stored upright, also when absent): how the stored
    /// pixels are turned for display. The kernel works on the stored pixels; apply this to
    /// its report with `BlurReport::oriented`.
    pub orientation: u16,
}

impl DecodedImage {
    /// The kernel's report on these pixels, with the motion angle turned to the photo as it
    /// is shown (EXIF orientation). The one place that joins the two, so no caller can forget
    /// the turn.
    pub fn judge(&self) -> Result<BlurReport, KernelError> {
        analyze(&self.gray, Some(&self.exposure)).map(|r| r.oriented(self.orientation))
    }
}

/// Decodes `bytes` to luma within `limits`; see the module doc.
pub fn decode_gray(bytes: &[u8], limits: &MediaLimits) -> Result<DecodedImage, MediaError> {
    let sniffed = super::sniff_format(bytes, limits)?;
    let gray = match sniffed {
        ImageFormat::Jpeg => decode_jpeg_luma(bytes, limits)?,
        format => decode_generic(bytes, format, limits)?,
    };
    let facts = super::exif::read(bytes);
    Ok(DecodedImage {
        width: gray.width(),
        height: gray.height(),
        gray,
        mime: sniffed.to_mime_type(),
        exposure: facts.exposure,
        orientation: facts.orientation,
    })
}

fn kernel_error(err: KernelError) -> MediaError {
    MediaError::Corrupt(err.to_string())
}

/// JPEG through zune-jpeg with luma output. Strict first, so truncation is caught; a file that
/// only trips the strict checks on something else (stray markers, which cameras and editors do
/// write) is decoded leniently, as browsers do. Colour spaces without a Y channel (CMYK, RGB)
/// go through the generic path.
fn decode_jpeg_luma(bytes: &[u8], limits: &MediaLimits) -> Result<GrayImage, MediaError> {
    let options = |strict: bool| {
        DecoderOptions::default()
            .set_strict_mode(strict)
            .set_max_width(MAX_SIDE as usize)
            .set_max_height(MAX_SIDE as usize)
            .jpeg_set_out_colorspace(ColorSpace::Luma)
    };
    let mut decoder = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options(true));
    // A lenient reader fills missing data with grey instead of failing, so before one is
    // used, truncation is checked separately (`reaches_eoi`, which only reads bytes).
    let truncated =
        || MediaError::Corrupt("truncated JPEG: no end-of-image marker after the scan data".into());
    if let Err(err) = decoder.decode_headers() {
        // The header may still be one image/zune reject for the side limit only: ask the
        // generic reader for the size, so an oversized JPEG is reported as such.
        if let Ok((w, h)) = header_dimensions(bytes, ImageFormat::Jpeg) {
            check_pixels(w, h, limits)?;
        }
        // Stray bytes between header segments are the common strict-only failure (some
        // editors write them); browsers show such files, so a lenient reading is accepted.
        let mut lenient =
            zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options(false));
        if lenient.decode_headers().is_err() {
            return Err(MediaError::Corrupt(err.to_string()));
        }
        if !reaches_eoi(bytes) {
            return Err(truncated());
        }
        decoder = lenient;
    }
    let (width, height) = decoder
        .dimensions()
        .map(|(w, h)| (w as u32, h as u32))
        .ok_or_else(|| MediaError::Corrupt("no frame header".into()))?;
    check_pixels(width, height, limits)?;
    if !matches!(
        decoder.input_colorspace(),
        Some(ColorSpace::YCbCr | ColorSpace::Luma)
    ) {
        return decode_generic(bytes, ImageFormat::Jpeg, limits);
    }
    let strict = decoder.decode();
    let data = match strict {
        Ok(data) => data,
        Err(err) => {
            let message = err.to_string();
            // Truncation is told by our own segment walk, not by the decoder's wording.
            if !reaches_eoi(bytes) {
                return Err(truncated());
            }
            let mut lenient =
                zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(bytes), options(false));
            lenient.decode().map_err(|_| MediaError::Corrupt(message))?
        }
    };
    GrayImage::new(width, height, data).map_err(kernel_error)
}

/// Whether a walk over the JPEG's segments reaches the end-of-image marker: segments are
/// skipped by their declared length (so a thumbnail inside EXIF is not mistaken for the end),
/// entropy-coded data up to the next real marker (`FF` not followed by a stuffed `00` or a
/// restart marker), and stray bytes between segments are passed over as lenient readers do.
fn reaches_eoi(bytes: &[u8]) -> bool {
    fn next_ff(bytes: &[u8], from: usize) -> Option<usize> {
        let skipped = bytes.get(from..)?.iter().position(|&x| x == 0xFF)?;
        Some(from + skipped)
    }
    let mut i = 2; // after SOI
    loop {
        // Next marker: skip stray bytes, then any fill bytes (FF FF ...).
        let Some(ff) = next_ff(bytes, i) else {
            return false;
        };
        i = ff;
        while bytes.get(i + 1) == Some(&0xFF) {
            i += 1;
        }
        let Some(&marker) = bytes.get(i + 1) else {
            return false;
        };
        i += 2;
        match marker {
            0xD9 => return true,
            0x00 | 0x01 | 0xD0..=0xD7 => {}
            _ => {
                let Some(len) = bytes
                    .get(i..i + 2)
                    .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
                else {
                    return false;
                };
                i += len;
                if marker == 0xDA {
                    // Entropy-coded data: runs to the first FF followed by neither 00 nor RSTn.
                    loop {
                        let Some(ff) = next_ff(bytes, i) else {
                            return false;
                        };
                        i = ff;
                        match bytes.get(i + 1) {
                            Some(0x00 | 0xD0..=0xD7) => i += 2,
                            Some(_) => break,
                            None => return false,
                        }
                    }
                }
            }
        }
    }
}

/// PNG, WebP, GIF (first frame) and the JPEGs without a Y channel, through `image`.
fn decode_generic(
    bytes: &[u8],
    format: ImageFormat,
    limits: &MediaLimits,
) -> Result<GrayImage, MediaError> {
    let (width, height) = header_dimensions(bytes, format)?;
    check_pixels(width, height, limits)?;
    let mut reader = ImageReader::with_format(Cursor::new(bytes), format);
    reader.limits(decoder_limits(limits));
    let img = reader.decode().map_err(image_error)?;
    let (w, h) = (img.width(), img.height());
    match img {
        DynamicImage::ImageLuma8(buf) => GrayImage::new(w, h, buf.into_raw()),
        DynamicImage::ImageRgb8(buf) => GrayImage::from_rgb(w, h, buf.as_raw()),
        DynamicImage::ImageRgba8(buf) => GrayImage::from_rgba(w, h, buf.as_raw()),
        other => GrayImage::from_rgb(w, h, other.to_rgb8().as_raw()),
    }
    .map_err(kernel_error)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::test_images::{encode, pattern, with_exif_orientation};
    use proptest::prelude::*;

    #[test]
    fn png_decodes_to_luma_with_its_size_and_mime() {
        let d = decode_gray(
            &encode(&pattern(40, 30), ImageFormat::Png),
            &MediaLimits::default(),
        )
        .unwrap();
        assert_eq!((d.width, d.height), (40, 30));
        assert_eq!((d.gray.width(), d.gray.height()), (40, 30));
        assert_eq!(d.mime, "image/png");
        let expected = GrayImage::from_rgb(40, 30, pattern(40, 30).as_raw()).unwrap();
        assert_eq!(d.gray, expected);
    }

    #[test]
    fn jpeg_decodes_to_luma_close_to_the_rgb_path() {
        let bytes = encode(&pattern(64, 48), ImageFormat::Jpeg);
        let d = decode_gray(&bytes, &MediaLimits::default()).unwrap();
        assert_eq!((d.width, d.height, d.mime), (64, 48, "image/jpeg"));
        let rgb = image::load_from_memory(&bytes).unwrap().to_rgb8();
        let via_rgb = GrayImage::from_rgb(64, 48, rgb.as_raw()).unwrap();
        let max_diff = d
            .gray
            .data()
            .iter()
            .zip(via_rgb.data())
            .map(|(&a, &b)| a.abs_diff(b))
            .max()
            .unwrap();
        assert!(max_diff <= 12, "luma differs by {max_diff}");
    }

    #[test]
    fn gray_and_webp_and_gif_decode() {
        let luma = image::GrayImage::from_fn(20, 10, |x, _| image::Luma([x as u8 * 10]));
        let mut png = Cursor::new(Vec::new());
        luma.write_to(&mut png, ImageFormat::Png).unwrap();
        let d = decode_gray(png.get_ref(), &MediaLimits::default()).unwrap();
        assert_eq!(d.gray.data(), luma.as_raw().as_slice());

        let rgba = image::RgbaImage::from_fn(16, 16, |x, y| {
            image::Rgba([x as u8 * 16, y as u8 * 16, 0, 255])
        });
        for format in [ImageFormat::WebP, ImageFormat::Gif] {
            let mut buf = Cursor::new(Vec::new());
            rgba.write_to(&mut buf, format).unwrap();
            let d = decode_gray(buf.get_ref(), &MediaLimits::default()).unwrap();
            assert_eq!((d.width, d.height), (16, 16), "{format:?}");
            assert_eq!(d.mime, format.to_mime_type());
        }
    }

    #[test]
    fn empty_and_text_and_oversized_inputs_are_typed_errors() {
        let limits = MediaLimits::default();
        assert_eq!(decode_gray(&[], &limits), Err(MediaError::Empty));
        assert_eq!(
            decode_gray(b"just some text, not a photo\n", &limits),
            Err(MediaError::Unsupported)
        );
        // BMP is recognised by its magic bytes but not enabled.
        assert_eq!(
            decode_gray(b"BM\x00\x00\x00\x00\x00\x00\x00\x00", &limits),
            Err(MediaError::Unsupported)
        );
        let small = MediaLimits {
            max_bytes: 10,
            ..limits
        };
        assert_eq!(
            decode_gray(&[0u8; 11], &small),
            Err(MediaError::TooLarge { size: 11, max: 10 })
        );
    }

    /// Inserts `junk` just before the first DQT segment of a JPEG.
    fn with_junk_before_dqt(bytes: &[u8], junk: &[u8]) -> Vec<u8> {
        let at = bytes
            .windows(2)
            .position(|w| w == [0xFF, 0xDB])
            .expect("encoder writes a DQT");
        [&bytes[..at], junk, &bytes[at..]].concat()
    }

    #[test]
    fn a_jpeg_only_a_strict_reader_refuses_is_read_leniently() {
        let clean = encode(&pattern(64, 48), ImageFormat::Jpeg);
        let odd = with_junk_before_dqt(&clean, b"JUNKJUNK");
        // The premise: the strict reader refuses it.
        let strict = DecoderOptions::default().set_strict_mode(true);
        let mut probe = zune_jpeg::JpegDecoder::new_with_options(ZCursor::new(&odd[..]), strict);
        assert!(probe.decode_headers().is_err());
        // We read it, with the same pixels as the clean file.
        let a = decode_gray(&clean, &MediaLimits::default()).unwrap();
        let b = decode_gray(&odd, &MediaLimits::default()).unwrap();
        assert_eq!(a.gray, b.gray);
        // Still corrupt when the data is cut short as well as odd.
        let cut = &odd[..odd.len() / 2];
        assert!(matches!(
            decode_gray(cut, &MediaLimits::default()),
            Err(MediaError::Corrupt(_))
        ));
    }

    #[test]
    fn the_segment_walk_finds_the_end_only_in_whole_files() {
        let clean = encode(&pattern(64, 48), ImageFormat::Jpeg);
        assert!(reaches_eoi(&clean));
        assert!(reaches_eoi(&with_junk_before_dqt(&clean, b"JUNK")));
        // Data after the end (phones append videos) does not matter.
        assert!(reaches_eoi(&[&clean[..], b"ftypmp42..."].concat()));
        for cut in [clean.len() - 1, clean.len() - 2, clean.len() / 2, 4, 0] {
            assert!(!reaches_eoi(&clean[..cut]), "cut {cut}");
        }
        // An end marker hidden inside a skipped segment (a thumbnail in a COM here) is not
        // the end of the image.
        let mut fake = clean[..2].to_vec();
        fake.extend([0xFF, 0xFE, 0x00, 0x06, 0xFF, 0xD9, 0xFF, 0xD9]);
        fake.extend(&clean[2..clean.len() / 2]);
        assert!(!reaches_eoi(&fake));
    }

    #[test]
    fn a_truncated_jpeg_is_corrupt() {
        let bytes = encode(&pattern(256, 256), ImageFormat::Jpeg);
        for cut in [bytes.len() / 2, bytes.len() - 20, 200, 20, 3] {
            let res = decode_gray(&bytes[..cut], &MediaLimits::default()).map(|d| d.mime);
            assert!(
                matches!(res, Err(MediaError::Corrupt(_))),
                "cut {cut}: {res:?}"
            );
        }
    }

    /// A small PNG whose IHDR claims the given size, followed by a few bytes of IDAT and IEND
    /// (the shape of a decompression bomb, minus the compressed zeros).
    fn png_header(width: u32, height: u32) -> Vec<u8> {
        let mut ihdr = Vec::new();
        ihdr.extend(width.to_be_bytes());
        ihdr.extend(height.to_be_bytes());
        ihdr.extend([8, 2, 0, 0, 0]); // 8-bit RGB, no interlace
        let mut png = b"\x89PNG\r\n\x1a\n".to_vec();
        for (kind, data) in [
            (&b"IHDR"[..], &ihdr[..]),
            (
                b"IDAT",
                &[0x78, 0x9c, 0x63, 0x00, 0x00, 0x00, 0x01, 0x00, 0x01],
            ),
            (b"IEND", &[]),
        ] {
            png.extend((data.len() as u32).to_be_bytes());
            let mut chunk = kind.to_vec();
            chunk.extend(data);
            png.extend(&chunk);
            png.extend(crc32(&chunk).to_be_bytes());
        }
        png
    }

    fn crc32(data: &[u8]) -> u32 {
        let mut crc = 0xFFFF_FFFFu32;
        for &b in data {
            crc ^= u32::from(b);
            for _ in 0..8 {
                crc = if crc & 1 == 1 {
                    (crc >> 1) ^ 0xEDB8_8320
                } else {
                    crc >> 1
                };
            }
        }
        !crc
    }

    #[test]
    fn a_decompression_bomb_is_refused_from_its_header() {
        let res = decode_gray(&png_header(100_000, 100_000), &MediaLimits::default());
        assert_eq!(
            res,
            Err(MediaError::TooManyPixels {
                width: 100_000,
                height: 100_000,
                max_pixels: crate::media::DEFAULT_MAX_PIXELS
            })
        );
        // Within the limits but without pixel data: corrupt, not a panic.
        let res = decode_gray(&png_header(100, 100), &MediaLimits::default());
        assert!(matches!(res, Err(MediaError::Corrupt(_))), "{res:?}");
    }

    #[test]
    fn a_jpeg_over_the_pixel_limit_is_refused() {
        let bytes = encode(&pattern(200, 100), ImageFormat::Jpeg);
        let limits = MediaLimits {
            max_pixels: 10_000,
            ..MediaLimits::default()
        };
        assert!(matches!(
            decode_gray(&bytes, &limits),
            Err(MediaError::TooManyPixels {
                width: 200,
                height: 100,
                ..
            })
        ));
    }

    #[test]
    fn exif_orientation_is_read_and_defaults_to_upright() {
        let bytes = encode(&pattern(64, 48), ImageFormat::Jpeg);
        assert_eq!(
            decode_gray(&bytes, &MediaLimits::default())
                .unwrap()
                .orientation,
            1
        );
        for o in [1, 3, 6, 8] {
            let d =
                decode_gray(&with_exif_orientation(&bytes, o), &MediaLimits::default()).unwrap();
            assert_eq!(d.orientation, o);
            // The pixels stay as stored; only the report is turned.
            assert_eq!((d.width, d.height), (64, 48));
        }
        let junk = with_exif_orientation(&bytes, 42);
        assert_eq!(
            decode_gray(&junk, &MediaLimits::default())
                .unwrap()
                .orientation,
            1
        );
    }

    #[test]
    fn exif_exposure_is_read_when_present_and_absent_otherwise() {
        let hints = |bytes: &[u8]| crate::media::exif::read(bytes).exposure;
        assert_eq!(hints(b"nothing"), ExposureHints::default());
        let bytes = encode(&pattern(8, 8), ImageFormat::Jpeg);
        assert_eq!(hints(&bytes), ExposureHints::default());
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(256))]
        #[test]
        fn the_segment_walk_never_panics_and_passes_over_junk(
            bytes in proptest::collection::vec(any::<u8>(), 0..512),
            junk in proptest::collection::vec(1u8..0xFF, 4..40),
        ) {
            let _ = reaches_eoi(&bytes);
            let clean = encode(&pattern(32, 24), ImageFormat::Jpeg);
            prop_assert!(reaches_eoi(&with_junk_before_dqt(&clean, &junk)));
        }

        #[test]
        fn random_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..2048)) {
            let _ = decode_gray(&bytes, &MediaLimits::default());
        }

        #[test]
        fn damaged_images_never_panic(
            format in prop_oneof![Just(ImageFormat::Jpeg), Just(ImageFormat::Png), Just(ImageFormat::Gif), Just(ImageFormat::WebP)],
            flips in proptest::collection::vec((any::<prop::sample::Index>(), any::<u8>()), 1..8),
            cut in any::<prop::sample::Index>(),
        ) {
            let mut bytes = encode(&pattern(48, 40), format);
            for (at, v) in flips {
                let i = at.index(bytes.len());
                bytes[i] = v;
            }
            let keep = bytes.len() / 2 + cut.index(bytes.len() / 2 + 1);
            bytes.truncate(keep);
            let _ = decode_gray(&bytes, &MediaLimits::default());
        }
    }
}
