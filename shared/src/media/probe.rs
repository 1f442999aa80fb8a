//! The header of an upload: its real format (by content, never by name), its size, and whether
//! it is something we analyse (one still frame, within the limits). Full decoding waits for the
//! worker, so an upload answers fast.

use std::io::{BufRead, Cursor, Read, Seek};

use image::ImageFormat;

use super::{MediaError, MediaLimits, SIGNATURE_BYTES, check_format, check_pixels, dimensions_in};

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
    probe_in(&mut Cursor::new(bytes), bytes.len() as u64, limits)
}

/// [`probe`] of a file of `size` bytes read through `reader` (an upload streamed to disk):
/// the same checks, reading the header and walking a GIF's blocks without holding the file.
pub fn probe_in<R: BufRead + Seek>(
    reader: &mut R,
    size: u64,
    limits: &MediaLimits,
) -> Result<Probe, MediaError> {
    let corrupt = |e: std::io::Error| MediaError::Corrupt(e.to_string());
    let mut head = Vec::with_capacity(SIGNATURE_BYTES);
    reader
        .by_ref()
        .take(SIGNATURE_BYTES as u64)
        .read_to_end(&mut head)
        .map_err(corrupt)?;
    let format = check_format(&head, size, limits)?;
    reader.rewind().map_err(corrupt)?;
    let (width, height) = dimensions_in(&mut *reader, format)?;
    check_pixels(width, height, limits)?;
    if format == ImageFormat::Gif {
        reader.rewind().map_err(corrupt)?;
        if gif_frames_in(reader, 2) > 1 {
            return Err(MediaError::Animated);
        }
    }
    Ok(Probe {
        mime: format.to_mime_type(),
        width,
        height,
    })
}

/// Counts a GIF's image descriptors, up to `stop_at`, by walking its blocks without decoding a
/// pixel (a 66-byte GIF can announce a 9999x9999 canvas per frame). A walk that runs off the
/// end or meets an unknown block stops there: what was counted stands.
pub fn gif_frames(bytes: &[u8], stop_at: usize) -> usize {
    gif_frames_in(&mut Cursor::new(bytes), stop_at)
}

/// [`gif_frames`] through a reader positioned at the start of the GIF.
pub fn gif_frames_in<R: Read + Seek>(reader: &mut R, stop_at: usize) -> usize {
    let mut frames = 0;
    // Running off the end or meeting damage ends the walk; what was counted stands.
    let _ = walk_gif(reader, stop_at, &mut frames);
    frames
}

fn walk_gif<R: Read + Seek>(reader: &mut R, stop_at: usize, frames: &mut usize) -> Option<()> {
    // Header (6) and logical screen descriptor (7), then the global colour table if flagged.
    let mut screen = [0u8; 13];
    reader.read_exact(&mut screen).ok()?;
    skip(reader, colour_table_len(screen[10]))?;
    while *frames < stop_at {
        match read_byte(reader)? {
            // Extension: introducer, label, sub-blocks.
            0x21 => {
                skip(reader, 1)?;
                skip_sub_blocks(reader)?;
            }
            // Image descriptor: 9 bytes, a local colour table if flagged, the LZW code size,
            // then the image data's sub-blocks.
            0x2C => {
                *frames += 1;
                skip(reader, 8)?;
                let packed = read_byte(reader)?;
                skip(reader, colour_table_len(packed) + 1)?;
                skip_sub_blocks(reader)?;
            }
            _ => return None, // the trailer (0x3B), or damage
        }
    }
    Some(())
}

fn read_byte<R: Read>(reader: &mut R) -> Option<u8> {
    let mut b = [0u8; 1];
    reader.read_exact(&mut b).ok().map(|()| b[0])
}

fn skip<R: Seek>(reader: &mut R, n: usize) -> Option<()> {
    reader.seek_relative(i64::try_from(n).ok()?).ok()
}

/// Skips data sub-blocks (a length byte, that many bytes) up to the zero terminator.
fn skip_sub_blocks<R: Read + Seek>(reader: &mut R) -> Option<()> {
    loop {
        let len = read_byte(reader)?;
        if len == 0 {
            return Some(());
        }
        skip(reader, usize::from(len))?;
    }
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
    use crate::media::test_images::png;

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
