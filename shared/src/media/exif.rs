//! EXIF facts, read once per file by one parser (kamadak-exif): the exposure hints the kernel
//! may use and the orientation that turns stored pixels into the photo as it is shown.

use std::io::{BufRead, Cursor, Seek};

use crate::kernel::ExposureHints;

/// What EXIF says about a photo; defaults (no hints, upright) when EXIF is missing or broken.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub struct ExifFacts {
    /// Exposure time and focal length.
    pub exposure: ExposureHints,
    /// `Orientation` 1–8 (1 = stored upright, also when absent).
    pub orientation: u16,
}

/// Reads the facts from a file's bytes (JPEG, PNG, WebP or TIFF containers).
pub fn read(bytes: &[u8]) -> ExifFacts {
    read_from(&mut Cursor::new(bytes))
}

/// [`read`] from a file being stored: the container is walked through `reader`, so only the
/// EXIF block itself is held in memory.
pub fn read_from<R: BufRead + Seek>(reader: &mut R) -> ExifFacts {
    let Ok(exif) = exif::Reader::new().read_from_container(reader) else {
        return ExifFacts {
            orientation: 1,
            ..ExifFacts::default()
        };
    };
    let rational = |tag: exif::Tag| -> Option<f32> {
        let field = exif.get_field(tag, exif::In::PRIMARY)?;
        match &field.value {
            exif::Value::Rational(v) if !v.is_empty() && v[0].denom != 0 => {
                let value = v[0].to_f64() as f32;
                (value.is_finite() && value > 0.0).then_some(value)
            }
            _ => None,
        }
    };
    let orientation = exif
        .get_field(exif::Tag::Orientation, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .and_then(|o| u16::try_from(o).ok())
        .filter(|o| (1..=8).contains(o))
        .unwrap_or(1);
    ExifFacts {
        exposure: ExposureHints {
            exposure_time_s: rational(exif::Tag::ExposureTime),
            focal_length_mm: rational(exif::Tag::FocalLength),
        },
        orientation,
    }
}

/// The `image` crate's orientation for an EXIF value (1 and anything unknown: as stored).
pub fn to_image_orientation(orientation: u16) -> image::metadata::Orientation {
    image::metadata::Orientation::from_exif(u8::try_from(orientation).unwrap_or(1))
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}
