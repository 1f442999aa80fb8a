//! EXIF facts, read once per file by one parser (kamadak-exif): the exposure hints the kernel
//! may use, the orientation that turns stored pixels into the photo as it is shown, and what
//! the photo view tells about the shot (when it was taken, the camera, its settings).

use std::io::{BufRead, Cursor, Seek};

use crate::kernel::ExposureHints;

/// What EXIF says about a photo; defaults (no hints, upright) when EXIF is missing or broken.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct ExifFacts {
    /// Exposure time and focal length.
    pub exposure: ExposureHints,
    /// `Orientation` 1–8 (1 = stored upright, also when absent).
    pub orientation: u16,
    /// `DateTimeOriginal` in Unix ms: with `OffsetTimeOriginal` when the camera wrote one,
    /// else read as UTC (the camera's clock, whatever its zone).
    pub taken_at: Option<i64>,
    /// `Make` and `Model`, trimmed (cameras pad them), at most 64 characters each.
    pub make: Option<String>,
    /// See `make`.
    pub model: Option<String>,
    /// `FNumber`.
    pub f_number: Option<f32>,
    /// `PhotographicSensitivity` (ISO).
    pub iso: Option<i64>,
}

/// The longest camera name kept: EXIF text is the file's, not ours.
const MAX_NAME_CHARS: usize = 64;

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
    let text = |tag: exif::Tag| -> Option<String> {
        let field = exif.get_field(tag, exif::In::PRIMARY)?;
        let exif::Value::Ascii(parts) = &field.value else {
            return None;
        };
        let raw = parts.first()?;
        let name: String = String::from_utf8_lossy(raw)
            .trim_matches(|c: char| c.is_whitespace() || c == '\0')
            .chars()
            .filter(|c| !c.is_control())
            .take(MAX_NAME_CHARS)
            .collect();
        (!name.is_empty()).then_some(name)
    };
    let iso = exif
        .get_field(exif::Tag::PhotographicSensitivity, exif::In::PRIMARY)
        .and_then(|f| f.value.get_uint(0))
        .map(i64::from)
        .filter(|iso| *iso > 0);
    ExifFacts {
        exposure: ExposureHints {
            exposure_time_s: rational(exif::Tag::ExposureTime),
            focal_length_mm: rational(exif::Tag::FocalLength),
        },
        orientation,
        taken_at: taken_at(&exif),
        make: text(exif::Tag::Make),
        model: text(exif::Tag::Model),
        f_number: rational(exif::Tag::FNumber),
        iso,
    }
}

/// `DateTimeOriginal` (falling back to `DateTime`) with its offset, in Unix ms.
fn taken_at(exif: &exif::Exif) -> Option<i64> {
    let ascii = |tag: exif::Tag| -> Option<Vec<u8>> {
        match &exif.get_field(tag, exif::In::PRIMARY)?.value {
            exif::Value::Ascii(parts) => parts.first().cloned(),
            _ => None,
        }
    };
    let (stamp, offset_tag) = match ascii(exif::Tag::DateTimeOriginal) {
        Some(s) => (s, exif::Tag::OffsetTimeOriginal),
        None => (ascii(exif::Tag::DateTime)?, exif::Tag::OffsetTime),
    };
    let mut when = exif::DateTime::from_ascii(&stamp).ok()?;
    if let Some(offset) = ascii(offset_tag) {
        // A malformed offset leaves the clock time as it is.
        let _ = when.parse_offset(&offset);
    }
    let month = time::Month::try_from(when.month).ok()?;
    let date = time::Date::from_calendar_date(i32::from(when.year), month, when.day).ok()?;
    let clock = time::Time::from_hms(when.hour, when.minute, when.second).ok()?;
    let offset_s = i32::from(when.offset.unwrap_or(0)) * 60;
    let offset = time::UtcOffset::from_whole_seconds(offset_s).ok()?;
    let at = time::PrimitiveDateTime::new(date, clock).assume_offset(offset);
    // Cameras with an unset clock write 0000:00:00 (refused above) or 1970; neither is a date.
    let ms = i64::try_from(at.unix_timestamp_nanos() / 1_000_000).ok()?;
    (ms > 0).then_some(ms)
}

