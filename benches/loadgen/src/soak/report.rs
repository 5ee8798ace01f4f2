//! Judging one run (counts back to zero, a flat RSS, no loss, no errors) and its text report.

use std::fmt::Write as _;

use super::run::Outcome;
use super::sampling::{Counts, Phase};
use super::settings::Settings;
use crate::client::truncate;
use crate::server::Kind;

pub(super) fn mib(bytes: u64) -> f64 {
    bytes as f64 / (1024.0 * 1024.0)
}

/// Least-squares slope of (x, y).
pub(super) fn slope(points: &[(f64, f64)]) -> Option<f64> {
    let n = points.len() as f64;
    if points.len() < 3 {
        return None;
    }
    let mean_x = points.iter().map(|p| p.0).sum::<f64>() / n;
    let mean_y = points.iter().map(|p| p.1).sum::<f64>() / n;
    let sxx: f64 = points.iter().map(|p| (p.0 - mean_x).powi(2)).sum();
    let sxy: f64 = points.iter().map(|p| (p.0 - mean_x) * (p.1 - mean_y)).sum();
    (sxx > 0.0).then(|| sxy / sxx)
}

/// The RSS trend after warm-up (the last two thirds of the churn phase): slope in MiB per minute,
/// growth it predicts over that span in MiB, the mean RSS there in MiB.
pub(super) struct Trend {
    slope_per_min: f64,
    growth: f64,
    mean: f64,
    from: f64,
}

pub(super) fn trend(outcome: &Outcome) -> Option<Trend> {
    let (start, end) = outcome.churn;
    let from = start + (end - start) / 3.0;
    let points: Vec<(f64, f64)> = outcome
        .samples
        .iter()
        .filter(|s| s.phase == Phase::Churn && s.t >= from)
        .map(|s| (s.t, mib(s.rss)))
        .collect();
    let per_s = slope(&points)?;
    let mean = points.iter().map(|p| p.1).sum::<f64>() / points.len() as f64;
    Some(Trend {
        slope_per_min: per_s * 60.0,
        growth: per_s * (end - from),
        mean,
        from,
    })
}

/// The RSS of the last sample of `phase` at or before `t`.
pub(super) fn rss_at(outcome: &Outcome, phase: Phase, t: f64) -> Option<u64> {
    outcome
        .samples
        .iter()
        .rfind(|s| s.phase == phase && s.t <= t)
        .map(|s| s.rss)
}

/// Where the RSS check is among the report's checks.
pub(super) const RSS_CHECK: usize = 1;

