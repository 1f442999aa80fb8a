//! Small images made in code, for tests here and in the server (feature `test-images`): a
//! pattern, encoded in any format, with an EXIF orientation when asked.

use std::io::Cursor;

use image::ImageFormat;

/// A checkerboard of 4-px squares in two colours.
pub fn pattern(w: u32, h: u32) -> image::RgbImage {
    image::RgbImage::from_fn(w, h, |x, y| {
        let v = if (x / 4 + y / 4) % 2 == 0 { 30 } else { 220 };
        image::Rgb([v, v / 2, 255 - v])
    })
}

/// `img` encoded as `format`.
///
/// # Panics
/// If the encoder fails (a test image it cannot write).
#[allow(clippy::expect_used)]
pub fn encode(img: &image::RgbImage, format: ImageFormat) -> Vec<u8> {
    let mut out = Cursor::new(Vec::new());
    img.write_to(&mut out, format)
        .expect("a test image encodes");
    out.into_inner()
}

/// A grey PNG with a diagonal pattern.
///
/// # Panics
/// If the encoder fails.
#[allow(clippy::expect_used)]
pub fn png(width: u32, height: u32) -> Vec<u8> {
    let img = image::GrayImage::from_fn(width, height, |x, y| {
        image::Luma([((x * 7 + y * 3) % 256) as u8])
    });
    let mut out = Vec::new();
    image::DynamicImage::ImageLuma8(img)
        .write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .expect("a test image encodes");
    out
}

/// `jpeg` with an EXIF block (little-endian TIFF, one IFD entry) saying `orientation`.
pub fn with_exif_orientation(jpeg: &[u8], orientation: u16) -> Vec<u8> {
    let mut tiff = b"II*\x00\x08\x00\x00\x00".to_vec();
    tiff.extend(1u16.to_le_bytes()); // one entry
    tiff.extend(0x0112u16.to_le_bytes()); // Orientation
    tiff.extend(3u16.to_le_bytes()); // SHORT
    tiff.extend(1u32.to_le_bytes()); // count
    tiff.extend(u32::from(orientation).to_le_bytes()); // value, left-aligned
    tiff.extend(0u32.to_le_bytes()); // no next IFD
    let mut app1 = b"Exif\x00\x00".to_vec();
    app1.extend(tiff);
    let mut out = jpeg[..2].to_vec();
    out.extend([0xFF, 0xE1]);
    out.extend(((app1.len() + 2) as u16).to_be_bytes());
    out.extend(app1);
    out.extend(&jpeg[2..]);
    out
}
