//! Main-thread long tasks (over 50 ms: the page could not answer a click meanwhile), recorded
//! from the page's start by a PerformanceObserver, so the Debug tab can say whether the page
//! ever froze while it worked (uploads, previews, big grids).

use std::cell::RefCell;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{PerformanceObserver, PerformanceObserverEntryList};

type Callback = Closure<dyn FnMut(PerformanceObserverEntryList, PerformanceObserver)>;

thread_local! {
    static DURATIONS: RefCell<Vec<f64>> = const { RefCell::new(Vec::new()) };
    static OBSERVER: RefCell<Option<(PerformanceObserver, Callback)>> = const { RefCell::new(None) };
}

/// Starts recording (once; later calls do nothing). Browsers without the Long Tasks API record
/// nothing, and [`recorded`] says so.
pub fn start() {
    if OBSERVER.with(|o| o.borrow().is_some()) {
        return;
    }
    let callback: Callback = Closure::new(
        |list: PerformanceObserverEntryList, _: PerformanceObserver| {
            let entries = list.get_entries();
            DURATIONS.with(|d| {
                let mut d = d.borrow_mut();
                for entry in entries.iter() {
                    if let Ok(entry) = entry.dyn_into::<web_sys::PerformanceEntry>() {
                        d.push(entry.duration());
                    }
                }
            });
        },
    );
    let Ok(observer) = PerformanceObserver::new(callback.as_ref().unchecked_ref()) else {
        return;
    };
    // `{type: "longtask", buffered: true}`: tasks before the observer started count too.
    let init = js_sys::Object::new();
    let set = |k: &str, v: wasm_bindgen::JsValue| js_sys::Reflect::set(&init, &k.into(), &v);
    if set("type", "longtask".into()).is_err() || set("buffered", true.into()).is_err() {
        return;
    }
    // Browsers without the Long Tasks API ignore the type (with a console warning).
    observer.observe(init.unchecked_ref::<web_sys::PerformanceObserverInit>());
    OBSERVER.with(|o| *o.borrow_mut() = Some((observer, callback)));
}

/// Whether the browser records long tasks (the observer started).
pub fn recorded() -> bool {
    OBSERVER.with(|o| o.borrow().is_some())
}

/// The long tasks so far: how many, and the longest in ms.
pub fn summary() -> (usize, f64) {
    DURATIONS.with(|d| {
        let d = d.borrow();
        (d.len(), d.iter().copied().fold(0.0, f64::max))
    })
}
