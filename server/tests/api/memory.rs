//! Peak memory of a real `classify serve` process on large photos, read from the kernel's own
//! accounting (`VmHWM` in /proc/PID/status, Linux).

use crate::helpers::{free_port, serve_process, wait_healthy};

/// The process's peak resident memory, in MiB.
fn peak_rss_mib(pid: u32) -> f64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    let kib: f64 = status
        .lines()
        .find_map(|l| l.strip_prefix("VmHWM:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .unwrap();
    kib / 1024.0
}

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
    let form = reqwest::multipart::Form::new().part(
        "file",
        reqwest::multipart::Part::bytes(photo.clone()).file_name("huge.jpg"),
    );
    let uploaded: serde_json::Value = http
        .post(format!("{base}/api/v1/photos"))
        .multipart(form)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    let id = uploaded["items"][0]["id"].as_i64().unwrap();
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