/// The report of one run, and whether every check passed.
pub(super) fn report(kind: Kind, settings: &Settings, outcome: &Outcome) -> (String, bool) {
    let mut out = String::new();
    let tally = &outcome.tally;
    let _ = writeln!(out, "\n## Soak: {}\n", kind.title());
    let _ = writeln!(
        out,
        "{} clients ({:.0}% polling), churn {}/s in and out ({:.0}% resets), {} rooms, {} broadcasts/s, {:.0} s, heartbeat {}/{} ms, load average at the end {}\n",
        settings.clients,
        100.0 * settings.polling,
        settings.churn,
        100.0 * settings.resets,
        settings.rooms,
        settings.rate,
        settings.duration.as_secs_f64(),
        settings.heartbeat.interval_ms,
        settings.heartbeat.timeout_ms,
        crate::report::loadavg(),
    );
    let _ = writeln!(
        out,
        "| t (s) | phase | RSS (MiB) | server CPU % | clients | sessions | sockets | rooms | hub members | deliveries |"
    );
    let _ = writeln!(out, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|");
    // At most about 40 rows: every k-th sample, and every change of phase.
    let step = (outcome.samples.len() / 40).max(1);
    let mut previous = None;
    for (i, s) in outcome.samples.iter().enumerate() {
        let last = i + 1 == outcome.samples.len();
        if i % step != 0 && previous == Some(s.phase) && !last {
            continue;
        }
        previous = Some(s.phase);
        let count = |f: fn(&Counts) -> i64| s.counts.map_or("–".into(), |c| f(&c).to_string());
        let _ = writeln!(
            out,
            "| {:.0} | {} | {:.1} | {:.0} | {} | {} | {} | {} | {} | {} |",
            s.t,
            s.phase.name(),
            mib(s.rss),
            s.cpu_pct,
            s.clients,
            count(|c| c.sessions),
            count(|c| c.sockets),
            count(|c| c.rooms),
            count(|c| c.members),
            s.deliveries
        );
    }
    let trend = trend(outcome);
    let end = outcome.churn.1;
    let fmt_rss = |rss: Option<u64>| rss.map_or("–".into(), |r| format!("{:.1} MiB", mib(r)));
    let _ = writeln!(
        out,
        "\nRSS: {:.1} MiB before the clients, {} at the first sample with all of them, {} after warm-up, {} at the end of the churn, {:.1} MiB after the clients left",
        mib(outcome.rss_start),
        fmt_rss(outcome.samples.iter().find(|s| s.phase == Phase::Churn).map(|s| s.rss)),
        fmt_rss(trend.as_ref().and_then(|t| rss_at(outcome, Phase::Churn, t.from))),
        fmt_rss(rss_at(outcome, Phase::Churn, end)),
        mib(outcome.rss_end),
    );
    let _ = writeln!(
        out,
        "Connections: {} WebSocket and {} polling joined, {} failed to connect or join; {} left politely, {} by a reset, {} dropped unasked",
        tally.websocket, tally.polling, tally.connect_errors, tally.polite, tally.resets, tally.dropped
    );
    let ms = |q: f64| outcome.latency.value_at_quantile(q) as f64 / 1000.0;
    let _ = writeln!(
        out,
        "Deliveries: {} broadcasts, {} deliveries; {} checked, {} lost, {} duplicates, {} misrouted, {} unexpected messages; latency p50 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
        tally.broadcasts,
        tally.deliveries,
        tally.expected,
        tally.lost,
        tally.duplicates,
        tally.misrouted,
        tally.unexpected,
        ms(0.5),
        ms(0.99),
        outcome.latency.max() as f64 / 1000.0,
    );
    for error in &tally.errors {
        let _ = writeln!(out, "  error: {}", truncate(error));
    }
    let mut checks: Vec<(bool, String)> = Vec::new();
    checks.push(match (outcome.final_counts, outcome.settle_s) {
        (Some(_), Some(s)) => (
            true,
            format!("counts back to zero {s:.1} s after the last client left"),
        ),
        (Some(c), None) => (
            false,
            format!(
                "counts not back to zero: {} sessions, {} sockets, {} rooms, {} hub members",
                c.sessions, c.sockets, c.rooms, c.members
            ),
        ),
        (None, _) => (false, "the server reports no counts (GET /stats)".into()),
    });
    checks.push(match &trend {
        Some(t) => (
            t.growth <= settings.max_growth_pct / 100.0 * t.mean,
            format!(
                "RSS flat after warm-up: slope {:+.2} MiB/min over the last two thirds, {:+.1} MiB over them, {:.1}% of their mean {:.1} MiB (limit {}%)",
                t.slope_per_min,
                t.growth,
                100.0 * t.growth / t.mean.max(1e-9),
                t.mean,
                settings.max_growth_pct
            ),
        ),
        None => (false, "RSS flat after warm-up: too few samples".into()),
    });
    checks.push((
        tally.lost == 0 && tally.duplicates == 0 && tally.misrouted == 0 && tally.expected > 0,
        format!(
            "every delivery arrived once: {} lost, {} duplicates, {} misrouted of {} checked",
            tally.lost, tally.duplicates, tally.misrouted, tally.expected
        ),
    ));
    checks.push((
        tally.connect_errors == 0
            && tally.dropped == 0
            && tally.unexpected == 0
            && tally.errors.is_empty(),
        format!(
            "no connection errors: {} failed connects, {} dropped, {} unexpected messages",
            tally.connect_errors, tally.dropped, tally.unexpected
        ),
    ));
    let _ = writeln!(out);
    for (i, (ok, line)) in checks.iter().enumerate() {
        let verdict = match (ok, i == RSS_CHECK && !settings.judge_rss) {
            (_, true) => "INFO",
            (true, false) => "PASS",
            (false, false) => "FAIL",
        };
        let _ = writeln!(out, "{verdict} {line}");
    }
    let passed = checks
        .iter()
        .enumerate()
        .all(|(i, (ok, _))| *ok || (i == RSS_CHECK && !settings.judge_rss));
    (out, passed)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fits_a_slope() {
        let flat = [(0.0, 5.0), (1.0, 5.0), (2.0, 5.0)];
        assert_eq!(slope(&flat), Some(0.0));
        let rising = [(0.0, 1.0), (1.0, 3.0), (2.0, 5.0), (3.0, 7.0)];
        assert!((slope(&rising).unwrap_or_default() - 2.0).abs() < 1e-9);
        assert_eq!(slope(&flat[..2]), None);
    }
}
