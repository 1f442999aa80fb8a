//! The Library API calls an album needs (scope `photoslibrary.appendonly`, and
//! `readonly.appcreateddata` to read back what Classify made): `albums.create`, raw uploads
//! (bytes in, an upload token out), `mediaItems:batchCreate` (at most 50 items, each with its
//! own status), and `mediaItems:search` of an app-created album. Every request, each retry
//! included, is first counted against the deployment's daily quota (`quota`).

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use sqlx::AnyPool;

use super::transport::{self, Repeat};
use super::{Google, GoogleError};
use crate::time::now_ms;

/// At most this many items per `batchCreate` (Google's limit).
pub const BATCH_LIMIT: usize = 50;

/// An album Google created.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct CreatedAlbum {
    /// Google's album id.
    pub id: String,
    /// The album's page in Google Photos.
    #[serde(default)]
    pub product_url: Option<String>,
}

/// One item of a `batchCreate`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewItem<'a> {
    /// The token the upload answered.
    pub upload_token: &'a str,
    /// The file name the item gets (unique within the album: see `jobs::album`).
    pub file_name: &'a str,
}

/// What `batchCreate` said about one item.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ItemResult {
    /// Created, with Google's media item id.
    Created(String),
    /// Not created: Google's per-item status message.
    Failed(String),
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct BatchCreateBody<'a> {
    album_id: &'a str,
    new_media_items: Vec<NewMediaItem<'a>>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct NewMediaItem<'a> {
    simple_media_item: SimpleMediaItem<'a>,
}

#[derive(Serialize)]
#[serde(rename_all = "camelCase")]
struct SimpleMediaItem<'a> {
    upload_token: &'a str,
    file_name: &'a str,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct BatchCreateAnswer {
    #[serde(default)]
    new_media_item_results: Vec<NewMediaItemResult>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct NewMediaItemResult {
    #[serde(default)]
    upload_token: Option<String>,
    #[serde(default)]
    status: Option<RpcStatus>,
    #[serde(default)]
    media_item: Option<MediaItem>,
}

/// `google.rpc.Status`: a missing or zero `code` is success.
#[derive(Deserialize)]
struct RpcStatus {
    #[serde(default)]
    code: i64,
    #[serde(default)]
    message: String,
}

/// The part of a `MediaItem` we read.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct MediaItem {
    /// Google's id.
    pub id: String,
    /// The file name it was created with.
    #[serde(default)]
    pub filename: String,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SearchAnswer {
    #[serde(default)]
    media_items: Vec<MediaItem>,
    #[serde(default)]
    next_page_token: Option<String>,
}

/// Pages of an album's contents read at most (100 items a page: Google's album limit of
/// 20,000 items is 200 pages).
const MAX_SEARCH_PAGES: usize = 200;

impl Google {
    fn library_url(&self, path: &str) -> String {
        format!(
            "{}{path}",
            self.endpoints.library.as_str().trim_end_matches('/')
        )
    }

    /// Counts one request against the deployment's quota.
    async fn spend(&self, pool: &AnyPool) -> Result<(), GoogleError> {
        self.library_quota.take(pool, now_ms()).await
    }

    /// A JSON `POST` to the Library API and its JSON answer; every attempt is counted first.
    async fn post_json<T: DeserializeOwned>(
        &self,
        pool: &AnyPool,
        token: &str,
        path: &str,
        repeat: Repeat,
        body: &impl Serialize,
    ) -> Result<T, GoogleError> {
        let response = transport::send_with(
            self.retry,
            repeat,
            || self.spend(pool),
            || {
                self.http()
                    .post(self.library_url(path))
                    .bearer_auth(token)
                    .json(body)
            },
        )
        .await?;
        transport::json(transport::check(response).await?).await
    }

    /// `albums.create`: a new album owned by the app (so the app may add to it).
    pub async fn create_album(
        &self,
        pool: &AnyPool,
        token: &str,
        title: &str,
    ) -> Result<CreatedAlbum, GoogleError> {
        let body = serde_json::json!({ "album": { "title": title } });
        // Not repeated after a 5xx: a second album would be an empty duplicate.
        self.post_json(pool, token, "/v1/albums", Repeat::Once, &body)
            .await
    }

    /// A raw upload of one file's bytes; returns the upload token (valid one day).
    pub async fn upload(
        &self,
        pool: &AnyPool,
        token: &str,
        bytes: bytes::Bytes,
        mime: &str,
    ) -> Result<String, GoogleError> {
        // An upload only stores bytes: sending it twice costs quota, never a duplicate item.
        let response = transport::send_with(
            self.retry,
            Repeat::Safe,
            || self.spend(pool),
            || {
                self.http()
                    .post(self.library_url("/v1/uploads"))
                    .bearer_auth(token)
                    .header(reqwest::header::CONTENT_TYPE, "application/octet-stream")
                    .header("X-Goog-Upload-Content-Type", mime)
                    .header("X-Goog-Upload-Protocol", "raw")
                    .body(bytes.clone())
            },
        )
        .await?;
        let text = transport::check(response)
            .await?
            .text()
            .await
            .map_err(|e| GoogleError::Unavailable(e.to_string()))?;
        let upload_token = text.trim();
        if upload_token.is_empty() {
            return Err(GoogleError::Protocol("an upload answered no token".into()));
        }
        Ok(upload_token.to_string())
    }

