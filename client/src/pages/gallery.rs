//! The photo grid of the All / Clear / Blurred / Unprocessed tabs. Photos arrive with the
//! photos API (issue 4); until a library has photos, each tab explains what will appear here.

use yew::prelude::*;

use crate::tabs::Tab;

/// Properties of [`GalleryPage`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct GalleryProps {
    /// Which filter the grid shows.
    pub tab: Tab,
}

/// What an empty tab says.
pub fn empty_message(tab: Tab) -> (&'static str, &'static str) {
    match tab {
        Tab::Clear => (
            "No clear photos yet",
            "Photos judged sharp appear here once they are analysed.",
        ),
        Tab::Blurred => (
            "No blurred photos",
            "Photos spoiled by camera shake or missed focus appear here once they are analysed.",
        ),
        Tab::Unprocessed => (
            "Nothing waiting",
            "Photos that have not been analysed yet appear here.",
        ),
        _ => (
            "Your library is empty",
            "Add photos to find the ones spoiled by blur. Analysis starts in your browser and the server verifies every score.",
        ),
    }
}

/// The grid (today: its empty state).
#[component]
pub fn GalleryPage(props: &GalleryProps) -> Html {
    let (title, text) = empty_message(props.tab);
    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{ props.tab.label() }</h1>
            <div class="empty" role="status">
                <div class="empty-icon" aria-hidden="true">{"▦"}</div>
                <h2>{ title }</h2>
                <p>{ text }</p>
            </div>
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_gallery_tab_has_its_own_empty_message() {
        let titles: Vec<_> = [Tab::All, Tab::Clear, Tab::Blurred, Tab::Unprocessed]
            .into_iter()
            .map(|t| empty_message(t).0)
            .collect();
        let mut unique = titles.clone();
        unique.dedup();
        assert_eq!(unique.len(), titles.len());
    }
}
