//! Inline SVG charts for the summary page: a line chart over seconds and a bar per request kind,
//! each a self-contained `<svg>` element with its own fonts.

use std::fmt::Write as _;

pub const WIDTH: f64 = 760.0;
pub const HEIGHT: f64 = 240.0;
pub const LEFT: f64 = 60.0;
pub const RIGHT: f64 = 16.0;
pub const TOP: f64 = 30.0;
pub const BOTTOM: f64 = 34.0;
pub const OK_COLOR: &str = "#2e7d32";
pub const FAIL_COLOR: &str = "#c62828";
/// Set on each chart, so it reads the same outside the page's stylesheet.
const FONT: &str = "font-family=\"system-ui, sans-serif\" font-size=\"11\"";

/// Text made safe for XML content and attribute values.
pub fn escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '&' => out.push_str("&amp;"),
            '<' => out.push_str("&lt;"),
            '>' => out.push_str("&gt;"),
            '"' => out.push_str("&quot;"),
            '\'' => out.push_str("&#39;"),
            c => out.push(c),
        }
    }
    out
}

/// One line of a chart; `None` leaves a gap.
#[derive(Debug, Clone)]
pub struct Series {
    pub name: String,
    pub color: &'static str,
    pub points: Vec<(f64, Option<f64>)>,
}

/// 1, 2 or 5 times a power of ten, at least `v`.
pub fn nice_ceiling(v: f64) -> f64 {
    if !(v.is_finite() && v > 0.0) {
        return 1.0;
    }
    let magnitude = 10f64.powf(v.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .iter()
        .map(|m| m * magnitude)
        .find(|c| *c >= v * (1.0 - 1e-12))
        .unwrap_or(10.0 * magnitude)
}

fn number(v: f64) -> String {
    if v >= 100.0 || v == v.trunc() {
        format!("{v:.0}")
    } else if v >= 1.0 {
        format!("{v:.1}")
    } else {
        format!("{v:.2}")
    }
}

/// A line chart over seconds with a y axis from 0 and a legend.
pub fn line_chart(y_unit: &str, series: &[Series]) -> String {
    let values = || series.iter().flat_map(|s| s.points.iter());
    let x_max = values().map(|(x, _)| *x).fold(0.0, f64::max).max(1.0);
    let y_max = nice_ceiling(values().filter_map(|(_, y)| *y).fold(0.0, f64::max));
    let (plot_w, plot_h) = (WIDTH - LEFT - RIGHT, HEIGHT - TOP - BOTTOM);
    let x = |v: f64| LEFT + v / x_max * plot_w;
    let y = |v: f64| TOP + plot_h - v / y_max * plot_h;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" \
         viewBox=\"0 0 {WIDTH} {HEIGHT}\" {FONT} role=\"img\">\n"
    );
    for i in 0..=4 {
        let v = y_max * f64::from(i) / 4.0;
        let _ = writeln!(
            svg,
            "<line x1=\"{LEFT}\" x2=\"{:.1}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\" />\
             <text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            WIDTH - RIGHT,
            LEFT - 6.0,
            y(v) + 4.0,
            number(v),
            y = y(v),
        );
    }
    let x_step = nice_ceiling(x_max / 6.0);
    for i in 0..=(x_max / x_step).floor() as u32 {
        let v = x_step * f64::from(i);
        let _ = writeln!(
            svg,
            "<text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}s</text>",
            x(v),
            HEIGHT - BOTTOM + 16.0,
            number(v)
        );
    }
    let _ = writeln!(
        svg,
        "<text x=\"{LEFT}\" y=\"{:.1}\">{}</text>",
        TOP - 12.0,
        escape(y_unit)
    );
    for (i, s) in series.iter().enumerate() {
        for run in s
            .points
            .split(|(_, v)| v.is_none())
            .filter(|r| !r.is_empty())
        {
            let coords: Vec<String> = run
                .iter()
                .filter_map(|(px, py)| py.map(|py| format!("{:.1},{:.1}", x(*px), y(py))))
                .collect();
            let _ = writeln!(
                svg,
                "<polyline fill=\"none\" stroke=\"{}\" stroke-width=\"1.6\" points=\"{}\" />",
                s.color,
                coords.join(" ")
            );
        }
        let lx = WIDTH - RIGHT - 110.0 * (series.len() - i) as f64;
        let _ = writeln!(
            svg,
            "<rect x=\"{lx:.1}\" y=\"{:.1}\" width=\"12\" height=\"3\" fill=\"{}\" />\
             <text x=\"{:.1}\" y=\"{:.1}\">{}</text>",
            TOP - 16.0,
            s.color,
            lx + 16.0,
            TOP - 12.0,
            escape(&s.name)
        );
    }
    svg.push_str("</svg>\n");
    svg
}

