//! The Albums tab: make an album of the clear photos and follow it. With Google, the album is
//! made in the user's Google Photos (Google lets an app add only copies it uploads, so that is
//! what happens, said up front); the first album asks Google for that permission, through the
//! server's consent link. Without Google, the album is a collection to download as a ZIP.
//! Albums still running are refreshed every second; photos whose Google link ran out are
//! listed as skipped, with "Pick again" to include them.

use gloo_timers::callback::Interval;
use shared::api::{Album, AlbumDestination, AlbumStatus, CreateAlbumRequest};
use yew::prelude::*;

use crate::api::{self, ApiError};
use crate::components::picker::PickContext;
use crate::library::LibraryHandle;

/// Properties of [`AlbumsPage`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct AlbumsPageProps {
    /// Signed in with Google: albums go to Google Photos (else they are downloads).
    pub google: bool,
}

/// What creating an album came to.
#[derive(Debug, Clone, PartialEq)]
enum Creating {
    Idle,
    Busy,
    /// Google needs the user's permission first: the message and where to give it.
    Consent(String, String),
    Failed(String),
}

/// The words for an album's state, with its counts.
pub fn progress_words(album: &Album) -> String {
    let done = album.added + album.skipped + album.failed;
    let counts = format!(
        "{} added, {} skipped, {} failed",
        album.added, album.skipped, album.failed
    );
    match album.status {
        AlbumStatus::Queued => format!("Waiting to start: {} photos", album.total),
        AlbumStatus::Running => format!("Adding photos: {done} of {} ({counts})", album.total),
        AlbumStatus::Paused => format!("Paused at {done} of {} ({counts})", album.total),
        AlbumStatus::Done => format!("Done: {counts}, of {} photos", album.total),
        AlbumStatus::Failed => format!("Stopped at {done} of {} ({counts})", album.total),
    }
}

/// Whether the page should keep refreshing the albums.
pub fn any_moving(albums: &[Album]) -> bool {
    albums
        .iter()
        .any(|a| matches!(a.status, AlbumStatus::Queued | AlbumStatus::Running))
}

/// The Albums tab.
#[component]
pub fn AlbumsPage(props: &AlbumsPageProps) -> Html {
    let library = use_context::<LibraryHandle>();
    let pick = use_context::<PickContext>();
    let revision = library.as_ref().map_or(0, |l| l.revision);
    let albums = use_state(|| None::<Result<Vec<Album>, String>>);
    let clear = use_state(|| None::<i64>);
    let title = use_state(String::new);
    let creating = use_state(|| Creating::Idle);
    let tick = use_state(|| 0u32);

    {
        let albums = albums.clone();
        let clear = clear.clone();
        use_effect_with((revision, *tick), move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                albums.set(Some(
                    api::albums()
                        .await
                        .map(|l| l.items)
                        .map_err(|e| e.message()),
                ));
                if let Ok(stats) = api::stats().await {
                    clear.set(Some(stats.not_blurred));
                }
            });
        });
    }
    // While an album is being made, it is read again every second.
    let moving = matches!(&*albums, Some(Ok(list)) if any_moving(list));
    {
        let tick = tick.clone();
        use_effect_with(moving, move |moving| {
            let timer = moving.then(|| Interval::new(1000, move || tick.set(tick.wrapping_add(1))));
            move || drop(timer)
        });
    }

    let on_title = {
        let title = title.clone();
        Callback::from(move |e: InputEvent| {
            use wasm_bindgen::JsCast;
            if let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlInputElement>().ok())
            {
                title.set(input.value());
            }
        })
    };
    let on_create = {
        let creating = creating.clone();
        let title = title.clone();
        let tick = tick.clone();
        Callback::from(move |e: SubmitEvent| {
            e.prevent_default();
            let creating = creating.clone();
            let tick = tick.clone();
            let title = title.trim().to_string();
            creating.set(Creating::Busy);
            wasm_bindgen_futures::spawn_local(async move {
                let request = CreateAlbumRequest {
                    title: (!title.is_empty()).then_some(title),
                    ..CreateAlbumRequest::default()
                };
                match api::create_album(&request).await {
                    Ok(_) => {
                        creating.set(Creating::Idle);
                        tick.set(tick.wrapping_add(1));
                    }
                    Err(e) => creating.set(refusal(&e)),
                }
            });
        })
    };
    let on_resume = {
        let tick = tick.clone();
        let creating = creating.clone();
        Callback::from(move |id: i64| {
            let tick = tick.clone();
            let creating = creating.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::resume_album(id).await {
                    Ok(_) => tick.set(tick.wrapping_add(1)),
                    Err(e) => creating.set(refusal(&e)),
                }
            });
        })
    };

    let count = (*clear).unwrap_or(0);
    let (intro, button) = if props.google {
        (
            "Classify makes a new album in your Google Photos holding your clear photos. Google \
             lets an app add only photos it uploads itself, so Classify uploads a copy of each \
             (your originals stay as they are); the first album asks Google for your permission.",
            format!("Make a Google Photos album of {count} clear photos"),
        )
    } else {
        (
            "Classify gathers your clear photos into a collection you download as one ZIP file \
             (the originals, with a CSV of their scores).",
            format!("Make a collection of {count} clear photos"),
        )
    };
    let busy = *creating == Creating::Busy;
    let form = html! {
        <form class="album-form" onsubmit={on_create} data-testid="album-form">
            <p class="muted">{ intro }</p>
            <label>
                {"Title "}
                <input type="text" maxlength="500" value={(*title).clone()} oninput={on_title}
                       placeholder="Unblurred Photos (today's date)" data-testid="album-title" />
            </label>
            <button type="submit" class="primary" disabled={busy || count == 0}
                    data-testid="album-create">{ button }</button>
            if count == 0 {
                <span class="muted">{" No clear photos yet: add and verify photos first."}</span>
            }
        </form>
    };
    let notice = match &*creating {
        Creating::Consent(message, url) => html! {
            <div class="banner" role="alert" data-testid="album-consent">
                <p>{ message.clone() }{" Google asks you once; you come back here afterwards."}</p>
                <a class="button primary" href={url.clone()} data-testid="album-consent-link">
                    {"Allow in Google"}
                </a>
            </div>
        },
        Creating::Failed(message) => html! {
            <p class="error" role="alert" data-testid="album-error">{ message.clone() }</p>
        },
        Creating::Idle | Creating::Busy => html! {},
    };
    let list = match &*albums {
        None => html! { <p class="muted" role="status">{"Loading…"}</p> },
        Some(Err(e)) => html! { <p class="error" role="alert">{ e.clone() }</p> },
        Some(Ok(list)) if list.is_empty() => html! {
            <p class="muted" data-testid="albums-empty">{"No albums yet."}</p>
        },
        Some(Ok(list)) => html! {
            <ul class="albums" data-testid="albums">
                { for list.iter().map(|a| album_view(a, &on_resume, pick.as_ref())) }
            </ul>
        },
    };
    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{"Albums"}</h1>
            { form }
            { notice }
            { list }
        </section>
    }
}

