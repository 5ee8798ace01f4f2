//! SVG plots of a run, drawn from its own medians (hand-written SVG, no plotting library):
//! - `idle-memory.svg`: server RSS per connection against connections held, one line per server
//!   (and Agora's heap per connection, dashed, when it was counted);
//! - `latency-fanout.svg`, `latency-echo.svg`: latency percentiles per server as grouped bars, on a
//!   logarithmic scale (Node's fan-out latencies are a thousand times the others').

use std::fmt::Write;
use std::io;
use std::path::{Path, PathBuf};

use crate::report::{Cell, Summary, Workload};
use crate::server::Kind;

const WIDTH: f64 = 820.0;
const HEIGHT: f64 = 480.0;
const LEFT: f64 = 80.0;
const RIGHT: f64 = 170.0;
const TOP: f64 = 50.0;
const BOTTOM: f64 = 70.0;
const FONT: &str = "font-family=\"sans-serif\" font-size=\"13\"";

/// One line of a line chart or one colour of bars.
struct Series {
    name: String,
    color: &'static str,
    dashed: bool,
    /// Line chart: (x, y) points. Bar chart: one value per group, x is the group's index.
    points: Vec<(f64, f64)>,
}

fn color(kind: Kind) -> &'static str {
    match kind {
        Kind::Agora => "#1f77b4",
        Kind::Node => "#2ca02c",
        Kind::Floor => "#ff7f0e",
        Kind::Raw => "#555555",
    }
}

/// Writes every plot the run has figures for into `dir`; returns the files written.
pub fn write_all(summary: &Summary, dir: &Path) -> io::Result<Vec<PathBuf>> {
    let plots = [
        ("idle-memory.svg", idle_memory(summary)),
        (
            "latency-fanout.svg",
            latency(
                summary,
                Workload::Fanout,
                "Fan-out: delivery latency (open loop) and broadcast completion (closed loop)",
                &[
                    ("open_p50_ms", "open p50"),
                    ("open_p99_ms", "open p99"),
                    ("open_max_ms", "open max"),
                    ("closed_p50_ms", "closed p50"),
                    ("closed_p99_ms", "closed p99"),
                ],
            ),
        ),
        (
            "latency-echo.svg",
            latency(
                summary,
                Workload::Echo,
                "Echo: ack round trip",
                &[
                    ("echo_p50_ms", "p50"),
                    ("echo_p99_ms", "p99"),
                    ("echo_p999_ms", "p99.9"),
                ],
            ),
        ),
    ];
    let mut written = Vec::new();
    for (name, svg) in plots {
        let Some(svg) = svg else { continue };
        std::fs::create_dir_all(dir)?;
        let path = dir.join(name);
        std::fs::write(&path, svg)?;
        written.push(path);
    }
    Ok(written)
}

/// RSS (and counted heap) per connection against connections held.
fn idle_memory(summary: &Summary) -> Option<String> {
    let cells = summary.cells(Workload::Idle);
    let mut series = Vec::new();
    for &kind in summary.servers() {
        for (key, suffix, dashed) in [
            ("rss_per_conn_kb", "RSS", false),
            ("heap_per_conn_kb", "heap", true),
        ] {
            let points: Vec<(f64, f64)> = cells
                .iter()
                .filter_map(|cell| Some((cell.size as f64, summary.median(*cell, key, kind)?)))
                .collect();
            if !points.is_empty() {
                series.push(Series {
                    name: format!("{} {suffix}", kind.title()),
                    color: color(kind),
                    dashed,
                    points,
                });
            }
        }
    }
    if series.is_empty() {
        return None;
    }
    Some(line_chart(
        "Idle WebSocket connections: server memory per connection",
        "connections held",
        "KiB per connection",
        &series,
    ))
}

