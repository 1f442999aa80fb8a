//! Media base URLs: `GET /media/<token>=<params>` with Google's size parameters
//! (`=wW-hH`, `-c`, `=d`, `=dv`), a bearer token of the owning user, and a 60-minute life.

use std::io::{self, Cursor};
use std::time::SystemTime;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use image::codecs::jpeg::JpegEncoder;
use image::imageops::FilterType;

use crate::errors::ApiError;
use crate::photos::MediaType;
use crate::state::{AppState, PICKER_SCOPE};
use crate::wire;

/// The size a bare base URL (no parameters) answers with.
pub const DEFAULT_SIZE: u32 = 512;

/// Bytes that stand in for a video file at `=dv` (an MP4 `ftyp` box, not playable).
const VIDEO_STUB: &[u8] = b"\x00\x00\x00\x18ftypmp42\x00\x00\x00\x00mp42isom";

pub(crate) fn router() -> Router<AppState> {
    Router::new().route("/media/{rest}", get(media))
}

/// How to scale: fit within `w`×`h` (either may be open), or crop to exactly that size.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Fit {
    pub w: Option<u32>,
    pub h: Option<u32>,
    pub crop: bool,
}

impl Fit {
    pub fn within(w: u32, h: u32) -> Self {
        Self {
            w: Some(w),
            h: Some(h),
            crop: false,
        }
    }
}

/// What the part after `=` asks for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Params {
    /// `=d`: the original bytes.
    Original,
    /// `=dv`: the video file.
    Video,
    Scaled(Fit),
}

/// Parses Google's dash-separated parameters leniently; unknown options are ignored.
pub fn parse_params(s: Option<&str>) -> Params {
    let (mut w, mut h, mut crop, mut download) = (None, None, false, false);
    for opt in s.unwrap_or_default().split('-') {
        let num = |rest: &str| rest.parse::<u32>().ok().filter(|n| *n > 0);
        if opt == "dv" {
            return Params::Video;
        } else if opt == "d" {
            download = true;
        } else if opt == "c" {
            crop = true;
        } else if let Some(n) = opt.strip_prefix('w') {
            w = num(n).or(w);
        } else if let Some(n) = opt.strip_prefix('h') {
            h = num(n).or(h);
        } else if let Some(n) = opt.strip_prefix('s').and_then(num) {
            (w, h) = (Some(n), Some(n));
        }
    }
    match (w, h) {
        (None, None) if download => Params::Original,
        (None, None) => Params::Scaled(Fit::within(DEFAULT_SIZE, DEFAULT_SIZE)),
        _ => Params::Scaled(Fit { w, h, crop }),
    }
}

/// Decodes, scales (never up, unless cropping) and re-encodes as JPEG quality 90.
pub fn scale(original: &[u8], fit: Fit) -> io::Result<Vec<u8>> {
    let img = image::load_from_memory(original).map_err(io::Error::other)?;
    let (iw, ih) = (img.width().max(1), img.height().max(1));
    let img = match (fit.crop, fit.w, fit.h) {
        (true, Some(w), Some(h)) => img.resize_to_fill(w, h, FilterType::Triangle),
        _ => {
            let bw = fit.w.unwrap_or(u32::MAX);
            let bh = fit.h.unwrap_or(u32::MAX);
            if iw <= bw && ih <= bh {
                img
            } else {
                let k = (f64::from(bw) / f64::from(iw)).min(f64::from(bh) / f64::from(ih));
                let nw = ((f64::from(iw) * k).round() as u32).clamp(1, bw);
                let nh = ((f64::from(ih) * k).round() as u32).clamp(1, bh);
                img.resize_exact(nw, nh, FilterType::Triangle)
            }
        }
    };
    let mut out = Cursor::new(Vec::new());
    JpegEncoder::new_with_quality(&mut out, 90)
        .encode_image(&img.to_rgb8())
        .map_err(io::Error::other)?;
    Ok(out.into_inner())
}

