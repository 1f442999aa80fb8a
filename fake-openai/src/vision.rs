//! What the fake "sees": tags derived from the pixels (dominant colour, brightness,
//! orientation), a caption, a blur guess, and the image's token cost as OpenAI bills it for a
//! model and `detail`.

use image::{DynamicImage, GenericImageView};

/// The `detail` of an `image_url` part.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Detail {
    /// A 512×512 view, one flat price.
    Low,
    /// Fit in 2048², shortest side 768, billed per 512-px tile.
    High,
    /// The service picks (the fake: low for images that fit 512×512, else high).
    Auto,
}

impl Detail {
    /// The wire value.
    pub fn as_str(self) -> &'static str {
        match self {
            Detail::Low => "low",
            Detail::High => "high",
            Detail::Auto => "auto",
        }
    }

    /// The wire value parsed; `None` for anything OpenAI refuses.
    pub fn parse(value: &str) -> Option<Self> {
        match value {
            "low" => Some(Detail::Low),
            "high" => Some(Detail::High),
            "auto" => Some(Detail::Auto),
            _ => None,
        }
    }
}

/// The image price of a model: `base` tokens per image plus `tile` per 512-px tile at high
/// detail (OpenAI's vision guide; gpt-4o-mini's counts are inflated so that its image price
/// equals gpt-4o's).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ImagePrice {
    /// Tokens of any image (all of a low-detail one).
    pub base: u32,
    /// Tokens per 512-px tile at high detail.
    pub tile: u32,
}

/// The models the fake serves and their image prices.
pub const MODELS: [(&str, ImagePrice); 4] = [
    ("gpt-4o-mini", MINI),
    ("gpt-4o-mini-2024-07-18", MINI),
    ("gpt-4o", FOUR_O),
    ("gpt-4o-2024-08-06", FOUR_O),
];

const MINI: ImagePrice = ImagePrice {
    base: 2_833,
    tile: 5_667,
};
const FOUR_O: ImagePrice = ImagePrice {
    base: 85,
    tile: 170,
};

/// The image price of a served model.
pub fn price_of(model: &str) -> Option<ImagePrice> {
    MODELS.iter().find(|(m, _)| *m == model).map(|(_, p)| *p)
}

/// The tiles a high-detail image is billed for: fit within 2048×2048, then the shortest side
/// scaled down to 768, then 512-px tiles counted on each side.
pub fn high_detail_tiles(width: u32, height: u32) -> u32 {
    let (mut w, mut h) = (f64::from(width.max(1)), f64::from(height.max(1)));
    let fit = (2048.0 / w.max(h)).min(1.0);
    w *= fit;
    h *= fit;
    let short = (768.0 / w.min(h)).min(1.0);
    w *= short;
    h *= short;
    ((w / 512.0).ceil() as u32).max(1) * ((h / 512.0).ceil() as u32).max(1)
}

/// The detail actually used for an image (resolving `auto`).
pub fn effective_detail(detail: Detail, width: u32, height: u32) -> Detail {
    match detail {
        Detail::Auto if width <= 512 && height <= 512 => Detail::Low,
        Detail::Auto => Detail::High,
        d => d,
    }
}

/// The prompt tokens one image costs.
pub fn image_tokens(price: ImagePrice, detail: Detail, width: u32, height: u32) -> u32 {
    match effective_detail(detail, width, height) {
        Detail::Low | Detail::Auto => price.base,
        Detail::High => price.base + price.tile * high_detail_tiles(width, height),
    }
}

/// What the fake model says about an image.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Seen {
    /// 3 or more lowercase tags: the dominant colour, brightness, orientation, and "photo".
    pub tags: Vec<String>,
    /// One line.
    pub caption: String,
    /// Little edge energy.
    pub looks_blurred: bool,
}

/// Tags derived from the pixels, so a test that makes a red landscape image can expect `red`
/// and `landscape`.
pub fn look(image: &DynamicImage) -> Seen {
    let (w, h) = image.dimensions();
    let rgb = image.to_rgb8();
    let mut counts = [0u64; COLOURS.len()];
    let mut luma_sum = 0u64;
    for p in rgb.pixels() {
        let [r, g, b] = p.0;
        counts[colour_index(r, g, b)] += 1;
        luma_sum += u64::from(luma(r, g, b));
    }
    let pixels = u64::from(w.max(1)) * u64::from(h.max(1));
    let colour = counts
        .iter()
        .enumerate()
        .max_by_key(|(i, c)| (**c, std::cmp::Reverse(*i)))
        .map_or("gray", |(i, _)| COLOURS[i]);
    let mean = luma_sum / pixels;
    let light = if mean >= 150 {
        "bright"
    } else if mean <= 90 {
        "dark"
    } else {
        "midtone"
    };
    let orientation = match w.cmp(&h) {
        std::cmp::Ordering::Greater => "landscape",
        std::cmp::Ordering::Less => "portrait",
        std::cmp::Ordering::Equal => "square",
    };
    let looks_blurred = edge_energy(&image.to_luma8()) < BLUR_EDGE_ENERGY;
    Seen {
        tags: vec![
            colour.to_string(),
            light.to_string(),
            orientation.to_string(),
            "photo".to_string(),
        ],
        caption: format!(
            "A {light} {colour} {orientation} photo{}.",
            if looks_blurred { ", out of focus" } else { "" }
        ),
        looks_blurred,
    }
}