/// The `image` crate's orientation for an EXIF value (1 and anything unknown: as stored).
pub fn to_image_orientation(orientation: u16) -> image::metadata::Orientation {
    image::metadata::Orientation::from_exif(u8::try_from(orientation).unwrap_or(1))
        .unwrap_or(image::metadata::Orientation::NoTransforms)
}

#[cfg(test)]
mod tests {
    use exif::{Field, In, Rational, Tag, Value};

    use super::read;

    /// A JPEG container (start, EXIF segment, end) holding `fields`, written by the same crate's
    /// writer in the byte order cameras use most.
    fn jpeg_with(fields: &[Field]) -> Vec<u8> {
        let mut writer = exif::experimental::Writer::new();
        for field in fields {
            writer.push_field(field);
        }
        let mut tiff = std::io::Cursor::new(Vec::new());
        writer.write(&mut tiff, true).unwrap();
        let mut app1 = b"Exif\x00\x00".to_vec();
        app1.extend(tiff.into_inner());
        let mut out = vec![0xFF, 0xD8, 0xFF, 0xE1];
        out.extend(u16::try_from(app1.len() + 2).unwrap().to_be_bytes());
        out.extend(app1);
        out.extend([0xFF, 0xD9]);
        out
    }

    fn ascii(tag: Tag, text: &str) -> Field {
        Field {
            tag,
            ifd_num: In::PRIMARY,
            value: Value::Ascii(vec![text.as_bytes().to_vec()]),
        }
    }

    #[test]
    fn the_camera_its_settings_and_the_capture_time_are_read() {
        let bytes = jpeg_with(&[
            ascii(Tag::Make, "Canon"),
            ascii(Tag::Model, "Canon EOS R6   "),
            ascii(Tag::DateTimeOriginal, "2024:05:04 15:30:00"),
            ascii(Tag::OffsetTimeOriginal, "+02:00"),
            Field {
                tag: Tag::FNumber,
                ifd_num: In::PRIMARY,
                value: Value::Rational(vec![Rational { num: 18, denom: 10 }]),
            },
            Field {
                tag: Tag::PhotographicSensitivity,
                ifd_num: In::PRIMARY,
                value: Value::Short(vec![400]),
            },
        ]);
        let facts = read(&bytes);
        assert_eq!(facts.make.as_deref(), Some("Canon"));
        assert_eq!(
            facts.model.as_deref(),
            Some("Canon EOS R6"),
            "padding trimmed"
        );
        assert_eq!(
            facts.taken_at,
            Some(1_714_829_400_000),
            "15:30 at +02:00 is 13:30 UTC"
        );
        assert_eq!(facts.f_number, Some(1.8));
        assert_eq!(facts.iso, Some(400));
        assert_eq!(facts.orientation, 1);
    }

    #[test]
    fn a_capture_time_without_offset_is_read_as_utc_and_an_unset_clock_as_none() {
        let naive = read(&jpeg_with(&[ascii(
            Tag::DateTimeOriginal,
            "2024:05:04 15:30:00",
        )]));
        assert_eq!(naive.taken_at, Some(1_714_836_600_000));
        for unset in [
            "0000:00:00 00:00:00",
            "    :  :     :  :  ",
            "2024:13:40 99:00:00",
        ] {
            let facts = read(&jpeg_with(&[ascii(Tag::DateTimeOriginal, unset)]));
            assert_eq!(facts.taken_at, None, "{unset:?}");
        }
        let long = "x".repeat(500);
        let facts = read(&jpeg_with(&[
            ascii(Tag::Model, &long),
            ascii(Tag::Make, "  "),
        ]));
        assert_eq!(facts.model.map(|m| m.chars().count()), Some(64));
        assert_eq!(facts.make, None);
    }
}
