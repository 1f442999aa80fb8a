//! The blob store: where uploaded originals and their generated derivatives (thumbnails,
//! analysis images) live. A local folder by default; the trait is small enough that an
//! S3-compatible store can implement it (put/get/delete by key).

use std::fmt::Debug;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use async_trait::async_trait;
use bytes::Bytes;

/// Why the blob store failed.
#[derive(Debug, thiserror::Error)]
pub enum BlobError {
    /// The key has characters or parts a key must not have.
    #[error("invalid blob key '{0}'")]
    InvalidKey(String),
    /// The storage failed.
    #[error("blob store: {0}")]
    Io(#[from] std::io::Error),
}

/// A blob being read.
pub type BlobReader = std::pin::Pin<Box<dyn tokio::io::AsyncRead + Send>>;

/// Byte storage by key. Keys are relative paths of `[a-z0-9_.-]` segments joined by `/`.
#[async_trait]
pub trait BlobStore: Send + Sync + Debug {
    /// The implementation's name (`local`).
    fn kind(&self) -> &'static str;
    /// Stores `bytes` under `key`, replacing what was there; readers never see half a blob.
    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError>;
    /// The bytes under `key`, or `None`.
    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError>;
    /// A reader of the bytes under `key`, or `None`: for streaming a blob out (a ZIP of an
    /// album) without holding it in memory.
    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError>;
    /// Removes `key` and, for a key ending in `/`, everything under it. Missing is fine.
    async fn delete(&self, key: &str) -> Result<(), BlobError>;
    /// A new, empty staging file to write a blob into before its key is known (an upload is
    /// named by its hash): on the store's own disk, so [`BlobStore::commit`] only renames it.
    async fn stage(&self) -> Result<StagedBlob, BlobError>;
    /// Stores what was written to `staged` under `key`, replacing what was there; readers
    /// never see half a blob. A staged blob that is dropped instead is deleted.
    async fn commit(&self, key: &str, staged: StagedBlob) -> Result<(), BlobError>;
}

/// A blob being received: a private temporary file, deleted when dropped uncommitted.
#[derive(Debug)]
pub struct StagedBlob {
    file: tokio::fs::File,
    path: tempfile::TempPath,
}

impl StagedBlob {
    /// Appends `chunk`.
    pub async fn write(&mut self, chunk: &[u8]) -> Result<(), BlobError> {
        use tokio::io::AsyncWriteExt;
        self.file.write_all(chunk).await?;
        Ok(())
    }

    /// Finishes writing and gives a handle to read the whole file from its start.
    pub async fn reader(&mut self) -> Result<std::fs::File, BlobError> {
        use tokio::io::AsyncWriteExt;
        self.file.flush().await?;
        let mut file = self.file.try_clone().await?.into_std().await;
        std::io::Seek::rewind(&mut file)?;
        Ok(file)
    }
}

/// A shared handle to whichever store is configured.
pub type SharedBlobStore = Arc<dyn BlobStore>;

/// The staging folder under a local store's root; no key can name it (keys never start with a
/// dot segment of this name: `photos::keys` writes them all).
const STAGING_DIR: &str = ".staging";

/// Blobs as files under a root folder.
#[derive(Debug, Clone)]
pub struct LocalBlobStore {
    root: PathBuf,
}

impl LocalBlobStore {
    /// A store rooted at `root` (created on first write).
    pub fn new(root: impl Into<PathBuf>) -> Self {
        Self { root: root.into() }
    }

    /// The root folder.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Deletes staging files older than `age`: left by a process that died while receiving
    /// (a live upload is far younger: requests time out after 30 s). Returns how many.
    pub async fn sweep_staging(&self, age: std::time::Duration) -> Result<usize, BlobError> {
        let mut entries = match tokio::fs::read_dir(self.staging_dir()).await {
            Ok(entries) => entries,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(0),
            Err(e) => return Err(e.into()),
        };
        let mut removed = 0;
        while let Some(entry) = entries.next_entry().await? {
            let stale = entry
                .metadata()
                .await
                .and_then(|m| m.modified())
                .is_ok_and(|t| t.elapsed().is_ok_and(|e| e > age));
            if stale && tokio::fs::remove_file(entry.path()).await.is_ok() {
                removed += 1;
            }
        }
        Ok(removed)
    }

    /// Where uploads are received: inside the root, so committing one is a rename on one disk.
    fn staging_dir(&self) -> PathBuf {
        self.root.join(STAGING_DIR)
    }

    fn path(&self, key: &str) -> Result<PathBuf, BlobError> {
        let trimmed = key.strip_suffix('/').unwrap_or(key);
        let valid = !trimmed.is_empty()
            && trimmed.split('/').all(|seg| {
                !seg.is_empty()
                    && seg != "."
                    && seg != ".."
                    && seg.bytes().all(|b| {
                        b.is_ascii_lowercase() || b.is_ascii_digit() || b"_.-".contains(&b)
                    })
            });
        if !valid {
            return Err(BlobError::InvalidKey(key.to_string()));
        }
        Ok(self.root.join(trimmed))
    }
}

#[async_trait]
impl BlobStore for LocalBlobStore {
    fn kind(&self) -> &'static str {
        "local"
    }

