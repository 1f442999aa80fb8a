//! Hooks of our own. [`use_stable_callback`]: a callback whose identity never changes while it
//! always runs the closure of the latest render, so a list's items do not all render again
//! whenever their parent does (a new `Callback` is a changed prop).

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

/// The closure of the latest render.
type Latest<IN> = Rc<RefCell<Option<Rc<dyn Fn(IN)>>>>;

/// A callback that stays the same object for the component's life and calls `f` as given by
/// the latest render (so it sees the latest state handles, never stale ones).
#[hook]
pub fn use_stable_callback<IN, F>(f: F) -> Callback<IN>
where
    IN: 'static,
    F: Fn(IN) + 'static,
{
    let latest: Latest<IN> = (*use_memo((), |_| Rc::new(RefCell::new(None)))).clone();
    *latest.borrow_mut() = Some(Rc::new(f));
    (*use_memo((), move |_| {
        Callback::from(move |input: IN| {
            // Cloned out first: the closure may cause a render, which replaces it.
            let f = latest.borrow().clone();
            if let Some(f) = f {
                f(input);
            }
        })
    }))
    .clone()
}
