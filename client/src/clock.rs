//! The page's clock for timing its own work: `performance.now()` (monotonic), or the wall
//! clock where there is no `Performance`.

/// Milliseconds on the page's clock.
pub fn now_ms() -> f64 {
    web_sys::window()
        .and_then(|w| w.performance())
        .map_or_else(js_sys::Date::now, |p| p.now())
}
