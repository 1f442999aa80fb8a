//! The header of an upload: its real format (by content, never by name), its size, and whether
//! it is something we analyse (one still frame, within the limits). Full decoding waits for the
//! worker, so an upload answers fast.

use image::ImageFormat;

use super::{MediaError, MediaLimits, sniff};

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

/// Checks an upload's header against `limits`; see the module doc.
pub fn probe(bytes: &[u8], limits: &MediaLimits) -> Result<Probe, MediaError> {
    let sniffed = sniff(bytes, limits)?;
    if sniffed.format == ImageFormat::Gif && gif_frames(bytes, 2) > 1 {
        return Err(MediaError::Animated);
    }
    Ok(Probe {
        mime: sniffed.format.to_mime_type(),
        width: sniffed.width,
        height: sniffed.height,
    })
}

/// Counts a GIF's image descriptors, up to `stop_at`, by walking its blocks without decoding a
/// pixel (a 66-byte GIF can announce a 9999x9999 canvas per frame). A walk that runs off the
/// end or meets an unknown block stops there: what was counted stands.
pub fn gif_frames(bytes: &[u8], stop_at: usize) -> usize {
    // Header (6) and logical screen descriptor (7), then the global colour table if flagged.
    let Some(&packed) = bytes.get(10) else {
        return 0;
    };
    let mut i = 13 + colour_table_len(packed);
    let mut frames = 0;
    // Skips data sub-blocks (a length byte, that many bytes) up to the zero terminator.
    let skip_sub_blocks = |mut i: usize| -> Option<usize> {
        loop {
            let len = usize::from(*bytes.get(i)?);
            i += 1;
            if len == 0 {
                return Some(i);
            }
            i += len;
        }
    };
    while frames < stop_at {
        let next = match bytes.get(i) {
            // Extension: introducer, label, sub-blocks.
            Some(0x21) => skip_sub_blocks(i + 2),
            // Image descriptor: 9 bytes, a local colour table if flagged, the LZW code size,
            // then the image data's sub-blocks.
            Some(0x2C) => {
                frames += 1;
                bytes
                    .get(i + 9)
                    .and_then(|&p| skip_sub_blocks(i + 10 + colour_table_len(p) + 1))
            }
            _ => None, // trailer (0x3B), the end, or damage
        };
        match next {
            Some(n) => i = n,
            None => break,
        }
    }
    frames
}

fn colour_table_len(packed: u8) -> usize {
    if packed & 0x80 == 0 {
        0
    } else {
        3 << ((packed & 0x07) + 1)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::media::render::tests::png;

    fn gif(frames: usize, side: u16) -> Vec<u8> {
        use image::codecs::gif::GifEncoder;
        let mut out = Vec::new();
        {
            let mut encoder = GifEncoder::new(&mut out);
            for f in 0..frames {
                let img = image::RgbaImage::from_fn(u32::from(side), u32::from(side), |x, y| {
                    image::Rgba([(x * 9 + f as u32 * 40) as u8, y as u8, 0, 255])
                });
                encoder.encode_frame(image::Frame::new(img)).unwrap();
            }
        }
        out
    }

    #[test]
    fn a_png_is_probed_by_content() {
        let probe = probe(&png(40, 30), &MediaLimits::default()).unwrap();
        assert_eq!(
            (probe.mime, probe.width, probe.height),
            ("image/png", 40, 30)
        );
    }

    #[test]
    fn non_images_and_empty_files_are_refused() {
        let limits = MediaLimits::default();
        assert_eq!(probe(b"", &limits), Err(MediaError::Empty));
        assert_eq!(
            probe(b"hello, I am text", &limits),
            Err(MediaError::Unsupported)
        );
        let small = MediaLimits {
            max_bytes: 10,
            ..limits
        };
        assert!(matches!(
            probe(&png(4, 4), &small),
            Err(MediaError::TooLarge { .. })
        ));
    }

    #[test]
    fn the_pixel_limit_is_checked_from_the_header() {
        let limits = MediaLimits {
            max_pixels: 100,
            ..MediaLimits::default()
        };
        assert!(matches!(
            probe(&png(20, 20), &limits),
            Err(MediaError::TooManyPixels { .. })
        ));
    }

    #[test]
    fn gif_frames_are_counted_from_the_blocks() {
        assert_eq!(gif_frames(&gif(1, 16), 10), 1);
        assert_eq!(gif_frames(&gif(3, 16), 10), 3);
        assert_eq!(gif_frames(&gif(3, 16), 2), 2);
        assert!(probe(&gif(1, 16), &MediaLimits::default()).is_ok());
        assert_eq!(
            probe(&gif(2, 16), &MediaLimits::default()),
            Err(MediaError::Animated)
        );
        // Damage and truncation never panic; they count what they saw.
        let two = gif(2, 16);
        for cut in 0..two.len() {
            assert!(gif_frames(&two[..cut], 10) <= 2);
        }
        assert_eq!(gif_frames(b"GIF89a", 10), 0);
    }

    #[test]
    fn a_huge_canvas_gif_is_counted_without_decoding_it() {
        // A 9999x9999 logical screen with two 1x1 frames, written by hand: walking it must not
        // allocate the canvas (the old frame decoder took ~400 MB for this).
        let mut g = b"GIF89a".to_vec();
        g.extend_from_slice(&[0x0F, 0x27, 0x0F, 0x27, 0x00, 0x00, 0x00]);
        for _ in 0..2 {
            g.extend_from_slice(&[0x2C, 0, 0, 0, 0, 0x0F, 0x27, 0x0F, 0x27, 0x00]);
            g.extend_from_slice(&[0x02, 0x02, 0x44, 0x01, 0x00]);
        }
        g.push(0x3B);
        assert_eq!(gif_frames(&g, 10), 2);
    }
}
