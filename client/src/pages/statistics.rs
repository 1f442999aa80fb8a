//! The Statistics tab: counts per category, the score histogram and blur types (issue 4 brings
//! the numbers; until then it explains what will appear).

use yew::prelude::*;

/// The statistics page (today: its empty state).
#[component]
pub fn StatisticsPage() -> Html {
    html! {
        <section class="page" aria-labelledby="page-title">
            <h1 id="page-title">{"Statistics"}</h1>
            <div class="empty" role="status">
                <div class="empty-icon" aria-hidden="true">{"▁▃▅"}</div>
                <h2>{"No statistics yet"}</h2>
                <p>{"Counts per category, a histogram of blur scores with your threshold, and blur types appear once photos are analysed."}</p>
            </div>
        </section>
    }
}
