//! The gallery's photos as a CSV file the user downloads: one row per photo with its verdict,
//! for a spreadsheet or a script. Built in the page from the photos shown, so nothing more
//! is asked of the server.

use shared::api::{ApiBlurType, Photo, VerificationStatus};

/// The header row.
pub const HEADER: &str =
    "filename,id,source,status,verdict,blur_score,blur_type,motion_angle_deg,taken_at,error";

/// One CSV field: quoted when it holds a separator, a quote or a line break; and a text that
/// a spreadsheet would run as a formula (`=`, `+`, `-`, `@` first) is kept as text.
pub fn field(value: &str) -> String {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_string()
    };
    if value.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", value.replace('"', "\"\""))
    } else {
        value
    }
}

/// A Unix time in milliseconds as an RFC 3339 UTC time ("2026-11-30T10:54:00Z").
pub fn utc(ms: i64) -> String {
    let secs = ms.div_euclid(1000);
    let (days, rest) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    // Days since 1970-01-01 to a civil date (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        rest / 3600,
        rest / 60 % 60,
        rest % 60
    )
}

/// The file's text: the header and one row per photo, lines ending in CRLF (RFC 4180).
pub fn csv(photos: &[&Photo]) -> String {
    let mut out = String::with_capacity(64 * (photos.len() + 1));
    out.push_str(HEADER);
    out.push_str("\r\n");
    for p in photos {
        let verdict = match p.is_blurred {
            Some(true) => "blurred",
            Some(false) => "clear",
            None => "",
        };
        let blur_type = match p.blur_type {
            Some(ApiBlurType::Motion) => "motion",
            Some(ApiBlurType::Defocus) => "defocus",
            Some(ApiBlurType::None) => "none",
            None => "",
        };
        let status = match p.status {
            VerificationStatus::Unprocessed => "unprocessed",
            VerificationStatus::Queued => "queued",
            VerificationStatus::Done => "done",
            VerificationStatus::Failed => "failed",
        };
        let row = [
            field(&p.filename),
            p.id.to_string(),
            field(&p.source),
            status.to_string(),
            verdict.to_string(),
            p.blur_score.map_or_else(String::new, |s| format!("{s:.4}")),
            blur_type.to_string(),
            p.motion_angle_deg
                .map_or_else(String::new, |a| format!("{a:.1}")),
            p.taken_at.map_or_else(String::new, utc),
            field(p.error.as_deref().unwrap_or("")),
        ];
        out.push_str(&row.join(","));
        out.push_str("\r\n");
    }
    out
}

/// Offers `text` to the user as a download named `name`.
pub fn download(name: &str, text: &str) -> Result<(), String> {
    use wasm_bindgen::JsCast;
    let err = |e: wasm_bindgen::JsValue| format!("{e:?}");
    let parts = js_sys::Array::of1(&wasm_bindgen::JsValue::from_str(text));
    let options = web_sys::BlobPropertyBag::new();
    options.set_type("text/csv;charset=utf-8");
    let blob = web_sys::Blob::new_with_str_sequence_and_options(&parts, &options).map_err(err)?;
    let url = web_sys::Url::create_object_url_with_blob(&blob).map_err(err)?;
    let document = web_sys::window()
        .and_then(|w| w.document())
        .ok_or("no document")?;
    let link: web_sys::HtmlAnchorElement = document
        .create_element("a")
        .map_err(err)?
        .dyn_into()
        .map_err(|_| "not an anchor".to_string())?;
    link.set_href(&url);
    link.set_download(name);
    link.click();
    web_sys::Url::revoke_object_url(&url).map_err(err)?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_are_quoted_only_when_they_must_be_and_formulas_stay_text() {
        assert_eq!(field("a.jpg"), "a.jpg");
        assert_eq!(field("a,b.jpg"), "\"a,b.jpg\"");
        assert_eq!(field("say \"hi\".jpg"), "\"say \"\"hi\"\".jpg\"");
        assert_eq!(field("=HYPERLINK(1).jpg"), "'=HYPERLINK(1).jpg");
        assert_eq!(field("-2+3,x"), "\"'-2+3,x\"");
    }

    #[test]
    fn times_are_rfc3339_utc() {
        assert_eq!(utc(0), "1970-01-01T00:00:00Z");
        assert_eq!(utc(951_782_400_000), "2000-02-29T00:00:00Z");
        assert_eq!(utc(1_796_036_040_000), "2026-11-30T10:54:00Z");
        assert_eq!(utc(-1000), "1969-12-31T23:59:59Z");
    }

    #[test]
    fn one_row_per_photo_under_the_header() {
        let photo: Photo = match serde_json::from_value(serde_json::json!({
            "id": 7, "filename": "beach, day.jpg", "source": "local", "mime_type": "image/jpeg",
            "size_bytes": 1, "width": 1, "height": 1, "blur_score": 0.8123,
            "is_blurred": true, "blur_type": "motion", "motion_angle_deg": 12.34,
            "preview_score": null, "status": "done", "verified": true, "error": null,
            "processed_at": 1, "created_at": 0, "taken_at": 0
        })) {
            Ok(p) => p,
            Err(e) => panic!("{e}"),
        };
        let text = csv(&[&photo]);
        let lines: Vec<&str> = text.split("\r\n").collect();
        assert_eq!(lines[0], HEADER);
        assert_eq!(
            lines[1],
            "\"beach, day.jpg\",7,local,done,blurred,0.8123,motion,12.3,1970-01-01T00:00:00Z,"
        );
        assert_eq!(lines[2], "", "the file ends with a line break");
    }
}