/// Grouped bars: one group per cell and percentile, one bar per server.
fn latency(
    summary: &Summary,
    workload: Workload,
    title: &str,
    keys: &[(&str, &str)],
) -> Option<String> {
    let groups: Vec<(Cell, &str, &str)> = summary
        .cells(workload)
        .into_iter()
        .flat_map(|cell| keys.iter().map(move |(key, label)| (cell, *key, *label)))
        .collect();
    let series: Vec<Series> = summary
        .servers()
        .iter()
        .map(|&kind| Series {
            name: kind.title().to_string(),
            color: color(kind),
            dashed: false,
            points: groups
                .iter()
                .enumerate()
                .filter_map(|(i, (cell, key, _))| {
                    Some((i as f64, summary.median(*cell, key, kind)?))
                })
                .filter(|(_, value)| *value > 0.0)
                .collect(),
        })
        .filter(|series| !series.points.is_empty())
        .collect();
    if series.is_empty() {
        return None;
    }
    let labels: Vec<String> = groups
        .iter()
        .map(|(cell, _, label)| format!("{} {label}", cell.size))
        .collect();
    Some(bar_chart(
        title,
        "milliseconds (log scale)",
        &labels,
        &series,
    ))
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
}

/// A round step for about `target` ticks between 0 and `max`: 1, 2 or 5 times a power of ten.
fn nice_step(max: f64, target: f64) -> f64 {
    let raw = (max / target).max(f64::MIN_POSITIVE);
    let power = 10f64.powf(raw.log10().floor());
    [1.0, 2.0, 5.0, 10.0]
        .into_iter()
        .map(|m| m * power)
        .find(|step| *step >= raw)
        .unwrap_or(10.0 * power)
}

/// A tick label: thousands as `k`.
fn tick_label(value: f64) -> String {
    if value >= 1000.0 && (value / 1000.0).fract() == 0.0 {
        format!("{}k", value / 1000.0)
    } else if value.fract() == 0.0 {
        format!("{value}")
    } else {
        let text = format!("{value:.3}");
        text.trim_end_matches('0').trim_end_matches('.').to_string()
    }
}

/// The frame every chart shares: background, title, axis labels, legend.
fn open_svg(out: &mut String, title: &str, x_label: &str, y_label: &str, series: &[Series]) {
    let _ = write!(
        out,
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"{WIDTH}\" height=\"{HEIGHT}\" viewBox=\"0 0 {WIDTH} {HEIGHT}\" {FONT}>\n\
         <rect width=\"100%\" height=\"100%\" fill=\"white\"/>\n\
         <text x=\"{}\" y=\"24\" text-anchor=\"middle\" font-size=\"15\" font-weight=\"bold\">{}</text>\n\
         <text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{}</text>\n\
         <text transform=\"translate(18,{}) rotate(-90)\" text-anchor=\"middle\">{}</text>\n",
        WIDTH / 2.0,
        escape(title),
        LEFT + (WIDTH - LEFT - RIGHT) / 2.0,
        HEIGHT - 12.0,
        escape(x_label),
        TOP + (HEIGHT - TOP - BOTTOM) / 2.0,
        escape(y_label),
    );
    for (i, s) in series.iter().enumerate() {
        let y = TOP + 10.0 + 22.0 * i as f64;
        let x = WIDTH - RIGHT + 20.0;
        let dash = if s.dashed {
            " stroke-dasharray=\"6,4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<line x1=\"{x}\" y1=\"{y}\" x2=\"{}\" y2=\"{y}\" stroke=\"{}\" stroke-width=\"3\"{dash}/><text x=\"{}\" y=\"{}\">{}</text>",
            x + 24.0,
            s.color,
            x + 30.0,
            y + 4.0,
            escape(&s.name)
        );
    }
}

