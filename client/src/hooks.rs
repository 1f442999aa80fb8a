//! Hooks of our own. [`use_stable_callback`]: a callback whose identity never changes while it
//! always runs the closure of the latest render, so a list's items do not all render again
//! whenever their parent does (a new `Callback` is a changed prop). [`use_revealed`]: how many
//! items of a growing list to render, a slice more per frame, sized to a time budget, so a page
//! of cards arriving at once never holds the main thread for long.

use std::cell::RefCell;
use std::rc::Rc;

use yew::prelude::*;

use crate::clock::now_ms;

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

/// Time the items a frame adds may take to mount, scripts and rendering included (half a
/// 60 Hz frame: the browser keeps the rest for style, layout and paint).
pub const FRAME_BUDGET_MS: f64 = 8.0;

/// Items the first frame adds; later frames adapt (see [`next_slice`]).
const FIRST_SLICE: usize = 4;

/// The next frame's slice after one of `slice` items took `took_ms` to mount: halved when it
/// overran the budget, doubled (up to `max`) when it used under half of it. So a fast machine
/// fills the grid in a few frames and a slow or busy one still keeps every frame short.
pub fn next_slice(slice: usize, took_ms: f64, budget_ms: f64, max: usize) -> usize {
    let max = max.max(1);
    if took_ms > budget_ms {
        (slice / 2).max(1)
    } else if took_ms < budget_ms / 2.0 {
        slice.saturating_mul(2).min(max)
    } else {
        slice.min(max)
    }
}

/// How many of a list's `total` items to render now: those shown before, plus a slice more
/// each animation frame until all are, the slice sized so each frame's mounting stays within
/// [`FRAME_BUDGET_MS`] (at most `max_slice`). A page of 60 cards then mounts over a few
/// frames, each a short task, instead of in one task the user feels as a stall while
/// scrolling. When the list shrinks (another tab), the count follows it down and grows again
/// from there.
#[hook]
pub fn use_revealed(total: usize, max_slice: usize) -> usize {
    let shown = use_state_eq(|| total.min(FIRST_SLICE));
    let slice = use_mut_ref(|| FIRST_SLICE);
    // When the frame that asked for the last slice began: the effect after its render times it.
    let asked_at = use_mut_ref(|| None::<f64>);
    let now = (*shown).min(total);
    {
        let shown = shown.clone();
        use_effect_with((now, total), move |&(now, total)| {
            if let Some(started) = asked_at.borrow_mut().take() {
                let next = next_slice(
                    *slice.borrow(),
                    now_ms() - started,
                    FRAME_BUDGET_MS,
                    max_slice,
                );
                *slice.borrow_mut() = next;
            }
            if *shown > total {
                shown.set(total);
            }
            let frame = (now < total).then(|| {
                gloo_render::request_animation_frame(move |_| {
                    *asked_at.borrow_mut() = Some(now_ms());
                    shown.set((now + *slice.borrow()).min(total));
                })
            });
            move || drop(frame)
        });
    }
    now
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_slice_halves_after_an_overrun_and_doubles_while_frames_are_cheap() {
        assert_eq!(next_slice(8, 20.0, 8.0, 24), 4);
        assert_eq!(next_slice(1, 20.0, 8.0, 24), 1, "never below one");
        assert_eq!(next_slice(8, 2.0, 8.0, 24), 16);
        assert_eq!(next_slice(16, 2.0, 8.0, 24), 24, "never above the cap");
        assert_eq!(next_slice(8, 6.0, 8.0, 24), 8, "inside the budget: kept");
        assert_eq!(next_slice(8, 6.0, 8.0, 0), 1, "a cap of zero still reveals");
    }
}
