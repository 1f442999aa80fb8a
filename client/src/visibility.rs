//! "Tell me when this element comes on screen": one IntersectionObserver per element, which
//! fires once (with a margin, so work starts just before the user scrolls to it) and then
//! disconnects. Dropping the returned guard disconnects it early.

use wasm_bindgen::JsCast;
use wasm_bindgen::closure::Closure;
use web_sys::{IntersectionObserver, IntersectionObserverEntry, IntersectionObserverInit};
use yew::NodeRef;

/// How far outside the viewport an element already counts as visible.
const MARGIN: &str = "200px";

/// Watches one element until it is first visible.
pub struct Watch {
    observer: IntersectionObserver,
    _callback: Closure<dyn FnMut(js_sys::Array, IntersectionObserver)>,
}

impl Drop for Watch {
    fn drop(&mut self) {
        self.observer.disconnect();
    }
}

/// Calls `then` once, when `node`'s element first intersects the viewport (grown by
/// [`MARGIN`]). Without an element or an IntersectionObserver, `then` runs at once (and
/// `None` is returned): the work is done rather than never.
pub fn when_visible(node: &NodeRef, then: impl FnOnce() + 'static) -> Option<Watch> {
    let Some(element) = node.cast::<web_sys::Element>() else {
        then();
        return None;
    };
    let then = std::rc::Rc::new(std::cell::RefCell::new(Some(then)));
    let fire = {
        let then = then.clone();
        move || {
            if let Some(then) = then.borrow_mut().take() {
                then();
            }
        }
    };
    let fire_now = fire.clone();
    let callback = Closure::<dyn FnMut(js_sys::Array, IntersectionObserver)>::new(
        move |entries: js_sys::Array, observer: IntersectionObserver| {
            let seen = entries.iter().any(|e| {
                e.dyn_into::<IntersectionObserverEntry>()
                    .is_ok_and(|e| e.is_intersecting())
            });
            if seen {
                observer.disconnect();
                fire();
            }
        },
    );
    let init = IntersectionObserverInit::new();
    init.set_root_margin(MARGIN);
    let Ok(observer) =
        IntersectionObserver::new_with_options(callback.as_ref().unchecked_ref(), &init)
    else {
        fire_now();
        return None;
    };
    observer.observe(&element);
    Some(Watch {
        observer,
        _callback: callback,
    })
}
