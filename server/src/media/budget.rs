//! The process's decode memory budget: every decode and render reserves what it may hold at its
//! peak (every buffer and copy, from the header alone) before it starts, and waits while others
//! hold the budget. A photo whose decode alone would exceed the budget is refused with the
//! figures, rather than taking the process past its memory limit.
//!
//! The pixel limit bounds one image; this bounds all of them at once: four parallel renders of a
//! 16-bit 10000² PNG, or a worker's decode beside the web side's thumbnails, no longer add up.
//!
//! Renders for clients also take one of a core's worth of slots, first come first served: a
//! page that asks for sixty thumbnails or analysis images at once gets the first ones after one
//! render's time each instead of all of them after sixty shared ones, and the rest of the web
//! side (gallery pages, uploads) keeps CPU to answer with. The workers' decodes are bounded by
//! their consumer count instead, so a long verification backlog never queues a thumbnail.

use std::io::Cursor;
use std::sync::Arc;

use image::{ColorType, ImageDecoder, ImageFormat, ImageReader};
use tokio::sync::{OwnedSemaphorePermit, Semaphore};

use super::render::{ImageSize, THUMB_LONG_SIDE};
use super::{MediaError, MediaLimits, sniff};

/// Default budget: room for a few 100-megapixel JPEGs at once, within the worker pod's 1 GiB.
pub const DEFAULT_DECODE_MEMORY_MIB: u64 = 768;

const MIB: u64 = 1024 * 1024;

/// What a decode is for: its peak memory differs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Purpose {
    /// The worker's full-resolution luma decode for the kernel.
    Judge,
    /// A derived image for a client.
    Render(ImageSize),
    /// The JPEG sent to a vision model, at most this long on its long side.
    Vision(u32),
}

/// A shared budget of decode memory. Cheap to clone.
#[derive(Debug, Clone)]
pub struct DecodeBudget {
    permits: Arc<Semaphore>,
    total_mib: u32,
    render_slots: Arc<Semaphore>,
}

/// A reservation; dropping it gives the memory (and a render's slot) back.
#[derive(Debug)]
pub struct Reservation {
    _permit: Option<OwnedSemaphorePermit>,
    _slot: Option<OwnedSemaphorePermit>,
}

impl DecodeBudget {
    /// A budget of `mib` MiB (at least 1), with one render slot per core of the machine.
    pub fn new(mib: u64) -> Self {
        Self::with_render_slots(mib, super::cores())
    }

    /// A budget of `mib` MiB (at least 1) and `slots` renders at a time (at least 1).
    pub fn with_render_slots(mib: u64, slots: usize) -> Self {
        let total_mib = u32::try_from(mib.clamp(1, u64::from(u32::MAX >> 3))).unwrap_or(1);
        Self {
            permits: Arc::new(Semaphore::new(total_mib as usize)),
            total_mib,
            render_slots: Arc::new(Semaphore::new(slots.max(1))),
        }
    }

    /// The budget in MiB.
    pub fn total_mib(&self) -> u32 {
        self.total_mib
    }

    /// Reserves what decoding `bytes` for `purpose` may cost, waiting for others to finish if
    /// need be. Refuses at once (without waiting) a photo that alone exceeds the budget, and
    /// anything [`sniff`] refuses.
    pub async fn reserve(
        &self,
        bytes: &[u8],
        purpose: Purpose,
        limits: &MediaLimits,
    ) -> Result<Reservation, MediaError> {
        let need = peak_bytes(bytes, purpose, limits)?;
        let need_mib = u32::try_from(need.div_ceil(MIB).max(1)).unwrap_or(u32::MAX);
        if need_mib > self.total_mib {
            return Err(MediaError::OverBudget {
                need_mib: u64::from(need_mib),
                budget_mib: u64::from(self.total_mib),
            });
        }
        let permit = self.permits.clone().acquire_many_owned(need_mib).await.ok();
        // Memory first, then the slot: a render holding a slot never waits for memory, so the
        // two never wait on each other.
        let slot = match purpose {
            Purpose::Render(_) => self.render_slots.clone().acquire_owned().await.ok(),
            Purpose::Judge | Purpose::Vision(_) => None,
        };
        Ok(Reservation {
            _permit: permit,
            _slot: slot,
        })
    }
}

