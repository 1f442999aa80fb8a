//! Hooks of our own. [`use_stable_callback`]: a callback whose identity never changes while it
//! always runs the closure of the latest render, so a list's items do not all render again
//! whenever their parent does (a new `Callback` is a changed prop). [`use_revealed`]: how many
//! items of a growing list to render, a slice more per frame, so a page of cards arriving at
//! once never holds the main thread for long.

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

/// How many of a list's `total` items to render now: those shown before, plus at most `slice`
/// more each animation frame until all are. A page of 50 cards then mounts over a few frames,
/// each a short task, instead of in one task the user feels as a stall while scrolling. When
/// the list shrinks (another tab), the count follows it down and grows again from there.
#[hook]
pub fn use_revealed(total: usize, slice: usize) -> usize {
    let shown = use_state_eq(|| total.min(slice));
    let now = (*shown).min(total);
    {
        let shown = shown.clone();
        use_effect_with((now, total), move |&(now, total)| {
            if *shown > total {
                shown.set(total);
            }
            let frame = (now < total).then(|| {
                gloo_render::request_animation_frame(move |_| {
                    shown.set((now + slice.max(1)).min(total));
                })
            });
            move || drop(frame)
        });
    }
    now
}
