//! The photo grid of the All / Clear / Blurred / Unprocessed tabs: the upload area, the
//! progress of uploads and verification, "Analyze all unprocessed", and the cards, one
//! keyset page at a time ("Load more" follows `next_cursor`). The grid refetches when the
//! tab changes or the shared library revision grows (a batch ended, the threshold moved).

use std::rc::Rc;

use gloo_timers::future::TimeoutFuture;
use shared::api::{Photo, PhotoFilter, PhotoPage};
use yew::prelude::*;

use crate::api;
use crate::components::{ActivityPanel, PhotoCard, UploadArea};
use crate::library::{LibraryHandle, batch_finished};
use crate::tabs::Tab;
use crate::work;

/// Photos per page (a multiple of 2, 3, 4 and 5 columns).
const PAGE: u32 = 60;

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

/// Whether a photo belongs in a filter's grid: the rule the server's queries follow too.
pub fn belongs(filter: PhotoFilter, photo: &Photo) -> bool {
    filter.matches(photo)
}

/// The grid's state.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Grid {
    /// The request whose answer the grid shows or waits for; older answers are dropped.
    pub request: u32,
    /// The filter of the photos shown.
    pub filter: PhotoFilter,
    /// Photos, newest first.
    pub items: Vec<Photo>,
    /// Cursor of the next page.
    pub next_cursor: Option<String>,
    /// A page is being fetched.
    pub loading: bool,
    /// The first page arrived (before that, no empty state is shown).
    pub loaded: bool,
    /// Why the last fetch failed.
    pub error: Option<String>,
    /// Photos with an Analyze or Delete request under way.
    pub working: Vec<i64>,
}

/// What changes the grid.
#[derive(Debug, Clone, PartialEq)]
pub enum GridAction {
    /// Fetch the first page again (request number, filter).
    Reload(u32, PhotoFilter),
    /// Fetch the next page.
    LoadingMore(u32),
    /// A page arrived: the first one replaces, later ones append.
    Page {
        /// The request it answers.
        request: u32,
        /// Append to the photos shown.
        append: bool,
        /// The page.
        page: PhotoPage,
    },
    /// A fetch failed.
    Failed(u32, String),
    /// A photo changed: replaced in place, or removed if it left this tab's filter.
    Updated(Photo),
    /// A photo is gone.
    Removed(i64),
    /// An action on a photo started or ended.
    Working(i64, bool),
}

impl Reducible for Grid {
    type Action = GridAction;

    fn reduce(self: Rc<Self>, action: GridAction) -> Rc<Self> {
        let mut g = (*self).clone();
        match action {
            GridAction::Reload(request, filter) => {
                g.request = request;
                g.filter = filter;
                g.loading = true;
                g.error = None;
                if filter != self.filter {
                    // Another tab: the old photos must not show under its title.
                    g.items.clear();
                    g.next_cursor = None;
                    g.loaded = false;
                }
            }
            GridAction::LoadingMore(request) => {
                g.request = request;
                g.loading = true;
                g.error = None;
            }
            GridAction::Page {
                request,
                append,
                page,
            } => {
                if request != g.request {
                    return self;
                }
                if append {
                    let known: Vec<i64> = g.items.iter().map(|p| p.id).collect();
                    g.items
                        .extend(page.items.into_iter().filter(|p| !known.contains(&p.id)));
                } else {
                    g.items = page.items;
                }
                g.next_cursor = page.next_cursor;
                g.loading = false;
                g.loaded = true;
            }
            GridAction::Failed(request, message) => {
                if request != g.request {
                    return self;
                }
                g.loading = false;
                g.loaded = true;
                g.error = Some(message);
            }
            GridAction::Updated(photo) => {
                if belongs(g.filter, &photo) {
                    if let Some(slot) = g.items.iter_mut().find(|p| p.id == photo.id) {
                        *slot = photo;
                    }
                } else {
                    g.items.retain(|p| p.id != photo.id);
                }
            }
            GridAction::Removed(id) => g.items.retain(|p| p.id != id),
            GridAction::Working(id, on) => {
                g.working.retain(|w| *w != id);
                if on {
                    g.working.push(id);
                }
            }
        }
        Rc::new(g)
    }
}