/// The most memory decoding `bytes` for `purpose` may hold at once, from the header: the decoded
/// buffer in its own pixel type, any 8-bit copy made from it, and the output.
pub fn peak_bytes(bytes: &[u8], purpose: Purpose, limits: &MediaLimits) -> Result<u64, MediaError> {
    let sniffed = sniff(bytes, limits)?;
    let pixels = u64::from(sniffed.width) * u64::from(sniffed.height);
    // The derived images themselves are small (at most the kernel's working size); the
    // constant covers them and the encoders' buffers.
    let small = 8 * MIB;
    Ok(match sniffed.format {
        ImageFormat::Jpeg => {
            // A progressive JPEG keeps every coefficient (16 bits, 1.5 components at 4:2:0,
            // counted as 3 bytes a pixel) whatever the output scale.
            let coefficients = if is_progressive(bytes) { pixels * 3 } else { 0 };
            let output = match purpose {
                // Luma straight from the decoder, one byte a pixel.
                Purpose::Judge | Purpose::Render(ImageSize::Analysis) => pixels,
                // RGB at the reduced DCT scale: at most twice the thumbnail's side.
                Purpose::Render(ImageSize::Thumb) => {
                    let side = u64::from(THUMB_LONG_SIDE) * 2 * 8;
                    pixels.min(side * side) * 3
                }
                // The same, for twice the vision image's side, plus the fitted RGB copy.
                Purpose::Vision(long) => {
                    let side = u64::from(long) * 2 * 8;
                    pixels.min(side * side) * 3 + u64::from(long) * u64::from(long) * 3
                }
            };
            coefficients + output + small
        }
        format => {
            let color = color_type(bytes, format)?;
            let decoded = pixels * u64::from(color.bytes_per_pixel());
            let copy = match (purpose, color) {
                // The thumbnail shrinks first and copies the small image.
                (Purpose::Render(ImageSize::Thumb), _) => 0,
                // The vision image is a resized RGB copy of at most its own size.
                (Purpose::Vision(long), _) => u64::from(long) * u64::from(long) * 3,
                (_, ColorType::L8 | ColorType::Rgb8 | ColorType::Rgba8) => 0,
                // 16-bit and float images become 8-bit RGB before the luma conversion.
                _ => pixels * 3,
            };
            let luma = match purpose {
                Purpose::Render(ImageSize::Thumb) | Purpose::Vision(_) => 0,
                _ => pixels,
            };
            decoded + copy + luma + small
        }
    })
}

/// The pixel type a non-JPEG decoder will produce, from the header.
fn color_type(bytes: &[u8], format: ImageFormat) -> Result<ColorType, MediaError> {
    let decoder = ImageReader::with_format(Cursor::new(bytes), format)
        .into_decoder()
        .map_err(super::image_error)?;
    Ok(decoder.color_type())
}

