//! The photo grid of the All / Clear / Blurred / Unprocessed tabs: the upload area, the
//! progress of uploads and verification, "Analyze all unprocessed", and the cards, one
//! keyset page at a time ("Load more" follows `next_cursor`), and the photo view over them. The
//! grid refetches when the tab changes or the shared library revision grows (a batch ended,
//! the threshold moved).

use std::rc::Rc;

use shared::api::{Photo, PhotoFilter, PhotoPage, PhotoSort};
use yew::prelude::*;

use crate::api;
use crate::components::{ActivityPanel, PhotoCard, PhotoView, UploadArea};
use crate::hooks::{use_revealed, use_stable_callback};
use crate::library::LibraryHandle;
use crate::tabs::Tab;
use crate::work;

/// Photos per page (a multiple of 2, 3, 4 and 5 columns).
const PAGE: u32 = 60;
/// Most cards mounted in one frame while a page arrives; fewer when frames run over their
/// budget (`hooks::use_revealed`). Mounting is the costly part of such a frame (a card's DOM:
/// 1 to 4 ms on a busy 2-core machine, measured in the 200-photo browser run), not rendering
/// the grid around it.
const MAX_CARDS_PER_FRAME: usize = 24;

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
        Tab::Failed => (
            "Nothing failed",
            "Photos the server could not analyse appear here, each with the reason.",
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
    /// Only the photos with this AI tag, when set.
    pub tag: Option<String>,
    /// The order of the photos.
    pub sort: PhotoSort,
    /// Photos, in `sort` order.
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
    /// Photos selected for a bulk action, in the order they were selected.
    pub selected: Vec<i64>,
    /// The photo a shift-click selects from (the last one clicked).
    pub anchor: Option<i64>,
}

impl Grid {
    /// The selected photos, in grid order.
    pub fn selection(&self) -> Vec<&Photo> {
        self.items
            .iter()
            .filter(|p| self.selected.contains(&p.id))
            .collect()
    }
}

/// What changes the grid.
#[derive(Debug, Clone, PartialEq)]
pub enum GridAction {
    /// Fetch the first page again (request number, filter, AI tag, order).
    Reload(u32, PhotoFilter, Option<String>, PhotoSort),
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
    /// A photo changed: replaced in place, or removed if it left this tab's filter (boxed: a
    /// photo is far larger than the other actions).
    Updated(Box<Photo>),
    /// A photo is gone.
    Removed(i64),
    /// An action on a photo started or ended.
    Working(i64, bool),
    /// A photo's box was clicked: it toggles; with Shift, every photo from the last one
    /// clicked to this one takes its new state.
    Select {
        /// The photo clicked.
        id: i64,
        /// Shift was held.
        range: bool,
    },
    /// Every photo loaded in the tab is selected.
    SelectAll,
    /// Nothing is selected.
    ClearSelection,
}

impl Reducible for Grid {
    type Action = GridAction;