    async fn put(&self, key: &str, bytes: Bytes) -> Result<(), BlobError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        // Write aside, then rename: a crash or a concurrent reader never sees a partial file.
        let tmp = path.with_extension(format!("tmp-{}", rand::random::<u64>()));
        tokio::fs::write(&tmp, &bytes).await?;
        if let Err(e) = tokio::fs::rename(&tmp, &path).await {
            let _ = tokio::fs::remove_file(&tmp).await;
            return Err(e.into());
        }
        Ok(())
    }

    async fn get(&self, key: &str) -> Result<Option<Bytes>, BlobError> {
        match tokio::fs::read(self.path(key)?).await {
            Ok(data) => Ok(Some(Bytes::from(data))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn open(&self, key: &str) -> Result<Option<BlobReader>, BlobError> {
        match tokio::fs::File::open(self.path(key)?).await {
            Ok(file) => Ok(Some(Box::pin(file))),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn stage(&self) -> Result<StagedBlob, BlobError> {
        let dir = self.staging_dir();
        tokio::fs::create_dir_all(&dir).await?;
        // tempfile creates it with a random name, readable by this user only.
        let (file, path) =
            tokio::task::spawn_blocking(move || tempfile::NamedTempFile::new_in(dir))
                .await
                .map_err(std::io::Error::other)??
                .into_parts();
        Ok(StagedBlob {
            file: tokio::fs::File::from_std(file),
            path,
        })
    }

    async fn commit(&self, key: &str, staged: StagedBlob) -> Result<(), BlobError> {
        let path = self.path(key)?;
        if let Some(dir) = path.parent() {
            tokio::fs::create_dir_all(dir).await?;
        }
        let StagedBlob { file, path: tmp } = staged;
        drop(file);
        // On failure the error hands the temporary path back, and dropping it deletes the file.
        tokio::task::spawn_blocking(move || tmp.persist(&path).map_err(|e| e.error))
            .await
            .map_err(std::io::Error::other)??;
        Ok(())
    }

    async fn delete(&self, key: &str) -> Result<(), BlobError> {
        let path = self.path(key)?;
        let result = if key.ends_with('/') {
            tokio::fs::remove_dir_all(&path).await
        } else {
            tokio::fs::remove_file(&path).await
        };
        match result {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn put_get_delete_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path());
        assert_eq!(store.get("a/b.jpg").await.unwrap(), None);
        store
            .put("a/b.jpg", Bytes::from_static(b"xyz"))
            .await
            .unwrap();
        store
            .put("a/c/d.png", Bytes::from_static(b"1"))
            .await
            .unwrap();
        assert_eq!(
            store.get("a/b.jpg").await.unwrap().as_deref(),
            Some(&b"xyz"[..])
        );
        store.delete("a/b.jpg").await.unwrap();
        store.delete("a/b.jpg").await.unwrap();
        assert_eq!(store.get("a/b.jpg").await.unwrap(), None);
        store.delete("a/c/").await.unwrap();
        assert_eq!(store.get("a/c/d.png").await.unwrap(), None);
    }

    #[tokio::test]
    async fn a_staged_blob_is_stored_by_commit_and_deleted_when_dropped() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path());
        let mut staged = store.stage().await.unwrap();
        staged.write(b"ab").await.unwrap();
        staged.write(b"c").await.unwrap();
        let mut read = String::new();
        std::io::Read::read_to_string(&mut staged.reader().await.unwrap(), &mut read).unwrap();
        assert_eq!(read, "abc");
        store.commit("x/y.jpg", staged).await.unwrap();
        assert_eq!(
            store.get("x/y.jpg").await.unwrap().as_deref(),
            Some(&b"abc"[..])
        );
        let mut dropped = store.stage().await.unwrap();
        dropped.write(b"never stored").await.unwrap();
        drop(dropped);
        let staging = std::fs::read_dir(store.staging_dir()).unwrap().count();
        assert_eq!(staging, 0, "a staged file was left behind");
        // What a dead process left is swept, by age.
        let left = store.stage().await.unwrap();
        std::mem::forget(left);
        let hour = std::time::Duration::from_secs(3600);
        assert_eq!(store.sweep_staging(hour).await.unwrap(), 0);
        assert_eq!(
            store
                .sweep_staging(std::time::Duration::ZERO)
                .await
                .unwrap(),
            1
        );
    }

    #[tokio::test]
    async fn keys_cannot_escape_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let store = LocalBlobStore::new(dir.path().join("root"));
        for key in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "",
            "a//b",
            "A.JPG",
            "a/./b",
        ] {
            assert!(
                matches!(store.get(key).await, Err(BlobError::InvalidKey(_))),
                "{key} was accepted"
            );
        }
    }
}
