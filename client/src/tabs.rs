//! The sidebar's tabs, each addressable by a URL fragment (`#/blurred`) so reloads and the
//! back button keep the user's place.

use shared::api::PhotoFilter;

/// One sidebar tab.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tab {
    /// Every photo.
    All,
    /// Photos judged sharp.
    Clear,
    /// Photos judged blurred.
    Blurred,
    /// Photos not analysed yet.
    Unprocessed,
    /// Photos the server could not analyse, with the reason.
    Failed,
    /// Albums of the clear photos (Google Photos, or a download).
    Albums,
    /// Counts and the score histogram.
    Statistics,
    /// Live health of the server's dependencies.
    Debug,
}

impl Tab {
    /// How many photos the tab lists, from the statistics (`None` for tabs that are no grid):
    /// the same categories the grids' filter follows.
    pub fn count(self, stats: &shared::api::Stats) -> Option<i64> {
        match self {
            Tab::All => Some(stats.total),
            Tab::Clear => Some(stats.not_blurred),
            Tab::Blurred => Some(stats.blurred),
            Tab::Unprocessed => Some(stats.unprocessed),
            Tab::Failed => Some(stats.failed),
            _ => None,
        }
    }

    /// Every tab, in sidebar order.
    pub const ALL: [Tab; 8] = [
        Tab::All,
        Tab::Clear,
        Tab::Blurred,
        Tab::Unprocessed,
        Tab::Failed,
        Tab::Albums,
        Tab::Statistics,
        Tab::Debug,
    ];

    /// The label shown in the sidebar.
    pub fn label(self) -> &'static str {
        match self {
            Tab::All => "All",
            Tab::Clear => "Clear",
            Tab::Blurred => "Blurred",
            Tab::Unprocessed => "Unprocessed",
            Tab::Failed => "Failed",
            Tab::Albums => "Albums",
            Tab::Statistics => "Statistics",
            Tab::Debug => "Debug",
        }
    }

    /// The URL fragment naming this tab.
    pub fn slug(self) -> &'static str {
        match self {
            Tab::All => "all",
            Tab::Clear => "clear",
            Tab::Blurred => "blurred",
            Tab::Unprocessed => "unprocessed",
            Tab::Failed => "failed",
            Tab::Albums => "albums",
            Tab::Statistics => "statistics",
            Tab::Debug => "debug",
        }
    }

    /// The link to this tab.
    pub fn href(self) -> String {
        format!("#/{}", self.slug())
    }

    /// The tab a URL fragment names; unknown or empty fragments give `All`.
    pub fn from_hash(hash: &str) -> Tab {
        let slug = hash.trim_start_matches('#').trim_start_matches('/');
        Tab::ALL
            .into_iter()
            .find(|t| t.slug() == slug)
            .unwrap_or(Tab::All)
    }

    /// The gallery filter of a photo tab (`None` for Statistics and Debug).
    pub fn filter(self) -> Option<PhotoFilter> {
        match self {
            Tab::All => Some(PhotoFilter::All),
            Tab::Clear => Some(PhotoFilter::NotBlurred),
            Tab::Blurred => Some(PhotoFilter::Blurred),
            Tab::Unprocessed => Some(PhotoFilter::Unprocessed),
            Tab::Failed => Some(PhotoFilter::Failed),
            Tab::Albums | Tab::Statistics | Tab::Debug => None,
        }
    }

    /// Whether this tab shows a photo grid.
    pub fn is_gallery(self) -> bool {
        matches!(
            self,
            Tab::All | Tab::Clear | Tab::Blurred | Tab::Unprocessed | Tab::Failed
        )
    }
}

#[cfg(test)]
mod tests {
    use super::Tab;

    #[test]
    fn each_grid_tab_counts_its_own_category() {
        let stats = shared::api::Stats {
            total: 10,
            blurred: 3,
            not_blurred: 5,
            unprocessed: 1,
            failed: 1,
            blur_threshold: 0.5,
            by_type: shared::api::TypeCounts::default(),
            histogram: vec![],
            ai_audit: Default::default(),
        };
        assert_eq!(Tab::All.count(&stats), Some(10));
        assert_eq!(Tab::Clear.count(&stats), Some(5));
        assert_eq!(Tab::Blurred.count(&stats), Some(3));
        assert_eq!(Tab::Unprocessed.count(&stats), Some(1));
        assert_eq!(Tab::Failed.count(&stats), Some(1));
        let grids: i64 = [Tab::Clear, Tab::Blurred, Tab::Unprocessed, Tab::Failed]
            .into_iter()
            .filter_map(|t| t.count(&stats))
            .sum();
        assert_eq!(
            grids, stats.total,
            "every photo is in exactly one category tab"
        );
        let counted = Tab::ALL.into_iter().filter_map(|t| t.count(&stats)).count();
        assert_eq!(counted, 5, "only the five grids count");
    }

    #[test]
    fn every_tab_round_trips_through_its_fragment() {
        for tab in Tab::ALL {
            assert_eq!(Tab::from_hash(&tab.href()), tab);
        }
    }

    #[test]
    fn unknown_fragments_fall_back_to_all() {
        assert_eq!(Tab::from_hash(""), Tab::All);
        assert_eq!(Tab::from_hash("#/nope"), Tab::All);
    }

    #[test]
    fn clear_lists_the_photos_that_are_not_blurred() {
        assert_eq!(
            Tab::Clear.filter(),
            Some(shared::api::PhotoFilter::NotBlurred)
        );
        for tab in Tab::ALL {
            assert_eq!(tab.filter().is_some(), tab.is_gallery());
        }
    }

    #[test]
    fn only_photo_tabs_are_galleries() {
        assert!(Tab::Blurred.is_gallery());
        assert!(!Tab::Debug.is_gallery());
        assert!(!Tab::Statistics.is_gallery());
    }
}
