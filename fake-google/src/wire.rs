//! Small wire-format helpers: Google's timestamp and duration strings, random tokens, base64url,
//! form bodies with repeated keys, and bearer/basic credentials from headers.

use std::time::{Duration, SystemTime};

use axum::http::{HeaderMap, header};
use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use rand::Rng as _;
use time::OffsetDateTime;

/// RFC 3339 in UTC with a `Z` and 0 or 3 fractional digits, as Google's JSON APIs write timestamps.
pub fn rfc3339(t: SystemTime) -> String {
    let t = OffsetDateTime::from(t);
    let base = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    match t.millisecond() {
        0 => format!("{base}Z"),
        ms => format!("{base}.{ms:03}Z"),
    }
}

/// Serializes a time as [`rfc3339`] (for `#[serde(serialize_with)]`).
pub fn ser_rfc3339<S: serde::Serializer>(t: &SystemTime, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&rfc3339(*t))
}

/// A protobuf `Duration` in its JSON form: seconds with up to nine fractional digits and an `s`
/// (`"1s"`, `"0.25s"`, `"3.5s"`).
pub fn duration(d: Duration) -> String {
    let nanos = d.subsec_nanos();
    if nanos == 0 {
        return format!("{}s", d.as_secs());
    }
    let frac = format!("{nanos:09}");
    format!("{}.{}s", d.as_secs(), frac.trim_end_matches('0'))
}

/// Seconds since the Unix epoch.
pub fn unix_secs(t: SystemTime) -> u64 {
    t.duration_since(SystemTime::UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}

/// `n` random bytes as base64url without padding.
pub fn random_token(n: usize) -> String {
    let mut bytes = vec![0u8; n];
    rand::rng().fill(&mut bytes[..]);
    URL_SAFE_NO_PAD.encode(bytes)
}

/// A random identifier shaped like a UUID (8-4-4-4-12 lowercase hex).
pub fn uuid_like() -> String {
    let b: [u8; 16] = rand::rng().random();
    let h: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Base64url without padding.
pub fn b64url(bytes: &[u8]) -> String {
    URL_SAFE_NO_PAD.encode(bytes)
}

/// Decodes base64url without padding.
pub fn b64url_decode(s: &str) -> Option<Vec<u8>> {
    URL_SAFE_NO_PAD.decode(s).ok()
}

/// An `application/x-www-form-urlencoded` body (or query string) as ordered pairs; keys may
/// repeat (`item=1&item=3`), which serde's form decoding would reject.
#[derive(Debug, Default, Clone)]
pub struct FormPairs(pub Vec<(String, String)>);

impl FormPairs {
    /// Parses a urlencoded string.
    pub fn parse(input: &[u8]) -> Self {
        Self(url::form_urlencoded::parse(input).into_owned().collect())
    }

    /// The first value of `key`.
    pub fn get(&self, key: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }

    /// The first non-empty value of `key`.
    pub fn non_empty(&self, key: &str) -> Option<&str> {
        self.get(key).filter(|v| !v.is_empty())
    }

    /// Every value of `key`, in order.
    pub fn all<'a>(&'a self, key: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.0
            .iter()
            .filter(move |(k, _)| k == key)
            .map(|(_, v)| v.as_str())
    }
}

/// The token of an `Authorization: Bearer <token>` header.
pub fn bearer(headers: &HeaderMap) -> Option<&str> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, token) = value.split_once(' ')?;
    scheme
        .eq_ignore_ascii_case("bearer")
        .then(|| token.trim())
        .filter(|t| !t.is_empty())
}

/// The `(client_id, client_secret)` of an `Authorization: Basic` header. RFC 6749 §2.3.1 has
/// both parts form-urlencoded before base64, so they are decoded here.
pub fn basic_credentials(headers: &HeaderMap) -> Option<(String, String)> {
    let value = headers.get(header::AUTHORIZATION)?.to_str().ok()?;
    let (scheme, encoded) = value.split_once(' ')?;
    if !scheme.eq_ignore_ascii_case("basic") {
        return None;
    }
    let decoded = String::from_utf8(STANDARD.decode(encoded.trim()).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
            .unwrap_or_default()
    };
    Some((unescape(id), unescape(secret)))
}

/// Escapes text for HTML element content and double-quoted attributes.
pub fn esc(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for c in s.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_use_google_json_form() {
        assert_eq!(duration(Duration::from_secs(1)), "1s");
        assert_eq!(duration(Duration::from_millis(3500)), "3.5s");
        assert_eq!(duration(Duration::from_millis(8)), "0.008s");
        assert_eq!(duration(Duration::from_secs(1800)), "1800s");
    }

    #[test]
    fn timestamps_are_z_normalised() {
        let t = SystemTime::UNIX_EPOCH + Duration::from_millis(1_412_262_083_045);
        assert_eq!(rfc3339(t), "2014-10-02T15:01:23.045Z");
        let t = SystemTime::UNIX_EPOCH + Duration::from_secs(1_412_262_083);
        assert_eq!(rfc3339(t), "2014-10-02T15:01:23Z");
    }

    #[test]
    fn basic_credentials_are_form_decoded() {
        let mut h = HeaderMap::new();
        let raw = STANDARD.encode("my%3Aid:s%2Bcret");
        h.insert(
            header::AUTHORIZATION,
            format!("Basic {raw}").parse().unwrap(),
        );
        assert_eq!(
            basic_credentials(&h),
            Some(("my:id".to_string(), "s+cret".to_string()))
        );
    }

    #[test]
    fn form_pairs_keep_repeated_keys() {
        let f = FormPairs::parse(b"item=1&item=3&all=&x=a+b");
        assert_eq!(f.all("item").collect::<Vec<_>>(), ["1", "3"]);
        assert_eq!(f.non_empty("all"), None);
        assert_eq!(f.get("x"), Some("a b"));
    }
}
