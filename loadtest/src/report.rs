//! `summary.html`: a self-contained page (inline SVG, no scripts, nothing fetched) with the run's
//! throughput and latency over time, outcomes per request kind, the tenant split and the
//! reconciliation, readable offline where goose's own HTML report (its charts come from a CDN)
//! is blank. The page is well-formed XHTML so tools can parse it too.

use std::{fmt::Write as _, path::Path};

use crate::{
    charts::{self, Bar, FAIL_COLOR, Series, escape},
    ledger::Kind,
    reconcile::Reconciliation,
    timeline::{Point, TimelineData},
};

/// The most points a time chart draws; longer runs are averaged over several seconds a point.
const MAX_POINTS: usize = 240;

#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    #[error("writing {path}")]
    Write {
        path: String,
        #[source]
        source: std::io::Error,
    },
}

/// One tenant's line in the split table.
#[derive(Debug, Clone)]
pub struct TenantLine {
    pub name: String,
    /// The share the weights asked for, 0..1.
    pub share: f64,
    pub requests: u64,
}

/// Everything the page shows.
#[derive(Debug, Clone)]
pub struct Summary<'a> {
    pub title: String,
    /// The run's overall verdict, `PASS` or `FAIL: ...`.
    pub verdict: String,
    /// Label and value pairs shown at the top (host, start, rate...).
    pub facts: Vec<(String, String)>,
    pub timeline: &'a TimelineData,
    pub reconciliation: &'a Reconciliation,
    pub tenants: Vec<TenantLine>,
    /// Label and relative link of the other reports in the run folder.
    pub links: Vec<(String, String)>,
}

/// Writes the page to `path`.
pub fn write_summary(path: &Path, summary: &Summary<'_>) -> Result<(), ReportError> {
    std::fs::write(path, render(summary)).map_err(|source| ReportError::Write {
        path: path.display().to_string(),
        source,
    })
}

/// The whole page.
pub fn render(s: &Summary<'_>) -> String {
    let mut html = String::new();
    let title = escape(&s.title);
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html xmlns=\"http://www.w3.org/1999/xhtml\" lang=\"en\">\n<head>\n\
         <meta charset=\"utf-8\" />\n<title>{title}</title>\n<style>{STYLE}</style>\n</head>\n\
         <body>\n<h1>{title}</h1>\n"
    );
    html.push_str(&verdict(&s.verdict, s.reconciliation));
    html.push_str(&facts(&s.facts, &s.links));
    let step = s.timeline.step_for(MAX_POINTS);
    let points = s.timeline.points(step);
    let per = if step == 1 {
        "per second".to_owned()
    } else {
        format!("per {step} s")
    };
    html.push_str(&format!("<h2>Throughput ({per})</h2>\n"));
    html.push_str(&charts::line_chart(
        "requests/s",
        &throughput_series(&points),
    ));
    html.push_str(&format!("<h2>Latency ({per})</h2>\n"));
    html.push_str(&charts::line_chart("ms", &latency_series(&points)));
    html.push_str("<h2>Outcomes per request kind</h2>\n");
    html.push_str(&charts::bar_chart(&outcome_bars(s.timeline)));
    html.push_str(&kinds_table(s.timeline));
    html.push_str("<h2>Reconciliation</h2>\n");
    html.push_str(&reconciliation_table(s.reconciliation));
    html.push_str("<h2>Tenants</h2>\n");
    html.push_str(&tenants_table(&s.tenants));
    html.push_str(
        "<p class=\"note\">Latencies are measured by the load generator (time to the response \
         headers), without goose's coordinated-omission backfill; percentiles are within about \
         3 %. Batch requests count once in the charts and once per event in the \
         reconciliation.</p>\n</body>\n</html>\n",
    );
    html
}

const STYLE: &str = "body{font-family:system-ui,sans-serif;margin:24px;color:#222;max-width:980px}\
h1{font-size:22px}h2{font-size:17px;margin-top:28px}\
table{border-collapse:collapse;margin:8px 0}td,th{padding:3px 10px;border-bottom:1px solid #ddd}\
th{text-align:left;background:#f3f3f3}td.n{text-align:right;font-variant-numeric:tabular-nums}\
.ok{color:#2e7d32;font-weight:bold}.bad{color:#c62828;font-weight:bold}\
.note{color:#666;font-size:13px}svg{background:#fafafa;border:1px solid #e4e4e4}\
svg text{fill:#444}";

fn verdict(overall: &str, r: &Reconciliation) -> String {
    let class = |ok: bool| if ok { "ok" } else { "bad" };
    format!(
        "<p class=\"{}\">{}</p>\n<p class=\"{}\">{}</p>\n",
        class(overall == "PASS"),
        escape(overall),
        class(r.is_clean()),
        escape(&r.verdict())
    )
}

