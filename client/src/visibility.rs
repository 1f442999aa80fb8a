//! "Tell me when these elements come on screen": one IntersectionObserver watches any number
//! of elements and reports each once, the first time it comes within a margin of the viewport
//! (then stops watching it). One observer for a whole grid costs the page far less than one
//! per card.

use std::rc::Rc;

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{Element, IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};
use yew::NodeRef;

type EntriesCallback = Closure<dyn FnMut(js_sys::Array, IntersectionObserver)>;

/// Watches elements until each is first within `margin` of the viewport.
pub struct Observer {
    observer: IntersectionObserver,
    _callback: EntriesCallback,
}

impl std::fmt::Debug for Observer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Observer")
    }
}

impl Drop for Observer {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

impl Observer {
    /// An observer whose elements count as visible `margin` (CSS, e.g. `"0px"` or `"100%"`)
    /// outside the viewport; `on_enter` gets each element once. `None` without an
    /// IntersectionObserver.
    pub fn new(margin: &str, on_enter: impl Fn(&Element) + 'static) -> Option<Observer> {
        let callback: EntriesCallback = Closure::new(
            move |entries: js_sys::Array, observer: IntersectionObserver| {
                for entry in entries.iter() {
                    let Ok(entry) = entry.dyn_into::<IntersectionObserverEntry>() else {
                        continue;
                    };
                    if entry.is_intersecting() {
                        let target = entry.target();
                        observer.unobserve(&target);
                        on_enter(&target);
                    }
                }
            },
        );
        let init = IntersectionObserverInit::new();
        init.set_root_margin(margin);
        let observer =
            IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &init)
                .ok()?;
        Some(Observer {
            observer,
            _callback: callback,
        })
    }

    /// Starts watching `element`.
    pub fn watch(&self, element: &Element) {
        self.observer.observe(element);
    }

    /// Stops watching `element` (it left the page, or no longer needs reporting).
    pub fn unwatch(&self, element: &Element) {
        self.observer.unobserve(element);
    }
}

/// A single element watched until it is first visible; dropping it stops the watch.
pub struct Watch {
    _observer: Observer,
}

/// Calls `then` once, when `node`'s element first comes within `margin` of the viewport.
/// Without an element or an IntersectionObserver nothing is watched (`None`): the caller
/// keeps a control the user can press instead.
pub fn when_visible(node: &NodeRef, margin: &str, then: impl FnOnce() + 'static) -> Option<Watch> {
    let element = node.cast::<Element>()?;
    let then = Rc::new(std::cell::RefCell::new(Some(then)));
    let observer = Observer::new(margin, move |_: &Element| {
        if let Some(then) = then.borrow_mut().take() {
            then();
        }
    })?;
    observer.watch(&element);
    Some(Watch {
        _observer: observer,
    })
}
