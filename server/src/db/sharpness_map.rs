//! The stored form of a photo's sharpness map (`photos.sharpness_map`), the one place it is
//! defined: one byte `columns`, one byte `rows`, then `columns × rows` cells row by row from the
//! top left, each 0–100 or `SharpnessMap::FLAT` (255). A map from the 512-px working image is at
//! most 8 × 8, so this is at most 66 bytes, a third of its JSON.
//!
//! Only the server reads and writes it (the API sends JSON), so it lives here rather than in
//! `shared`. Decoding checks every byte: a malformed value is an error, never a panic or a map
//! whose cells do not fill its grid.

use shared::kernel::SharpnessMap;

/// Why stored bytes are not a sharpness map.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum MapError {
    /// Fewer than the two bytes of the grid's size.
    #[error("a sharpness map needs 2 bytes of size, got {0}")]
    NoSize(usize),
    /// The cells do not fill the grid the first two bytes give.
    #[error("a {columns} x {rows} sharpness map needs {expected} cells, got {actual}")]
    WrongLength {
        /// Cells per row.
        columns: u8,
        /// Rows.
        rows: u8,
        /// `columns × rows`.
        expected: usize,
        /// Bytes after the size.
        actual: usize,
    },
    /// A cell outside 0–100 that is not `SharpnessMap::FLAT`.
    #[error("sharpness map cell {index} is {value}, not 0-100 or 255")]
    BadCell {
        /// Its place, row by row.
        index: usize,
        /// Its value.
        value: u8,
    },
    /// A grid wider or taller than one byte says (only when encoding).
    #[error("a {0} x {1} sharpness map does not fit the stored form")]
    TooLarge(u16, u16),
}

/// Whether `value` is a cell the kernel can give.
fn valid_cell(value: u8) -> bool {
    value <= 100 || value == SharpnessMap::FLAT
}

/// The stored bytes of `map`, after the same checks [`decode`] makes, so what is stored always
/// reads back.
pub fn encode(map: &SharpnessMap) -> Result<Vec<u8>, MapError> {
    let (Ok(columns), Ok(rows)) = (u8::try_from(map.columns), u8::try_from(map.rows)) else {
        return Err(MapError::TooLarge(map.columns, map.rows));
    };
    let expected = usize::from(columns) * usize::from(rows);
    if map.cells.len() != expected {
        return Err(MapError::WrongLength {
            columns,
            rows,
            expected,
            actual: map.cells.len(),
        });
    }
    if let Some((index, &value)) = map.cells.iter().enumerate().find(|(_, v)| !valid_cell(**v)) {
        return Err(MapError::BadCell { index, value });
    }
    let mut out = Vec::with_capacity(2 + expected);
    out.extend([columns, rows]);
    out.extend_from_slice(&map.cells);
    Ok(out)
}

/// The map stored as `bytes`; see the module doc for the form.
pub fn decode(bytes: &[u8]) -> Result<SharpnessMap, MapError> {
    let [columns, rows, cells @ ..] = bytes else {
        return Err(MapError::NoSize(bytes.len()));
    };
    let expected = usize::from(*columns) * usize::from(*rows);
    if cells.len() != expected {
        return Err(MapError::WrongLength {
            columns: *columns,
            rows: *rows,
            expected,
            actual: cells.len(),
        });
    }
    if let Some((index, &value)) = cells.iter().enumerate().find(|(_, v)| !valid_cell(**v)) {
        return Err(MapError::BadCell { index, value });
    }
    Ok(SharpnessMap {
        columns: u16::from(*columns),
        rows: u16::from(*rows),
        cells: cells.to_vec(),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn map(columns: u16, rows: u16, cells: Vec<u8>) -> SharpnessMap {
        SharpnessMap {
            columns,
            rows,
            cells,
        }
    }

    #[test]
    fn maps_round_trip_through_their_stored_bytes() {
        let cases = [
            map(3, 2, vec![0, 40, 100, SharpnessMap::FLAT, 7, 99]),
            map(8, 8, (0..64).map(|i| (i * 3) as u8 % 101).collect()),
            map(1, 1, vec![SharpnessMap::FLAT]),
            // An image too small for one tile: a grid without cells.
            map(0, 0, Vec::new()),
            map(0, 5, Vec::new()),
            // The widest the form holds.
            map(255, 1, vec![50; 255]),
        ];
        for m in cases {
            let bytes = encode(&m).unwrap();
            assert_eq!(bytes.len(), 2 + m.cells.len());
            assert_eq!(&bytes[..2], &[m.columns as u8, m.rows as u8]);
            assert_eq!(decode(&bytes), Ok(m.clone()), "{bytes:?}");
        }
        // The documented layout, byte for byte.
        assert_eq!(
            encode(&map(2, 1, vec![100, 255])).unwrap(),
            vec![2, 1, 100, 255]
        );
    }

    #[test]
    fn malformed_bytes_are_refused() {
        assert_eq!(decode(&[]), Err(MapError::NoSize(0)));
        assert_eq!(decode(&[3]), Err(MapError::NoSize(1)));
        // One cell short, one too many.
        assert!(matches!(
            decode(&[2, 2, 1, 2, 3]),
            Err(MapError::WrongLength {
                expected: 4,
                actual: 3,
                ..
            })
        ));
        assert!(matches!(
            decode(&[1, 2, 1, 2, 3]),
            Err(MapError::WrongLength {
                expected: 2,
                actual: 3,
                ..
            })
        ));
        // A grid of 255 × 255 claimed by a few bytes.
        assert!(matches!(
            decode(&[255, 255, 0]),
            Err(MapError::WrongLength { .. })
        ));
        // A cell the kernel never gives.
        assert_eq!(
            decode(&[2, 1, 100, 101]),
            Err(MapError::BadCell {
                index: 1,
                value: 101
            })
        );
        assert_eq!(
            decode(&[1, 1, 254]),
            Err(MapError::BadCell {
                index: 0,
                value: 254
            })
        );
        // Every byte string of up to two bytes, and every three-byte one of a small grid,
        // either decodes to a map whose cells fill its grid (and encodes back to the same
        // bytes) or is refused; none panics.
        let short = (0..=2usize).flat_map(|len| {
            (0..256usize.pow(len as u32))
                .map(move |n| (0..len).map(|i| (n >> (8 * i)) as u8).collect::<Vec<u8>>())
        });
        let three = (0..4u8)
            .flat_map(|c| (0..4u8).flat_map(move |r| (0..=255u8).map(move |v| vec![c, r, v])));
        let mut decoded = 0;
        for bytes in short.chain(three) {
            if let Ok(m) = decode(&bytes) {
                decoded += 1;
                assert_eq!(m.cells.len(), usize::from(m.columns) * usize::from(m.rows));
                assert_eq!(encode(&m).unwrap(), bytes);
            }
        }
        // The grids without cells (c = 0 or r = 0: 511 of them) and 1 × 1 with a valid cell.
        assert_eq!(decoded, 511 + 102);
    }

    #[test]
    fn maps_the_stored_form_cannot_hold_are_not_encoded() {
        assert_eq!(
            encode(&map(256, 1, vec![0; 256])),
            Err(MapError::TooLarge(256, 1))
        );
        assert!(matches!(
            encode(&map(2, 2, vec![0; 3])),
            Err(MapError::WrongLength { .. })
        ));
        assert_eq!(
            encode(&map(1, 1, vec![200])),
            Err(MapError::BadCell {
                index: 0,
                value: 200
            })
        );
    }
}