    fn reduce(self: Rc<Self>, action: GridAction) -> Rc<Self> {
        let mut g = (*self).clone();
        match action {
            GridAction::Reload(request, filter, tag, sort) => {
                g.request = request;
                g.filter = filter;
                g.tag = tag;
                g.sort = sort;
                g.loading = true;
                g.error = None;
                if filter != self.filter || g.tag != self.tag || sort != self.sort {
                    // Another tab, tag or order: the old photos must not show under its title
                    // (nor in the wrong order), and a selection made there must not be acted
                    // on here.
                    g.items.clear();
                    g.next_cursor = None;
                    g.loaded = false;
                    g.selected.clear();
                    g.anchor = None;
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
                    // A refetch keeps the selection of the photos still shown.
                    let shown: Vec<i64> = g.items.iter().map(|p| p.id).collect();
                    g.selected.retain(|id| shown.contains(id));
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
                let photo = *photo;
                if belongs(g.filter, &photo) {
                    if let Some(slot) = g.items.iter_mut().find(|p| p.id == photo.id) {
                        *slot = photo;
                    }
                } else {
                    g.items.retain(|p| p.id != photo.id);
                    g.selected.retain(|id| *id != photo.id);
                }
            }
            GridAction::Removed(id) => {
                g.items.retain(|p| p.id != id);
                g.selected.retain(|s| *s != id);
            }
            GridAction::Working(id, on) => {
                g.working.retain(|w| *w != id);
                if on {
                    g.working.push(id);
                }
            }
            GridAction::Select { id, range } => {
                let on = !g.selected.contains(&id);
                let position = |x: i64| g.items.iter().position(|p| p.id == x);
                let span = match (range, g.anchor.and_then(position), position(id)) {
                    (true, Some(a), Some(b)) => a.min(b)..=a.max(b),
                    (_, _, Some(b)) => b..=b,
                    _ => return self,
                };
                let ids: Vec<i64> = g.items[span].iter().map(|p| p.id).collect();
                g.selected.retain(|s| !ids.contains(s));
                if on {
                    g.selected.extend(ids);
                }
                g.anchor = Some(id);
            }
            GridAction::SelectAll => {
                g.selected = g.items.iter().map(|p| p.id).collect();
            }
            GridAction::ClearSelection => {
                g.selected.clear();
                g.anchor = None;
            }
        }
        Rc::new(g)
    }
}

fn fetch(
    grid: UseReducerHandle<Grid>,
    request: u32,
    (filter, tag, sort): (PhotoFilter, Option<String>, PhotoSort),
    cursor: Option<String>,
) {
    wasm_bindgen_futures::spawn_local(async move {
        let append = cursor.is_some();
        match api::photos(filter, tag.as_deref(), sort, cursor.as_deref(), PAGE).await {
            Ok(page) => grid.dispatch(GridAction::Page {
                request,
                append,
                page,
            }),
            Err(e) => grid.dispatch(GridAction::Failed(request, e.to_string())),
        }
    });
}

/// Verifies one photo: queues it, follows its batch to the end (by its events, else by
/// polling), then shows its new state.
async fn analyze_one(grid: UseReducerHandle<Grid>, id: i64) -> Result<(), api::ApiError> {
    let accepted = api::analyze_photo(id).await?;
    if let Ok(photo) = api::photo(id).await {
        grid.dispatch(GridAction::Updated(Box::new(photo)));
    }
    work::watch_batch(accepted.batch_id, |_| {}).await?;
    grid.dispatch(GridAction::Updated(Box::new(api::photo(id).await?)));
    Ok(())
}

/// The photo `by` places after (or before, when negative) `id` in the grid, if any.
pub fn neighbour(items: &[Photo], id: i64, by: isize) -> Option<i64> {
    let index = items.iter().position(|p| p.id == id)?;
    let target = index.checked_add_signed(by)?;
    items.get(target).map(|p| p.id)
}

/// Asks the user before a photo is deleted (deleting cannot be undone).
fn confirm_delete(grid: &Grid, id: i64) -> bool {
    let name = grid
        .items
        .iter()
        .find(|p| p.id == id)
        .map(|p| p.filename.clone())
        .unwrap_or_default();
    web_sys::window()
        .and_then(|w| w.confirm_with_message(&format!("Delete {name}?")).ok())
        .unwrap_or(false)
}

/// Deletes a photo and takes it off the grid.
fn delete(grid: UseReducerHandle<Grid>, action_error: UseStateHandle<Option<String>>, id: i64) {
    grid.dispatch(GridAction::Working(id, true));
    wasm_bindgen_futures::spawn_local(async move {
        match api::delete_photo(id).await {
            Ok(()) => grid.dispatch(GridAction::Removed(id)),
            Err(e) => action_error.set(Some(format!("Could not delete: {}", e.message()))),
        }
        grid.dispatch(GridAction::Working(id, false));
    });
}

/// Deletes photos, a few at a time, taking each off the grid as it goes; failures are
/// counted and reported once.
async fn delete_many(
    grid: UseReducerHandle<Grid>,
    action_error: UseStateHandle<Option<String>>,
    ids: Vec<i64>,
) {
    let mut failed = Vec::new();
    for chunk in ids.chunks(DELETES_AT_ONCE) {
        for id in chunk {
            grid.dispatch(GridAction::Working(*id, true));
        }
        let results =
            futures_util::future::join_all(chunk.iter().map(|id| api::delete_photo(*id))).await;
        for (id, result) in chunk.iter().zip(results) {
            grid.dispatch(GridAction::Working(*id, false));
            match result {
                Ok(()) => grid.dispatch(GridAction::Removed(*id)),
                Err(e) => failed.push(e.message()),
            }
        }
    }
    if let Some(first) = failed.first() {
        action_error.set(Some(format!(
            "Could not delete {} of {} photos: {first}",
            failed.len(),
            ids.len()
        )));
    }
}

/// Deletes in flight at once in a bulk delete: quick, yet polite to the server.
const DELETES_AT_ONCE: usize = 4;

/// Gives the focus back to a card's open button (after the photo view closes), so keyboard
/// users continue where they were.
fn focus_card(id: i64) {
    use wasm_bindgen::JsCast;
    let button = web_sys::window()
        .and_then(|w| w.document())
        .and_then(|d| {
            d.query_selector(&format!("[data-photo-id='{id}'] [data-testid='open']"))
                .ok()
                .flatten()
        })
        .and_then(|e| e.dyn_into::<web_sys::HtmlElement>().ok());
    if let Some(button) = button {
        let _ = button.focus();
    }
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

    let tag_filter = use_state_eq(|| None::<String>);
    let sort = use_state_eq(PhotoSort::default);
    {
        let grid = grid.clone();
        let counter = counter.clone();
        use_effect_with(
            (filter, revision, (*tag_filter).clone(), *sort),
            move |(filter, _, tag, sort)| {
                let request = {
                    let mut c = counter.borrow_mut();
                    *c = c.wrapping_add(1);
                    *c
                };
                grid.dispatch(GridAction::Reload(request, *filter, tag.clone(), *sort));
                fetch(grid, request, (*filter, tag.clone(), *sort), None);
            },
        );
    }
    // The user's tags for the filter, again whenever the library changed.
    let tag_list = use_state_eq(Vec::<shared::api::TagCount>::new);
    {
        let tag_list = tag_list.clone();
        use_effect_with(revision, move |_| {
            wasm_bindgen_futures::spawn_local(async move {
                if let Ok(list) = api::tags().await {
                    tag_list.set(list.tags);
                }
            });
        });
    }
    let tagging = library
        .as_ref()
        .and_then(|l| l.tagging.clone())
        .filter(|t| t.enabled);

    // A photo the server has not judged yet gets its preview as its card nears the screen
    // (the cards are watched by the pool), so the workers judge what the user looks at first,
    // not every photo of a long page.
    // The pool's own context never changes, so the previews' answers render only the cards
    // they concern, not this grid.
    let preview_pool = use_context::<Rc<crate::previews::Pool>>();

    let load_more = {
        let grid = grid.clone();
        let counter = counter.clone();
        use_stable_callback(move |()| {
            if grid.loading {
                return;
            }
            let Some(cursor) = grid.next_cursor.clone() else {
                return;
            };
            let request = {
                let mut c = counter.borrow_mut();
                *c = c.wrapping_add(1);
                *c
            };
            grid.dispatch(GridAction::LoadingMore(request));
            fetch(
                grid.clone(),
                request,
                (grid.filter, grid.tag.clone(), grid.sort),
                Some(cursor),
            );
        })
    };
    // The next page loads by itself as the end of the grid nears the screen, like any photo
    // library; the "Load more" button stays for the keyboard and for browsers without an
    // IntersectionObserver.
    let more = use_node_ref();
    // The cards of a page that just arrived mount a slice per frame (see `use_revealed`); the
    // grid counts as loaded once all are in, and the next page waits until then.
    let revealed = use_revealed(grid.items.len(), MAX_CARDS_PER_FRAME);
    let all_shown = revealed >= grid.items.len();
    {
        let more = more.clone();
        let load_more = load_more.clone();
        let armed =
            grid.next_cursor.is_some() && !grid.loading && grid.error.is_none() && all_shown;
        use_effect_with((grid.next_cursor.clone(), armed), move |(_, armed)| {
            let watch = armed
                .then(|| {
                    crate::visibility::when_visible(&more, "100% 0px", move || load_more.emit(()))
                })
                .flatten();
            move || drop(watch)
        });
    }

    // The cards' callbacks keep their identity across renders: a grid of hundreds of cards
    // then renders only the cards whose own data changed (a preview answer, a verdict).
    let on_analyze = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        use_stable_callback(move |id: i64| {
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
        use_stable_callback(move |id: i64| {
            if confirm_delete(&grid, id) {
                delete(grid.clone(), action_error.clone(), id);
            }
        })
    };

    let on_select = {
        let grid = grid.clone();
        use_stable_callback(move |(id, range): (i64, bool)| {
            grid.dispatch(GridAction::Select { id, range });
        })
    };
    let select_all = {
        let grid = grid.clone();
        Callback::from(move |_: MouseEvent| grid.dispatch(GridAction::SelectAll))
    };
    let clear_selection = {
        let grid = grid.clone();
        Callback::from(move |_: MouseEvent| grid.dispatch(GridAction::ClearSelection))
    };
    let analyze_selected = library.clone().map(|library| {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |_: MouseEvent| {
            let ids: Vec<i64> = grid.selection().iter().map(|p| p.id).collect();
            let library = library.clone();
            let action_error = action_error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::analyze_ids(ids).await {
                    Ok(accepted) => {
                        library.dispatch(crate::library::LibraryAction::Refresh);
                        work::follow(library, accepted).await;
                    }
                    Err(e) => action_error.set(Some(format!("Could not analyze: {}", e.message()))),
                }
            });
        })
    });
    let delete_selected = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |_: MouseEvent| {
            let ids: Vec<i64> = grid.selection().iter().map(|p| p.id).collect();
            let question = match ids.len() {
                0 => return,
                1 => "Delete the selected photo? This cannot be undone.".to_string(),
                n => format!("Delete {n} selected photos? This cannot be undone."),
            };
            let confirmed = web_sys::window()
                .and_then(|w| w.confirm_with_message(&question).ok())
                .unwrap_or(false);
            if confirmed {
                wasm_bindgen_futures::spawn_local(delete_many(
                    grid.clone(),
                    action_error.clone(),
                    ids,
                ));
            }
        })
    };
    let export = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        let tab = props.tab;
        Callback::from(move |_: MouseEvent| {
            let selection = grid.selection();
            let rows: Vec<&Photo> = if selection.is_empty() {
                grid.items.iter().collect()
            } else {
                selection
            };
            let name = format!(
                "classify-{}.csv",
                api::filter_param(tab.filter().unwrap_or_default())
            );
            if let Err(e) = crate::export::download(&name, &crate::export::csv(&rows)) {
                action_error.set(Some(format!("Could not export: {e}")));
            }
        })
    };

    let on_tag_filter = {
        let tag_filter = tag_filter.clone();
        use_stable_callback(move |tag: Option<String>| tag_filter.set(tag))
    };
    let on_sort_select = {
        let sort = sort.clone();
        Callback::from(move |e: Event| {
            use wasm_bindgen::JsCast;
            let chosen = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                .and_then(|s| PhotoSort::parse(&s.value()));
            if let Some(chosen) = chosen {
                sort.set(chosen);
            }
        })
    };
    let on_tag_select = {
        let tag_filter = tag_filter.clone();
        Callback::from(move |e: Event| {
            use wasm_bindgen::JsCast;
            let value = e
                .target()
                .and_then(|t| t.dyn_into::<web_sys::HtmlSelectElement>().ok())
                .map(|s| s.value())
                .unwrap_or_default();
            tag_filter.set((!value.is_empty()).then_some(value));
        })
    };
    // Tagging sends photos to a third party: the user is asked, with where and what it
    // costs, before anything is queued.
    let tag_photos = tagging.clone().zip(library.clone()).map(|(info, library)| {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |ids: Vec<i64>| {
            let info = info.clone();
            let library = library.clone();
            let action_error = action_error.clone();
            let grid = grid.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let estimate = match api::tag_estimate(ids.clone()).await {
                    Ok(e) => e,
                    Err(e) => {
                        action_error.set(Some(format!("Could not tag: {}", e.message())));
                        return;
                    }
                };
                let question = crate::tagging::consent(
                    &info,
                    estimate.photos,
                    estimate.estimated_tokens,
                    estimate.estimated_usd,
                );
                let confirmed = web_sys::window()
                    .and_then(|w| w.confirm_with_message(&question).ok())
                    .unwrap_or(false);
                if !confirmed {
                    return;
                }
                let accepted = if ids.len() == 1 {
                    api::tag_photo(ids[0]).await
                } else {
                    api::tag_batch(ids.clone()).await
                };
                match accepted {
                    Ok(accepted) => {
                        for id in &ids {
                            grid.dispatch(GridAction::Working(*id, true));
                        }
                        work::follow_batch_of(
                            library,
                            accepted.batch_id,
                            crate::library::BatchKind::Tag,
                        )
                        .await;
                        for id in &ids {
                            grid.dispatch(GridAction::Working(*id, false));
                        }
                    }
                    Err(e) => action_error.set(Some(format!("Could not tag: {}", e.message()))),
                }
            });
        })
    });
    let on_tag = {
        let enabled = tag_photos.is_some();
        let tag_photos = tag_photos.clone();
        let tag_one = use_stable_callback(move |id: i64| {
            if let Some(tag) = &tag_photos {
                tag.emit(vec![id]);
            }
        });
        enabled.then_some(tag_one)
    };
    let tag_selected = tag_photos.clone().map(|tag| {
        let grid = grid.clone();
        Callback::from(move |_: MouseEvent| {
            tag.emit(grid.selection().iter().map(|p| p.id).collect());
        })
    });
    let on_remove_tag = {
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |(id, tag): (i64, String)| {
            let grid = grid.clone();
            let action_error = action_error.clone();
            wasm_bindgen_futures::spawn_local(async move {
                match api::remove_tag(id, &tag).await {
                    Ok(()) => {
                        if let Ok(photo) = api::photo(id).await {
                            grid.dispatch(GridAction::Updated(Box::new(photo)));
                        }
                    }
                    Err(e) => {
                        action_error.set(Some(format!("Could not remove the tag: {}", e.message())))
                    }
                }
            });
        })
    };

    // The photo view: which photo it shows (by id, so a refetch keeps it), and the moves.
    let viewing = use_state_eq(|| None::<i64>);
    let on_open = {
        let viewing = viewing.clone();
        use_stable_callback(move |id: i64| viewing.set(Some(id)))
    };
    let close_view = {
        let viewing = viewing.clone();
        Callback::from(move |()| viewing.set(None))
    };
    // When the view closes, the focus goes back to the card it showed last, once the view
    // has left the page (focus moved earlier would be lost with it).
    {
        let last_viewed = use_mut_ref(|| None::<i64>);
        use_effect_with(*viewing, move |now| {
            let before = last_viewed.replace(*now);
            if let (None, Some(id)) = (now, before) {
                focus_card(id);
            }
        });
    }
    let step_view = {
        let viewing = viewing.clone();
        let grid = grid.clone();
        Callback::from(move |by: isize| {
            if let Some(next) = (*viewing).and_then(|id| neighbour(&grid.items, id, by)) {
                viewing.set(Some(next));
            }
        })
    };
    let delete_in_view = {
        let viewing = viewing.clone();
        let grid = grid.clone();
        let action_error = action_error.clone();
        Callback::from(move |id: i64| {
            if !confirm_delete(&grid, id) {
                return;
            }
            // The culling rhythm: the next photo takes the deleted one's place.
            let next = neighbour(&grid.items, id, 1).or_else(|| neighbour(&grid.items, id, -1));
            viewing.set(next);
            delete(grid.clone(), action_error.clone(), id);
        })
    };

    // Each category tab offers its own bulk verification: the unprocessed photos everywhere
    // but the Failed tab, which retries its photos instead.
    let (analyze_label, analyze_filter) = if props.tab == Tab::Failed {
        ("Retry failed", PhotoFilter::Failed)
    } else {
        ("Analyze all unprocessed", PhotoFilter::Unprocessed)
    };
    let analyze_all = library.clone().map(|library| {
        Callback::from(move |_: MouseEvent| {
            wasm_bindgen_futures::spawn_local(work::verify_category(
                library.clone(),
                analyze_filter,
            ));
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
                data-loaded={(grid.loaded && all_shown).to_string()}
                aria-busy={(grid.loading || !all_shown).to_string()}>
                { for grid.items.iter().take(revealed).map(|photo| html! {
                    <PhotoCard key={photo.id} photo={photo.clone()}
                               working={grid.working.contains(&photo.id)}
                               on_analyze={on_analyze.clone()} on_delete={on_delete.clone()}
                               on_open={on_open.clone()}
                               selected={grid.selected.contains(&photo.id)}
                               on_select={on_select.clone()}
                               preview_pool={preview_pool.clone()}
                               threshold={library.as_ref().and_then(|l| l.threshold)}
                               on_tag={on_tag.clone()}
                               on_tag_filter={on_tag_filter.clone()} />
                }) }
            </ul>
        }
    };

    let view = (*viewing).and_then(|id| {
        let index = grid.items.iter().position(|p| p.id == id)?;
        let photo = grid.items[index].clone();
        let threshold = library.as_ref().and_then(|l| l.threshold);
        Some(html! {
            <PhotoView photo={photo} threshold={threshold}
                       position={(index + 1, grid.items.len())}
                       working={grid.working.contains(&id)}
                       on_close={close_view.clone()} on_step={step_view.clone()}
                       on_delete={delete_in_view.clone()}
                       on_remove_tag={on_remove_tag.clone()} />
        })
    });

    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{ props.tab.label() }</h1>
            <UploadArea compact={!grid.items.is_empty()} />
            <div class="toolbar">
                if let Some(analyze_all) = analyze_all {
                    <button type="button" onclick={analyze_all} disabled={busy}
                            data-testid="analyze-all">{ analyze_label }</button>
                }
                <label class="sort">
                    {"Sort "}
                    <select onchange={on_sort_select} data-testid="sort">
                        { for PhotoSort::ALL.into_iter().map(|s| html! {
                            <option value={s.as_str()} selected={*sort == s}>{ s.label() }</option>
                        }) }
                    </select>
                </label>
                if !tag_list.is_empty() || tag_filter.is_some() {
                    <label class="tag-filter">
                        {"Tag "}
                        <select onchange={on_tag_select} data-testid="tag-filter">
                            <option value="" selected={tag_filter.is_none()}>{"any"}</option>
                            { for tag_list.iter().map(|t| html! {
                                <option value={t.tag.clone()}
                                        selected={tag_filter.as_deref() == Some(t.tag.as_str())}>
                                    { format!("{} ({})", t.tag, t.count) }
                                </option>
                            }) }
                        </select>
                    </label>
                }
                <span class="muted" aria-live="polite">
                    { if grid.loading { "Loading…".to_string() } else { format!("{} shown", grid.items.len()) } }
                </span>
            </div>
            if !grid.items.is_empty() {
                <div class="selection-bar" role="toolbar" aria-label="Selected photos"
                     data-testid="selection-bar" data-selected={grid.selected.len().to_string()}>
                    <span class="selected-count" aria-live="polite" data-testid="selected-count">
                        { match grid.selected.len() {
                            0 => "None selected".to_string(),
                            n => format!("{n} selected"),
                        } }
                    </span>
                    <button type="button" onclick={select_all}
                            disabled={grid.selected.len() == grid.items.len()}
                            data-testid="select-all">
                        { format!("Select all {}", grid.items.len()) }
                    </button>
                    if !grid.selected.is_empty() {
                        <button type="button" onclick={clear_selection}
                                data-testid="clear-selection">{"Clear selection"}</button>
                        if let Some(analyze_selected) = analyze_selected {
                            <button type="button" onclick={analyze_selected} disabled={busy}
                                    data-testid="analyze-selected">{"Analyze selected"}</button>
                        }
                        if let Some(tag_selected) = tag_selected {
                            <button type="button" onclick={tag_selected} disabled={busy}
                                    title="Describe them with AI tags (asks first: the photos are sent to the model's provider)"
                                    data-testid="tag-selected">{"Tag selected"}</button>
                        }
                        <button type="button" class="danger" onclick={delete_selected}
                                data-testid="delete-selected">{"Delete selected"}</button>
                    }
                    <button type="button" onclick={export} data-testid="export-csv"
                            title="The photos shown (or the selected ones) as a CSV file">
                        { if grid.selected.is_empty() { "Export list (CSV)" } else { "Export selected (CSV)" } }
                    </button>
                </div>
            }
            <ActivityPanel />
            if let Some(e) = &*action_error {
                <p class="error" role="alert">{ e }</p>
            }
            { body }
            if grid.next_cursor.is_some() && grid.error.is_none() && all_shown {
                <div class="more" ref={more}>
                    <button type="button" onclick={load_more.reform(|_: MouseEvent| ())}
                            disabled={grid.loading}
                            data-testid="load-more">{"Load more"}</button>
                </div>
            }
            { for view }
        </section>
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use shared::api::VerificationStatus;

    #[test]
    fn each_gallery_tab_has_its_own_empty_message() {
        let titles: Vec<_> = Tab::ALL
            .into_iter()
            .filter(|t| t.is_gallery())
            .map(|t| empty_message(t).0)
            .collect();
        let mut unique = titles.clone();
        unique.sort();
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
            camera: None,
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
        let g = reduce(
            Grid::default(),
            GridAction::Reload(1, PhotoFilter::All, None, PhotoSort::Newest),
        );
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
            GridAction::Reload(1, PhotoFilter::Unprocessed, None, PhotoSort::Newest),
        );
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[2, 1], None),
            },
        );
        let g = reduce(g, GridAction::Updated(Box::new(photo(2, Some(true)))));
        assert_eq!(g.items.iter().map(|p| p.id).collect::<Vec<_>>(), [1]);
    }

    #[test]
    fn the_photo_view_steps_through_the_grid_and_stops_at_its_ends() {
        let items: Vec<Photo> = [5, 4, 3].iter().map(|id| photo(*id, None)).collect();
        assert_eq!(neighbour(&items, 4, 1), Some(3));
        assert_eq!(neighbour(&items, 4, -1), Some(5));
        assert_eq!(neighbour(&items, 5, -1), None);
        assert_eq!(neighbour(&items, 3, 1), None);
        assert_eq!(
            neighbour(&items, 9, 1),
            None,
            "a photo no longer in the grid"
        );
    }

    fn loaded(ids: &[i64]) -> Grid {
        let g = reduce(
            Grid::default(),
            GridAction::Reload(1, PhotoFilter::All, None, PhotoSort::Newest),
        );
        reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(ids, None),
            },
        )
    }

    fn selected(g: &Grid) -> Vec<i64> {
        g.selection().iter().map(|p| p.id).collect()
    }

    #[test]
    fn a_click_toggles_one_photo_and_shift_click_selects_the_range_between() {
        let g = loaded(&[6, 5, 4, 3, 2, 1]);
        let g = reduce(
            g,
            GridAction::Select {
                id: 5,
                range: false,
            },
        );
        assert_eq!(selected(&g), [5]);
        // Shift from 5 to 2: everything between, in grid order.
        let g = reduce(g, GridAction::Select { id: 2, range: true });
        assert_eq!(selected(&g), [5, 4, 3, 2]);
        // Shift-click on a selected photo unselects the range from the anchor (2) to it.
        let g = reduce(g, GridAction::Select { id: 3, range: true });
        assert_eq!(selected(&g), [5, 4]);
        let g = reduce(
            g,
            GridAction::Select {
                id: 5,
                range: false,
            },
        );
        assert_eq!(selected(&g), [4]);
        // A shift-click with no anchor on screen selects just the one.
        let g = reduce(
            loaded(&[3, 2, 1]),
            GridAction::Select { id: 1, range: true },
        );
        assert_eq!(selected(&g), [1]);
    }

    #[test]
    fn select_all_clear_and_deletions_keep_the_selection_true() {
        let g = loaded(&[3, 2, 1]);
        let g = reduce(g, GridAction::SelectAll);
        assert_eq!(selected(&g), [3, 2, 1]);
        let g = reduce(g, GridAction::Removed(2));
        assert_eq!(g.selected, [3, 1], "a deleted photo is no longer selected");
        let g = reduce(g, GridAction::ClearSelection);
        assert!(g.selected.is_empty() && g.anchor.is_none());
        // Another tab starts with nothing selected.
        let g = reduce(
            reduce(g, GridAction::SelectAll),
            GridAction::Reload(2, PhotoFilter::Blurred, None, PhotoSort::Newest),
        );
        assert!(g.selected.is_empty());
    }

    #[test]
    fn switching_tabs_clears_the_old_photos() {
        let g = reduce(
            Grid::default(),
            GridAction::Reload(1, PhotoFilter::All, None, PhotoSort::Newest),
        );
        let g = reduce(
            g,
            GridAction::Page {
                request: 1,
                append: false,
                page: page(&[1], None),
            },
        );
        let g = reduce(
            g,
            GridAction::Reload(2, PhotoFilter::Blurred, None, PhotoSort::Newest),
        );
        assert!(g.items.is_empty() && !g.loaded);
    }
}