/// A line chart with linear axes from zero.
fn line_chart(title: &str, x_label: &str, y_label: &str, series: &[Series]) -> String {
    let points = || series.iter().flat_map(|s| s.points.iter());
    let x_max = points().map(|p| p.0).fold(0.0, f64::max);
    let y_max = points().map(|p| p.1).fold(0.0, f64::max).max(1e-9);
    let x_step = nice_step(x_max, 5.0);
    let y_step = nice_step(y_max, 5.0);
    let x_top = (x_max / x_step).ceil() * x_step;
    let y_top = (y_max * 1.05 / y_step).ceil() * y_step;
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let px = |x: f64| LEFT + plot_w * x / x_top;
    let py = |y: f64| TOP + plot_h * (1.0 - y / y_top);

    let mut out = String::new();
    open_svg(&mut out, title, x_label, y_label, series);
    let mut tick = 0.0;
    while tick <= y_top + y_step / 2.0 {
        let y = py(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            tick_label(tick)
        );
        tick += y_step;
    }
    let mut tick = 0.0;
    while tick <= x_top + x_step / 2.0 {
        let x = px(tick);
        let _ = writeln!(
            out,
            "<line x1=\"{x:.1}\" y1=\"{:.1}\" x2=\"{x:.1}\" y2=\"{:.1}\" stroke=\"#999\"/><text x=\"{x:.1}\" y=\"{:.1}\" text-anchor=\"middle\">{}</text>",
            TOP + plot_h,
            TOP + plot_h + 5.0,
            TOP + plot_h + 20.0,
            tick_label(tick)
        );
        tick += x_step;
    }
    let _ = writeln!(
        out,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#333\"/>"
    );
    for s in series {
        let path: Vec<String> = s
            .points
            .iter()
            .map(|(x, y)| format!("{:.1},{:.1}", px(*x), py(*y)))
            .collect();
        let dash = if s.dashed {
            " stroke-dasharray=\"6,4\""
        } else {
            ""
        };
        let _ = writeln!(
            out,
            "<polyline points=\"{}\" fill=\"none\" stroke=\"{}\" stroke-width=\"2.5\"{dash}/>",
            path.join(" "),
            s.color
        );
        for (x, y) in &s.points {
            let _ = writeln!(
                out,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"4\" fill=\"{}\"><title>{}: {} at {}</title></circle>",
                px(*x),
                py(*y),
                s.color,
                escape(&s.name),
                crate::report::num(*y),
                crate::report::num(*x)
            );
        }
    }
    out.push_str("</svg>\n");
    out
}