/// What a refused request means for the page.
fn refusal(e: &ApiError) -> Creating {
    match e.action_url() {
        Some(url) => Creating::Consent(e.message(), url.to_string()),
        None => Creating::Failed(format!("The album could not be made: {}", e.message())),
    }
}

fn status_slug(status: AlbumStatus) -> &'static str {
    match status {
        AlbumStatus::Queued => "queued",
        AlbumStatus::Running => "running",
        AlbumStatus::Paused => "paused",
        AlbumStatus::Done => "done",
        AlbumStatus::Failed => "failed",
    }
}

fn album_view(album: &Album, on_resume: &Callback<i64>, pick: Option<&PickContext>) -> Html {
    let id = album.id;
    let finished = album.added + album.skipped + album.failed;
    let resume = on_resume.reform(move |_: MouseEvent| id);
    let can_resume = matches!(album.status, AlbumStatus::Paused | AlbumStatus::Failed);
    html! {
        <li class="album" data-testid="album" data-album-id={id.to_string()}
            data-status={status_slug(album.status)} data-added={album.added.to_string()}
            data-skipped={album.skipped.to_string()} data-total={album.total.to_string()}>
            <h2>{ &album.title }</h2>
            <progress max={album.total.max(1).to_string()} value={finished.to_string()}
                      aria-label={format!("{} progress", album.title)} />
            <p data-testid="album-progress">{ progress_words(album) }</p>
            if let Some(error) = &album.error {
                <p class="error">{ error.clone() }</p>
            }
            <p class="album-actions">
                if let Some(url) = &album.product_url {
                    <a href={url.clone()} target="_blank" rel="noopener noreferrer"
                       data-testid="album-open">{"Open in Google Photos"}</a>
                }
                if album.destination == AlbumDestination::Download && album.status == AlbumStatus::Done {
                    <a href={album.download_url.clone()} download="" data-testid="album-download">
                        {"Download ZIP"}
                    </a>
                }
                if can_resume {
                    <button type="button" onclick={resume} data-testid="album-resume">{"Resume"}</button>
                }
                if album.skipped > 0 {
                    if let Some(pick) = pick {
                        <button type="button" onclick={pick.start.reform(|_: MouseEvent| ())}
                                disabled={pick.blocked.is_some()} data-testid="album-repick"
                                title="Photos whose Google link ran out: pick them again, then make a new album to include them">
                            { format!("Pick {} skipped photos again", album.skipped) }
                        </button>
                    }
                }
            </p>
        </li>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn album(status: AlbumStatus, added: i64, skipped: i64) -> Album {
        Album {
            id: 1,
            title: "t".into(),
            destination: AlbumDestination::GooglePhotos,
            status,
            total: 10,
            added,
            skipped,
            failed: 0,
            google_album_id: None,
            product_url: None,
            error: None,
            resume_at: None,
            download_url: "/api/v1/albums/1/download".into(),
            created_at: 0,
            items_page: Default::default(),
        }
    }

    #[test]
    fn an_album_says_where_it_stands_and_only_moving_ones_are_refreshed() {
        assert_eq!(
            progress_words(&album(AlbumStatus::Running, 3, 1)),
            "Adding photos: 4 of 10 (3 added, 1 skipped, 0 failed)"
        );
        assert_eq!(
            progress_words(&album(AlbumStatus::Done, 9, 1)),
            "Done: 9 added, 1 skipped, 0 failed, of 10 photos"
        );
        assert!(any_moving(&[
            album(AlbumStatus::Done, 10, 0),
            album(AlbumStatus::Queued, 0, 0)
        ]));
        assert!(!any_moving(&[
            album(AlbumStatus::Paused, 2, 0),
            album(AlbumStatus::Failed, 0, 0)
        ]));
    }

    #[test]
    fn a_missing_scope_leads_to_google_and_other_refusals_say_why() {
        let consent = ApiError::Server {
            status: 403,
            code: Some(shared::api::ErrorCode::ScopeRequired),
            message: "Classify needs your permission.".into(),
            action_url: Some("/auth/google/start?grant=albums".into()),
        };
        assert_eq!(
            refusal(&consent),
            Creating::Consent(
                "Classify needs your permission.".into(),
                "/auth/google/start?grant=albums".into()
            )
        );
        let other = ApiError::Network("offline".into());
        assert!(matches!(refusal(&other), Creating::Failed(m) if m.contains("offline")));
    }
}
