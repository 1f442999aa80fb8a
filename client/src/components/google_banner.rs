//! The notice above the page when Google Photos cannot be used: access revoked or expired,
//! the Photos box unticked at consent, or Google disconnected. Each offers the one link that
//! fixes it (Google's consent page again).

use yew::prelude::*;

use crate::account::Banner;

/// Properties of [`GoogleBanner`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct GoogleBannerProps {
    /// Which notice.
    pub banner: Banner,
}

/// The notice with its link.
#[component]
pub fn GoogleBanner(props: &GoogleBannerProps) -> Html {
    let (words, href) = props.banner.link();
    let kind = match props.banner {
        Banner::Reauth => "reauth",
        Banner::NoPhotosScope => "scope",
        Banner::Disconnected => "disconnected",
    };
    html! {
        <div id="google-banner" class="banner" role="alert" data-kind={kind}>
            <p>{ props.banner.text() }</p>
            <a class="button primary" href={href} id="google-banner-link">{ words }</a>
        </div>
    }
}
