//! The histogram of verified scores as inline SVG: one bar per bin, bars at or above the
//! threshold in the "blurred" colour, and the threshold itself as a vertical line. Each bar
//! has a `<title>` (a tooltip and its accessible name); the figure also has a text summary.

use shared::api::HistogramBin;
use yew::prelude::*;

/// Drawing width of the chart, in SVG units (it scales to its container).
const WIDTH: f64 = 400.0;
/// Drawing height of the bars' area.
const HEIGHT: f64 = 160.0;
/// Room under the bars for the axis labels.
const AXIS: f64 = 20.0;
/// Gap between bars.
const GAP: f64 = 2.0;

/// One bar's geometry.
#[derive(Debug, Clone, PartialEq)]
pub struct Bar {
    /// Left edge.
    pub x: f64,
    /// Top edge.
    pub y: f64,
    /// Width.
    pub width: f64,
    /// Height (0 for an empty bin).
    pub height: f64,
    /// The bin lies at or above the threshold: its photos are blurred.
    pub blurred: bool,
    /// The bin.
    pub bin: HistogramBin,
}

/// Lays the bins out over [0, 1] on a `width` x `height` area, tallest bin at full height.
pub fn bars(bins: &[HistogramBin], threshold: f64, width: f64, height: f64) -> Vec<Bar> {
    let tallest = bins.iter().map(|b| b.count).max().unwrap_or(0).max(1) as f64;
    bins.iter()
        .map(|bin| {
            let x = bin.from.clamp(0.0, 1.0) * width;
            let w = ((bin.to - bin.from).clamp(0.0, 1.0) * width - GAP).max(1.0);
            let h = bin.count.max(0) as f64 / tallest * height;
            Bar {
                x: x + GAP / 2.0,
                y: height - h,
                width: w,
                height: h,
                blurred: bin.from >= threshold,
                bin: *bin,
            }
        })
        .collect()
}

/// Properties of [`Histogram`].
#[derive(Debug, Clone, PartialEq, Properties)]
pub struct HistogramProps {
    /// The bins from `/api/v1/stats`.
    pub bins: Vec<HistogramBin>,
    /// The user's threshold.
    pub threshold: f64,
}

/// The chart.
#[component]
pub fn Histogram(props: &HistogramProps) -> Html {
    let threshold = props.threshold.clamp(0.0, 1.0);
    let line_x = threshold * WIDTH;
    let summary = props
        .bins
        .iter()
        .map(|b| format!("{:.1}–{:.1}: {}", b.from, b.to, b.count))
        .collect::<Vec<_>>()
        .join(", ");
    html! {
        <figure class="histogram" data-testid="histogram">
            <svg viewBox={format!("0 0 {WIDTH} {}", HEIGHT + AXIS)} role="img"
                 aria-label={format!("Histogram of blur scores with the threshold at {threshold:.2}")}>
                { for bars(&props.bins, threshold, WIDTH, HEIGHT).into_iter().map(|bar| html! {
                    <rect class={classes!("bin", bar.blurred.then_some("blurred"))}
                          x={format!("{:.1}", bar.x)} y={format!("{:.1}", bar.y)}
                          width={format!("{:.1}", bar.width)} height={format!("{:.1}", bar.height)}
                          data-count={bar.bin.count.to_string()}>
                        <title>{ format!("{:.1}–{:.1}: {} photo(s)", bar.bin.from, bar.bin.to, bar.bin.count) }</title>
                    </rect>
                }) }
                <line class="axis" x1="0" y1={HEIGHT.to_string()} x2={WIDTH.to_string()} y2={HEIGHT.to_string()} />
                <text class="tick" x="0" y={(HEIGHT + 15.0).to_string()}>{"0"}</text>
                <text class="tick" x={(WIDTH / 2.0).to_string()} y={(HEIGHT + 15.0).to_string()} text-anchor="middle">{"0.5"}</text>
                <text class="tick" x={WIDTH.to_string()} y={(HEIGHT + 15.0).to_string()} text-anchor="end">{"1"}</text>
                <line class="threshold-line" data-testid="threshold-line"
                      x1={format!("{line_x:.1}")} y1="0" x2={format!("{line_x:.1}")} y2={HEIGHT.to_string()}>
                    <title>{ format!("Threshold {threshold:.2}") }</title>
                </line>
                // Labelled inside the chart, on the side with more room.
                <text class="threshold-label" x={format!("{:.1}", if threshold > 0.5 { line_x - 4.0 } else { line_x + 4.0 })}
                      y="10" text-anchor={if threshold > 0.5 { "end" } else { "start" }} aria-hidden="true">
                    { format!("{threshold:.2}") }
                </text>
            </svg>
            <figcaption class="muted">
                { format!("Verified photos per score (0 = sharp, 1 = blurred); the line is your threshold, {threshold:.2}.") }
                <span class="visually-hidden">{ format!(" Bins: {summary}.") }</span>
            </figcaption>
        </figure>
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn bin(i: usize, count: i64) -> HistogramBin {
        HistogramBin {
            from: i as f64 / 10.0,
            to: (i + 1) as f64 / 10.0,
            count,
        }
    }

    #[test]
    fn the_tallest_bin_fills_the_height_and_empty_bins_are_flat() {
        let bins: Vec<_> = (0..10)
            .map(|i| bin(i, if i == 3 { 8 } else { i as i64 % 2 * 4 }))
            .collect();
        let laid = bars(&bins, 0.5, 400.0, 100.0);
        assert_eq!(laid.len(), 10);
        assert!((laid[3].height - 100.0).abs() < 1e-9);
        assert!((laid[1].height - 50.0).abs() < 1e-9);
        assert_eq!(laid[0].height, 0.0);
        assert!(laid.windows(2).all(|w| w[0].x < w[1].x));
    }

    #[test]
    fn bins_from_the_threshold_up_are_blurred() {
        let bins: Vec<_> = (0..10).map(|i| bin(i, 1)).collect();
        let laid = bars(&bins, 0.5, 400.0, 100.0);
        let blurred: Vec<_> = laid.iter().map(|b| b.blurred).collect();
        assert_eq!(blurred, [[false; 5], [true; 5]].concat());
    }

    #[test]
    fn no_photos_draws_no_bars_without_dividing_by_zero() {
        let bins: Vec<_> = (0..10).map(|i| bin(i, 0)).collect();
        assert!(
            bars(&bins, 0.5, 400.0, 100.0)
                .iter()
                .all(|b| b.height == 0.0 && b.y == 100.0)
        );
    }
}
