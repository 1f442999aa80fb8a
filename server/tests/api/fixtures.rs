//! Photos the tests make themselves: sharp scenes of random shapes, the same scene blurred,
//! and hostile files. Seeds make each image (and so each hash) distinct and repeatable.

use std::io::Cursor;

use image::{DynamicImage, ImageFormat, Rgb, RgbImage};

/// A tiny deterministic generator (the images must be the same on every run).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> u32 {
        self.0 = self
            .0
            .wrapping_mul(6364136223846793005)
            .wrapping_add(1442695040888963407);
        (self.0 >> 33) as u32
    }
    fn below(&mut self, n: u32) -> u32 {
        self.next() % n.max(1)
    }
}

/// A scene of filled rectangles and thin lines over a gradient: many hard edges.
pub fn scene(seed: u64, width: u32, height: u32) -> RgbImage {
    let mut rng = Lcg(seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1);
    let mut img = RgbImage::from_fn(width, height, |x, y| {
        let v = (x * 96 / width + y * 64 / height) as u8 + 40;
        Rgb([v, v / 2 + 60, 200 - v / 2])
    });
    for _ in 0..60 {
        let (x0, y0) = (rng.below(width), rng.below(height));
        let (w, h) = (rng.below(width / 5) + 4, rng.below(height / 5) + 4);
        let colour = Rgb([
            rng.below(256) as u8,
            rng.below(256) as u8,
            rng.below(256) as u8,
        ]);
        for y in y0..(y0 + h).min(height) {
            for x in x0..(x0 + w).min(width) {
                img.put_pixel(x, y, colour);
            }
        }
    }
    for _ in 0..40 {
        let y = rng.below(height);
        let x0 = rng.below(width);
        let c = if rng.below(2) == 0 { 0 } else { 255 };
        for x in x0..(x0 + width / 3).min(width) {
            img.put_pixel(x, y, Rgb([c, c, c]));
        }
    }
    img
}

pub fn jpeg(img: &RgbImage) -> Vec<u8> {
    let mut out = Vec::new();
    let encoder = image::codecs::jpeg::JpegEncoder::new_with_quality(&mut out, 92);
    DynamicImage::ImageRgb8(img.clone())
        .write_with_encoder(encoder)
        .unwrap();
    out
}

pub fn png(img: &DynamicImage) -> Vec<u8> {
    let mut out = Vec::new();
    img.write_to(&mut Cursor::new(&mut out), ImageFormat::Png)
        .unwrap();
    out
}

/// A sharp photo.
pub fn sharp_jpeg(seed: u64) -> Vec<u8> {
    jpeg(&scene(seed, 640, 480))
}

/// The same kind of scene, defocused.
pub fn blurred_jpeg(seed: u64) -> Vec<u8> {
    let img = scene(seed, 640, 480);
    jpeg(&image::imageops::blur(&img, 6.0))
}

/// What the kernel says of these bytes, as the worker would compute it.
pub fn kernel_score(bytes: &[u8]) -> f32 {
    let decoded =
        server::media::decode_gray(bytes, &server::media::MediaLimits::default()).unwrap();
    shared::kernel::analyze(&decoded.gray, Some(&decoded.exposure))
        .unwrap()
        .blur_score
}

/// A PNG whose header claims `width` x `height` (the IHDR CRC is fixed up; no pixel data
/// follows, as in a decompression bomb's header).
pub fn png_claiming(width: u32, height: u32) -> Vec<u8> {
    let mut ihdr = Vec::new();
    ihdr.extend_from_slice(b"IHDR");
    ihdr.extend_from_slice(&width.to_be_bytes());
    ihdr.extend_from_slice(&height.to_be_bytes());
    ihdr.extend_from_slice(&[8, 0, 0, 0, 0]);
    let mut out = b"\x89PNG\r\n\x1a\n".to_vec();
    out.extend_from_slice(&13u32.to_be_bytes());
    out.extend_from_slice(&ihdr);
    out.extend_from_slice(&crc32(&ihdr).to_be_bytes());
    // An IDAT with a few bytes, then IEND.
    let idat = b"IDAT\x78\x9c\x63\x00\x00\x00\x01\x00\x01";
    out.extend_from_slice(&((idat.len() - 4) as u32).to_be_bytes());
    out.extend_from_slice(idat);
    out.extend_from_slice(&crc32(idat).to_be_bytes());
    out.extend_from_slice(&0u32.to_be_bytes());
    out.extend_from_slice(b"IEND");
    out.extend_from_slice(&crc32(b"IEND").to_be_bytes());
    out
}

fn crc32(data: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFFu32;
    for &b in data {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 != 0 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

/// A two-frame animated GIF.
pub fn animated_gif() -> Vec<u8> {
    use image::codecs::gif::GifEncoder;
    use image::{Delay, Frame, RgbaImage};
    let mut out = Vec::new();
    {
        let mut encoder = GifEncoder::new(&mut out);
        for shade in [0u8, 255] {
            let frame = Frame::from_parts(
                RgbaImage::from_pixel(32, 32, image::Rgba([shade, shade, shade, 255])),
                0,
                0,
                Delay::from_numer_denom_ms(100, 1),
            );
            encoder.encode_frame(frame).unwrap();
        }
    }
    out
}

/// A 16-bit greyscale PNG with real detail.
pub fn png_16bit() -> Vec<u8> {
    let img = image::ImageBuffer::<image::Luma<u16>, Vec<u16>>::from_fn(200, 150, |x, y| {
        image::Luma([if (x / 10 + y / 10) % 2 == 0 {
            1000
        } else {
            60000
        }])
    });
    png(&DynamicImage::ImageLuma16(img))
}

/// A CMYK JPEG (Adobe), as print workflows write them. Made by hand: `image` does not encode
/// CMYK, so this is a baseline JPEG with four components and an Adobe APP14 marker, produced
/// by re-encoding through jpeg-encoder.
pub fn cmyk_jpeg() -> Vec<u8> {
    let (w, h) = (64u16, 48u16);
    let mut data = Vec::with_capacity(usize::from(w) * usize::from(h) * 4);
    for y in 0..h {
        for x in 0..w {
            let v = if (x / 8 + y / 8) % 2 == 0 { 20 } else { 230 };
            data.extend_from_slice(&[v, 255 - v, v / 2, 10]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 90)
        .encode(&data, w, h, jpeg_encoder::ColorType::Cmyk)
        .unwrap();
    out
}
