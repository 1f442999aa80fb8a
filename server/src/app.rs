//! `Deps`: the connected services (database, queue, blob store, media limits), built once at
//! start-up and shared by the web state and the queue workers alike.

use std::sync::Arc;

use anyhow::Context;

use crate::blobs::{LocalBlobStore, SharedBlobStore};
use crate::config::StorageArgs;
use crate::db::{Database, DbError};
use crate::google::Google;
use crate::keyed_lock::KeyedLocks;
use crate::media::MediaLimits;
use crate::media::budget::DecodeBudget;
use crate::media::threads::DecodeThreads;
use crate::queue::{MemoryQueue, RedisQueue, SharedQueue};
use crate::tagging::Tagging;

/// What handlers and job handlers use. Cheap to clone (every field is a handle).
#[derive(Debug, Clone)]
pub struct Deps {
    /// The database (migrated).
    pub db: Database,
    /// The job queue.
    pub queue: SharedQueue,
    /// Where photos and derived images are stored.
    pub blobs: SharedBlobStore,
    /// What a photo may cost to read.
    pub limits: MediaLimits,
    /// What all decodes in this process may hold at once.
    pub decode_budget: DecodeBudget,
    /// The threads the workers' verifications decode and judge on, one per core.
    pub decode_threads: DecodeThreads,
    /// Derived images being rendered, one render per image at a time.
    pub renders: KeyedLocks,
    /// Google sign-in, Picker and media; `None` in local mode.
    pub google: Option<Arc<Google>>,
    /// AI tagging: its settings, and its client when configured.
    pub tagging: Arc<Tagging>,
}

impl Deps {
    /// Connects to the database (applying migrations) and the queue. Errors are short and say
    /// which service failed and where.
    pub async fn connect(storage: &StorageArgs) -> anyhow::Result<Self> {
        let db = Database::connect(storage).await?;
        if storage.migrate_at_start {
            db.migrate().await?;
        } else {
            let pending = db.pending_migrations().await?;
            if pending > 0 {
                return Err(DbError::Pending(pending).into());
            }
        }
        let queue: SharedQueue = match &storage.redis_url {
            Some(url) if !url.expose().trim().is_empty() => Arc::new(
                RedisQueue::connect(url.expose(), &storage.redis_prefix)
                    .await
                    .with_context(|| {
                        format!(
                            "cannot connect to Redis at {}",
                            crate::db::redact(url.expose())
                        )
                    })?,
            ),
            _ => Arc::new(MemoryQueue::new()),
        };
        let blobs = LocalBlobStore::new(storage.blob_dir());
        // Uploads a crashed process was receiving; a day is far beyond any live request.
        match blobs
            .sweep_staging(std::time::Duration::from_secs(24 * 3600))
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(files = n, "removed stale upload staging files"),
            Err(e) => tracing::warn!(error = %e, "could not sweep the upload staging folder"),
        }
        Ok(Self {
            db,
            queue,
            blobs: Arc::new(blobs),
            limits: storage.limits.media_limits(),
            decode_budget: DecodeBudget::new(storage.decode_memory_mib),
            decode_threads: DecodeThreads::per_core(),
            renders: KeyedLocks::default(),
            google: None,
            tagging: Arc::new(Tagging::off()),
        })
    }

    /// The same services with tagging as configured.
    pub fn with_tagging(self, tagging: Tagging) -> Self {
        Self {
            tagging: Arc::new(tagging),
            ..self
        }
    }

    /// The same services with Google configured (or not).
    pub fn with_google(self, google: Option<Google>) -> Self {
        Self {
            google: google.map(Arc::new),
            ..self
        }
    }
}
