//! Load generator for Agora and the Node.js Socket.IO reference server.
//!
//! It starts each server itself (Agora's `examples/bench`, then `node benches/node/server.js`, and
//! when asked the design floor `benches/floor` and the raw reference `benches/raw`), pinned to one
//! core while the loadgen runs on another, runs the workloads against it over loopback, kills it,
//! and goes on with the next server: A B A B… for several repetitions. It then prints the medians
//! side by side with the Agora/Node ratio (and Floor/Node, Agora/Raw), and draws SVG plots of them
//! (`plot.rs`). See docs/BENCHMARKS.md.
//!
//! It speaks Engine.IO v4 / Socket.IO v5 over WebSocket itself (see `client.rs`).

mod client;
mod plot;
mod polling;
mod report;
mod server;
mod soak;
mod workloads;

use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::{Duration, Instant};

use clap::Parser;

use crate::client::Result;
use crate::report::{Cell, Run, Workload};
use crate::server::{Heartbeat, Kind, Launcher};
use crate::workloads::Settings;

/// The workspace root, where the default paths start.
fn root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[derive(Parser, Debug)]
#[command(
    about = "Benchmarks Agora against the Node.js Socket.IO server: idle connections, fan-out, echo",
    after_help = "A full run with the defaults takes about 12 minutes; --smoke takes seconds."
)]
struct Args {
    /// Tiny sizes and short windows for every workload (CI: keeps the harness working; fails if a
    /// workload fails outright, asserts nothing about speed).
    #[arg(long)]
    smoke: bool,
    /// Servers to run, in this order within each repetition: agora, node, floor (the design
    /// floor, `benches/floor`), raw (the raw reference, `benches/raw`).
    #[arg(long, value_delimiter = ',', default_value = "agora,node")]
    servers: Vec<String>,
    /// Workloads to run: idle, fanout, echo.
    #[arg(long, value_delimiter = ',', default_value = "idle,fanout,echo")]
    workloads: Vec<String>,
    /// Repetitions (the table shows medians).
    #[arg(long)]
    reps: Option<usize>,
    /// Connection counts for the idle workload.
    #[arg(long, value_delimiter = ',')]
    idle_sizes: Option<Vec<usize>>,
    /// Room sizes for the fan-out workload.
    #[arg(long, value_delimiter = ',')]
    fanout_sizes: Option<Vec<usize>>,
    /// Connection counts for the echo workload.
    #[arg(long, value_delimiter = ',')]
    echo_sizes: Option<Vec<usize>>,
    /// Measurement window of the fan-out and echo phases, in seconds.
    #[arg(long)]
    duration: Option<f64>,
    /// Warm-up before each measurement window, in seconds.
    #[arg(long)]
    warmup: Option<f64>,
    /// Idle CPU window, in seconds (one ping interval catches one heartbeat per connection).
    #[arg(long)]
    idle_window: Option<f64>,
    /// Engine.IO ping interval for the idle workload, in ms (every server).
    #[arg(long)]
    idle_ping_interval: Option<u64>,
    /// Engine.IO ping interval for the other workloads, in ms (every server).
    #[arg(long, default_value_t = 25_000)]
    ping_interval: u64,
    /// Engine.IO ping timeout, in ms (every server).
    #[arg(long, default_value_t = 20_000)]
    ping_timeout: u64,
    /// Open-loop fan-out: broadcasts per second…
    #[arg(long)]
    rate: Option<f64>,
    /// …lowered for big rooms so that broadcasts/s × room size stays under this.
    #[arg(long, default_value_t = 200_000.0)]
    max_offered: f64,
    /// Closed-loop fan-out: broadcasts in flight (done once every member has it).
    #[arg(long, default_value_t = 8)]
    window: usize,
    /// Echo: requests in flight per connection (each answered ack sends the next).
    #[arg(long, default_value_t = 1)]
    echo_in_flight: usize,
    /// Filler characters in each broadcast and echo payload.
    #[arg(long, default_value_t = 64)]
    payload_bytes: usize,
    /// WebSocket + Socket.IO handshakes in flight while connecting.
    #[arg(long, default_value_t = 100)]
    connect_concurrency: usize,
    /// First port; each server start takes the next free one (keep it below the ephemeral range,
    /// where the clients' own ports are).
    #[arg(long, default_value_t = 24_000)]
    base_port: u16,
    /// Agora's bench server binary.
    #[arg(long)]
    agora_bin: Option<PathBuf>,
    /// Worker threads for Agora and the floor (default: actix's choice, one per CPU it may use).
    #[arg(long)]
    agora_workers: Option<usize>,
    /// The design floor's server binary.
    #[arg(long)]
    floor_bin: Option<PathBuf>,
    /// The raw reference's server binary.
    #[arg(long)]
    raw_bin: Option<PathBuf>,
    /// Where the SVG plots of the medians go.
    #[arg(long)]
    svg_dir: Option<PathBuf>,
    /// Start Agora with its counting allocator; the idle workload then reports Agora's heap bytes
    /// and blocks per connection next to its RSS.
    #[arg(long)]
    count_allocations: bool,
    /// The node executable.
    #[arg(long, default_value = "node")]
    node_bin: String,
    /// The Node reference server script.
    #[arg(long)]
    node_script: Option<PathBuf>,
    /// Agora's session queue bound, in frames.
    #[arg(long, default_value_t = 4_096)]
    max_queue: usize,
    /// CPU the servers are pinned to.
    #[arg(long, default_value_t = 0)]
    server_cpu: usize,
    /// CPU the loadgen is pinned to.
    #[arg(long, default_value_t = 1)]
    loadgen_cpu: usize,
    /// Pin nothing.
    #[arg(long)]
    no_pin: bool,
    /// Nice value for the loadgen and the servers (negative needs root). The loadgen also starts
    /// its own session and gives its scheduler autogroup this nice, since Linux weighs autogroups
    /// against each other before nice values inside them: on a machine shared with other work, -10
    /// keeps most of their load off the measurement.
    #[arg(long, allow_hyphen_values = true)]
    nice: Option<i32>,
    /// Run against a server already listening on this port instead of starting one (with
    /// --attach-pid; --servers names it, and must name one server).
    #[arg(long, requires = "attach_pid")]
    attach_port: Option<u16>,
    /// The process of the server given with --attach-port, for its CPU and memory.
    #[arg(long, requires = "attach_port")]
    attach_pid: Option<u32>,
    /// Where the servers' output goes.
    #[arg(long)]
    log_dir: Option<PathBuf>,
    /// Also write every run's figures as JSON to this file.
    #[arg(long)]
    json: Option<PathBuf>,
    #[command(flatten)]
    soak: soak::SoakArgs,
}

