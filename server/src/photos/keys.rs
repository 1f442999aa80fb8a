//! The blob-key scheme, written once: originals are content-addressed per user, and derived
//! images live under a folder of their original so one delete removes them all.

use crate::media::ImageSize;

/// Where the original with this SHA-256 (hex) of this user is kept.
pub fn original(user_id: i64, sha: &str) -> String {
    let fan_out = sha.get(..2).unwrap_or("00");
    format!("originals/{user_id}/{fan_out}/{sha}")
}

/// The folder holding every derived image of one original.
pub fn derived_prefix(user_id: i64, sha: &str) -> String {
    format!("derived/{user_id}/{sha}/")
}

/// Where one derived image is kept.
pub fn derived(user_id: i64, sha: &str, size: ImageSize) -> String {
    format!("{}{}", derived_prefix(user_id, sha), size.as_str())
}

/// Where a piece of Google media of one photo is held for a while (`work`, `thumb`,
/// `analysis`); never longer than the cache's life (see `photos::remote`).
pub fn google_media(user_id: i64, photo_id: i64, what: &str) -> String {
    format!("{}{what}", google_media_prefix(user_id, photo_id))
}

/// The folder holding all Google media of one photo.
pub fn google_media_prefix(user_id: i64, photo_id: i64) -> String {
    format!("google/{user_id}/{photo_id}/")
}

/// Every folder holding something of one user, for deleting their account.
pub fn user_folders(user_id: i64) -> [String; 3] {
    [
        format!("originals/{user_id}/"),
        format!("derived/{user_id}/"),
        format!("google/{user_id}/"),
    ]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn derived_images_live_under_their_originals_folder() {
        let sha = "ab12";
        assert_eq!(original(7, sha), "originals/7/ab/ab12");
        assert!(derived(7, sha, ImageSize::Thumb).starts_with(&derived_prefix(7, sha)));
        assert_ne!(
            derived(7, sha, ImageSize::Thumb),
            derived(7, sha, ImageSize::Analysis)
        );
        // A short or odd hash still makes a valid key rather than panicking.
        assert_eq!(original(1, "a"), "originals/1/00/a");
    }
}