/// Grouped bars on a logarithmic value axis, whole decades.
fn bar_chart(title: &str, y_label: &str, groups: &[String], series: &[Series]) -> String {
    let values = || series.iter().flat_map(|s| s.points.iter().map(|p| p.1));
    let low = values().fold(f64::INFINITY, f64::min).log10().floor();
    let high = values().fold(0.0, f64::max).log10().ceil().max(low + 1.0);
    let plot_w = WIDTH - LEFT - RIGHT;
    let plot_h = HEIGHT - TOP - BOTTOM;
    let py = |value: f64| TOP + plot_h * (1.0 - (value.log10() - low) / (high - low));
    let group_w = plot_w / groups.len().max(1) as f64;
    let bar_w = group_w * 0.8 / series.len().max(1) as f64;

    let mut out = String::new();
    open_svg(&mut out, title, "", y_label, series);
    let mut decade = low;
    while decade <= high {
        let y = py(10f64.powf(decade));
        let _ = writeln!(
            out,
            "<line x1=\"{LEFT}\" y1=\"{y:.1}\" x2=\"{:.1}\" y2=\"{y:.1}\" stroke=\"#ddd\"/><text x=\"{:.1}\" y=\"{:.1}\" text-anchor=\"end\">{}</text>",
            LEFT + plot_w,
            LEFT - 6.0,
            y + 4.0,
            tick_label(10f64.powf(decade))
        );
        decade += 1.0;
    }
    for (i, label) in groups.iter().enumerate() {
        let x = LEFT + group_w * (i as f64 + 0.5);
        let y = TOP + plot_h + 14.0;
        let _ = writeln!(
            out,
            "<text transform=\"translate({x:.1},{y:.1}) rotate(-30)\" text-anchor=\"end\" font-size=\"11\">{}</text>",
            escape(label)
        );
    }
    let bottom = TOP + plot_h;
    for (n, s) in series.iter().enumerate() {
        for (group, value) in &s.points {
            let x = LEFT + group_w * (group + 0.1) + bar_w * n as f64;
            let y = py(*value);
            let _ = writeln!(
                out,
                "<rect x=\"{x:.1}\" y=\"{y:.1}\" width=\"{:.1}\" height=\"{:.1}\" fill=\"{}\"><title>{} {}: {} ms</title></rect>",
                bar_w * 0.92,
                (bottom - y).max(0.5),
                s.color,
                escape(&s.name),
                escape(&groups[*group as usize]),
                crate::report::num(*value)
            );
        }
    }
    let _ = writeln!(
        out,
        "<rect x=\"{LEFT}\" y=\"{TOP}\" width=\"{plot_w}\" height=\"{plot_h}\" fill=\"none\" stroke=\"#333\"/>"
    );
    out.push_str("</svg>\n");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::report::{summarize, Run};

    fn run(kind: Kind, cell: Cell, metrics: Vec<(&'static str, f64)>) -> Run {
        Run {
            cell,
            kind,
            rep: 0,
            outcome: Ok(metrics),
        }
    }

    fn idle(size: usize) -> Cell {
        Cell {
            workload: Workload::Idle,
            size,
        }
    }

    #[test]
    fn memory_plot_has_a_line_per_server_and_a_point_per_size() {
        let cells = [idle(1_000), idle(10_000)];
        let runs = [
            run(Kind::Agora, cells[0], vec![("rss_per_conn_kb", 20.0)]),
            run(Kind::Agora, cells[1], vec![("rss_per_conn_kb", 17.5)]),
            run(Kind::Raw, cells[0], vec![("rss_per_conn_kb", 10.0)]),
            run(Kind::Raw, cells[1], vec![("rss_per_conn_kb", 9.0)]),
        ];
        let summary = summarize(&cells, &[Kind::Agora, Kind::Raw], &runs);
        let svg = idle_memory(&summary).expect("a memory plot");
        assert!(svg.starts_with("<svg xmlns=\"http://www.w3.org/2000/svg\""));
        assert!(svg.ends_with("</svg>\n"));
        assert_eq!(svg.matches("<polyline").count(), 2);
        assert_eq!(svg.matches("<circle").count(), 4);
        assert!(svg.contains(">Agora RSS</text>"));
        assert!(svg.contains(">Raw RSS</text>"));
        assert!(svg.contains("<title>Raw RSS: 9.00 at 10,000</title>"));
        // Y axis from 0 to a round top above 20 KiB: 20 is not on the top edge.
        let (top, bottom) = (TOP, HEIGHT - BOTTOM);
        assert!(!svg.contains(&format!("cy=\"{top:.1}\"")));
        assert!(svg.contains(&format!("y1=\"{bottom:.1}\"")));
        assert!(latency(&summary, Workload::Echo, "echo", &[("echo_p50_ms", "p50")]).is_none());
    }

    #[test]
    fn latency_bars_are_grouped_on_a_log_scale() {
        let cell = Cell {
            workload: Workload::Echo,
            size: 100,
        };
        let runs = [
            run(
                Kind::Agora,
                cell,
                vec![("echo_p50_ms", 0.5), ("echo_p99_ms", 4.0)],
            ),
            run(
                Kind::Node,
                cell,
                vec![("echo_p50_ms", 2.0), ("echo_p99_ms", 300.0)],
            ),
        ];
        let summary = summarize(&[cell], &[Kind::Agora, Kind::Node], &runs);
        let keys = [("echo_p50_ms", "p50"), ("echo_p99_ms", "p99")];
        let svg = latency(&summary, Workload::Echo, "Echo", &keys).expect("a latency plot");
        assert_eq!(svg.matches("<rect x=").count(), 4 + 1);
        assert!(svg.contains("<title>Node 100 p99: 300 ms</title>"));
        // Decades from 0.1 ms to 1000 ms.
        for tick in [
            ">0.1</text>",
            ">1</text>",
            ">10</text>",
            ">100</text>",
            ">1k</text>",
        ] {
            assert!(svg.contains(tick), "no tick {tick}");
        }
        assert!(idle_memory(&summary).is_none());
    }

    #[test]
    fn steps_are_round() {
        assert_eq!(nice_step(19_000.0, 5.0), 5_000.0);
        assert_eq!(nice_step(17.7, 5.0), 5.0);
        assert_eq!(nice_step(1.0, 5.0), 0.2);
        assert_eq!(tick_label(15_000.0), "15k");
        assert_eq!(tick_label(0.2), "0.2");
    }
}