/// Mean absolute horizontal + vertical difference below which an image "looks blurred".
const BLUR_EDGE_ENERGY: f64 = 4.0;

const COLOURS: [&str; 11] = [
    "black", "white", "gray", "red", "orange", "yellow", "green", "cyan", "blue", "purple", "pink",
];

fn luma(r: u8, g: u8, b: u8) -> u32 {
    (299 * u32::from(r) + 587 * u32::from(g) + 114 * u32::from(b)) / 1000
}

/// The colour name of one pixel: neutral by lightness when unsaturated, else by hue.
fn colour_index(r: u8, g: u8, b: u8) -> usize {
    let (rf, gf, bf) = (f64::from(r), f64::from(g), f64::from(b));
    let max = rf.max(gf).max(bf);
    let min = rf.min(gf).min(bf);
    let chroma = max - min;
    if chroma < 40.0 {
        return if max < 60.0 {
            0
        } else if min > 200.0 {
            1
        } else {
            2
        };
    }
    let hue = if max == rf {
        60.0 * ((gf - bf) / chroma).rem_euclid(6.0)
    } else if max == gf {
        60.0 * ((bf - rf) / chroma + 2.0)
    } else {
        60.0 * ((rf - gf) / chroma + 4.0)
    };
    match hue {
        h if !(15.0..345.0).contains(&h) => 3,
        h if h < 40.0 => 4,
        h if h < 70.0 => 5,
        h if h < 160.0 => 6,
        h if h < 200.0 => 7,
        h if h < 260.0 => 8,
        h if h < 300.0 => 9,
        _ => 10,
    }
}

fn edge_energy(gray: &image::GrayImage) -> f64 {
    let (w, h) = gray.dimensions();
    if w < 2 || h < 2 {
        return 0.0;
    }
    let mut sum = 0u64;
    let mut n = 0u64;
    for y in 0..h - 1 {
        for x in 0..w - 1 {
            let p = i32::from(gray.get_pixel(x, y).0[0]);
            let right = i32::from(gray.get_pixel(x + 1, y).0[0]);
            let down = i32::from(gray.get_pixel(x, y + 1).0[0]);
            sum += u64::from((p - right).unsigned_abs() + (p - down).unsigned_abs());
            n += 1;
        }
    }
    sum as f64 / n as f64
}

#[cfg(test)]
mod tests {
    use super::*;

    fn solid(w: u32, h: u32, rgb: [u8; 3]) -> DynamicImage {
        DynamicImage::ImageRgb8(image::RgbImage::from_pixel(w, h, image::Rgb(rgb)))
    }

    #[test]
    fn tags_follow_colour_brightness_and_orientation() {
        let seen = look(&solid(64, 32, [220, 30, 30]));
        assert_eq!(seen.tags, ["red", "dark", "landscape", "photo"]);
        assert!(seen.looks_blurred, "a flat image has no edges");
        let seen = look(&solid(32, 64, [250, 250, 250]));
        assert_eq!(seen.tags[..3], ["white", "bright", "portrait"]);
        let seen = look(&solid(40, 40, [20, 60, 230]));
        assert_eq!(seen.tags[..3], ["blue", "dark", "square"]);
        assert_eq!(look(&solid(40, 40, [60, 200, 60])).tags[0], "green");
        assert_eq!(
            look(&solid(40, 40, [240, 220, 40])).tags[..2],
            ["yellow", "bright"]
        );
    }

    #[test]
    fn a_checkerboard_looks_sharp() {
        let board = image::RgbImage::from_fn(64, 64, |x, y| {
            if (x / 4 + y / 4) % 2 == 0 {
                image::Rgb([0, 0, 0])
            } else {
                image::Rgb([255, 255, 255])
            }
        });
        assert!(!look(&DynamicImage::ImageRgb8(board)).looks_blurred);
    }

    #[test]
    fn image_tokens_match_the_documented_prices() {
        let mini = price_of("gpt-4o-mini").unwrap();
        assert_eq!(image_tokens(mini, Detail::Low, 4032, 3024), 2_833);
        // The worked example of the research notes: 4032×3024 → 1024×768 → 4 tiles.
        assert_eq!(high_detail_tiles(4032, 3024), 4);
        assert_eq!(image_tokens(mini, Detail::High, 4032, 3024), 25_501);
        let four_o = price_of("gpt-4o").unwrap();
        assert_eq!(image_tokens(four_o, Detail::Low, 512, 384), 85);
        assert_eq!(image_tokens(four_o, Detail::High, 4032, 3024), 85 + 4 * 170);
        // auto: a small image is looked at in low detail.
        assert_eq!(image_tokens(mini, Detail::Auto, 512, 384), 2_833);
        assert_eq!(price_of("gpt-5"), None);
    }
}
