//! An album as a ZIP, built while it is sent: each original is streamed from the blob store
//! into a stored (not deflated: JPEGs do not shrink) entry with a data descriptor, followed by
//! `scores.csv` (file, score, type). Memory stays constant whatever the album's size: one copy
//! buffer and a bounded pipe to the response; ZIP64 records are written when the archive
//! passes 4 GiB.

use std::io;

use async_zip::base::write::ZipFileWriter;
use async_zip::{Compression, ZipEntryBuilder};
use bytes::Bytes;
use futures_util::{AsyncWriteExt, Stream, StreamExt};
use shared::api::ApiBlurType;
use tokio::io::AsyncReadExt;

use crate::app::Deps;
use crate::db::albums;

/// Bytes in flight between the ZIP writer and the response.
const PIPE_BYTES: usize = 256 * 1024;
/// Items read from the database at once.
const PAGE: i64 = 200;
/// The CSV's name inside the ZIP.
pub const CSV_NAME: &str = "scores.csv";

/// Why the ZIP could not be finished (the response then ends with an error, so the client
/// sees a failed download rather than a short archive).
#[derive(Debug, thiserror::Error)]
pub enum ZipStreamError {
    /// The database failed.
    #[error(transparent)]
    Database(#[from] sqlx::Error),
    /// The blob store failed.
    #[error(transparent)]
    Blob(#[from] crate::blobs::BlobError),
    /// Writing the archive failed (the client went away, or an I/O error).
    #[error(transparent)]
    Zip(#[from] async_zip::error::ZipError),
    /// Reading or writing bytes failed.
    #[error(transparent)]
    Io(#[from] io::Error),
    /// The CSV could not be written.
    #[error(transparent)]
    Csv(#[from] csv::Error),
}

/// The ZIP of an album's originals (its items with an uploaded original: local photos), as a
/// body stream.
pub fn stream(deps: Deps, album_id: i64) -> impl Stream<Item = Result<Bytes, io::Error>> {
    let (writer, reader) = tokio::io::duplex(PIPE_BYTES);
    let (done_tx, done_rx) = tokio::sync::oneshot::channel::<bool>();
    tokio::spawn(async move {
        let result = write(&deps, album_id, writer).await;
        if let Err(e) = &result {
            tracing::warn!(album_id, error = %e, "the album's ZIP could not be finished");
        }
        let _ = done_tx.send(result.is_ok());
    });
    let tail = futures_util::stream::once(async move {
        match done_rx.await {
            Ok(true) => None,
            _ => Some(Err(io::Error::other("the ZIP could not be finished"))),
        }
    })
    .filter_map(|end| async move { end });
    tokio_util::io::ReaderStream::new(reader).chain(tail)
}

async fn write(
    deps: &Deps,
    album_id: i64,
    out: tokio::io::DuplexStream,
) -> Result<(), ZipStreamError> {
    let pool = deps.db.pool();
    let mut zip = ZipFileWriter::with_tokio(out);
    let mut csv = csv::Writer::from_writer(Vec::new());
    csv.write_record(["file", "score", "type"])?;
    let mut buffer = vec![0_u8; 64 * 1024];
    let mut position = 0;
    loop {
        let page = albums::items_page(pool, album_id, position, PAGE).await?;
        let Some(last) = page.last() else { break };
        position = last.position + 1;
        for item in page.iter().filter(|i| i.status == "added") {
            let Some(key) = item.blob_key.as_deref() else {
                continue; // a Google photo: its original is not kept here
            };
            let Some(mut reader) = deps.blobs.open(key).await? else {
                continue; // deleted meanwhile
            };
            let entry = ZipEntryBuilder::new(item.file_name.clone().into(), Compression::Stored);
            let mut sink = zip.write_entry_stream(entry).await?;
            loop {
                let n = reader.read(&mut buffer).await?;
                if n == 0 {
                    break;
                }
                sink.write_all(&buffer[..n]).await?;
            }
            sink.close().await?;
            let score = item
                .blur_score
                .map(|s| format!("{s:.4}"))
                .unwrap_or_default();
            // The type as the API shows it (`none` for a clear photo).
            let kind = crate::db::photos::api_blur_type(item.is_blurred, item.blur_type.as_deref());
            csv.write_record([
                item.file_name.as_str(),
                score.as_str(),
                kind.map_or("", ApiBlurType::as_str),
            ])?;
        }
    }
    // At most 20,000 short rows: held whole, then written as the last entry.
    let table = csv
        .into_inner()
        .map_err(|e| io::Error::other(e.to_string()))?;
    let entry = ZipEntryBuilder::new(CSV_NAME.to_string().into(), Compression::Stored);
    zip.write_entry_whole(entry, &table).await?;
    let mut out = zip.close().await?;
    tokio::io::AsyncWriteExt::shutdown(out.get_mut()).await?;
    Ok(())
}
