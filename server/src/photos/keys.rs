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
