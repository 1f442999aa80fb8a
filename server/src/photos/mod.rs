//! The photos service: one ingest path for every source (probe, hash, store the bytes, insert
//! the row), the derived images, and deletion. It owns the blob-key scheme, so handlers and
//! jobs never spell a key.

pub mod keys;
pub mod remote;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::app::Deps;
use crate::blobs::BlobError;
use crate::db::photos::{self, NewPhoto, PhotoRow, Source};
use crate::media::{self, ImageSize, MediaError};

/// Why a photo could not be stored or shown.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The bytes are not a photo we take (the reason names the file).
    #[error("{filename}: {source}")]
    Refused {
        /// The file's (cleaned) name.
        filename: String,
        /// Why.
        source: MediaError,
    },
    /// The stored photo cannot be rendered.
    #[error("cannot render this photo: {0}")]
    Unrenderable(MediaError),
    /// The stored bytes are gone.
    #[error("the stored image is missing")]
    Missing,
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] BlobError),
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// A background task died.
    #[error("{0}")]
    Task(String),
    /// Google could not give the photo's media.
    #[error(transparent)]
    Google(#[from] crate::google::GoogleError),
}

/// A photo arriving from somewhere.
#[derive(Debug, Clone)]
pub struct Incoming {
    /// Where it comes from.
    pub source: Source,
    /// The name the user knows it by (already cleaned).
    pub filename: String,
    /// The file's bytes.
    pub bytes: Bytes,
}

/// A stored photo, and whether it is new (false: the same bytes were already in the library).
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The photo's row.
    pub row: PhotoRow,
    /// True when this call stored it.
    pub created: bool,
}

/// Stores a photo for `user_id`: checks the header within the limits, hashes the bytes, keeps
/// them in the blob store under their content key and inserts the row (the same bytes twice are
/// one photo). Verification is queued separately.
pub async fn ingest(deps: &Deps, user_id: i64, incoming: Incoming) -> Result<Ingested, PhotoError> {
    let limits = deps.limits;
    let checked = incoming.bytes.clone();
    let (probe, sha, facts) = tokio::task::spawn_blocking(move || {
        let probe = media::probe(&checked, &limits)?;
        let sha = hex::encode(Sha256::digest(&checked));
        Ok::<_, MediaError>((probe, sha, media::exif::read(&checked)))
    })
    .await
    .map_err(|e| PhotoError::Task(format!("probe task: {e}")))?
    .map_err(|source| PhotoError::Refused {
        filename: incoming.filename.clone(),
        source,
    })?;
    let blob_key = keys::original(user_id, &sha);
    deps.blobs.put(&blob_key, incoming.bytes.clone()).await?;
    let new = NewPhoto {
        user_id,
        source: incoming.source,
        sha256: &sha,
        blob_key: &blob_key,
        filename: &incoming.filename,
        mime_type: probe.mime,
        size_bytes: incoming.bytes.len() as i64,
        width: i64::from(probe.width),
        height: i64::from(probe.height),
        exposure_time_s: facts.exposure.exposure_time_s.map(f64::from),
        focal_length_mm: facts.exposure.focal_length_mm.map(f64::from),
    };
    let (row, created) = photos::insert(deps.db.pool(), &new).await?;
    Ok(Ingested { row, created })
}

/// The stored original of a photo.
pub async fn original(deps: &Deps, row: &PhotoRow) -> Result<Bytes, PhotoError> {
    let key = row.blob_key.as_deref().ok_or(PhotoError::Missing)?;
    deps.blobs.get(key).await?.ok_or(PhotoError::Missing)
}

/// A derived image of a photo: rendered on first request, then kept beside the original.
pub async fn derived(deps: &Deps, row: &PhotoRow, size: ImageSize) -> Result<Bytes, PhotoError> {
    let sha = row.content_sha256.as_deref().ok_or(PhotoError::Missing)?;
    let key = keys::derived(row.user_id, sha, size);
    if let Some(bytes) = deps.blobs.get(&key).await? {
        return Ok(bytes);
    }
    // One render per key at a time: the others wait here, then find it stored.
    let _rendering = deps.renders.lock(&key).await;
    if let Some(bytes) = deps.blobs.get(&key).await? {
        return Ok(bytes);
    }
    let original = original(deps, row).await?;
    let bytes = render_within_budget(deps, original, size).await?;
    deps.blobs.put(&key, bytes.clone()).await?;
    Ok(bytes)
}

