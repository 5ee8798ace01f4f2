//! Medians, the comparison table, the targets and the raw figures.

use std::collections::BTreeMap;
use std::fmt::Write;

use serde_json::{json, Value};

use crate::server::{Heartbeat, Kind};
use crate::workloads::{Metric, Settings};

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Workload {
    Idle,
    Fanout,
    Echo,
}

/// One workload at one size.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Cell {
    pub workload: Workload,
    pub size: usize,
}

impl Cell {
    pub fn name(&self) -> String {
        let workload = match self.workload {
            Workload::Idle => "idle",
            Workload::Fanout => "fanout",
            Workload::Echo => "echo",
        };
        format!("{workload} {}", self.size)
    }
}

/// One server, one cell, one repetition.
pub struct Run {
    pub cell: Cell,
    pub kind: Kind,
    pub rep: usize,
    pub outcome: Result<Vec<Metric>, String>,
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Better {
    Higher,
    Lower,
    Neither,
}

/// Every metric: key, label, which way is better.
const METRICS: &[(&str, &str, Better)] = &[
    (
        "rss_per_conn_kb",
        "server RSS per connection (KiB)",
        Better::Lower,
    ),
    (
        "heap_per_conn_kb",
        "server heap per connection (KiB, counting allocator)",
        Better::Lower,
    ),
    (
        "allocs_per_conn",
        "server heap blocks per connection (counting allocator)",
        Better::Lower,
    ),
    (
        "rss_total_mb",
        "server RSS, all connected (MiB)",
        Better::Lower,
    ),
    (
        "connect_rate",
        "connect rate (connections/s)",
        Better::Higher,
    ),
    (
        "idle_cpu_pct",
        "server CPU, idle with heartbeats (% of a core)",
        Better::Lower,
    ),
    (
        "pings_per_conn",
        "heartbeats per connection in the window",
        Better::Neither,
    ),
    (
        "loadgen_cpu_pct",
        "loadgen CPU (% of a core)",
        Better::Neither,
    ),
    (
        "idle_server_core_others_pct",
        "other work on the server core (% of a core)",
        Better::Neither,
    ),
    ("open_rate", "open loop: broadcasts/s sent", Better::Neither),
    (
        "open_drain_s",
        "open loop: backlog drain after the last send (s)",
        Better::Lower,
    ),
    ("open_p50_ms", "open loop: latency p50 (ms)", Better::Lower),
    ("open_p99_ms", "open loop: latency p99 (ms)", Better::Lower),
    ("open_max_ms", "open loop: latency max (ms)", Better::Lower),
    (
        "open_deliveries_per_s",
        "open loop: deliveries/s",
        Better::Higher,
    ),
    ("open_loss_pct", "open loop: loss (%)", Better::Lower),
    (
        "open_deliveries_per_cpu_s",
        "open loop: deliveries per server CPU-s",
        Better::Higher,
    ),
    (
        "open_server_cpu_pct",
        "open loop: server CPU (% of a core)",
        Better::Lower,
    ),
    (
        "open_loadgen_cpu_pct",
        "open loop: loadgen CPU (% of a core)",
        Better::Neither,
    ),
    (
        "open_server_core_others_pct",
        "open loop: other work on the server core (% of a core)",
        Better::Neither,
    ),
    (
        "open_loadgen_core_others_pct",
        "open loop: other work on the loadgen core (% of a core)",
        Better::Neither,
    ),
    (
        "closed_bcast_per_s",
        "closed loop: broadcasts/s",
        Better::Higher,
    ),
    (
        "closed_deliveries_per_s",
        "closed loop: deliveries/s",
        Better::Higher,
    ),
    (
        "closed_p50_ms",
        "closed loop: broadcast complete p50 (ms)",
        Better::Lower,
    ),
    (
        "closed_p99_ms",
        "closed loop: broadcast complete p99 (ms)",
        Better::Lower,
    ),
    (
        "closed_server_cpu_pct",
        "closed loop: server CPU (% of a core)",
        Better::Neither,
    ),
    (
        "closed_loadgen_cpu_pct",
        "closed loop: loadgen CPU (% of a core)",
        Better::Neither,
    ),
    (
        "closed_server_core_others_pct",
        "closed loop: other work on the server core (% of a core)",
        Better::Neither,
    ),
    (
        "closed_loadgen_core_others_pct",
        "closed loop: other work on the loadgen core (% of a core)",
        Better::Neither,
    ),
    ("echo_acks_per_s", "acks/s", Better::Higher),
    ("echo_p50_ms", "ack round trip p50 (ms)", Better::Lower),
    ("echo_p99_ms", "ack round trip p99 (ms)", Better::Lower),
    ("echo_p999_ms", "ack round trip p99.9 (ms)", Better::Lower),
    (
        "echo_acks_per_cpu_s",
        "acks per server CPU-s",
        Better::Higher,
    ),
    (
        "echo_server_cpu_pct",
        "server CPU (% of a core)",
        Better::Neither,
    ),
    (
        "echo_loadgen_cpu_pct",
        "loadgen CPU (% of a core)",
        Better::Neither,
    ),
    (
        "echo_server_core_others_pct",
        "other work on the server core (% of a core)",
        Better::Neither,
    ),
    (
        "echo_loadgen_core_others_pct",
        "other work on the loadgen core (% of a core)",
        Better::Neither,
    ),
];

fn info(key: &str) -> (&'static str, Better) {
    METRICS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, label, better)| (*label, *better))
        .unwrap_or(("?", Better::Neither))
}

