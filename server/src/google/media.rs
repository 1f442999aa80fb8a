//! Google media at Picker base URLs: fetched with the owner's bearer token, only from the
//! configured Google photo hosts, never following a redirect, and never reading more than a
//! limit. An expired or refused link is [`GoogleError::LinkExpired`].

use bytes::{Bytes, BytesMut};
use futures_util::StreamExt;
use url::Url;

use super::{Google, GoogleError, transport};

/// What to ask a base URL for.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum MediaParam {
    /// Scaled to fit within a square of this side, keeping the aspect ratio (`=wN-hN`).
    Fit(u32),
    /// The original bytes, EXIF kept except location (`=d`).
    Download,
}

impl MediaParam {
    /// The suffix Google expects after the base URL.
    pub fn suffix(self) -> String {
        match self {
            MediaParam::Fit(side) => format!("=w{side}-h{side}"),
            MediaParam::Download => "=d".to_string(),
        }
    }
}

impl Google {
    /// The bytes behind `base_url` with `param`, at most `max_bytes` of them.
    pub async fn fetch_media(
        &self,
        token: &str,
        base_url: &str,
        param: MediaParam,
        max_bytes: u64,
    ) -> Result<Bytes, GoogleError> {
        let url = Url::parse(&format!("{base_url}{}", param.suffix()))
            .map_err(|_| GoogleError::HostNotAllowed("an unparsable link".into()))?;
        if !self.media_host_allowed(&url) {
            return Err(GoogleError::HostNotAllowed(
                url.host_str().unwrap_or("no host").to_string(),
            ));
        }
        let response = transport::send(self.retry, || {
            self.http().get(url.clone()).bearer_auth(token)
        })
        .await?;
        let status = response.status();
        if status.is_redirection() {
            return Err(GoogleError::HostNotAllowed(
                "a redirect (media links are fetched without following redirects)".into(),
            ));
        }
        if matches!(status.as_u16(), 403 | 404 | 410) {
            return Err(GoogleError::LinkExpired);
        }
        if status.as_u16() == 401 {
            return Err(GoogleError::Api {
                status: 401,
                code: "UNAUTHENTICATED".into(),
                message: "Google refused the access token for this media".into(),
            });
        }
        let response = transport::check(response).await?;
        if response.content_length().is_some_and(|n| n > max_bytes) {
            return Err(GoogleError::TooLarge(max_bytes));
        }
        let mut body = BytesMut::new();
        let mut stream = response.bytes_stream();
        while let Some(chunk) = stream.next().await {
            let chunk = chunk.map_err(|e| GoogleError::Unavailable(e.to_string()))?;
            if (body.len() + chunk.len()) as u64 > max_bytes {
                return Err(GoogleError::TooLarge(max_bytes));
            }
            body.extend_from_slice(&chunk);
        }
        Ok(body.freeze())
    }
}