/// One bar: what was answered as expected, then what was not.
#[derive(Debug, Clone)]
pub struct Bar {
    pub label: String,
    pub ok: u64,
    pub failed: u64,
}

/// A horizontal stacked bar per entry, scaled to the longest, with its counts beside it.
pub fn bar_chart(bars: &[Bar]) -> String {
    let most = bars
        .iter()
        .map(|b| b.ok + b.failed)
        .max()
        .unwrap_or(1)
        .max(1) as f64;
    let (bar_h, gap, label_w, count_w) = (18.0, 8.0, 100.0, 160.0);
    let height = TOP + bars.len() as f64 * (bar_h + gap) + 8.0;
    let scale = (WIDTH - label_w - count_w) / most;
    let mut svg = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{height:.0}\" \
         viewBox=\"0 0 {WIDTH} {height:.0}\" {FONT} role=\"img\">\n\
         <rect x=\"{label_w}\" y=\"8\" width=\"12\" height=\"10\" fill=\"{OK_COLOR}\" />\
         <text x=\"{:.0}\" y=\"17\">as expected</text>\
         <rect x=\"{:.0}\" y=\"8\" width=\"12\" height=\"10\" fill=\"{FAIL_COLOR}\" />\
         <text x=\"{:.0}\" y=\"17\">unexpected</text>\n",
        label_w + 16.0,
        label_w + 110.0,
        label_w + 126.0,
    );
    for (i, bar) in bars.iter().enumerate() {
        let top = TOP + i as f64 * (bar_h + gap);
        let ok_w = bar.ok as f64 * scale;
        let failed_w = bar.failed as f64 * scale;
        let _ = writeln!(
            svg,
            "<text x=\"8\" y=\"{:.1}\">{}</text>\
             <rect x=\"{label_w}\" y=\"{top:.1}\" width=\"{ok_w:.1}\" height=\"{bar_h}\" \
             fill=\"{OK_COLOR}\" />\
             <rect x=\"{:.1}\" y=\"{top:.1}\" width=\"{failed_w:.1}\" height=\"{bar_h}\" \
             fill=\"{FAIL_COLOR}\" />\
             <text x=\"{:.1}\" y=\"{:.1}\">{} ok, {} failed</text>",
            top + 13.0,
            escape(&bar.label),
            label_w + ok_w,
            label_w + ok_w + failed_w + 6.0,
            top + 13.0,
            bar.ok,
            bar.failed,
        );
    }
    svg.push_str("</svg>\n");
    svg
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ceilings_are_round() {
        assert_eq!(nice_ceiling(0.0), 1.0);
        assert_eq!(nice_ceiling(3.2), 5.0);
        assert_eq!(nice_ceiling(5.0), 5.0);
        assert_eq!(nice_ceiling(101.0), 200.0);
        assert_eq!(nice_ceiling(0.07), 0.1);
        assert_eq!(escape("a<b>&\"'"), "a&lt;b&gt;&amp;&quot;&#39;");
    }

    #[test]
    fn bars_scale_to_the_longest() {
        let svg = bar_chart(&[
            Bar {
                label: "valid".into(),
                ok: 90,
                failed: 10,
            },
            Bar {
                label: "<odd>".into(),
                ok: 50,
                failed: 0,
            },
        ]);
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let widths: Vec<f64> = doc
            .descendants()
            .filter(|n| n.has_tag_name("rect") && n.attribute("height") == Some("18"))
            .map(|n| n.attribute("width").unwrap().parse().unwrap())
            .collect();
        // ok and failed of each bar; the longest spans the space left by label and counts
        assert_eq!(widths.len(), 4);
        assert!((widths[0] + widths[1] - (WIDTH - 260.0)).abs() < 0.2);
        assert!((widths[0] / widths[2] - 90.0 / 50.0).abs() < 0.01);
        assert_eq!(widths[3], 0.0);
        assert!(svg.contains("&lt;odd&gt;") && svg.contains("90 ok, 10 failed"));
    }
}
