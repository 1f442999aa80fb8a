//! The fake library's photos: a built-in deterministic set of generated sharp and blurred
//! images (plus one video), or JPEG/PNG files from a folder.

use std::io;
use std::path::{Path, PathBuf};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, SystemTime};

use image::ImageFormat;

use crate::samples::{BUILTINS, Blur, render};

/// Whether a library item is a photo or a video (`PickedMediaItem.type`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum MediaType {
    Photo,
    Video,
}

/// What a built-in sample is meant to look like, so tests can check a classifier's verdict.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Sharpness {
    Sharp,
    Blurred,
    /// Loaded from a file: the fake does not know.
    Unknown,
}

/// EXIF-like camera settings (`mediaFileMetadata` and its `photoMetadata`).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct Camera {
    pub make: String,
    pub model: String,
    pub focal_length: f64,
    pub aperture_f_number: f64,
    pub iso_equivalent: i32,
    pub exposure_time: Duration,
}

#[derive(Debug, Clone)]
enum Source {
    Builtin(usize),
    File(PathBuf),
    Bytes(Arc<Vec<u8>>),
}

/// One item of every test user's fake library.
#[derive(Debug, Clone)]
pub struct Photo {
    pub filename: String,
    /// MIME type of the item (`video/mp4` for the video; its image bytes are a JPEG poster).
    pub mime_type: String,
    pub width: u32,
    pub height: u32,
    pub media_type: MediaType,
    pub sharpness: Sharpness,
    pub create_time: SystemTime,
    pub camera: Option<Camera>,
    source: Source,
    thumb: Arc<OnceLock<Vec<u8>>>,
}

static BUILTIN_BYTES: [OnceLock<Arc<Vec<u8>>>; BUILTINS.len()] =
    [const { OnceLock::new() }; BUILTINS.len()];

impl Photo {
    /// The built-in set: 12 items, 6 sharp and 5 blurred photos (Gaussian and motion blur of
    /// the same scenes) and 1 video. Pixels are generated on first use and shared by the process.
    pub fn builtin_set() -> Vec<Photo> {
        // 2024-05-01T10:00Z, then a day and two hours apart.
        let start = SystemTime::UNIX_EPOCH + Duration::from_secs(1_714_557_600);
        BUILTINS
            .iter()
            .enumerate()
            .map(|(i, spec)| {
                let blurred = !spec.video && !matches!(spec.blur, Blur::None);
                let motion = matches!(spec.blur, Blur::Horizontal(_) | Blur::Vertical(_));
                let n = i + 1;
                Photo {
                    filename: if spec.video {
                        format!("VID_{n:04}.mp4")
                    } else {
                        format!("IMG_{n:04}.jpg")
                    },
                    mime_type: if spec.video {
                        "video/mp4"
                    } else {
                        "image/jpeg"
                    }
                    .into(),
                    width: spec.size.0,
                    height: spec.size.1,
                    media_type: if spec.video {
                        MediaType::Video
                    } else {
                        MediaType::Photo
                    },
                    sharpness: if blurred {
                        Sharpness::Blurred
                    } else {
                        Sharpness::Sharp
                    },
                    create_time: start + Duration::from_secs(3600 * 26 * i as u64),
                    camera: Some(Camera {
                        make: "Fakon".into(),
                        model: "F-100".into(),
                        focal_length: [24.0, 35.0, 50.0, 85.0][i % 4],
                        aperture_f_number: [1.8, 2.8, 4.0, 5.6][i % 4],
                        iso_equivalent: [100, 200, 400, 800][i % 4],
                        exposure_time: if motion {
                            Duration::from_millis(125)
                        } else {
                            Duration::from_millis(8)
                        },
                    }),
                    source: Source::Builtin(i),
                    thumb: Arc::default(),
                }
            })
            .collect()
    }

    /// A JPEG or PNG file; its dimensions are read now, its bytes on each request.
    pub fn from_file(path: &Path) -> io::Result<Photo> {
        let reader = image::ImageReader::open(path)?.with_guessed_format()?;
        let format = reader.format();
        let (width, height) = reader.into_dimensions().map_err(io::Error::other)?;
        let meta = std::fs::metadata(path)?;
        let filename = path
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        Ok(Photo {
            filename,
            mime_type: mime_of(format)?.into(),
            width,
            height,
            media_type: MediaType::Photo,
            sharpness: Sharpness::Unknown,
            create_time: meta.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            camera: None,
            source: Source::File(path.to_path_buf()),
            thumb: Arc::default(),
        })
    }

    /// A JPEG or PNG image held in memory.
    pub fn from_bytes(filename: &str, bytes: Vec<u8>) -> io::Result<Photo> {
        let format = image::guess_format(&bytes).map_err(io::Error::other)?;
        let mime_type = mime_of(Some(format))?.into();
        let reader = image::ImageReader::with_format(io::Cursor::new(&bytes), format);
        let (width, height) = reader.into_dimensions().map_err(io::Error::other)?;
        Ok(Photo {
            filename: filename.into(),
            mime_type,
            width,
            height,
            media_type: MediaType::Photo,
            sharpness: Sharpness::Unknown,
            create_time: SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000),
            camera: None,
            source: Source::Bytes(Arc::new(bytes)),
            thumb: Arc::default(),
        })
    }

    /// Every JPEG/PNG file directly in `dir`, sorted by name.
    pub fn from_dir(dir: &Path) -> io::Result<Vec<Photo>> {
        let mut paths: Vec<PathBuf> = std::fs::read_dir(dir)?
            .filter_map(|e| e.ok().map(|e| e.path()))
            .filter(|p| {
                let ext = p
                    .extension()
                    .map(|e| e.to_string_lossy().to_ascii_lowercase());
                matches!(ext.as_deref(), Some("jpg" | "jpeg" | "png"))
            })
            .collect();
        paths.sort();
        paths.iter().map(|p| Photo::from_file(p)).collect()
    }

    /// The original image bytes (`=d`). For the video this is its JPEG poster frame.
    pub fn bytes(&self) -> io::Result<Arc<Vec<u8>>> {
        match &self.source {
            Source::Builtin(i) => {
                let spec = BUILTINS
                    .get(*i)
                    .ok_or_else(|| io::Error::other("no such sample"))?;
                Ok(BUILTIN_BYTES[*i]
                    .get_or_init(|| Arc::new(render(spec)))
                    .clone())
            }
            Source::File(path) => Ok(Arc::new(std::fs::read(path)?)),
            Source::Bytes(bytes) => Ok(bytes.clone()),
        }
    }

    /// The MIME type of [`Photo::bytes`].
    pub fn image_mime(&self) -> &str {
        match self.media_type {
            MediaType::Video => "image/jpeg",
            MediaType::Photo => &self.mime_type,
        }
    }

    /// A small JPEG for the fake picker page, made once per photo.
    pub(crate) fn thumbnail(&self) -> io::Result<Vec<u8>> {
        if let Some(t) = self.thumb.get() {
            return Ok(t.clone());
        }
        let bytes = self.bytes()?;
        let thumb = crate::media::scale(&bytes, crate::media::Fit::within(320, 320))?;
        Ok(self.thumb.get_or_init(|| thumb).clone())
    }
}

fn mime_of(format: Option<ImageFormat>) -> io::Result<&'static str> {
    match format {
        Some(ImageFormat::Jpeg) => Ok("image/jpeg"),
        Some(ImageFormat::Png) => Ok("image/png"),
        _ => Err(io::Error::new(
            io::ErrorKind::InvalidData,
            "only JPEG and PNG photos are supported",
        )),
    }
}