/// The plan of a whole invocation, defaults filled in.
struct Plan {
    servers: Vec<Kind>,
    cells: Vec<Cell>,
    reps: usize,
    settings: Settings,
    heartbeat: Heartbeat,
    idle_heartbeat: Heartbeat,
}

fn plan(args: &Args) -> Result<Plan> {
    let smoke = args.smoke;
    let pick =
        |value: Option<f64>, full: f64, tiny: f64| value.unwrap_or(if smoke { tiny } else { full });
    let sizes = |value: &Option<Vec<usize>>, full: &[usize], tiny: &[usize]| {
        value
            .clone()
            .unwrap_or_else(|| if smoke { tiny.to_vec() } else { full.to_vec() })
    };
    let mut servers = Vec::new();
    for name in &args.servers {
        servers.push(match name.as_str() {
            "agora" => Kind::Agora,
            "node" => Kind::Node,
            "floor" => Kind::Floor,
            "raw" => Kind::Raw,
            other => fail!("unknown server {other:?} (agora, node, floor, raw)"),
        });
    }
    let mut cells = Vec::new();
    for name in &args.workloads {
        let (workload, sizes) = match name.as_str() {
            "idle" => (
                Workload::Idle,
                sizes(&args.idle_sizes, &[1_000, 10_000], &[20]),
            ),
            "fanout" => (
                Workload::Fanout,
                sizes(&args.fanout_sizes, &[100, 1_000, 10_000], &[10]),
            ),
            "echo" => (
                Workload::Echo,
                sizes(&args.echo_sizes, &[100, 1_000], &[10]),
            ),
            other => fail!("unknown workload {other:?} (idle, fanout, echo)"),
        };
        cells.extend(sizes.into_iter().map(|size| Cell { workload, size }));
    }
    let idle_interval =
        args.idle_ping_interval
            .unwrap_or(if smoke { 300 } else { args.ping_interval });
    let settings = Settings {
        warmup: Duration::from_secs_f64(pick(args.warmup, 1.0, 0.2)),
        duration: Duration::from_secs_f64(pick(args.duration, 5.0, 0.7)),
        payload_bytes: args.payload_bytes,
        connect_concurrency: args.connect_concurrency,
        rate: pick(args.rate, 200.0, 50.0),
        max_offered: args.max_offered,
        window: args.window,
        echo_in_flight: args.echo_in_flight.max(1),
        idle_window: Duration::from_secs_f64(pick(
            args.idle_window,
            idle_interval as f64 / 1000.0,
            1.0,
        )),
        idle_settle: Duration::from_millis(if smoke { 100 } else { 2_000 }),
        stall: Duration::from_secs(if smoke { 5 } else { 10 }),
        strict: smoke,
    };
    Ok(Plan {
        servers,
        cells,
        reps: args.reps.unwrap_or(if smoke { 1 } else { 3 }),
        settings,
        heartbeat: Heartbeat {
            interval_ms: args.ping_interval,
            timeout_ms: args.ping_timeout,
        },
        idle_heartbeat: Heartbeat {
            interval_ms: idle_interval,
            timeout_ms: args.ping_timeout,
        },
    })
}