async fn media(
    State(state): State<AppState>,
    Path(rest): Path<String>,
    headers: HeaderMap,
) -> Response {
    let (token, params) = match rest.split_once('=') {
        Some((t, p)) => (t.to_string(), Some(p.to_string())),
        None => (rest, None),
    };
    let base = state.lock().base_urls.get(&token).cloned();
    let Some(base) = base else {
        return plain(StatusCode::NOT_FOUND, "Error 404 (Not Found)");
    };
    match state.authorize(wire::bearer(&headers), PICKER_SCOPE) {
        Ok(caller) if caller.user == base.user => {}
        _ => return ApiError::unauthenticated().into_response(),
    }
    if base.expires <= SystemTime::now() {
        return plain(StatusCode::FORBIDDEN, "Error 403 (Forbidden)");
    }
    let Some(photo) = state.photo(base.photo).cloned() else {
        return plain(StatusCode::NOT_FOUND, "Error 404 (Not Found)");
    };
    let params = parse_params(params.as_deref());
    let rendered = tokio::task::spawn_blocking(move || -> io::Result<(Vec<u8>, String)> {
        match params {
            Params::Video if photo.media_type == MediaType::Video => {
                Ok((VIDEO_STUB.to_vec(), photo.mime_type.clone()))
            }
            Params::Original | Params::Video => {
                Ok((photo.bytes()?.to_vec(), photo.image_mime().to_string()))
            }
            Params::Scaled(fit) => Ok((scale(&photo.bytes()?, fit)?, "image/jpeg".into())),
        }
    })
    .await;
    match rendered {
        Ok(Ok((bytes, mime))) => {
            let mut r = bytes.into_response();
            if let Ok(v) = HeaderValue::from_str(&mime) {
                r.headers_mut().insert(header::CONTENT_TYPE, v);
            }
            r.headers_mut().insert(
                header::CACHE_CONTROL,
                HeaderValue::from_static("private, max-age=3600"),
            );
            r
        }
        _ => ApiError::new(500, "Could not render the media item.").into_response(),
    }
}

fn plain(status: StatusCode, text: &'static str) -> Response {
    (
        status,
        [(header::CONTENT_TYPE, "text/html; charset=UTF-8")],
        format!("<html><title>{text}</title><p>{text}</p></html>"),
    )
        .into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_google_size_parameters() {
        assert_eq!(
            parse_params(Some("w400-h300")),
            Params::Scaled(Fit::within(400, 300))
        );
        assert_eq!(
            parse_params(Some("w200-h200-c")),
            Params::Scaled(Fit {
                w: Some(200),
                h: Some(200),
                crop: true
            })
        );
        assert_eq!(parse_params(Some("d")), Params::Original);
        assert_eq!(parse_params(Some("dv")), Params::Video);
        assert_eq!(parse_params(None), Params::Scaled(Fit::within(512, 512)));
        assert_eq!(
            parse_params(Some("s128")),
            Params::Scaled(Fit::within(128, 128))
        );
        assert_eq!(
            parse_params(Some("w640")),
            Params::Scaled(Fit {
                w: Some(640),
                h: None,
                crop: false
            })
        );
        assert_eq!(
            parse_params(Some("wx-hy")),
            Params::Scaled(Fit::within(512, 512))
        );
    }

    #[test]
    fn scaling_keeps_aspect_and_never_upscales() {
        let img = image::RgbImage::from_pixel(400, 300, image::Rgb([9, 9, 9]));
        let mut png = Cursor::new(Vec::new());
        img.write_to(&mut png, image::ImageFormat::Png).unwrap();
        let png = png.into_inner();
        let dims = |bytes: Vec<u8>| {
            let i = image::load_from_memory(&bytes).unwrap();
            (i.width(), i.height())
        };
        assert_eq!(
            dims(scale(&png, Fit::within(200, 200)).unwrap()),
            (200, 150)
        );
        assert_eq!(
            dims(scale(&png, Fit::within(2000, 2000)).unwrap()),
            (400, 300)
        );
        let crop = Fit {
            crop: true,
            ..Fit::within(100, 100)
        };
        assert_eq!(dims(scale(&png, crop).unwrap()), (100, 100));
    }
}