fn facts(facts: &[(String, String)], links: &[(String, String)]) -> String {
    let mut out = String::from("<table>\n");
    for (label, value) in facts {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td>{}</td></tr>",
            escape(label),
            escape(value)
        );
    }
    for (label, href) in links {
        let _ = writeln!(
            out,
            "<tr><th>{}</th><td><a href=\"{}\">{}</a></td></tr>",
            escape(label),
            escape(href),
            escape(href)
        );
    }
    out.push_str("</table>\n");
    out
}

fn throughput_series(points: &[Point]) -> Vec<Series> {
    vec![
        Series {
            name: "requests/s".into(),
            color: "#1565c0",
            points: points
                .iter()
                .map(|p| (p.second as f64, Some(p.requests_per_sec)))
                .collect(),
        },
        Series {
            name: "failed/s".into(),
            color: FAIL_COLOR,
            points: points
                .iter()
                .map(|p| (p.second as f64, Some(p.failed_per_sec)))
                .collect(),
        },
    ]
}

fn latency_series(points: &[Point]) -> Vec<Series> {
    vec![
        Series {
            name: "p50".into(),
            color: "#1565c0",
            points: points.iter().map(|p| (p.second as f64, p.p50_ms)).collect(),
        },
        Series {
            name: "p99".into(),
            color: "#ef6c00",
            points: points.iter().map(|p| (p.second as f64, p.p99_ms)).collect(),
        },
    ]
}

/// A bar per request kind that sent anything.
fn outcome_bars(t: &TimelineData) -> Vec<Bar> {
    Kind::ALL
        .iter()
        .map(|k| Bar {
            label: k.name().to_owned(),
            ok: t.kind(*k).ok,
            failed: t.kind(*k).failed,
        })
        .filter(|b| b.ok + b.failed > 0)
        .collect()
}

fn ms(us: Option<u64>) -> String {
    us.map_or_else(|| "-".to_owned(), |us| format!("{:.2}", us as f64 / 1000.0))
}

/// A table: a header row, then rows whose first cell is a label and the rest numbers.
fn table(header: &[&str], rows: &[(String, Vec<String>)]) -> String {
    let mut out = String::from("<table>\n<tr>");
    for h in header {
        let _ = write!(out, "<th>{}</th>", escape(h));
    }
    out.push_str("</tr>\n");
    for (label, cells) in rows {
        let _ = write!(out, "<tr><td>{}</td>", escape(label));
        for cell in cells {
            let _ = write!(out, "<td class=\"n\">{}</td>", escape(cell));
        }
        out.push_str("</tr>\n");
    }
    out.push_str("</table>\n");
    out
}

fn kinds_table(t: &TimelineData) -> String {
    let rows: Vec<(String, Vec<String>)> = Kind::ALL
        .iter()
        .map(|kind| (kind, t.kind(*kind)))
        .filter(|(_, k)| k.ok + k.failed > 0)
        .map(|(kind, k)| {
            let h = &k.latency;
            let cells = vec![
                (k.ok + k.failed).to_string(),
                k.ok.to_string(),
                k.failed.to_string(),
                ms(h.quantile(0.5)),
                ms(h.quantile(0.95)),
                ms(h.quantile(0.99)),
                ms((h.count() > 0).then(|| h.max())),
            ];
            (kind.name().to_owned(), cells)
        })
        .collect();
    let header = [
        "kind",
        "requests",
        "as expected",
        "unexpected",
        "p50 ms",
        "p95 ms",
        "p99 ms",
        "max ms",
    ];
    table(&header, &rows)
}

fn reconciliation_table(r: &Reconciliation) -> String {
    let total = r.total();
    let rows: Vec<(String, Vec<String>)> = r
        .rows
        .iter()
        .map(|(k, row)| (k.name(), row, *k != Kind::Malformed))
        .chain(std::iter::once(("total", &total, true)))
        .map(|(name, row, checked)| {
            let c = |v: u64| if checked { v.to_string() } else { "-".into() };
            let cells = vec![
                row.sent.to_string(),
                row.accepted.to_string(),
                row.unexpected.to_string(),
                c(row.stored),
                c(row.dead_lettered),
                c(row.missing),
                c(row.duplicated),
                c(row.wrong_place),
            ];
            (name.to_owned(), cells)
        })
        .collect();
    let mut out = table(&crate::reconcile::COLUMNS, &rows);
    if !r.problems.is_empty() {
        out.push_str("<ul>\n");
        for p in &r.problems {
            let what = format!("{} {}: {}", p.kind.name(), p.event_id, p.what);
            let _ = writeln!(out, "<li>{}</li>", escape(&what));
        }
        out.push_str("</ul>\n");
    }
    out
}

