//! The preview Web Worker: it judges a photo off the page's main thread, so the grid never
//! freezes, with `shared::kernel`, the same code as the server, so the preview is the verdict
//! to come. Two sources:
//! - a stored photo: its `analysis` image (the server's lossless 512-px luma PNG: exactly the
//!   pixels the server's verification judges);
//! - a file the user just dropped, before its upload ends: read through a `blob:` URL and
//!   decoded by `shared::media`, the server's own reading (format by content, luma decode,
//!   EXIF exposure hints and orientation).

use gloo_worker::{HandlerId, Worker, WorkerScope};
use serde::{Deserialize, Serialize};
use shared::kernel::{self, GrayImage};

/// What the page asks a worker.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PreviewRequest {
    /// Are you running? Carries a number to echo, so replies can be matched to requests.
    Ping(u32),
    /// Judge this photo.
    Analyze {
        /// The photo's id.
        id: i64,
        /// The page's origin: the worker runs from a `blob:` URL, against which a path
        /// cannot be resolved.
        origin: String,
    },
    /// Judge this file, not uploaded yet.
    AnalyzeFile {
        /// The page's number for the file.
        key: u32,
        /// A `blob:` URL of the file (the worker reads it; no copy crosses the message).
        url: String,
    },
}

/// What a worker answers.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub enum PreviewResponse {
    /// The worker runs; echoes the ping's number and names the crate version it was built from.
    Pong {
        /// The ping's number.
        seq: u32,
        /// The client crate's version.
        version: String,
    },
    /// A photo's preview: its score, or why there is none.
    Judged {
        /// The photo's id.
        id: i64,
        /// The kernel's score, or the reason it could not run.
        score: Result<f32, String>,
        /// Milliseconds from the request reaching the worker to the score (fetch, decode,
        /// kernel).
        millis: f64,
        /// The part of `millis` spent fetching the analysis image.
        fetch_millis: f64,
    },
    /// A file's preview.
    JudgedFile {
        /// The page's number for the file.
        key: u32,
        /// The kernel's score, or why the file could not be judged.
        score: Result<f32, String>,
        /// Milliseconds from the request reaching the worker to the score (read, decode,
        /// kernel).
        millis: f64,
    },
}

/// Answers a ping; pure, so it is tested natively.
pub fn pong(seq: u32) -> PreviewResponse {
    PreviewResponse::Pong {
        seq,
        version: env!("CARGO_PKG_VERSION").to_string(),
    }
}

/// Most bytes the decoder may allocate: a 512 × 512 luma image is 256 KiB; anything much
/// larger is not the server's analysis image.
const DECODE_LIMIT_BYTES: usize = 4 * 1024 * 1024;

/// Decodes an 8-bit greyscale PNG (the `analysis` image) into the kernel's image type.
pub fn decode_luma_png(bytes: &[u8]) -> Result<GrayImage, String> {
    let decoder = png::Decoder::new_with_limits(
        std::io::Cursor::new(bytes),
        png::Limits {
            bytes: DECODE_LIMIT_BYTES,
        },
    );
    let mut reader = decoder.read_info().map_err(|e| e.to_string())?;
    let size = reader
        .output_buffer_size()
        .ok_or("the image is too large")?;
    let mut buf = vec![0; size];
    let info = reader.next_frame(&mut buf).map_err(|e| e.to_string())?;
    if info.color_type != png::ColorType::Grayscale || info.bit_depth != png::BitDepth::Eight {
        return Err(format!(
            "not an 8-bit greyscale image ({:?}, {:?})",
            info.color_type, info.bit_depth
        ));
    }
    buf.truncate(info.buffer_size());
    GrayImage::new(info.width, info.height, buf).map_err(|e| e.to_string())
}

/// The kernel's score of an `analysis` image's bytes.
pub fn score_png(bytes: &[u8]) -> Result<f32, String> {
    let gray = decode_luma_png(bytes)?;
    kernel::analyze(&gray, None)
        .map(|r| r.blur_score)
        .map_err(|e| e.to_string())
}

/// The kernel's score of a photo file's bytes, read exactly as the server's verification reads
/// an upload (`shared::media::decode_gray`, then the kernel with the EXIF hints).
pub fn score_file(bytes: &[u8]) -> Result<f32, String> {
    let decoded = shared::media::decode_gray(bytes, &shared::media::MediaLimits::default())
        .map_err(|e| e.to_string())?;
    decoded
        .judge()
        .map(|r| r.blur_score)
        .map_err(|e| e.to_string())
}

async fn judge_file(url: &str) -> Result<f32, String> {
    let response = gloo_net::http::Request::get(url)
        .send()
        .await
        .map_err(|e| e.to_string())?;
    let bytes = response.binary().await.map_err(|e| e.to_string())?;
    score_file(&bytes)
}

/// The analysis image's URL on the page's origin (so the session cookie or local mode
/// applies).
pub fn analysis_url(origin: &str, id: i64) -> String {
    format!("{origin}/api/v1/photos/{id}/image?size=analysis")
}

/// The analysis image's bytes.
async fn fetch_analysis(origin: &str, id: i64) -> Result<Vec<u8>, String> {
    let response = gloo_net::http::Request::get(&analysis_url(origin, id))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if !response.ok() {
        return Err(format!("the server answered {}", response.status()));
    }
    response.binary().await.map_err(|e| e.to_string())
}

