//! The photos service: the upload path (receive to the blob store's staging area while hashing,
//! probe the staged file, store it within the user's quota), the derived images, and deletion. It owns the blob-key scheme, so handlers and
//! jobs never spell a key.

pub mod keys;
pub mod remote;

use bytes::Bytes;
use sha2::{Digest, Sha256};

use crate::app::Deps;
use crate::blobs::{BlobError, StagedBlob};
use crate::db::photos::{self, NewPhoto, PhotoRow, Source};
use crate::media::exif::ExifFacts;
use crate::media::{self, ImageSize, MediaError, Probe};

/// Why a photo could not be stored or shown.
#[derive(Debug, thiserror::Error)]
pub enum PhotoError {
    /// The file is larger than the per-file limit (found while it streams in).
    #[error("{filename}: larger than the {max_mib} MiB allowed per photo")]
    TooLarge {
        /// The file's (cleaned) name.
        filename: String,
        /// The limit, in MiB.
        max_mib: u64,
    },
    /// Storing the file would take the user over a quota.
    #[error("{filename}: {reason}")]
    OverQuota {
        /// The file's (cleaned) name.
        filename: String,
        /// Which quota, and by how much.
        reason: String,
    },
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

/// Per-user quotas, checked when a photo is stored; 0 is no limit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Quota {
    /// Photos one user may have, of any source.
    pub max_photos: u64,
    /// Bytes of stored originals (uploads) one user may keep.
    pub max_bytes: u64,
}

impl Quota {
    /// No quota at all.
    pub const UNLIMITED: Quota = Quota {
        max_photos: 0,
        max_bytes: 0,
    };

    /// Why adding one photo of `size` bytes to `usage` goes over this quota, if it does.
    fn refuses(&self, usage: photos::Usage, size: u64) -> Option<String> {
        let (count, bytes) = (
            u64::try_from(usage.photos).unwrap_or(0),
            u64::try_from(usage.bytes).unwrap_or(0),
        );
        if self.max_photos > 0 && count >= self.max_photos {
            return Some(format!(
                "your library is full: it has {count} of the {} photos allowed",
                self.max_photos
            ));
        }
        if self.max_bytes > 0 && bytes.saturating_add(size) > self.max_bytes {
            return Some(format!(
                "storing it would take your uploads to {} MiB, over the {} MiB allowed",
                bytes.saturating_add(size).div_ceil(MIB),
                self.max_bytes / MIB
            ));
        }
        None
    }
}

const MIB: u64 = 1024 * 1024;

/// One uploaded file as it arrives: each chunk goes to the blob store's staging area and into
/// the hash, so a file is never held in memory, and the size limit is checked as it grows.
#[derive(Debug)]
pub struct Receiving {
    filename: String,
    blob: StagedBlob,
    hasher: Sha256,
    size: u64,
    max: u64,
}

/// A received file that passed the header checks, waiting to be stored by [`store`].
#[derive(Debug)]
pub struct Staged {
    /// The file's (cleaned) name.
    pub filename: String,
    blob: StagedBlob,
    sha: String,
    size: u64,
    probe: Probe,
    facts: ExifFacts,
}

impl Receiving {
    /// Starts receiving a file called `filename` (already cleaned).
    pub async fn start(deps: &Deps, filename: String) -> Result<Self, PhotoError> {
        Ok(Self {
            filename,
            blob: deps.blobs.stage().await?,
            hasher: Sha256::new(),
            size: 0,
            max: deps.limits.max_bytes,
        })
    }

    /// Appends the next chunk; past the size limit, the file is refused
    /// ([`PhotoError::TooLarge`]) without writing more.
    pub async fn push(&mut self, chunk: &[u8]) -> Result<(), PhotoError> {
        self.size += chunk.len() as u64;
        if self.size > self.max {
            return Err(PhotoError::TooLarge {
                filename: self.filename.clone(),
                max_mib: self.max / MIB,
            });
        }
        self.hasher.update(chunk);
        self.blob.write(chunk).await?;
        Ok(())
    }

    /// The whole file is in: checks its header within the limits (format by content, pixel
    /// count, one still frame) and reads its EXIF, from the staged file.
    pub async fn finish(mut self, deps: &Deps) -> Result<Staged, PhotoError> {
        let limits = deps.limits;
        let size = self.size;
        let sha = hex::encode(self.hasher.finalize_reset());
        let file = self.blob.reader().await?;
        // Read through a small buffer: the header, a GIF's block lengths, the EXIF block.
        let (probe, facts) = tokio::task::spawn_blocking(move || {
            let mut reader = std::io::BufReader::new(file);
            let probe = media::probe::probe_in(&mut reader, size, &limits)?;
            std::io::Seek::rewind(&mut reader).map_err(|e| MediaError::Corrupt(e.to_string()))?;
            Ok::<_, MediaError>((probe, media::exif::read_from(&mut reader)))
        })
        .await
        .map_err(|e| PhotoError::Task(format!("probe task: {e}")))?
        .map_err(|source| PhotoError::Refused {
            filename: self.filename.clone(),
            source,
        })?;
        Ok(Staged {
            filename: self.filename,
            blob: self.blob,
            sha,
            size,
            probe,
            facts,
        })
    }
}

/// A stored photo, and whether it is new (false: the same bytes were already in the library).
#[derive(Debug, Clone)]
pub struct Ingested {
    /// The photo's row.
    pub row: PhotoRow,
    /// True when this call stored it.
    pub created: bool,
}

/// Stores a checked upload for `user_id` under its content key and inserts its row, unless
/// it would take the user over `quota` ([`PhotoError::OverQuota`]: nothing is stored). The
/// same bytes twice are one photo, and a duplicate costs no quota. Verification is queued
/// separately.
pub async fn store(
    deps: &Deps,
    user_id: i64,
    source: Source,
    quota: Quota,
    staged: Staged,
) -> Result<Ingested, PhotoError> {
    let blob_key = keys::original(user_id, &staged.sha);
    let new = NewPhoto {
        user_id,
        source,
        sha256: &staged.sha,
        blob_key: &blob_key,
        filename: &staged.filename,
        mime_type: staged.probe.mime,
        size_bytes: i64::try_from(staged.size).unwrap_or(i64::MAX),
        width: i64::from(staged.probe.width),
        height: i64::from(staged.probe.height),
        exposure_time_s: staged.facts.exposure.exposure_time_s.map(f64::from),
        focal_length_mm: staged.facts.exposure.focal_length_mm.map(f64::from),
        taken_at: staged.facts.taken_at,
        camera_make: staged.facts.make.as_deref(),
        camera_model: staged.facts.model.as_deref(),
        aperture_f_number: staged.facts.f_number.map(f64::from),
        iso: staged.facts.iso,
    };
    // The user's usage is read under their lock, so parallel uploads of one user are counted
    // one after another and together cannot pass the quota.
    let mut tx = deps.db.pool().begin().await?;
    let usage = photos::lock_usage(&mut tx, user_id).await?;
    let existing = photos::find_by_sha(&mut tx, user_id, &staged.sha).await?;
    if existing.is_none()
        && let Some(reason) = quota.refuses(usage, staged.size)
    {
        return Err(PhotoError::OverQuota {
            filename: staged.filename,
            reason,
        });
    }
    let (row, created) = match existing {
        Some(row) => (row, false),
        None => photos::insert(&mut tx, &new).await?,
    };
    // The file is in place before the row is visible; a duplicate rewrites the same bytes,
    // which also restores a lost original.
    deps.blobs.commit(&blob_key, staged.blob).await?;
    tx.commit().await?;
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