fn fetch(grid: UseReducerHandle<Grid>, request: u32, filter: PhotoFilter, cursor: Option<String>) {
    wasm_bindgen_futures::spawn_local(async move {
        let append = cursor.is_some();
        match api::photos(filter, cursor.as_deref(), PAGE).await {
            Ok(page) => grid.dispatch(GridAction::Page {
                request,
                append,
                page,
            }),
            Err(e) => grid.dispatch(GridAction::Failed(request, e.to_string())),
        }
    });
}

/// Verifies one photo: queues it, waits for its batch, then shows its new state.
async fn analyze_one(grid: UseReducerHandle<Grid>, id: i64) -> Result<(), api::ApiError> {
    let accepted = api::analyze_photo(id).await?;
    if let Ok(photo) = api::photo(id).await {
        grid.dispatch(GridAction::Updated(photo));
    }
    loop {
        let progress = api::job(accepted.batch_id).await?;
        if batch_finished(&progress) {
            break;
        }
        TimeoutFuture::new(work::POLL_MS).await;
    }
    grid.dispatch(GridAction::Updated(api::photo(id).await?));
    Ok(())
}

/// The grid.
#[component]
pub fn GalleryPage(props: &GalleryProps) -> Html {
    let library = use_context::<LibraryHandle>();
    let grid = use_reducer(Grid::default);
    let counter = use_mut_ref(|| 0u32);
    let action_error = use_state(|| None::<String>);
    let filter = props.tab.filter().unwrap_or_default();
    let revision = library.as_ref().map_or(0, |l| l.revision);

    {
        let grid = grid.clone();
        let counter = counter.clone();
        use_effect_with((filter, revision), move |(filter, _)| {
            let request = {
                let mut c = counter.borrow_mut();
                *c = c.wrapping_add(1);
                *c
            };
            grid.dispatch(GridAction::Reload(request, *filter));
            fetch(grid, request, *filter, None);
        });
    }

    let load_more = {
        let grid = grid.clone();
        let counter = counter.clone();
        Callback::from(move |_: MouseEvent| {
            let Some(cursor) = grid.next_cursor.clone() else {
                return;
            };
            let request = {
                let mut c = counter.borrow_mut();
                *c = c.wrapping_add(1);
                *c
            };
            grid.dispatch(GridAction::LoadingMore(request));
            fetch(grid.clone(), request, grid.filter, Some(cursor));
        })
    };

    let on_analyze = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |id: i64| {
            let grid = grid.clone();
            let action_error = action_error.clone();
            grid.dispatch(GridAction::Working(id, true));
            wasm_bindgen_futures::spawn_local(async move {
                if let Err(e) = analyze_one(grid.clone(), id).await {
                    action_error.set(Some(format!("Could not analyze: {}", e.message())));
                }
                grid.dispatch(GridAction::Working(id, false));
            });
        })
    };

    let on_delete = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |id: i64| {
            let name = grid
                .items
                .iter()
                .find(|p| p.id == id)
                .map(|p| p.filename.clone())
                .unwrap_or_default();
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message(&format!("Delete {name}?")).ok())
                .unwrap_or(false);
            if !confirmed {
                return;
            }
            let grid = grid.clone();
            let action_error = action_error.clone();
            grid.dispatch(GridAction::Working(id, true));
            wasm_bindgen_futures::spawn_local(async move {
                match api::delete_photo(id).await {
                    Ok(()) => grid.dispatch(GridAction::Removed(id)),
                    Err(e) => action_error.set(Some(format!("Could not delete: {}", e.message()))),
                }
                grid.dispatch(GridAction::Working(id, false));
            });
        })
    };

    let analyze_all = library.clone().map(|library| {
        Callback::from(move |_: MouseEvent| {
            wasm_bindgen_futures::spawn_local(work::verify_unprocessed(library.clone()));
        })
    });
    let busy = library.as_ref().is_some_and(|l| l.busy());

    let (title, text) = empty_message(props.tab);
    let body = if let Some(error) = &grid.error {
        html! { <p class="error" role="alert" data-testid="grid-error">{ error }</p> }
    } else if grid.loaded && grid.items.is_empty() {
        html! {
            <div class="empty" role="status" data-testid="empty">
                <div class="empty-icon" aria-hidden="true">{"▦"}</div>
                <h2>{ title }</h2>
                <p>{ text }</p>
            </div>
        }
    } else {
        html! {
            <ul class="grid" data-testid="grid" data-filter={api::filter_param(filter)}
                data-loaded={grid.loaded.to_string()} aria-busy={grid.loading.to_string()}>
                { for grid.items.iter().map(|photo| html! {
                    <PhotoCard key={photo.id} photo={photo.clone()}
                               working={grid.working.contains(&photo.id)}
                               on_analyze={on_analyze.clone()} on_delete={on_delete.clone()} />
                }) }
            </ul>
        }
    };

    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{ props.tab.label() }</h1>
            <UploadArea />
            <div class="toolbar">
                if let Some(analyze_all) = analyze_all {
                    <button type="button" onclick={analyze_all} disabled={busy}
                            data-testid="analyze-all">{"Analyze all unprocessed"}</button>
                }
                <span class="muted" aria-live="polite">
                    { if grid.loading { "Loading…".to_string() } else { format!("{} shown", grid.items.len()) } }
                </span>
            </div>
            <ActivityPanel />
            if let Some(e) = &*action_error {
                <p class="error" role="alert">{ e }</p>
            }
            { body }
            if grid.next_cursor.is_some() && grid.error.is_none() {
                <div class="more">
                    <button type="button" onclick={load_more} disabled={grid.loading}
                            data-testid="load-more">{"Load more"}</button>
                </div>
            }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::VerificationStatus;

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

    fn photo(id: i64, blurred: Option<bool>) -> Photo {
        Photo {
            id,
            filename: format!("{id}.jpg"),
            source: "local".into(),
            mime_type: None,
            size_bytes: None,
            width: None,
            height: None,
            blur_score: blurred.map(|b| if b { 0.9 } else { 0.1 }),
            is_blurred: blurred,
            blur_type: None,
            motion_angle_deg: None,
            preview_score: None,
            status: if blurred.is_some() {
                VerificationStatus::Done
            } else {
                VerificationStatus::Unprocessed
            },
            verified: blurred.is_some(),
            error: None,
            processed_at: None,
            created_at: 0,
            taken_at: None,
            link_expired: false,
            tags: Vec::new(),
            caption: None,
            looks_blurred: None,
        }
    }

    fn reduce(grid: Grid, action: GridAction) -> Grid {
        (*Rc::new(grid).reduce(action)).clone()
    }

    fn page(ids: &[i64], next: Option<&str>) -> PhotoPage {
        PhotoPage {
            items: ids.iter().map(|id| photo(*id, None)).collect(),
            next_cursor: next.map(str::to_string),
        }
    }

    #[test]
    fn filters_match_the_servers_categories() {
        assert!(belongs(PhotoFilter::Blurred, &photo(1, Some(true))));
        assert!(!belongs(PhotoFilter::Blurred, &photo(1, Some(false))));
        assert!(belongs(PhotoFilter::NotBlurred, &photo(1, Some(false))));
        assert!(belongs(PhotoFilter::Unprocessed, &photo(1, None)));
        assert!(!belongs(PhotoFilter::Unprocessed, &photo(1, Some(true))));
        assert!(belongs(PhotoFilter::All, &photo(1, Some(true))));
    }

    #[test]
    fn pages_append_and_a_stale_answer_is_dropped() {
        let g = reduce(Grid::default(), GridAction::Reload(1, PhotoFilter::All));
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[5, 4], Some("4")),
            },
        );
        let g = reduce(g, GridAction::LoadingMore(2));
        // The first page's request answering late changes nothing.
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[9], None),
            },
        );
        let g = reduce(
            g,
            GridAction::Page {
                request: 2,
                append: true,
                page: page(&[4, 3], None),
            },
        );
        let ids: Vec<_> = g.items.iter().map(|p| p.id).collect();
        assert_eq!(ids, [5, 4, 3]);
        assert_eq!(g.next_cursor, None);
        assert!(g.loaded && !g.loading);
    }

    #[test]
    fn a_verified_photo_leaves_the_unprocessed_tab() {
        let g = reduce(
            Grid::default(),
            GridAction::Reload(1, PhotoFilter::Unprocessed),
        );
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[2, 1], None),
            },
        );
        let g = reduce(g, GridAction::Updated(photo(2, Some(true))));
        assert_eq!(g.items.iter().map(|p| p.id).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn switching_tabs_clears_the_old_photos() {
        let g = reduce(Grid::default(), GridAction::Reload(1, PhotoFilter::All));
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[1], None),
            },
        );
        let g = reduce(g, GridAction::Reload(2, PhotoFilter::Blurred));
        assert!(g.items.is_empty() && !g.loaded);
    }
}