fn tenants_table(tenants: &[TenantLine]) -> String {
    let total: u64 = tenants.iter().map(|t| t.requests).sum();
    let rows: Vec<(String, Vec<String>)> = tenants
        .iter()
        .map(|t| {
            let actual = if total == 0 {
                0.0
            } else {
                t.requests as f64 / total as f64
            };
            let cells = vec![
                format!("{:.1} %", t.share * 100.0),
                t.requests.to_string(),
                format!("{:.1} %", actual * 100.0),
            ];
            (t.name.clone(), cells)
        })
        .collect();
    table(
        &["tenant", "target share", "requests", "actual share"],
        &rows,
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{
        charts::{BOTTOM, HEIGHT, LEFT, RIGHT, TOP, WIDTH},
        reconcile::{Drain, Row},
    };

    fn timeline() -> TimelineData {
        let mut t = TimelineData::default();
        for second in 0..30 {
            for i in 0..50u64 {
                t.record(second, Kind::Valid, true, 2_000 + i * 40);
            }
            t.record(second, Kind::Malformed, true, 900);
            t.record(second, Kind::Invalid, second != 7, 3_000);
        }
        // a silent second leaves a gap in the latency lines
        t.record(33, Kind::Valid, true, 1_500);
        t
    }

    fn reconciliation() -> Reconciliation {
        Reconciliation {
            rows: vec![
                (
                    Kind::Valid,
                    Row {
                        sent: 1501,
                        accepted: 1501,
                        stored: 1501,
                        ..Row::default()
                    },
                ),
                (
                    Kind::Malformed,
                    Row {
                        sent: 30,
                        ..Row::default()
                    },
                ),
            ],
            drain: Drain {
                drained: true,
                pending: 0,
                waited: std::time::Duration::from_secs(2),
            },
            ..Reconciliation::default()
        }
    }

    fn summary<'a>(t: &'a TimelineData, r: &'a Reconciliation) -> Summary<'a> {
        Summary {
            title: "Pulse load test <2026> & co".into(),
            verdict: "PASS".into(),
            facts: vec![("host".into(), "http://127.0.0.1:8080".into())],
            timeline: t,
            reconciliation: r,
            tenants: vec![
                TenantLine {
                    name: "loadtest-0".into(),
                    share: 0.6,
                    requests: 1000,
                },
                TenantLine {
                    name: "loadtest-1".into(),
                    share: 0.4,
                    requests: 561,
                },
            ],
            links: vec![("goose report".into(), "report.html".into())],
        }
    }

    #[test]
    fn summary_is_well_formed_and_self_contained() {
        let (t, r) = (timeline(), reconciliation());
        let html = render(&summary(&t, &r));
        let doc = roxmltree::Document::parse_with_options(
            &html,
            roxmltree::ParsingOptions {
                allow_dtd: true,
                ..Default::default()
            },
        )
        .expect("summary.html is well-formed XML");
        let svgs = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "svg")
            .count();
        assert_eq!(svgs, 3, "throughput, latency and outcome charts");
        // nothing is fetched: no scripts, no external sources or stylesheets
        assert!(
            !doc.descendants()
                .any(|n| n.has_tag_name(("http://www.w3.org/1999/xhtml", "script")))
        );
        assert!(!html.contains("src=") && !html.contains("http-equiv") && !html.contains("<link"));
        assert!(!html.contains("https://"));
        // the title was escaped, and the data is there
        assert!(html.contains("Pulse load test &lt;2026&gt; &amp; co"));
        assert!(html.contains("reconciliation OK"));
        assert!(html.contains(">1501<"));
        assert!(html.contains("loadtest-1"));
        assert!(html.contains("60.0 %"));
        assert!(html.contains("29 ok, 1 failed"), "invalid outcome bar");
        assert!(html.contains("<a href=\"report.html\">"));
    }

    #[test]
    fn line_chart_plots_each_point_and_breaks_at_gaps() {
        let t = timeline();
        let svg = charts::line_chart("ms", &latency_series(&t.points(1)));
        let doc = roxmltree::Document::parse(&svg).unwrap();
        let lines: Vec<_> = doc
            .descendants()
            .filter(|n| n.tag_name().name() == "polyline")
            .collect();
        // p50 and p99 each: seconds 0-29, then second 33 after the gap
        assert_eq!(lines.len(), 4);
        let points = |i: usize| lines[i].attribute("points").unwrap().split(' ').count();
        assert_eq!((points(0), points(1)), (30, 1));
        // every point lies inside the plot area
        for line in &lines {
            for pair in line.attribute("points").unwrap().split(' ') {
                let (x, y) = pair.split_once(',').unwrap();
                let (x, y): (f64, f64) = (x.parse().unwrap(), y.parse().unwrap());
                assert!((LEFT..=WIDTH - RIGHT).contains(&x), "{x}");
                assert!((TOP..=HEIGHT - BOTTOM).contains(&y), "{y}");
            }
        }
    }

    #[test]
    fn an_empty_run_still_renders() {
        let (t, r) = (TimelineData::default(), Reconciliation::default());
        let html = render(&summary(&t, &r));
        assert!(
            roxmltree::Document::parse_with_options(
                &html,
                roxmltree::ParsingOptions {
                    allow_dtd: true,
                    ..Default::default()
                }
            )
            .is_ok()
        );
    }
}