fn median(values: &mut [f64]) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    values.sort_by(|a, b| a.total_cmp(b));
    let mid = values.len() / 2;
    Some(if values.len() % 2 == 1 {
        values[mid]
    } else {
        (values[mid - 1] + values[mid]) / 2.0
    })
}

/// A number with as many digits as it deserves.
pub fn num(value: f64) -> String {
    let abs = value.abs();
    if !value.is_finite() {
        "-".into()
    } else if abs >= 10_000.0 {
        let whole = value.round() as i64;
        let digits = whole.abs().to_string();
        let mut out = String::new();
        for (i, c) in digits.chars().enumerate() {
            if i > 0 && (digits.len() - i).is_multiple_of(3) {
                out.push(',');
            }
            out.push(c);
        }
        if whole < 0 {
            out.insert(0, '-');
        }
        out
    } else if abs >= 100.0 {
        format!("{value:.0}")
    } else if abs >= 10.0 {
        format!("{value:.1}")
    } else if abs >= 1.0 {
        format!("{value:.2}")
    } else if abs == 0.0 {
        "0".into()
    } else {
        format!("{value:.3}")
    }
}

struct Row {
    cell: Cell,
    key: &'static str,
    medians: BTreeMap<Kind, f64>,
}

/// Medians per cell, metric and server.
pub struct Summary {
    servers: Vec<Kind>,
    rows: Vec<Row>,
    /// (cell, server) → (successful runs, failed runs, first error).
    counts: BTreeMap<(Cell, Kind), (usize, usize, Option<String>)>,
}

