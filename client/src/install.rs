//! The installable app's side in the page (the service worker itself is `client/sw.js`):
//! registering the worker, knowing when the page shows the last copies because the server
//! cannot be reached, and taking the photos shared to the app from the phone's share sheet.

use gloo_events::EventListener;
use wasm_bindgen::{JsCast, JsValue};
use wasm_bindgen_futures::JsFuture;
use web_sys::{Cache, File, FilePropertyBag, Request, Response};
use yew::prelude::*;

/// The cache the service worker keeps shared files in until the page takes them.
const SHARED_CACHE: &str = "classify-shared";
/// The query a share lands on: `/?shared=N`.
const SHARED_PARAM: &str = "shared";

/// Registers `/sw.js` for the whole app. Failure only costs offline use and installing, so it
/// is logged, never shown as an error.
pub fn register_service_worker() {
    let Some(window) = web_sys::window() else {
        return;
    };
    let container = window.navigator().service_worker();
    let registering = container.register("/sw.js");
    wasm_bindgen_futures::spawn_local(async move {
        if let Err(e) = JsFuture::from(registering).await {
            web_sys::console::warn_1(&JsValue::from_str(&format!(
                "Classify works without its service worker (no offline use): {e:?}"
            )));
        }
    });
}

/// Whether what the page shows came from the service worker's copies because the server did
/// not answer; follows every answer the worker gives.
#[hook]
pub fn use_offline() -> bool {
    let offline = use_state_eq(|| false);
    {
        let offline = offline.clone();
        use_effect_with((), move |_| {
            let listener = web_sys::window().map(|w| {
                let container = w.navigator().service_worker();
                EventListener::new(&container, "message", move |event| {
                    let data = event
                        .dyn_ref::<web_sys::MessageEvent>()
                        .map(web_sys::MessageEvent::data);
                    if let Some(flag) = data.as_ref().and_then(offline_flag) {
                        offline.set(flag);
                    }
                })
            });
            move || drop(listener)
        });
    }
    *offline
}

/// The `offline` of the worker's `{kind: "classify-offline", offline}` message.
fn offline_flag(data: &JsValue) -> Option<bool> {
    let kind = js_sys::Reflect::get(data, &JsValue::from_str("kind")).ok()?;
    if kind.as_string().as_deref() != Some("classify-offline") {
        return None;
    }
    js_sys::Reflect::get(data, &JsValue::from_str("offline"))
        .ok()?
        .as_bool()
}

/// How many files a share announced, when the page was opened by one (`/?shared=N`).
pub fn shared_count() -> Option<usize> {
    let search = web_sys::window()?.location().search().ok()?;
    parse_shared(&search)
}

fn parse_shared(search: &str) -> Option<usize> {
    search
        .trim_start_matches('?')
        .split('&')
        .find_map(|pair| pair.strip_prefix(SHARED_PARAM)?.strip_prefix('='))
        .and_then(|n| n.parse().ok())
}

/// Takes the files a share left in the worker's cache (and removes them, so a reload does not
/// upload them twice), then drops `?shared=` from the address, keeping the tab.
pub async fn take_shared() -> Result<Vec<File>, String> {
    let window = web_sys::window().ok_or("no window")?;
    let files = read_shared(&window).await.map_err(describe)?;
    if let Ok(history) = window.history() {
        let hash = window.location().hash().unwrap_or_default();
        let _ = history.replace_state_with_url(&JsValue::NULL, "", Some(&format!("/{hash}")));
    }
    Ok(files)
}

async fn read_shared(window: &web_sys::Window) -> Result<Vec<File>, JsValue> {
    let caches = window.caches()?;
    let cache: Cache = JsFuture::from(caches.open(SHARED_CACHE))
        .await?
        .dyn_into()?;
    let keys: js_sys::Array = JsFuture::from(cache.keys()).await?.dyn_into()?;
    let mut files = Vec::new();
    for key in keys.iter() {
        let request: Request = key.dyn_into()?;
        let Ok(response) = JsFuture::from(cache.match_with_request(&request))
            .await?
            .dyn_into::<Response>()
        else {
            continue;
        };
        let name = response
            .headers()
            .get("x-filename")?
            .and_then(|n| js_sys::decode_uri_component(&n).ok())
            .map(String::from)
            .unwrap_or_else(|| "shared photo".into());
        let kind = response.headers().get("content-type")?.unwrap_or_default();
        let blob: web_sys::Blob = JsFuture::from(response.blob()?).await?.dyn_into()?;
        let options = FilePropertyBag::new();
        options.set_type(&kind);
        let parts = js_sys::Array::of1(&blob);
        files.push(File::new_with_blob_sequence_and_options(
            &parts, &name, &options,
        )?);
        JsFuture::from(cache.delete_with_request(&request)).await?;
    }
    Ok(files)
}

fn describe(e: JsValue) -> String {
    e.as_string()
        .or_else(|| {
            e.dyn_ref::<js_sys::Error>()
                .map(|e| String::from(e.message()))
        })
        .unwrap_or_else(|| "the shared files could not be read".into())
}

#[cfg(test)]
mod tests {
    use super::parse_shared;

    #[test]
    fn a_share_is_recognised_by_its_query_only() {
        assert_eq!(parse_shared("?shared=3"), Some(3));
        assert_eq!(parse_shared("?a=1&shared=0"), Some(0));
        assert_eq!(parse_shared(""), None);
        assert_eq!(parse_shared("?sharedx=3"), None);
        assert_eq!(parse_shared("?shared=many"), None);
    }
}
