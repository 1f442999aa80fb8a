//! Peak memory of a real `classify serve` process on large photos, read from the kernel's own
//! accounting (`VmHWM` in /proc/PID/status, Linux).

use crate::helpers::{free_port, peak_rss_mib, serve_process, upload_one, wait_healthy};

/// A 10000x10000 (100-megapixel) colour JPEG: smooth gradients with some structure.
fn jpeg_100_megapixels() -> Vec<u8> {
    let (w, h) = (10_000u16, 10_000u16);
    let mut rgb = Vec::with_capacity(usize::from(w) * usize::from(h) * 3);
    for y in 0..u32::from(h) {
        for x in 0..u32::from(w) {
            let v = ((x / 40 + y / 40) % 2) as u8 * 60 + (x % 256) as u8 / 2;
            rgb.extend_from_slice(&[v, (y % 256) as u8, 255 - v]);
        }
    }
    let mut out = Vec::new();
    jpeg_encoder::Encoder::new(&mut out, 75)
        .encode(&rgb, w, h, jpeg_encoder::ColorType::Rgb)
        .unwrap();
    out
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_thumbnail_of_a_100_megapixel_jpeg_stays_under_200_mb() {
    let photo = jpeg_100_megapixels();
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    // No workers: only the upload and the thumbnail run in the process measured.
    let mut serve = serve_process(data_dir.path(), port, 0);
    wait_healthy(&base).await;
    let pid = serve.id().unwrap();
    let http = reqwest::Client::new();
    let id = upload_one(&http, &base, photo.clone(), "huge.jpg").await;
    let before = peak_rss_mib(pid);
    let thumb = http
        .get(format!("{base}/api/v1/photos/{id}/image?size=thumb"))
        .send()
        .await
        .unwrap();
    assert_eq!(thumb.status(), 200);
    let bytes = thumb.bytes().await.unwrap();
    let shown = image::load_from_memory(&bytes).unwrap();
    assert_eq!((shown.width(), shown.height()), (320, 320));
    let peak = peak_rss_mib(pid);
    eprintln!(
        "100-megapixel JPEG ({:.1} MiB): peak RSS {before:.0} MiB after the upload, {peak:.0} MiB after the thumbnail",
        photo.len() as f64 / 1048576.0
    );
    assert!(peak <= 200.0, "peak RSS {peak:.0} MiB");
    serve.start_kill().unwrap();
    let _ = serve.wait().await;
}

/// Sixteen distinct 60 MB photos uploaded at once (each its own request, as sixteen browser
/// tabs would): the server streams each to disk while hashing, so its memory does not grow
/// with the bytes in flight (before: ~40 MB to 931 MB).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sixteen_parallel_60_mb_uploads_stay_under_150_mb() {
    const SIZE: u64 = 60_000_000;
    const CHUNK: usize = 256 * 1024;
    let data_dir = tempfile::tempdir().unwrap();
    let port = free_port();
    let base = format!("http://127.0.0.1:{port}");
    let mut serve = serve_process(data_dir.path(), port, 0);
    wait_healthy(&base).await;
    let pid = serve.id().unwrap();
    let before = peak_rss_mib(pid);
    let http = reqwest::Client::new();
    let uploads = (0..16u64).map(|i| {
        let http = http.clone();
        let url = format!("{base}/api/v1/photos");
        // Made as it is sent, so the test itself holds no 960 MB: a real photo, then bytes
        // that differ per file after its end marker.
        let head = crate::fixtures::sharp_jpeg(i % 3);
        let chunks = futures_util::stream::unfold(0u64, move |at| {
            let head = head.clone();
            async move {
                if at >= SIZE {
                    return None;
                }
                let mut chunk = if at == 0 { head } else { Vec::new() };
                let len = CHUNK.min((SIZE - at) as usize);
                let fill = (i as u8).wrapping_mul(31) ^ (at / CHUNK as u64) as u8;
                chunk.resize(len, fill);
                Some((
                    Ok::<_, std::io::Error>(bytes::Bytes::from(chunk)),
                    at + len as u64,
                ))
            }
        });
        let part =
            reqwest::multipart::Part::stream_with_length(reqwest::Body::wrap_stream(chunks), SIZE)
                .file_name(format!("big{i}.jpg"));
        tokio::spawn(async move {
            let response = http
                .post(url)
                .multipart(reqwest::multipart::Form::new().part("file", part))
                .send()
                .await
                .unwrap();
            let status = response.status().as_u16();
            (status, response.text().await.unwrap())
        })
    });
    let uploads: Vec<_> = uploads.collect();
    for upload in uploads {
        let (status, body) = upload.await.unwrap();
        assert_eq!(status, 201, "{body}");
    }
    let peak = peak_rss_mib(pid);
    eprintln!("16 parallel uploads of 60 MB: peak RSS {before:.0} MiB before, {peak:.0} MiB after");
    assert!(peak <= 150.0, "peak RSS {peak:.0} MiB");
    serve.start_kill().unwrap();
    let _ = serve.wait().await;
}