    /// `mediaItems:batchCreate` of up to 50 items into `album_id`: each item's result, in the
    /// order given. Sent once: a 5xx or a timeout is returned unrepeated (Google may have
    /// created the items), for the caller to look at the album before sending again.
    pub async fn batch_create(
        &self,
        pool: &AnyPool,
        token: &str,
        album_id: &str,
        items: &[NewItem<'_>],
    ) -> Result<Vec<ItemResult>, GoogleError> {
        if items.is_empty() || items.len() > BATCH_LIMIT {
            return Err(GoogleError::Protocol(format!(
                "a batchCreate takes 1 to {BATCH_LIMIT} items, not {}",
                items.len()
            )));
        }
        let body = BatchCreateBody {
            album_id,
            new_media_items: items
                .iter()
                .map(|i| NewMediaItem {
                    simple_media_item: SimpleMediaItem {
                        upload_token: i.upload_token,
                        file_name: i.file_name,
                    },
                })
                .collect(),
        };
        let answer: BatchCreateAnswer = self
            .post_json(
                pool,
                token,
                "/v1/mediaItems:batchCreate",
                Repeat::Once,
                &body,
            )
            .await?;
        Ok(match_results(items, answer.new_media_item_results))
    }

    /// Every item of an app-created album (`mediaItems:search` with `albumId`, 100 a page).
    pub async fn album_items(
        &self,
        pool: &AnyPool,
        token: &str,
        album_id: &str,
    ) -> Result<Vec<MediaItem>, GoogleError> {
        let mut items = Vec::new();
        let mut page_token: Option<String> = None;
        for _ in 0..MAX_SEARCH_PAGES {
            let mut body = serde_json::json!({ "albumId": album_id, "pageSize": 100 });
            if let Some(t) = &page_token {
                body["pageToken"] = serde_json::Value::String(t.clone());
            }
            let page: SearchAnswer = self
                .post_json(pool, token, "/v1/mediaItems:search", Repeat::Safe, &body)
                .await?;
            items.extend(page.media_items);
            match page.next_page_token.filter(|t| !t.is_empty()) {
                Some(next) => page_token = Some(next),
                None => return Ok(items),
            }
        }
        Err(GoogleError::Protocol(format!(
            "the album's items did not end after {MAX_SEARCH_PAGES} pages"
        )))
    }
}

/// Each item's result: matched by upload token (Google echoes it), else by position; an item
/// Google said nothing about was not created.
fn match_results(items: &[NewItem<'_>], results: Vec<NewMediaItemResult>) -> Vec<ItemResult> {
    let mut by_token: std::collections::HashMap<String, ItemResult> = Default::default();
    let mut by_position = Vec::with_capacity(results.len());
    for r in results {
        let outcome = match (&r.status, &r.media_item) {
            (Some(s), _) if s.code != 0 => ItemResult::Failed(if s.message.is_empty() {
                format!("Google refused the item (code {})", s.code)
            } else {
                s.message.clone()
            }),
            (_, Some(item)) => ItemResult::Created(item.id.clone()),
            (_, None) => ItemResult::Failed("Google created no media item".into()),
        };
        match r.upload_token {
            Some(t) => {
                by_token.insert(t, outcome);
            }
            None => by_position.push(Some(outcome)),
        }
    }
    items
        .iter()
        .enumerate()
        .map(|(i, item)| {
            by_token
                .remove(item.upload_token)
                .or_else(|| by_position.get_mut(i).and_then(Option::take))
                .unwrap_or_else(|| ItemResult::Failed("Google answered nothing for it".into()))
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn result(token: Option<&str>, code: i64, id: Option<&str>) -> NewMediaItemResult {
        NewMediaItemResult {
            upload_token: token.map(str::to_string),
            status: Some(RpcStatus {
                code,
                message: if code == 0 {
                    "Success".into()
                } else {
                    "Failed: no".into()
                },
            }),
            media_item: id.map(|id| MediaItem {
                id: id.into(),
                filename: String::new(),
            }),
        }
    }

    #[test]
    fn results_match_items_by_token_then_position() {
        let items = [
            NewItem {
                upload_token: "a",
                file_name: "a.jpg",
            },
            NewItem {
                upload_token: "b",
                file_name: "b.jpg",
            },
            NewItem {
                upload_token: "c",
                file_name: "c.jpg",
            },
        ];
        let out = match_results(
            &items,
            vec![result(Some("b"), 13, None), result(Some("a"), 0, Some("A"))],
        );
        assert_eq!(
            out,
            vec![
                ItemResult::Created("A".into()),
                ItemResult::Failed("Failed: no".into()),
                ItemResult::Failed("Google answered nothing for it".into()),
            ]
        );
    }
}
