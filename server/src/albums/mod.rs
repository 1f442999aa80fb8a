//! The albums service: turning a request into an album (which photos, in which order, each
//! with a file name unique within the album, where it goes), and the API view of an album.
//! Google albums are filled by the `album` job (`jobs::album`); collections are complete at
//! once and downloaded as a ZIP (`zip`).

pub mod zip;

use std::collections::HashSet;

use shared::api::{
    Album, AlbumCounts, AlbumDestination, AlbumItemsPage, AlbumStatus, CreateAlbumRequest,
    MAX_ALBUM_PHOTOS, MAX_ALBUM_TITLE_CHARS, PhotoFilter,
};

use crate::app::Deps;
use crate::db::albums::{self, AlbumRow};
use crate::jobs::{self, JobKind};

/// Why an album could not be made.
#[derive(Debug, thiserror::Error)]
pub enum AlbumError {
    /// The request is wrong.
    #[error("{0}")]
    BadRequest(String),
    /// An id is not one of the user's photos.
    #[error("photo not found")]
    UnknownPhoto,
    /// Another album of the user is being made (batchCreate runs serially per user).
    #[error("another album is being made; wait for it to finish (or pause) and try again")]
    Busy,
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
}

/// "Unblurred Photos 2026-05-09".
pub fn default_title() -> String {
    format!(
        "Unblurred Photos {}",
        time::OffsetDateTime::now_utc().date()
    )
}

/// Makes the album: its photos recorded in order, and for Google Photos its job queued (a
/// collection is complete at once). `google` says whether this server has Google configured.
pub async fn create(
    deps: &Deps,
    user_id: i64,
    request: CreateAlbumRequest,
    google: bool,
) -> Result<AlbumRow, AlbumError> {
    let title = match request.title.as_deref().map(str::trim) {
        None => default_title(),
        Some(t) if t.is_empty() || t.chars().count() > MAX_ALBUM_TITLE_CHARS => {
            return Err(AlbumError::BadRequest(format!(
                "title must have 1 to {MAX_ALBUM_TITLE_CHARS} characters"
            )));
        }
        Some(t) => t.to_string(),
    };
    let destination = match request.destination {
        Some(AlbumDestination::GooglePhotos) if !google => {
            return Err(AlbumError::BadRequest(
                "Google Photos is not configured on this server: ask for a download instead".into(),
            ));
        }
        Some(d) => d,
        None if google => AlbumDestination::GooglePhotos,
        None => AlbumDestination::Download,
    };
    let photos = match (request.photo_ids, request.filter) {
        (Some(_), Some(_)) => {
            return Err(AlbumError::BadRequest(
                "send photo_ids or filter, not both".into(),
            ));
        }
        (Some(ids), None) => {
            if ids.is_empty() || ids.len() > MAX_ALBUM_PHOTOS {
                return Err(AlbumError::BadRequest(format!(
                    "photo_ids must list 1 to {MAX_ALBUM_PHOTOS} ids"
                )));
            }
            let mut wanted = ids;
            wanted.sort_unstable();
            wanted.dedup();
            let found = albums::photos_by_ids(deps.db.pool(), user_id, &wanted).await?;
            if found.len() != wanted.len() {
                return Err(AlbumError::UnknownPhoto);
            }
            found
        }
        (None, filter) => {
            let filter = filter.unwrap_or(PhotoFilter::NotBlurred);
            let found = albums::photos_by_filter(
                deps.db.pool(),
                user_id,
                filter,
                (MAX_ALBUM_PHOTOS + 1) as i64,
            )
            .await?;
            if found.len() > MAX_ALBUM_PHOTOS {
                return Err(AlbumError::BadRequest(format!(
                    "an album holds at most {MAX_ALBUM_PHOTOS} photos: choose fewer"
                )));
            }
            found
        }
    };
    if photos.is_empty() {
        return Err(AlbumError::BadRequest(
            "no photos to put in the album (none is clear yet, or none was chosen)".into(),
        ));
    }
    let items = unique_file_names(photos);
    let (kind, status, item_status) = match destination {
        AlbumDestination::GooglePhotos => ("google", "queued", "pending"),
        AlbumDestination::Download => ("collection", "done", "added"),
    };
    let mut tx = deps.db.pool().begin().await?;
    let album_id = match albums::insert(&mut tx, user_id, kind, &title, status).await {
        Ok(id) => id,
        Err(e) if albums::is_unique_violation(&e) => return Err(AlbumError::Busy),
        Err(e) => return Err(e.into()),
    };
    albums::insert_items(&mut tx, album_id, &items, item_status).await?;
    let job_id = if kind == "google" {
        let payload = serde_json::json!({ "album_id": album_id }).to_string();
        let job_id = jobs::create_one(&mut *tx, user_id, JobKind::Album, &payload).await?;
        albums::set_job(&mut tx, album_id, job_id).await?;
        Some(job_id)
    } else {
        None
    };
    tx.commit().await?;
    if let Some(job_id) = job_id {
        jobs::push(deps, job_id).await;
    }
    albums::get(deps.db.pool(), user_id, album_id)
        .await?
        .ok_or(AlbumError::Database(sqlx::Error::RowNotFound))
}

