//! The upload area: a drop zone for files or whole folders, and "Add photos" / "Add a
//! folder" inputs for the keyboard and for touch screens. Whatever arrives is uploaded and
//! then verified ([`crate::work::upload_and_verify`]), and previewed from the files meanwhile.

use wasm_bindgen::JsCast;
use web_sys::{DragEvent, HtmlInputElement};
use yew::prelude::*;

use crate::files::{self, Dropped};
use crate::library::LibraryHandle;
use crate::previews::Pool;
use crate::work;

/// Uploads and verifies `files`; meanwhile the preview workers judge them from the files.
pub fn start(library: &LibraryHandle, previews: Option<&Pool>, files: Vec<web_sys::File>) {
    if files.is_empty() {
        return;
    }
    if let Some(previews) = previews {
        previews.ask_files(&files);
    }
    wasm_bindgen_futures::spawn_local(work::upload_and_verify(library.clone(), files));
}

/// Properties of [`UploadArea`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct UploadAreaProps {
    /// The library already has photos: the zone shrinks to one line (still a drop target), so
    /// the grid comes first.
    #[prop_or_default]
    pub compact: bool,
}

/// The drop zone with its file inputs.
#[component]
pub fn UploadArea(props: &UploadAreaProps) -> Html {
    let library = use_context::<LibraryHandle>();
    let previews = use_context::<std::rc::Rc<Pool>>();
    let hovering = use_state(|| false);
    let Some(library) = library else {
        return html! {};
    };
    let busy = library.busy();

    let on_input = {
        let library = library.clone();
        let previews = previews.clone();
        Callback::from(move |e: Event| {
            let Some(input) = e
                .target()
                .and_then(|t| t.dyn_into::<HtmlInputElement>().ok())
            else {
                return;
            };
            let chosen = input
                .files()
                .map(|l| files::from_list(&l))
                .unwrap_or_default();
            // Cleared so that choosing the same files again fires `change` again.
            input.set_value("");
            start(&library, previews.as_deref(), chosen);
        })
    };
    let on_drag_over = {
        let hovering = hovering.clone();
        Callback::from(move |e: DragEvent| {
            // Without preventDefault the browser would open the dropped file itself.
            e.prevent_default();
            hovering.set(true);
        })
    };
    let on_drag_leave = {
        let hovering = hovering.clone();
        Callback::from(move |_: DragEvent| hovering.set(false))
    };
    let on_drop = {
        let library = library.clone();
        let previews = previews.clone();
        let hovering = hovering.clone();
        Callback::from(move |e: DragEvent| {
            e.prevent_default();
            hovering.set(false);
            let Some(data) = e.data_transfer() else {
                return;
            };
            let dropped = Dropped::take(&data);
            let library = library.clone();
            let previews = previews.clone();
            wasm_bindgen_futures::spawn_local(async move {
                let files = dropped.files().await;
                start(&library, previews.as_deref(), files);
            });
        })
    };

    html! {
        <section
            class={classes!("dropzone", (*hovering).then_some("hover"), props.compact.then_some("compact"))}
            data-testid="dropzone" data-compact={props.compact.to_string()}
            aria-labelledby="upload-title"
            ondragover={on_drag_over}
            ondragenter={Callback::from(|e: DragEvent| e.prevent_default())}
            ondragleave={on_drag_leave}
            ondrop={on_drop}
        >
            <h2 id="upload-title" class="dropzone-title">{"Add photos"}</h2>
            if props.compact {
                <p class="muted">{"Drop more photos or a folder here."}</p>
            } else {
                <p class="muted">{"Drop photos or a folder here, or choose them. They are uploaded to this server and every one is verified."}</p>
            }
            <div class="dropzone-actions">
                <label class={classes!("button", "primary", busy.then_some("disabled"))}>
                    {"Add photos"}
                    <input
                        class="visually-hidden"
                        type="file"
                        multiple=true
                        accept="image/*"
                        data-testid="file-input"
                        disabled={busy}
                        onchange={on_input.clone()}
                    />
                </label>
                <label class={classes!("button", busy.then_some("disabled"))}>
                    {"Add a folder"}
                    <input
                        class="visually-hidden"
                        type="file"
                        multiple=true
                        webkitdirectory=true
                        data-testid="folder-input"
                        disabled={busy}
                        onchange={on_input}
                    />
                </label>
            </div>
        </section>
    }
}
