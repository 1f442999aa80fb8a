//! `classify scan`: judge photos on local disk and print one line per photo.
//!
//! - Paths are files or folders; folders are walked recursively (symlinked folders are not
//!   followed) and only files with an image extension are taken from them. Files named on the
//!   command line are always tried.
//! - Photos are analysed on `--jobs` threads and printed in input order as soon as each one and
//!   all before it are done, so `--json` and `--csv` stream.
//! - An unreadable photo is one line with its reason; the others go on. `run` reports whether
//!   every photo was read, which `main` turns into the exit status.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::io::{IsTerminal, Read, Write};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::mpsc;

use serde::Serialize;
use shared::kernel::{BlurReport, BlurType};

use crate::config::{ScanArgs, jobs_or_cores};
use crate::media::{MediaError, MediaLimits, decode_gray};

/// Extensions taken when walking a folder (compared case-insensitively).
pub const IMAGE_EXTENSIONS: [&str; 7] = ["jpg", "jpeg", "jpe", "jfif", "png", "webp", "gif"];

/// Show a progress bar from this many photos on (and only on a terminal).
const PROGRESS_MIN_FILES: usize = 20;

/// One analysed photo.
#[derive(Debug, Clone, PartialEq)]
pub struct Analysis {
    /// The kernel's report.
    pub report: BlurReport,
    /// Width of the photo, in pixels.
    pub width: u32,
    /// Height of the photo, in pixels.
    pub height: u32,
    /// MIME type sniffed from the content.
    pub mime: &'static str,
}