/// Each photo's name in the album: its own, unless another photo of the album has it; then
/// the later ones get their id before the extension (`IMG_1.jpg`, `IMG_1 (42).jpg`). Unique
/// names let a resumed job recognise its items in the album (see `jobs::album`) and keep ZIP
/// entries apart.
pub fn unique_file_names(photos: Vec<(i64, String)>) -> Vec<(i64, String)> {
    let mut taken: HashSet<String> = HashSet::new();
    photos
        .into_iter()
        .map(|(id, name)| {
            let name = if name.trim().is_empty() {
                format!("photo-{id}.jpg")
            } else {
                name
            };
            let unique = if taken.contains(&name.to_lowercase()) {
                match name.rsplit_once('.') {
                    Some((stem, ext)) => format!("{stem} ({id}).{ext}"),
                    None => format!("{name} ({id})"),
                }
            } else {
                name
            };
            taken.insert(unique.to_lowercase());
            (id, unique)
        })
        .collect()
}

/// The API view of an album.
pub fn to_api(row: &AlbumRow, counts: AlbumCounts, items_page: AlbumItemsPage) -> Album {
    let status = match row.status.as_str() {
        "running" => AlbumStatus::Running,
        "paused" => AlbumStatus::Paused,
        "done" => AlbumStatus::Done,
        "failed" => AlbumStatus::Failed,
        _ => AlbumStatus::Queued,
    };
    Album {
        id: row.id,
        title: row.title.clone(),
        destination: if row.kind == "google" {
            AlbumDestination::GooglePhotos
        } else {
            AlbumDestination::Download
        },
        status,
        total: counts.total,
        added: counts.added,
        skipped: counts.skipped,
        failed: counts.failed,
        google_album_id: row.google_album_id.clone(),
        product_url: row.product_url.clone(),
        error: row.error.clone(),
        resume_at: row.resume_at,
        download_url: format!("/api/v1/albums/{}/download", row.id),
        created_at: row.created_at,
        items_page,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_repeat_only_with_the_photo_id() {
        let named = unique_file_names(vec![
            (1, "IMG_1.jpg".into()),
            (2, "img_1.JPG".into()),
            (3, "IMG_1.jpg".into()),
            (4, "".into()),
            (5, "noext".into()),
            (6, "noext".into()),
        ]);
        let names: Vec<&str> = named.iter().map(|(_, n)| n.as_str()).collect();
        assert_eq!(
            names,
            [
                "IMG_1.jpg",
                "img_1 (2).JPG",
                "IMG_1 (3).jpg",
                "photo-4.jpg",
                "noext",
                "noext (6)"
            ]
        );
    }
}