fn main() -> ExitCode {
    let args = Args::parse();
    let plan = match plan(&args) {
        Ok(plan) => plan,
        Err(error) => {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    };
    if !args.no_pin {
        match server::pin_current(args.loadgen_cpu) {
            Ok(()) => {
                let _ = server::PINNED.set((args.server_cpu, args.loadgen_cpu));
            }
            Err(error) => eprintln!(
                "loadgen: could not pin to CPU {}: {error}",
                args.loadgen_cpu
            ),
        }
    }
    if let Some(nice) = args.nice {
        // SAFETY: plain system calls; the servers inherit session, autogroup and nice value.
        unsafe { libc::setsid() };
        if let Err(error) = std::fs::write("/proc/self/autogroup", nice.to_string()) {
            eprintln!("loadgen: could not set the autogroup's nice to {nice}: {error}");
        }
        if unsafe { libc::setpriority(libc::PRIO_PROCESS, 0, nice) } != 0 {
            eprintln!(
                "loadgen: could not set nice {nice}: {}",
                std::io::Error::last_os_error()
            );
        }
    }
    match server::raise_nofile() {
        Ok(limit) if limit < 12_000 => {
            eprintln!("loadgen: warning: only {limit} open files allowed; big sizes will fail")
        }
        Ok(_) => {}
        Err(error) => eprintln!("loadgen: could not raise RLIMIT_NOFILE: {error}"),
    }
    let launcher = Launcher {
        agora_bin: args
            .agora_bin
            .clone()
            .unwrap_or_else(|| root().join("target/release/examples/bench")),
        workers: args.agora_workers,
        floor_bin: args
            .floor_bin
            .clone()
            .unwrap_or_else(|| root().join("target/release/floor")),
        raw_bin: args
            .raw_bin
            .clone()
            .unwrap_or_else(|| root().join("target/release/raw")),
        node_bin: args.node_bin.clone(),
        node_script: args
            .node_script
            .clone()
            .unwrap_or_else(|| root().join("benches/node/server.js")),
        cpu: (!args.no_pin).then_some(args.server_cpu),
        max_queue: args.max_queue,
        log_dir: args
            .log_dir
            .clone()
            .unwrap_or_else(|| root().join("target/loadgen-logs")),
        count_allocations: args.count_allocations,
    };
    if args.attach_port.is_some() && plan.servers.len() != 1 {
        eprintln!("loadgen: --attach-port needs --servers to name the one server it is");
        return ExitCode::from(2);
    }
    for kind in &plan.servers {
        if args.attach_port.is_some() {
            break;
        }
        if let Err(error) = launcher.check(*kind) {
            eprintln!("loadgen: {error}");
            return ExitCode::from(2);
        }
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("tokio runtime");
    let local = tokio::task::LocalSet::new();
    let soak = args
        .soak
        .settings(plan.heartbeat, args.connect_concurrency, args.payload_bytes);
    if let Some(soak) = soak {
        let attach = args.attach_port.zip(args.attach_pid);
        let soak_run = soak::run_all(&plan.servers, &launcher, attach, args.base_port, &soak);
        return if local.block_on(&runtime, soak_run) {
            ExitCode::SUCCESS
        } else {
            ExitCode::FAILURE
        };
    }
    let load_at_start = report::loadavg();
    let runs = local.block_on(&runtime, run_all(&args, &plan, &launcher));

    let machine = report::Machine::probe(
        &args.node_bin,
        !args.no_pin,
        args.server_cpu,
        args.loadgen_cpu,
        load_at_start,
    );
    let summary = report::summarize(&plan.cells, &plan.servers, &runs);
    println!();
    print!("{}", machine.markdown());
    println!();
    print!(
        "{}",
        report::settings_line(
            &plan.settings,
            plan.reps,
            &plan.heartbeat,
            &plan.idle_heartbeat
        )
    );
    println!();
    print!("{}", summary.markdown());
    println!();
    print!("{}", summary.targets());
    println!();
    print!("{}", report::raw(&runs));
    let svg_dir = args
        .svg_dir
        .clone()
        .unwrap_or_else(|| root().join("target/loadgen-plots"));
    match plot::write_all(&summary, &svg_dir) {
        Ok(files) => files
            .iter()
            .for_each(|file| eprintln!("loadgen: wrote {}", file.display())),
        Err(error) => eprintln!(
            "loadgen: could not write plots to {}: {error}",
            svg_dir.display()
        ),
    }
    if let Some(path) = &args.json {
        let json = report::json(&machine, &runs, &summary);
        if let Err(error) = std::fs::write(
            path,
            serde_json::to_string_pretty(&json).unwrap_or_default(),
        ) {
            eprintln!("loadgen: could not write {}: {error}", path.display());
        }
    }
    let failures = runs.iter().filter(|run| run.outcome.is_err()).count();
    if failures > 0 {
        eprintln!("loadgen: {failures} of {} runs failed", runs.len());
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn run_all(args: &Args, plan: &Plan, launcher: &Launcher) -> Vec<Run> {
    let mut runs = Vec::new();
    let mut port = args.base_port;
    let started = Instant::now();
    for rep in 0..plan.reps {
        for cell in &plan.cells {
            for &kind in &plan.servers {
                let heartbeat = if cell.workload == Workload::Idle {
                    plan.idle_heartbeat
                } else {
                    plan.heartbeat
                };
                let run_started = Instant::now();
                port = free_port(port);
                let attach = args.attach_port.zip(args.attach_pid);
                let outcome = run_one(
                    launcher,
                    attach,
                    kind,
                    port,
                    heartbeat,
                    *cell,
                    &plan.settings,
                )
                .await;
                port = port.wrapping_add(1).max(1024);
                let outcome = outcome.map_err(|error| error.to_string());
                eprintln!(
                    "[{:>5.0}s] rep {}/{} {:<12} {:<5} {:>5.1}s  {}",
                    started.elapsed().as_secs_f64(),
                    rep + 1,
                    plan.reps,
                    cell.name(),
                    kind.name(),
                    run_started.elapsed().as_secs_f64(),
                    match &outcome {
                        Ok(metrics) => report::brief(*cell, metrics),
                        Err(error) => format!("FAILED: {error}"),
                    }
                );
                runs.push(Run {
                    cell: *cell,
                    kind,
                    rep,
                    outcome,
                });
            }
        }
    }
    runs
}

/// The first port from `port` on that nothing listens on or holds.
fn free_port(mut port: u16) -> u16 {
    for _ in 0..100 {
        if std::net::TcpListener::bind(("127.0.0.1", port)).is_ok() {
            return port;
        }
        port = port.wrapping_add(1).max(1024);
    }
    port
}

async fn run_one(
    launcher: &Launcher,
    attach: Option<(u16, u32)>,
    kind: Kind,
    port: u16,
    heartbeat: Heartbeat,
    cell: Cell,
    settings: &Settings,
) -> Result<Vec<workloads::Metric>> {
    let mut server = match attach {
        Some((port, pid)) => server::Server::attach(kind, port, pid)?,
        None => launcher.start(kind, port, heartbeat)?,
    };
    let result = match cell.workload {
        Workload::Idle => {
            let interval = Duration::from_millis(heartbeat.interval_ms);
            workloads::idle(&mut server, cell.size, settings, interval).await
        }
        Workload::Fanout => workloads::fanout(&mut server, cell.size, settings).await,
        Workload::Echo => workloads::echo(&mut server, cell.size, settings).await,
    };
    // The workload dropped its connections; let them close before the server goes.
    workloads::settle_teardown().await;
    let result = result.map_err(|error| {
        let tail = server.log_tail();
        if tail.trim().is_empty() {
            error
        } else {
            Box::new(client::Failure(format!(
                "{error}\n  server log tail:\n{tail}"
            ))) as _
        }
    });
    server.stop();
    result
}