/// Why a photo could not be judged.
#[derive(Debug, thiserror::Error)]
pub enum FileError {
    /// The file or folder could not be read.
    #[error("cannot read: {0}")]
    Io(#[from] std::io::Error),
    /// The bytes are not a usable image.
    #[error(transparent)]
    Decode(#[from] MediaError),
    /// The kernel refused the pixels (not expected after a successful decode).
    #[error("cannot analyse: {0}")]
    Kernel(#[from] shared::kernel::KernelError),
}

/// Reads `path` whole, refusing files over `limits.max_bytes` before reading them.
pub fn read_limited(path: &Path, limits: &MediaLimits) -> Result<Vec<u8>, FileError> {
    let file = std::fs::File::open(path)?;
    let size = file.metadata()?.len();
    if size > limits.max_bytes {
        return Err(MediaError::TooLarge {
            size,
            max: limits.max_bytes,
        }
        .into());
    }
    let mut bytes = Vec::with_capacity(usize::try_from(size).unwrap_or(0));
    // The file may grow while we read: never take more than the limit (+1 to notice).
    file.take(limits.max_bytes.saturating_add(1))
        .read_to_end(&mut bytes)?;
    Ok(bytes)
}

/// Reads, decodes and analyses one photo.
pub fn analyze_path(path: &Path, limits: &MediaLimits) -> Result<Analysis, FileError> {
    analyze_bytes(&read_limited(path, limits)?, limits)
}

/// Decodes and analyses an in-memory photo.
pub fn analyze_bytes(bytes: &[u8], limits: &MediaLimits) -> Result<Analysis, FileError> {
    let decoded = decode_gray(bytes, limits)?;
    Ok(Analysis {
        report: decoded.judge()?,
        width: decoded.width,
        height: decoded.height,
        mime: decoded.mime,
    })
}

/// The files to scan, in a stable order, and the paths that could not be listed.
pub fn collect_files(paths: &[PathBuf]) -> (Vec<PathBuf>, Vec<(PathBuf, FileError)>) {
    let mut files = Vec::new();
    let mut errors = Vec::new();
    for path in paths {
        match std::fs::metadata(path) {
            Ok(meta) if meta.is_dir() => walk(path, &mut files, &mut errors),
            // Explicit files, and paths that do not exist: trying them reports the reason.
            _ => files.push(path.clone()),
        }
    }
    (files, errors)
}

fn walk(dir: &Path, files: &mut Vec<PathBuf>, errors: &mut Vec<(PathBuf, FileError)>) {
    // Symlinks are not followed: no loops through linked folders. Sorted for a stable order.
    for entry in walkdir::WalkDir::new(dir).sort_by_file_name() {
        match entry {
            Ok(entry) => {
                let path = entry.path();
                // A link to a file is taken; a link to a folder is not walked.
                let is_file =
                    entry.file_type().is_file() || (entry.path_is_symlink() && path.is_file());
                if is_file && has_image_extension(path) {
                    files.push(path.to_path_buf());
                }
            }
            Err(err) => {
                let at = err.path().unwrap_or(dir).to_path_buf();
                let io = err
                    .into_io_error()
                    .unwrap_or_else(|| std::io::Error::other("cannot list the folder"));
                errors.push((at, io.into()));
            }
        }
    }
}

/// Whether the file name ends in one of `IMAGE_EXTENSIONS`.
pub fn has_image_extension(path: &Path) -> bool {
    path.extension()
        .and_then(|e| e.to_str())
        .is_some_and(|e| IMAGE_EXTENSIONS.iter().any(|x| x.eq_ignore_ascii_case(e)))
}

/// Runs `work` on every file on `jobs` threads and calls `each(index, result)` in input
/// order, as soon as a result and all before it are ready.
pub fn process_all<T: Send>(
    files: &[PathBuf],
    jobs: usize,
    work: impl Fn(&Path) -> T + Sync,
    mut each: impl FnMut(usize, T),
) {
    let next = AtomicUsize::new(0);
    let (tx, rx) = mpsc::channel();
    std::thread::scope(|scope| {
        for _ in 0..jobs.clamp(1, files.len().max(1)) {
            let tx = tx.clone();
            let (next, work) = (&next, &work);
            scope.spawn(move || {
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(path) = files.get(i) else { break };
                    if tx.send((i, work(path))).is_err() {
                        break;
                    }
                }
            });
        }
        drop(tx);
        let mut pending = BTreeMap::new();
        let mut expected = 0;
        for (i, result) in rx {
            pending.insert(i, result);
            while let Some(result) = pending.remove(&expected) {
                each(expected, result);
                expected += 1;
            }
        }
    });
}

/// One output row, as `--json` prints it.
#[derive(Debug, Serialize)]
struct Row<'a> {
    file: &'a str,
    blur_score: Option<f32>,
    is_blurred: Option<bool>,
    blur_type: Option<BlurType>,
    motion_angle_deg: Option<f32>,
    error: Option<String>,
}

impl<'a> Row<'a> {
    fn new(file: &'a str, result: &Result<Analysis, FileError>, threshold: f32) -> Self {
        match result {
            Ok(a) => {
                let kind = a.report.blur_type_at(threshold);
                Row {
                    file,
                    blur_score: Some(a.report.blur_score),
                    is_blurred: Some(a.report.is_blurred(threshold)),
                    blur_type: Some(kind),
                    motion_angle_deg: a
                        .report
                        .motion_angle_deg
                        .filter(|_| kind == BlurType::Motion),
                    error: None,
                }
            }
            Err(err) => Row {
                file,
                blur_score: None,
                is_blurred: None,
                blur_type: None,
                motion_angle_deg: None,
                error: Some(err.to_string()),
            },
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Table,
    Json,
    Csv,
}

fn type_name(kind: BlurType) -> &'static str {
    match kind {
        BlurType::Motion => "motion",
        BlurType::Defocus => "defocus",
        BlurType::None => "none",
    }
}

/// One CSV line (quoted as RFC 4180 needs), without its line end.
fn csv_record(fields: &[String]) -> String {
    let mut writer = csv::WriterBuilder::new()
        .terminator(csv::Terminator::Any(b'\n'))
        .from_writer(Vec::new());
    // Writing to memory cannot fail.
    let _ = writer.write_record(fields);
    let bytes = writer.into_inner().unwrap_or_default();
    String::from_utf8_lossy(&bytes)
        .trim_end_matches('\n')
        .to_string()
}

fn format_row(row: &Row<'_>, format: Format, width: usize) -> String {
    match format {
        Format::Json => {
            serde_json::to_string(row).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"))
        }
        Format::Csv => {
            let opt = |v: Option<String>| v.unwrap_or_default();
            csv_record(&[
                row.file.to_string(),
                opt(row.blur_score.map(|v| format!("{v:.6}"))),
                opt(row.is_blurred.map(|v| v.to_string())),
                opt(row.blur_type.map(|v| type_name(v).to_string())),
                opt(row.motion_angle_deg.map(|v| format!("{v:.2}"))),
                row.error.clone().unwrap_or_default(),
            ])
        }
        Format::Table => {
            let mut line = format!("{:<width$}  ", row.file);
            match (&row.error, row.blur_score, row.is_blurred, row.blur_type) {
                (None, Some(score), Some(blurred), Some(kind)) => {
                    let verdict = if blurred { "blurred" } else { "sharp" };
                    let _ = write!(line, "{score:>5.3}  {verdict:<7}  {}", type_name(kind));
                    if let Some(angle) = row.motion_angle_deg {
                        let _ = write!(line, " ({angle:.0}°)");
                    }
                }
                (error, ..) => {
                    let _ = write!(
                        line,
                        "{:>5}  {:<7}  {}",
                        "-",
                        "error",
                        error.as_deref().unwrap_or("?")
                    );
                }
            }
            line
        }
    }
}

fn header(format: Format, width: usize) -> Option<String> {
    match format {
        Format::Json => None,
        Format::Csv => Some("file,blur_score,is_blurred,blur_type,motion_angle_deg,error".into()),
        Format::Table => Some(format!(
            "{:<width$}  {:>5}  {:<7}  TYPE",
            "FILE", "SCORE", "VERDICT"
        )),
    }
}

/// Counts of a finished scan.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ScanSummary {
    /// Photos judged blurred.
    pub blurred: usize,
    /// Photos judged sharp.
    pub sharp: usize,
    /// Files (or folders) that could not be read or decoded.
    pub failed: usize,
}

/// Runs `classify scan`, writing rows to `out`. Returns the counts; the scan succeeded when
/// `failed == 0`.
pub fn run(args: &ScanArgs, out: &mut impl Write) -> anyhow::Result<ScanSummary> {
    let format = if args.json {
        Format::Json
    } else if args.csv {
        Format::Csv
    } else {
        Format::Table
    };
    let limits = args.limits.media_limits();
    let (files, listing_errors) = collect_files(&args.paths);
    let names: Vec<String> = files.iter().map(|p| p.display().to_string()).collect();
    let width = names
        .iter()
        .map(|n| n.chars().count())
        .chain(
            listing_errors
                .iter()
                .map(|(p, _)| p.display().to_string().chars().count()),
        )
        .max()
        .unwrap_or(0)
        .max(4);

    let mut summary = ScanSummary::default();
    if let Some(h) = header(format, width) {
        writeln!(out, "{h}")?;
    }
    for (path, err) in listing_errors {
        let name = path.display().to_string();
        let result = Err(err);
        let row = Row::new(&name, &result, args.threshold);
        writeln!(out, "{}", format_row(&row, format, width))?;
        summary.failed += 1;
    }

    let progress =
        (files.len() >= PROGRESS_MIN_FILES && std::io::stderr().is_terminal()).then(|| {
            let bar = indicatif::ProgressBar::new(files.len() as u64);
            if let Ok(style) = indicatif::ProgressStyle::with_template(
                "{bar:40} {pos}/{len} photos, {per_sec}, {eta} left",
            ) {
                bar.set_style(style);
            }
            bar
        });

    let mut write_error = None;
    let work = |path: &Path| analyze_path(path, &limits);
    process_all(&files, jobs_or_cores(args.jobs), work, |i, result| {
        match &result {
            Ok(a) if a.report.is_blurred(args.threshold) => summary.blurred += 1,
            Ok(_) => summary.sharp += 1,
            Err(_) => summary.failed += 1,
        }
        let line = format_row(&Row::new(&names[i], &result, args.threshold), format, width);
        let written = match &progress {
            Some(bar) => {
                bar.inc(1);
                bar.suspend(|| writeln!(out, "{line}"))
            }
            None => writeln!(out, "{line}"),
        };
        if let Err(err) = written {
            write_error.get_or_insert(err);
        }
    });
    if let Some(bar) = progress {
        bar.finish_and_clear();
    }
    if let Some(err) = write_error {
        return Err(err.into());
    }
    out.flush()?;
    Ok(summary)
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::kernel::oriented_angle;

    /// Real photos (CC0, `server/tests/photos/README.md`): each scene sharp, defocused and
    /// shaken by the same camera. A regression guard on real pixels for any change to the
    /// decoder, the kernel or the model's constants.
    #[test]
    fn real_photos_get_their_labelled_verdict_and_type() {
        use shared::kernel::BlurType;
        macro_rules! photo {
            ($name:literal) => {
                (
                    $name,
                    include_bytes!(concat!("../../tests/photos/", $name)).as_slice(),
                )
            };
        }
        let scenes = [
            [
                photo!("kwentar_106_S.jpg"),
                photo!("kwentar_106_F.jpg"),
                photo!("kwentar_106_M.jpg"),
            ],
            [
                photo!("kwentar_176_S.jpg"),
                photo!("kwentar_176_F.jpg"),
                photo!("kwentar_176_M.jpg"),
            ],
            [
                photo!("kwentar_180_S.jpg"),
                photo!("kwentar_180_F.jpg"),
                photo!("kwentar_180_M.jpg"),
            ],
        ];
        let limits = MediaLimits::default();
        for [sharp, defocus, shaken] in scenes {
            let report = |(name, bytes): (&'static str, &'static [u8])| {
                let a = analyze_bytes(bytes, &limits).unwrap_or_else(|e| panic!("{name}: {e}"));
                assert_eq!(a.report.measures.working_long_side, 512, "{name}");
                (name, a.report)
            };
            let (name, s) = report(sharp);
            assert!(s.blur_score < 0.5, "{name}: {s:?}");
            assert_eq!(s.blur_type, BlurType::None, "{name}");
            for ((name, r), kind) in [
                (report(defocus), BlurType::Defocus),
                (report(shaken), BlurType::Motion),
            ] {
                assert!(r.blur_score >= 0.5, "{name}: {r:?}");
                assert_eq!(r.blur_type, kind, "{name}: {r:?}");
                assert!(
                    r.blur_score > s.blur_score + 0.25,
                    "{name} vs its sharp twin"
                );
            }
        }
    }

    #[test]
    fn the_motion_angle_is_reported_as_the_photo_is_shown() {
        use shared::kernel::samples;
        use shared::media::test_images::with_exif_orientation;
        // Horizontal shake on the stored pixels.
        let sharp = samples::texture(480, 360, 7, 0, 255).unwrap();
        let shaken = samples::motion_blur(&sharp, 15, 1, 0).unwrap();
        let luma = image::GrayImage::from_raw(480, 360, shaken.data().to_vec()).unwrap();
        let mut jpeg = std::io::Cursor::new(Vec::new());
        luma.write_to(&mut jpeg, image::ImageFormat::Jpeg).unwrap();
        let limits = MediaLimits::default();
        let angle = |o: u16| {
            let a = analyze_bytes(&with_exif_orientation(jpeg.get_ref(), o), &limits).unwrap();
            assert_eq!(a.report.blur_type, shared::kernel::BlurType::Motion);
            a.report.motion_angle_deg.unwrap()
        };
        let stored = angle(1);
        assert!(stored.min(180.0 - stored) <= 15.0, "stored {stored}");
        // Turned a quarter for display, the streaks run vertically.
        let shown = angle(6);
        assert!((shown - 90.0).abs() <= 15.0, "shown {shown}");
        assert_eq!(shown, oriented_angle(stored, 6));
    }

    #[test]
    fn folders_yield_image_extensions_only_and_explicit_files_always() {
        let dir = tempfile::tempdir().unwrap();
        let sub = dir.path().join("sub");
        std::fs::create_dir(&sub).unwrap();
        for name in ["a.JPG", "b.txt", "c.png"] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        std::fs::write(sub.join("d.webp"), b"x").unwrap();
        let notes = dir.path().join("b.txt");
        let (files, errors) = collect_files(&[dir.path().to_path_buf(), notes.clone()]);
        assert!(errors.is_empty());
        let names: Vec<_> = files
            .iter()
            .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
            .collect();
        assert_eq!(names, ["a.JPG", "c.png", "d.webp", "b.txt"]);
    }

    #[test]
    fn csv_fields_are_quoted_when_needed() {
        assert_eq!(csv_record(&["plain.jpg".into()]), "plain.jpg");
        assert_eq!(
            csv_record(&["a,b \"c\".jpg".into(), "x".into()]),
            "\"a,b \"\"c\"\".jpg\",x"
        );
    }

    #[test]
    fn results_come_back_in_input_order() {
        let files: Vec<PathBuf> = (0..25)
            .map(|i| PathBuf::from(format!("/nonexistent/{i}")))
            .collect();
        let mut seen = Vec::new();
        let limits = MediaLimits::default();
        process_all(
            &files,
            4,
            |p| analyze_path(p, &limits),
            |i, r| {
                assert!(matches!(r, Err(FileError::Io(_))));
                seen.push(i);
            },
        );
        assert_eq!(seen, (0..25).collect::<Vec<_>>());
    }
}