/// `PUT /api/v1/photos/{id}/preview`: the server keeps the score until its verified one
/// replaces it.
async fn store_preview(origin: &str, id: i64, score: f32) -> Result<(), String> {
    let response = gloo_net::http::Request::put(&format!("{origin}/api/v1/photos/{id}/preview"))
        .json(&shared::api::PreviewRequest {
            preview_score: f64::from(score),
        })
        .map_err(|e| e.to_string())?
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if response.ok() {
        Ok(())
    } else {
        Err(format!("the server answered {}", response.status()))
    }
}

/// Milliseconds on the worker's clock.
fn now_ms() -> f64 {
    js_sys::Reflect::get(&js_sys::global(), &"performance".into())
        .ok()
        .and_then(|p| wasm_bindgen::JsCast::dyn_into::<web_sys::Performance>(p).ok())
        .map_or_else(js_sys::Date::now, |p| p.now())
}

/// The worker itself (registered by `src/bin/worker.rs`, spawned from `/worker.js`).
#[derive(Debug)]
pub struct PreviewWorker;

impl Worker for PreviewWorker {
    type Message = ();
    type Input = PreviewRequest;
    type Output = PreviewResponse;

    fn create(_scope: &WorkerScope<Self>) -> Self {
        Self
    }

    fn update(&mut self, _scope: &WorkerScope<Self>, _msg: Self::Message) {}

    fn received(&mut self, scope: &WorkerScope<Self>, msg: Self::Input, who: HandlerId) {
        match msg {
            PreviewRequest::Ping(seq) => scope.respond(who, pong(seq)),
            PreviewRequest::Analyze { id, origin } => {
                let scope = scope.clone();
                let started = now_ms();
                wasm_bindgen_futures::spawn_local(async move {
                    let fetched = fetch_analysis(&origin, id).await;
                    let fetch_millis = now_ms() - started;
                    let score = fetched.and_then(|bytes| score_png(&bytes));
                    let millis = now_ms() - started;
                    if let Ok(s) = score {
                        // Sent from here, not from the page: each request costs the thread
                        // that makes it a millisecond or two, which the page's thread keeps
                        // for scrolling. The photo may be gone meanwhile; a preview is only a
                        // hint, so a failed store changes nothing shown.
                        let origin = origin.clone();
                        wasm_bindgen_futures::spawn_local(async move {
                            let _ = store_preview(&origin, id, s).await;
                        });
                    }
                    scope.respond(
                        who,
                        PreviewResponse::Judged {
                            id,
                            score,
                            millis,
                            fetch_millis,
                        },
                    );
                });
            }
            PreviewRequest::AnalyzeFile { key, url } => {
                let scope = scope.clone();
                let started = now_ms();
                wasm_bindgen_futures::spawn_local(async move {
                    let score = judge_file(&url).await;
                    let millis = now_ms() - started;
                    scope.respond(who, PreviewResponse::JudgedFile { key, score, millis });
                });
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_ping_is_answered_with_its_own_number() {
        match pong(7) {
            PreviewResponse::Pong { seq, version } => {
                assert_eq!(seq, 7);
                assert!(!version.is_empty());
            }
            other => panic!("{other:?}"),
        }
    }

    fn png_of(width: u32, height: u32, color: png::ColorType, data: &[u8]) -> Vec<u8> {
        let mut out = Vec::new();
        let mut encoder = png::Encoder::new(&mut out, width, height);
        encoder.set_color(color);
        encoder.set_depth(png::BitDepth::Eight);
        match encoder
            .write_header()
            .and_then(|mut w| w.write_image_data(data))
        {
            Ok(()) => out,
            Err(e) => panic!("{e}"),
        }
    }

    #[test]
    fn a_luma_png_decodes_to_the_same_pixels_and_scores_like_the_kernel() {
        let (w, h) = (64, 48);
        let pixels: Vec<u8> = (0..w * h).map(|i| ((i * 37) % 251) as u8).collect();
        let bytes = png_of(w, h, png::ColorType::Grayscale, &pixels);
        let gray = match decode_luma_png(&bytes) {
            Ok(g) => g,
            Err(e) => panic!("{e}"),
        };
        assert_eq!((gray.width(), gray.height()), (w, h));
        assert_eq!(gray.data(), &pixels[..]);
        let direct = match GrayImage::new(w, h, pixels).map(|g| kernel::analyze(&g, None)) {
            Ok(Ok(r)) => r.blur_score,
            other => panic!("{other:?}"),
        };
        assert_eq!(score_png(&bytes).map(f32::to_bits), Ok(direct.to_bits()));
    }

    #[test]
    fn a_file_scores_as_the_server_reads_it_and_garbage_says_why() {
        use shared::media::test_images::{encode, pattern};
        let bytes = encode(&pattern(96, 64), image::ImageFormat::Jpeg);
        let direct = shared::media::decode_gray(&bytes, &Default::default())
            .and_then(|d| {
                d.judge()
                    .map_err(|e| shared::media::MediaError::Corrupt(e.to_string()))
            })
            .map(|r| r.blur_score.to_bits());
        assert_eq!(score_file(&bytes).map(f32::to_bits).ok(), direct.ok());
        assert!(score_file(b"").is_err_and(|e| e.contains("empty")));
        assert!(score_file(b"not a photo at all").is_err());
    }

    #[test]
    fn other_images_and_garbage_are_refused_with_a_reason() {
        let rgb = png_of(4, 4, png::ColorType::Rgb, &[0; 48]);
        assert!(decode_luma_png(&rgb).is_err_and(|e| e.contains("greyscale")));
        assert!(score_png(b"not a png").is_err());
    }
}
