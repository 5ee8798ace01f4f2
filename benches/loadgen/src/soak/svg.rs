//! The RSS over time as a small self-contained SVG line chart, the churn phase shaded.
//!
//! Its own writer rather than `plot.rs`'s line chart: that one has no shaded span (the churn
//! phase here), and its frame, axes and markers differ; moving to it would change the chart.

use super::report::mib;
use super::run::Outcome;
use crate::server::Kind;

/// The RSS over time as a small self-contained SVG line chart.
pub(super) fn svg(kind: Kind, outcome: &Outcome) -> String {
    const W: f64 = 640.0;
    const H: f64 = 320.0;
    const PAD: f64 = 48.0;
    let points: Vec<(f64, f64)> = outcome.samples.iter().map(|s| (s.t, mib(s.rss))).collect();
    let max_t = points.iter().map(|p| p.0).fold(1.0, f64::max);
    let max_y = points.iter().map(|p| p.1).fold(1.0, f64::max) * 1.1;
    let x = |t: f64| PAD + (W - 2.0 * PAD) * t / max_t;
    let y = |v: f64| H - PAD - (H - 2.0 * PAD) * v / max_y;
    let line: Vec<String> = points
        .iter()
        .map(|&(t, v)| format!("{:.1},{:.1}", x(t), y(v)))
        .collect();
    let (start, end) = outcome.churn;
    format!(
        r##"<svg xmlns="http://www.w3.org/2000/svg" width="{W}" height="{H}" font-family="sans-serif" font-size="12">
<rect width="{W}" height="{H}" fill="white"/>
<rect x="{cx:.1}" y="{PAD}" width="{cw:.1}" height="{ch:.1}" fill="#eef"/>
<line x1="{PAD}" y1="{b:.1}" x2="{r:.1}" y2="{b:.1}" stroke="black"/>
<line x1="{PAD}" y1="{PAD}" x2="{PAD}" y2="{b:.1}" stroke="black"/>
<polyline fill="none" stroke="#c33" stroke-width="1.5" points="{pts}"/>
<text x="{PAD}" y="20">{title}: server RSS over the soak (shaded: churn)</text>
<text x="{PAD}" y="{yl:.1}" text-anchor="middle">{max_y:.0} MiB</text>
<text x="{PAD}" y="{tl:.1}" text-anchor="middle">0</text>
<text x="{r:.1}" y="{tl:.1}" text-anchor="end">{max_t:.0} s</text>
</svg>
"##,
        cx = x(start),
        cw = x(end) - x(start),
        ch = H - 2.0 * PAD,
        b = H - PAD,
        r = W - PAD,
        pts = line.join(" "),
        title = kind.title(),
        yl = PAD - 6.0,
        tl = H - PAD + 16.0,
    )
}