pub fn summarize(cells: &[Cell], servers: &[Kind], runs: &[Run]) -> Summary {
    let mut counts = BTreeMap::new();
    let mut values: BTreeMap<(Cell, &'static str, Kind), Vec<f64>> = BTreeMap::new();
    for run in runs {
        let entry = counts.entry((run.cell, run.kind)).or_insert((0, 0, None));
        match &run.outcome {
            Ok(metrics) => {
                entry.0 += 1;
                for (key, value) in metrics.iter().filter(|(_, value)| value.is_finite()) {
                    values
                        .entry((run.cell, key, run.kind))
                        .or_default()
                        .push(*value);
                }
            }
            Err(error) => {
                entry.1 += 1;
                entry.2.get_or_insert_with(|| error.clone());
            }
        }
    }
    let mut rows = Vec::new();
    for &cell in cells {
        for (key, _, _) in METRICS {
            let mut medians = BTreeMap::new();
            for &kind in servers {
                if let Some(v) = values.get_mut(&(cell, *key, kind)) {
                    if let Some(m) = median(v) {
                        medians.insert(kind, m);
                    }
                }
            }
            if !medians.is_empty() {
                rows.push(Row { cell, key, medians });
            }
        }
    }
    Summary {
        servers: servers.to_vec(),
        rows,
        counts,
    }
}

impl Summary {
    /// The median of `key` in `cell` for `kind`, if it was measured.
    pub fn median(&self, cell: Cell, key: &str, kind: Kind) -> Option<f64> {
        self.rows
            .iter()
            .find(|row| row.cell == cell && row.key == key)
            .and_then(|row| row.medians.get(&kind).copied())
    }

    /// The ratio columns: Agora/Node, Floor/Node and Agora/Raw, each when both of its servers ran.
    fn ratios(&self) -> Vec<(Kind, Kind)> {
        [
            (Kind::Agora, Kind::Node),
            (Kind::Floor, Kind::Node),
            (Kind::Agora, Kind::Raw),
        ]
        .into_iter()
        .filter(|(a, b)| self.servers.contains(a) && self.servers.contains(b))
        .collect()
    }

    /// The cells of `workload` that have figures, in the order of the plan.
    pub fn cells(&self, workload: Workload) -> Vec<Cell> {
        let mut cells: Vec<Cell> = self
            .rows
            .iter()
            .map(|row| row.cell)
            .filter(|cell| cell.workload == workload)
            .collect();
        cells.dedup();
        cells
    }

    /// The servers of the run, in the order of the table.
    pub fn servers(&self) -> &[Kind] {
        &self.servers
    }

    /// The comparison table (Markdown).
    pub fn markdown(&self) -> String {
        let mut out = String::new();
        let ratios = self.ratios();
        let _ = write!(out, "| Workload | Metric (median) | better |");
        for kind in &self.servers {
            let _ = write!(out, " {} |", kind.title());
        }
        for (a, b) in &ratios {
            let _ = write!(out, " {}/{} |", a.title(), b.title());
        }
        out.push('\n');
        let _ = write!(out, "| --- | --- | --- |");
        for _ in self.servers.iter().chain(ratios.iter().map(|(a, _)| a)) {
            out.push_str(" ---: |");
        }
        out.push('\n');
        for row in &self.rows {
            let (label, better) = info(row.key);
            let better = match better {
                Better::Higher => "higher",
                Better::Lower => "lower",
                Better::Neither => "",
            };
            let _ = write!(out, "| {} | {label} | {better} |", row.cell.name());
            for kind in &self.servers {
                let value = row.medians.get(kind).map(|v| num(*v)).unwrap_or("-".into());
                let _ = write!(out, " {value} |");
            }
            for (a, b) in &ratios {
                let ratio = match (row.medians.get(a), row.medians.get(b)) {
                    (Some(a), Some(b)) if *b != 0.0 => format!("{:.2}", a / b),
                    _ => "-".into(),
                };
                let _ = write!(out, " {ratio} |");
            }
            out.push('\n');
        }
        let failed: Vec<String> = self
            .counts
            .iter()
            .filter(|(_, (_, failed, _))| *failed > 0)
            .map(|((cell, kind), (ok, failed, error))| {
                format!(
                    "- {} {}: {failed} of {} runs FAILED: {}",
                    cell.name(),
                    kind.name(),
                    ok + failed,
                    error.as_deref().unwrap_or("").lines().next().unwrap_or("")
                )
            })
            .collect();
        if !failed.is_empty() {
            out.push('\n');
            out.push_str(&failed.join("\n"));
            out.push('\n');
        }
        out
    }

    /// The project's targets, checked against the medians where both servers were measured.
    pub fn targets(&self) -> String {
        let mut out = String::from("Targets (from the medians):\n");
        let mut any = false;
        let mut check = |name: String, holds: Option<bool>, detail: String| {
            any = true;
            let verdict = match holds {
                Some(true) => "HOLDS",
                Some(false) => "MISSED",
                None => "n/a",
            };
            let _ = writeln!(out, "- [{verdict}] {name}: {detail}");
        };
        let against = |cell: Cell, key: &str, other: Kind| -> Option<(f64, f64, f64)> {
            let a = self.median(cell, key, Kind::Agora)?;
            let o = self.median(cell, key, other)?;
            Some((a, o, a / o))
        };
        let ratio = |cell: Cell, key: &str| against(cell, key, Kind::Node);
        let fan = Cell {
            workload: Workload::Fanout,
            size: 1_000,
        };
        if let Some((a, n, r)) = ratio(fan, "closed_bcast_per_s") {
            check(
                "fan-out 1000 closed loop, Agora >= 10x Node broadcasts/s".into(),
                Some(r >= 10.0),
                format!("{} vs {} = {r:.2}x", num(a), num(n)),
            );
        }
        if let Some((a, n, r)) = ratio(fan, "open_p99_ms") {
            check(
                "fan-out 1000 open loop, Agora p99 <= 1/8 of Node's".into(),
                Some(r <= 0.125),
                format!("{} ms vs {} ms = {r:.3}", num(a), num(n)),
            );
        }
        if let Some((a, n, r)) = ratio(fan, "open_deliveries_per_cpu_s") {
            check(
                "fan-out 1000 open loop, Agora deliveries per server CPU-s >= 1.3x Node's".into(),
                Some(r >= 1.3),
                format!("{} vs {} = {r:.2}x", num(a), num(n)),
            );
        }
        if let Some((a, w, r)) = against(fan, "closed_bcast_per_s", Kind::Raw) {
            check(
                "fan-out 1000 closed loop, Agora >= 0.9x the raw reference's broadcasts/s".into(),
                Some(r >= 0.9),
                format!("{} vs {} = {r:.2}x", num(a), num(w)),
            );
        }
        for cell in self.cells(Workload::Echo) {
            if let Some((a, n, r)) = ratio(cell, "echo_acks_per_s") {
                check(
                    format!("{}: Agora >= 2.5x Node acks/s", cell.name()),
                    Some(r >= 2.5),
                    format!("{} vs {} = {r:.2}x", num(a), num(n)),
                );
            }
            if let Some((a, n, r)) = ratio(cell, "echo_p99_ms") {
                check(
                    format!("{}: Agora p99 <= 1/3 of Node's", cell.name()),
                    Some(r <= 1.0 / 3.0),
                    format!("{} ms vs {} ms = {r:.3}", num(a), num(n)),
                );
            }
            if let Some((a, w, r)) = against(cell, "echo_acks_per_s", Kind::Raw) {
                check(
                    format!("{}: Agora >= 0.95x the raw reference's acks/s", cell.name()),
                    Some(r >= 0.95),
                    format!("{} vs {} = {r:.2}x", num(a), num(w)),
                );
            }
        }
        // The idle targets hold from 10,000 connections on (where fixed costs have amortized).
        for cell in self.cells(Workload::Idle) {
            if cell.size < 10_000 {
                continue;
            }
            if let Some((a, n, r)) = ratio(cell, "rss_per_conn_kb") {
                check(
                    format!(
                        "{}, Agora memory per connection <= half of Node's",
                        cell.name()
                    ),
                    Some(r <= 0.5),
                    format!("{} KiB vs {} KiB = {r:.2}", num(a), num(n)),
                );
            }
            if let Some((a, w, r)) = against(cell, "rss_per_conn_kb", Kind::Raw) {
                check(
                    format!(
                        "{}, Agora memory per connection <= the raw reference's",
                        cell.name()
                    ),
                    Some(r <= 1.0),
                    format!("{} KiB vs {} KiB = {r:.2}", num(a), num(w)),
                );
            }
            if let Some(a) = self.median(cell, "idle_cpu_pct", Kind::Agora) {
                check(
                    format!("{}, Agora heartbeats under 5% of one core", cell.name()),
                    Some(a < 5.0),
                    format!("{}%", num(a)),
                );
            }
        }
        if !any {
            out.push_str("- (none of the target cells were measured for both servers)\n");
        }
        out
    }
}

/// One line per run for the progress log.
pub fn brief(cell: Cell, metrics: &[Metric]) -> String {
    let keys: &[&str] = match cell.workload {
        Workload::Idle => &[
            "rss_per_conn_kb",
            "heap_per_conn_kb",
            "connect_rate",
            "idle_cpu_pct",
            "pings_per_conn",
        ],
        Workload::Fanout => &[
            "open_p50_ms",
            "open_p99_ms",
            "open_loss_pct",
            "open_deliveries_per_cpu_s",
            "closed_bcast_per_s",
            "closed_loadgen_cpu_pct",
        ],
        Workload::Echo => &[
            "echo_acks_per_s",
            "echo_p50_ms",
            "echo_p99_ms",
            "echo_loadgen_cpu_pct",
        ],
    };
    keys.iter()
        .filter_map(|key| {
            let value = metrics.iter().find(|(k, _)| k == key)?.1;
            Some(format!("{key}={}", num(value)))
        })
        .collect::<Vec<_>>()
        .join(" ")
}

/// Every run's figures, for the record.
pub fn raw(runs: &[Run]) -> String {
    let mut out = String::from("All runs:\n");
    for run in runs {
        let _ = write!(
            out,
            "- rep {} {} {}: ",
            run.rep + 1,
            run.cell.name(),
            run.kind.name()
        );
        match &run.outcome {
            Ok(metrics) => {
                let parts: Vec<String> = metrics
                    .iter()
                    .map(|(key, value)| format!("{key}={}", num(*value)))
                    .collect();
                out.push_str(&parts.join(" "));
            }
            Err(error) => {
                let _ = write!(out, "FAILED: {}", error.lines().next().unwrap_or(""));
            }
        }
        out.push('\n');
    }
    out
}

/// The settings of the invocation, in one paragraph.
pub fn settings_line(
    settings: &Settings,
    reps: usize,
    heartbeat: &Heartbeat,
    idle_heartbeat: &Heartbeat,
) -> String {
    format!(
        "Settings: {reps} repetitions; warm-up {:?}, window {:?}; open loop {} broadcasts/s (capped at {} deliveries/s offered); closed loop {} broadcasts in flight; payload padding {} chars; {} handshakes in flight; pingInterval {} ms (idle: {} ms, CPU window {:?}), pingTimeout {} ms.\n",
        settings.warmup,
        settings.duration,
        num(settings.rate),
        num(settings.max_offered),
        settings.window,
        settings.payload_bytes,
        settings.connect_concurrency,
        heartbeat.interval_ms,
        idle_heartbeat.interval_ms,
        settings.idle_window,
        heartbeat.timeout_ms,
    )
}

/// The machine the figures come from.
pub struct Machine {
    pub cpus: usize,
    pub model: String,
    pub memory_gib: f64,
    pub kernel: String,
    pub node: String,
    pub pinning: String,
    /// /proc/loadavg at the start and at the end of the invocation.
    pub load: (String, String),
}

impl Machine {
    pub fn probe(
        node_bin: &str,
        pinned: bool,
        server_cpu: usize,
        loadgen_cpu: usize,
        load_at_start: String,
    ) -> Machine {
        let cpuinfo = std::fs::read_to_string("/proc/cpuinfo").unwrap_or_default();
        let cpus = cpuinfo
            .lines()
            .filter(|l| l.starts_with("processor"))
            .count();
        let model = cpuinfo
            .lines()
            .find(|l| l.starts_with("model name"))
            .and_then(|l| l.split(':').nth(1))
            .map(|m| m.trim().to_string())
            .unwrap_or_else(|| "unknown".into());
        let memory_gib = std::fs::read_to_string("/proc/meminfo")
            .unwrap_or_default()
            .lines()
            .find_map(|l| l.strip_prefix("MemTotal:"))
            .and_then(|v| v.trim().trim_end_matches("kB").trim().parse::<f64>().ok())
            .map(|kb| kb / (1024.0 * 1024.0))
            .unwrap_or(0.0);
        let kernel = std::fs::read_to_string("/proc/sys/kernel/osrelease")
            .unwrap_or_default()
            .trim()
            .to_string();
        let node = std::process::Command::new(node_bin)
            .arg("--version")
            .output()
            .ok()
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
            .unwrap_or_else(|| "not found".into());
        let mut pinning = if pinned {
            format!("server on CPU {server_cpu}, loadgen on CPU {loadgen_cpu}")
        } else {
            "not pinned".into()
        };
        // SAFETY: a plain system call.
        let nice = unsafe { libc::getpriority(libc::PRIO_PROCESS, 0) };
        if nice != 0 {
            pinning.push_str(&format!(", nice {nice}"));
        }
        if let Ok(group) = std::fs::read_to_string("/proc/self/autogroup") {
            if !group.trim().ends_with("nice 0") {
                pinning.push_str(&format!(" (autogroup {})", group.trim()));
            }
        }
        Machine {
            cpus,
            model,
            memory_gib,
            kernel,
            node,
            pinning,
            load: (load_at_start, loadavg()),
        }
    }

    pub fn markdown(&self) -> String {
        format!(
            "Machine: {} CPUs ({}), {:.1} GiB memory, Linux {}, Node {}; {}; load average {} at start, {} at end.\n",
            self.cpus,
            self.model,
            self.memory_gib,
            self.kernel,
            self.node,
            self.pinning,
            self.load.0,
            self.load.1
        )
    }
}

pub fn json(machine: &Machine, runs: &[Run], summary: &Summary) -> Value {
    let runs: Vec<Value> = runs
        .iter()
        .map(|run| {
            let mut value = json!({
                "cell": run.cell.name(),
                "server": run.kind.name(),
                "rep": run.rep + 1,
            });
            match &run.outcome {
                Ok(metrics) => {
                    value["metrics"] = metrics
                        .iter()
                        .map(|(k, v)| ((*k).to_string(), json!(v)))
                        .collect::<serde_json::Map<_, _>>()
                        .into();
                }
                Err(error) => value["error"] = json!(error),
            }
            value
        })
        .collect();
    let medians: Vec<Value> = summary
        .rows
        .iter()
        .map(|row| {
            json!({
                "cell": row.cell.name(),
                "metric": row.key,
                "medians": row.medians.iter().map(|(k, v)| (k.name().to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
            })
        })
        .collect();
    json!({
        "machine": {
            "cpus": machine.cpus,
            "model": machine.model,
            "memory_gib": machine.memory_gib,
            "kernel": machine.kernel,
            "node": machine.node,
            "pinning": machine.pinning,
            "load_start": machine.load.0,
            "load_end": machine.load.1,
        },
        "medians": medians,
        "runs": runs,
    })
}

/// The 1, 5 and 15 minute load averages.
pub fn loadavg() -> String {
    std::fs::read_to_string("/proc/loadavg")
        .unwrap_or_default()
        .split_whitespace()
        .take(3)
        .collect::<Vec<_>>()
        .join(" ")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn run(kind: Kind, value: f64) -> Run {
        Run {
            cell: Cell {
                workload: Workload::Echo,
                size: 10,
            },
            kind,
            rep: 0,
            outcome: Ok(vec![("echo_acks_per_s", value)]),
        }
    }

    #[test]
    fn ratio_columns_follow_the_servers() {
        let cells = [Cell {
            workload: Workload::Echo,
            size: 10,
        }];
        let runs = [
            run(Kind::Agora, 300.0),
            run(Kind::Node, 100.0),
            run(Kind::Floor, 500.0),
        ];
        let all = summarize(&cells, &[Kind::Agora, Kind::Node, Kind::Floor], &runs);
        let table = all.markdown();
        assert!(table.starts_with(
            "| Workload | Metric (median) | better | Agora | Node | Floor | Agora/Node | Floor/Node |\n\
             | --- | --- | --- | ---: | ---: | ---: | ---: | ---: |\n"
        ));
        assert!(table.contains("| echo 10 | acks/s | higher | 300 | 100 | 500 | 3.00 | 5.00 |"));

        let two = summarize(&cells, &[Kind::Agora, Kind::Node], &runs).markdown();
        assert!(two.contains("| Agora | Node | Agora/Node |\n"));
        assert!(two.contains("| 300 | 100 | 3.00 |\n"));
    }

    #[test]
    fn the_raw_reference_gets_a_ratio_column_and_its_targets() {
        let echo = Cell {
            workload: Workload::Echo,
            size: 10,
        };
        let idle = Cell {
            workload: Workload::Idle,
            size: 19_000,
        };
        let idle_run = |kind, kb| Run {
            cell: idle,
            kind,
            rep: 0,
            outcome: Ok(vec![("rss_per_conn_kb", kb)]),
        };
        let runs = [
            run(Kind::Agora, 300.0),
            run(Kind::Raw, 400.0),
            idle_run(Kind::Agora, 8.0),
            idle_run(Kind::Raw, 9.0),
        ];
        let summary = summarize(&[echo, idle], &[Kind::Agora, Kind::Raw], &runs);
        let table = summary.markdown();
        assert!(table.contains("| Agora | Raw | Agora/Raw |\n"));
        assert!(table.contains("| echo 10 | acks/s | higher | 300 | 400 | 0.75 |"));
        let targets = summary.targets();
        assert!(targets.contains(
            "- [MISSED] echo 10: Agora >= 0.95x the raw reference's acks/s: 300 vs 400 = 0.75x"
        ));
        assert!(targets.contains(
            "- [HOLDS] idle 19000, Agora memory per connection <= the raw reference's: 8.00 KiB vs 9.00 KiB = 0.89"
        ));
    }
}