/// True when a start-of-frame marker before the first scan says progressive (SOF2, SOF6,
/// SOF10, SOF14). Walks the header segments by their lengths, reading nothing else.
fn is_progressive(bytes: &[u8]) -> bool {
    let mut i = 2;
    while let (Some(&ff), Some(&marker)) = (bytes.get(i), bytes.get(i + 1)) {
        if ff != 0xFF {
            return false;
        }
        match marker {
            0xFF => {
                i += 1;
                continue;
            }
            0xC2 | 0xC6 | 0xCA | 0xCE => return true,
            0xDA | 0xD9 => return false,
            _ => {}
        }
        let Some(len) = bytes
            .get(i + 2..i + 4)
            .map(|b| usize::from(u16::from_be_bytes([b[0], b[1]])))
        else {
            return false;
        };
        i += 2 + len;
    }
    false
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::media::test_images::{encode, pattern};

    fn png16(width: u32, height: u32) -> Vec<u8> {
        let img = image::ImageBuffer::<image::Rgb<u16>, _>::from_fn(width, height, |x, y| {
            image::Rgb([(x * 300) as u16, (y * 300) as u16, 7])
        });
        let mut out = Cursor::new(Vec::new());
        image::DynamicImage::ImageRgb16(img)
            .write_to(&mut out, ImageFormat::Png)
            .unwrap();
        out.into_inner()
    }

    #[test]
    fn a_16_bit_png_counts_its_wide_pixels_and_the_8_bit_copy() {
        let limits = MediaLimits::default();
        let bytes = png16(1000, 1000);
        let judge = peak_bytes(&bytes, Purpose::Judge, &limits).unwrap();
        // 6 bytes decoded + 3 for the RGB8 copy + 1 luma, a million pixels, plus the margin.
        assert_eq!(judge, 10_000_000 + 8 * MIB);
        let thumb = peak_bytes(&bytes, Purpose::Render(ImageSize::Thumb), &limits).unwrap();
        assert_eq!(thumb, 6_000_000 + 8 * MIB);
    }

    #[test]
    fn a_baseline_jpeg_costs_its_luma_and_a_progressive_one_its_coefficients() {
        let limits = MediaLimits::default();
        let baseline = encode(&pattern(800, 600), ImageFormat::Jpeg);
        assert!(!is_progressive(&baseline));
        let judge = peak_bytes(&baseline, Purpose::Judge, &limits).unwrap();
        assert_eq!(judge, 480_000 + 8 * MIB);
        // The same header with its SOF0 marker made SOF2.
        let mut progressive = baseline.clone();
        let sof = progressive
            .windows(2)
            .position(|w| w == [0xFF, 0xC0])
            .unwrap();
        progressive[sof + 1] = 0xC2;
        assert!(is_progressive(&progressive));
        let judge = peak_bytes(&progressive, Purpose::Judge, &limits).unwrap();
        assert_eq!(judge, 480_000 * 4 + 8 * MIB);
    }

    #[tokio::test]
    async fn a_photo_over_the_whole_budget_is_refused_and_others_wait_their_turn() {
        let limits = MediaLimits::default();
        let budget = DecodeBudget::new(20);
        let big = png16(1000, 1000); // ~17.5 MiB: fits alone
        let first = budget.reserve(&big, Purpose::Judge, &limits).await.unwrap();
        // A second must wait while the first holds the budget.
        let waiting = tokio::time::timeout(
            std::time::Duration::from_millis(100),
            budget.reserve(&big, Purpose::Judge, &limits),
        )
        .await;
        assert!(waiting.is_err(), "two fit in a budget for one");
        drop(first);
        let _second = budget.reserve(&big, Purpose::Judge, &limits).await.unwrap();
        let small_budget = DecodeBudget::new(10);
        assert!(matches!(
            small_budget.reserve(&big, Purpose::Judge, &limits).await,
            Err(MediaError::OverBudget {
                need_mib: 18,
                budget_mib: 10
            })
        ));
    }

    #[tokio::test]
    async fn renders_take_turns_for_the_cores_while_judging_goes_on() {
        let limits = MediaLimits::default();
        let budget = DecodeBudget::with_render_slots(768, 1);
        let photo = encode(&pattern(64, 48), ImageFormat::Jpeg);
        let thumb = Purpose::Render(ImageSize::Thumb);
        let first = budget.reserve(&photo, thumb, &limits).await.unwrap();
        let second = budget.reserve(&photo, thumb, &limits);
        tokio::pin!(second);
        let mut cx = std::task::Context::from_waker(std::task::Waker::noop());
        assert!(
            std::future::Future::poll(second.as_mut(), &mut cx).is_pending(),
            "a second render ran beside the first on one slot"
        );
        // The worker's decode is not a render: it never waits for a slot.
        let judging = budget.reserve(&photo, Purpose::Judge, &limits).await;
        assert!(judging.is_ok());
        drop(first);
        assert!(second.await.is_ok());
    }
}