/// Renders a derived image once the decode budget has room for it (off the async threads).
pub async fn render_within_budget(
    deps: &Deps,
    original: Bytes,
    size: ImageSize,
) -> Result<Bytes, PhotoError> {
    let limits = deps.limits;
    let _reserved = deps
        .decode_budget
        .reserve(&original, media::budget::Purpose::Render(size), &limits)
        .await
        .map_err(PhotoError::Unrenderable)?;
    let rendered = tokio::task::spawn_blocking(move || media::render(&original, size, &limits))
        .await
        .map_err(|e| PhotoError::Task(format!("render task: {e}")))?
        .map_err(PhotoError::Unrenderable)?;
    Ok(Bytes::from(rendered))
}

/// Deletes one of the user's photos with its files; `None` when the user has no such photo.
pub async fn delete(deps: &Deps, user_id: i64, id: i64) -> Result<Option<PhotoRow>, PhotoError> {
    let Some(row) = photos::delete(deps.db.pool(), user_id, id).await? else {
        return Ok(None);
    };
    // The row is gone, so the photo is gone for the user; a file left behind by a failed
    // delete is only wasted space, never visible.
    if let Some(key) = &row.blob_key
        && let Err(e) = deps.blobs.delete(key).await
    {
        tracing::warn!(error = %e, key, "could not delete a stored photo");
    }
    if let Some(sha) = &row.content_sha256 {
        let _ = deps.blobs.delete(&keys::derived_prefix(user_id, sha)).await;
    }
    // The cache records went with the row (foreign key); the folder goes by its prefix.
    let _ = deps
        .blobs
        .delete(&keys::google_media_prefix(user_id, id))
        .await;
    Ok(Some(row))
}

/// A stored filename from what a client or Google says: the last path segment, without control
/// characters (C*) or format characters (Cf: bidirectional overrides such as U+202E that make
/// `\u{202e}gpj.exe` read as "exe.jpg", zero-width spaces, BOMs), trimmed, at most 255
/// characters; `photo` when nothing is left. Every source of photos goes through it.
pub fn clean_filename(name: Option<&str>) -> String {
    use unicode_properties::{GeneralCategory, UnicodeGeneralCategory};
    let base = name.unwrap_or("").rsplit(['/', '\\']).next().unwrap_or("");
    let cleaned: String = base
        .chars()
        .filter(|c| !c.is_control() && c.general_category() != GeneralCategory::Format)
        .take(255)
        .collect();
    let trimmed = cleaned.trim();
    if trimmed.is_empty() {
        "photo".into()
    } else {
        trimmed.to_string()
    }
}

#[cfg(test)]
mod tests {
    use super::clean_filename;

    #[test]
    fn filenames_lose_their_path_control_and_format_characters() {
        assert_eq!(clean_filename(Some("../../etc/passwd")), "passwd");
        assert_eq!(clean_filename(Some("C:\\photos\\a.jpg")), "a.jpg");
        assert_eq!(clean_filename(Some("a\u{0}b\n.jpg")), "ab.jpg");
        assert_eq!(clean_filename(None), "photo");
        assert_eq!(clean_filename(Some("   ")), "photo");
        assert_eq!(clean_filename(Some(&"x".repeat(400))).len(), 255);
        // Bidirectional overrides and isolates, zero-width characters, the BOM.
        assert_eq!(clean_filename(Some("\u{202e}gpj.exe")), "gpj.exe");
        assert_eq!(
            clean_filename(Some("a\u{200b}b\u{200d}\u{2066}c\u{2069}\u{feff}.jpg")),
            "abc.jpg"
        );
        assert_eq!(clean_filename(Some("\u{202e}\u{200b}")), "photo");
        // Letters of any script stay.
        assert_eq!(clean_filename(Some("été 東京.jpg")), "été 東京.jpg");
    }
}
