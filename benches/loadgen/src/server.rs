//! The servers under test as child processes, and what /proc says about a process.

use std::fs::File;
use std::io;
use std::os::unix::process::CommandExt;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use crate::client::Result;
use crate::fail;

/// Which server.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Kind {
    Agora,
    Node,
    /// The design floor: `benches/floor`, the smallest server on Agora's design.
    Floor,
    /// The raw reference: `benches/raw`, a minimal server on tokio-tungstenite, no actix.
    Raw,
}

impl Kind {
    pub fn name(self) -> &'static str {
        match self {
            Kind::Agora => "agora",
            Kind::Node => "node",
            Kind::Floor => "floor",
            Kind::Raw => "raw",
        }
    }

    pub fn title(self) -> &'static str {
        match self {
            Kind::Agora => "Agora",
            Kind::Node => "Node",
            Kind::Floor => "Floor",
            Kind::Raw => "Raw",
        }
    }
}

/// How to start the servers.
#[derive(Debug, Clone)]
pub struct Launcher {
    pub agora_bin: PathBuf,
    /// Worker threads for Agora, the floor and the raw reference (default: one per CPU it may use).
    pub workers: Option<usize>,
    pub floor_bin: PathBuf,
    pub raw_bin: PathBuf,
    pub node_bin: String,
    pub node_script: PathBuf,
    /// The CPU the server is pinned to, if any.
    pub cpu: Option<usize>,
    pub max_queue: usize,
    pub log_dir: PathBuf,
    /// Start Agora with `--count-allocations`, so the idle workload can read its live heap.
    pub count_allocations: bool,
}

/// Engine.IO heartbeat settings passed to every server.
#[derive(Debug, Clone, Copy)]
pub struct Heartbeat {
    pub interval_ms: u64,
    pub timeout_ms: u64,
}

/// A running server; killed when dropped.
pub struct Server {
    /// None for a server the loadgen attached to instead of starting.
    child: Option<Child>,
    pub pid: u32,
    pub port: u16,
    pub kind: Kind,
    log: PathBuf,
    /// The server counts its allocations and reports them on SIGUSR1 (see [`Server::heap`]).
    counts_allocations: bool,
}

/// What a server's counting allocator says is allocated right now.
#[derive(Debug, Clone, Copy)]
pub struct Heap {
    pub bytes: f64,
    pub allocations: f64,
}

/// How long a server may take to answer SIGUSR1 with its heap line.
const HEAP_REPORT_TIMEOUT: Duration = Duration::from_secs(3);

/// The start of the line `benches/agora/bench.rs --count-allocations` writes on SIGUSR1.
const HEAP_LINE: &str = "heap: live_bytes=";

impl Launcher {
    /// Checks that the server programs are there before anything runs.
    pub fn check(&self, kind: Kind) -> Result<()> {
        match kind {
            Kind::Agora if !self.agora_bin.is_file() => fail!(
                "no Agora bench binary at {} (build it with `cargo build --release --example bench`, or pass --agora-bin)",
                self.agora_bin.display()
            ),
            Kind::Floor if !self.floor_bin.is_file() => fail!(
                "no floor server at {} (build it with `cargo build --release -p floor`, or pass --floor-bin)",
                self.floor_bin.display()
            ),
            Kind::Raw if !self.raw_bin.is_file() => fail!(
                "no raw reference server at {} (build it with `cargo build --release -p raw`, or pass --raw-bin)",
                self.raw_bin.display()
            ),
            Kind::Node if !self.node_script.is_file() => fail!(
                "no Node reference server at {} (pass --node-script)",
                self.node_script.display()
            ),
            Kind::Node => {
                let modules = self
                    .node_script
                    .parent()
                    .map(|dir| dir.join("node_modules/socket.io"))
                    .unwrap_or_default();
                if !modules.is_dir() {
                    fail!(
                        "socket.io is not installed next to {} (run `npm ci --prefix benches/node`)",
                        self.node_script.display()
                    );
                }
                Ok(())
            }
            Kind::Agora | Kind::Floor | Kind::Raw => Ok(()),
        }
    }

    /// Starts a server on `port` and waits until it accepts connections.
    pub fn start(&self, kind: Kind, port: u16, heartbeat: Heartbeat) -> Result<Server> {
        let interval = heartbeat.interval_ms.to_string();
        let timeout = heartbeat.timeout_ms.to_string();
        let port_arg = port.to_string();
        let mut command = match kind {
            Kind::Agora => {
                let mut command = Command::new(&self.agora_bin);
                command.args(["--port", &port_arg, "--ping-interval", &interval]);
                command.args(["--ping-timeout", &timeout]);
                command.args(["--max-queue", &self.max_queue.to_string()]);
                if let Some(workers) = self.workers {
                    command.args(["--workers", &workers.to_string()]);
                }
                if self.count_allocations {
                    command.arg("--count-allocations");
                }
                command.env("RUST_LOG", "warn");
                command
            }
            Kind::Floor | Kind::Raw => {
                let bin = if kind == Kind::Floor {
                    &self.floor_bin
                } else {
                    &self.raw_bin
                };
                let mut command = Command::new(bin);
                command.args(["--port", &port_arg, "--ping-interval", &interval]);
                command.args(["--ping-timeout", &timeout]);
                if let Some(workers) = self.workers {
                    command.args(["--workers", &workers.to_string()]);
                }
                command
            }
            Kind::Node => {
                let mut command = Command::new(&self.node_bin);
                command.arg(&self.node_script);
                command.args(["--port", &port_arg, "--ping-interval", &interval]);
                command.args(["--ping-timeout", &timeout]);
                command.env("NODE_ENV", "production");
                command
            }
        };
        std::fs::create_dir_all(&self.log_dir)?;
        let log = self.log_dir.join(format!("{}-{port}.log", kind.name()));
        let out = File::create(&log)?;
        command
            .stdin(Stdio::null())
            .stdout(out.try_clone()?)
            .stderr(out);
        let cpu = self.cpu;
        // SAFETY: only async-signal-safe system calls between fork and exec.
        unsafe {
            command.pre_exec(move || {
                // The server dies with the loadgen, even when the loadgen is killed.
                if libc::prctl(libc::PR_SET_PDEATHSIG, libc::SIGKILL) != 0 {
                    return Err(io::Error::last_os_error());
                }
                match cpu {
                    Some(cpu) => pin_current(cpu),
                    None => Ok(()),
                }
            });
        }
        let child = command.spawn().map_err(|error| {
            crate::client::Failure(format!("could not start {}: {error}", kind.name()))
        })?;
        let mut server = Server {
            pid: child.id(),
            child: Some(child),
            port,
            kind,
            log,
            counts_allocations: self.count_allocations && kind == Kind::Agora,
        };
        server.wait_ready(Duration::from_secs(20))?;
        Ok(server)
    }
}

impl Server {
    fn wait_ready(&mut self, limit: Duration) -> Result<()> {
        let deadline = Instant::now() + limit;
        loop {
            if let Some(status) = self.try_wait()? {
                fail!(
                    "{} exited at start ({status}); its log:\n{}",
                    self.kind.name(),
                    self.log_tail()
                );
            }
            if std::net::TcpStream::connect_timeout(
                &([127, 0, 0, 1], self.port).into(),
                Duration::from_millis(200),
            )
            .is_ok()
            {
                return Ok(());
            }
            if Instant::now() > deadline {
                fail!(
                    "{} did not listen on port {} within {limit:?}; its log:\n{}",
                    self.kind.name(),
                    self.port,
                    self.log_tail()
                );
            }
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// The last lines the server wrote.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(20)..].join("\n")
    }

    /// Fails if the server died.
    pub fn check_alive(&mut self) -> Result<()> {
        if let Some(status) = self.try_wait()? {
            fail!(
                "{} died ({status}); its log:\n{}",
                self.kind.name(),
                self.log_tail()
            );
        }
        Ok(())
    }

    /// Resident memory, in bytes.
    pub fn rss(&self) -> Result<u64> {
        rss_of(self.pid)
    }

    /// CPU time used so far (all threads, user + system), in seconds.
    pub fn cpu(&self) -> Result<f64> {
        cpu_of(self.pid)
    }

    /// The server's live heap, if it counts its allocations: asks with SIGUSR1 and reads the line
    /// it writes to its log (`heap: live_bytes=B live_allocations=N`).
    pub fn heap(&self) -> Result<Option<Heap>> {
        if !self.counts_allocations {
            return Ok(None);
        }
        let lines_before = self.heap_lines().len();
        // SAFETY: a plain system call; the server installed a SIGUSR1 handler before it listened.
        if unsafe { libc::kill(self.pid as libc::pid_t, libc::SIGUSR1) } != 0 {
            return Err(io::Error::last_os_error().into());
        }
        let deadline = Instant::now() + HEAP_REPORT_TIMEOUT;
        loop {
            let lines = self.heap_lines();
            if lines.len() > lines_before {
                return match lines.last().and_then(|line| parse_heap(line)) {
                    Some(heap) => Ok(Some(heap)),
                    None => fail!("unreadable heap line from {}", self.kind.name()),
                };
            }
            if Instant::now() > deadline {
                fail!(
                    "{} did not report its heap within {HEAP_REPORT_TIMEOUT:?}",
                    self.kind.name()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }

    fn heap_lines(&self) -> Vec<String> {
        std::fs::read_to_string(&self.log)
            .unwrap_or_default()
            .lines()
            .filter(|line| line.starts_with(HEAP_LINE))
            .map(str::to_owned)
            .collect()
    }

    /// Kills the server (SIGKILL: nothing of its shutdown is measured) and reaps it.
    pub fn stop(mut self) {
        self.kill();
    }

    fn kill(&mut self) {
        if let Some(child) = self.child.as_mut() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    fn try_wait(&mut self) -> io::Result<Option<std::process::ExitStatus>> {
        match self.child.as_mut() {
            Some(child) => child.try_wait(),
            None => Ok(None),
        }
    }

    /// A server started by someone else, listening on `port`, whose process is `pid`.
    pub fn attach(kind: Kind, port: u16, pid: u32) -> Result<Server> {
        let mut server = Server {
            child: None,
            pid,
            port,
            kind,
            log: PathBuf::new(),
            counts_allocations: false,
        };
        rss_of(pid)?;
        server.wait_ready(Duration::from_secs(5))?;
        Ok(server)
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        self.kill();
    }
}

/// `heap: live_bytes=B live_allocations=N` → the two numbers.
fn parse_heap(line: &str) -> Option<Heap> {
    let rest = line.strip_prefix(HEAP_LINE)?;
    let (bytes, rest) = rest.split_once(' ')?;
    let allocations = rest.strip_prefix("live_allocations=")?;
    Some(Heap {
        bytes: bytes.trim().parse().ok()?,
        allocations: allocations.trim().parse().ok()?,
    })
}

/// Pins the calling thread (and what it later starts) to one CPU.
pub fn pin_current(cpu: usize) -> io::Result<()> {
    // SAFETY: a zeroed cpu_set_t is a valid empty set; CPU_SET stays within it for cpu < 1024.
    unsafe {
        let mut set: libc::cpu_set_t = std::mem::zeroed();
        libc::CPU_SET(cpu, &mut set);
        if libc::sched_setaffinity(0, std::mem::size_of::<libc::cpu_set_t>(), &set) != 0 {
            return Err(io::Error::last_os_error());
        }
    }
    Ok(())
}

/// Raises the soft limit of open files to the hard limit; returns the new soft limit.
pub fn raise_nofile() -> io::Result<u64> {
    // SAFETY: plain system calls on a local struct.
    unsafe {
        let mut limit: libc::rlimit = std::mem::zeroed();
        if libc::getrlimit(libc::RLIMIT_NOFILE, &mut limit) != 0 {
            return Err(io::Error::last_os_error());
        }
        if limit.rlim_cur < limit.rlim_max {
            limit.rlim_cur = limit.rlim_max;
            if libc::setrlimit(libc::RLIMIT_NOFILE, &limit) != 0 {
                return Err(io::Error::last_os_error());
            }
        }
        Ok(limit.rlim_cur as u64)
    }
}

fn clock_ticks() -> f64 {
    // SAFETY: sysconf has no preconditions.
    let ticks = unsafe { libc::sysconf(libc::_SC_CLK_TCK) };
    if ticks > 0 {
        ticks as f64
    } else {
        100.0
    }
}

/// utime + stime of a process (all its threads, living or ended), in seconds.
pub fn cpu_of(pid: u32) -> Result<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat"))?;
    // The command name may hold spaces: fields are counted after its closing parenthesis.
    let Some(rest) = stat.rfind(')').map(|i| &stat[i + 1..]) else {
        fail!("unreadable /proc/{pid}/stat");
    };
    let fields: Vec<&str> = rest.split_whitespace().collect();
    // Field 3 of stat(5) is fields[0]; utime and stime are fields 14 and 15.
    let (Some(utime), Some(stime)) = (fields.get(11), fields.get(12)) else {
        fail!("short /proc/{pid}/stat");
    };
    let ticks = utime.parse::<u64>()? + stime.parse::<u64>()?;
    Ok(ticks as f64 / clock_ticks())
}

/// VmRSS of a process, in bytes.
pub fn rss_of(pid: u32) -> Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    for line in status.lines() {
        if let Some(value) = line.strip_prefix("VmRSS:") {
            let kb: u64 = value.trim().trim_end_matches("kB").trim().parse()?;
            return Ok(kb * 1024);
        }
    }
    fail!("no VmRSS in /proc/{pid}/status")
}

/// The CPUs the server and the loadgen are pinned to, if they are: set once at start.
pub static PINNED: std::sync::OnceLock<(usize, usize)> = std::sync::OnceLock::new();

/// Busy time of one CPU so far (everything but idle and iowait, all processes), in seconds.
pub fn cpu_busy(cpu: usize) -> f64 {
    let stat = std::fs::read_to_string("/proc/stat").unwrap_or_default();
    let name = format!("cpu{cpu} ");
    let Some(line) = stat.lines().find(|line| line.starts_with(&name)) else {
        return 0.0;
    };
    let fields: Vec<u64> = line
        .split_whitespace()
        .skip(1)
        .map(|f| f.parse().unwrap_or(0))
        .collect();
    // user nice system idle iowait irq softirq steal (guest time is already in user).
    let busy: u64 = fields
        .iter()
        .take(8)
        .enumerate()
        .filter(|(i, _)| *i != 3 && *i != 4)
        .map(|(_, v)| v)
        .sum();
    busy as f64 / clock_ticks()
}

/// CPU time of this process so far, in seconds.
pub fn own_cpu() -> f64 {
    cpu_of(std::process::id()).unwrap_or(0.0)
}

/// A CPU-time meter over a window: the server's, the loadgen's, and everyone else's on their cores.
pub struct CpuMeter {
    pid: u32,
    started: Instant,
    server: f64,
    own: f64,
    /// Busy time of the server's and the loadgen's CPUs, when pinned.
    cores: Option<(f64, f64)>,
}

/// What a [`CpuMeter`] measured.
#[derive(Debug, Clone, Copy)]
pub struct CpuUse {
    pub seconds: f64,
    pub server_cpu: f64,
    pub loadgen_cpu: f64,
    /// CPU time other processes took on the server's core, in seconds (0 when not pinned).
    pub server_core_others: f64,
    /// CPU time other processes took on the loadgen's core, in seconds (0 when not pinned).
    pub loadgen_core_others: f64,
}

impl CpuUse {
    fn percent(&self, seconds: f64) -> f64 {
        100.0 * seconds / self.seconds.max(1e-9)
    }

    /// Server CPU as a percentage of one core.
    pub fn server_percent(&self) -> f64 {
        self.percent(self.server_cpu)
    }

    /// Loadgen CPU as a percentage of one core.
    pub fn loadgen_percent(&self) -> f64 {
        self.percent(self.loadgen_cpu)
    }

    /// Other processes on the server's core, as a percentage of the window.
    pub fn server_core_others_percent(&self) -> f64 {
        self.percent(self.server_core_others.max(0.0))
    }

    /// Other processes on the loadgen's core, as a percentage of the window.
    pub fn loadgen_core_others_percent(&self) -> f64 {
        self.percent(self.loadgen_core_others.max(0.0))
    }
}

fn cores_busy() -> Option<(f64, f64)> {
    PINNED
        .get()
        .map(|(server, loadgen)| (cpu_busy(*server), cpu_busy(*loadgen)))
}

impl CpuMeter {
    pub fn start(server: &Server) -> Result<CpuMeter> {
        Ok(CpuMeter {
            pid: server.pid,
            started: Instant::now(),
            server: server.cpu()?,
            own: own_cpu(),
            cores: cores_busy(),
        })
    }

    pub fn stop(&self) -> Result<CpuUse> {
        let server_cpu = cpu_of(self.pid)? - self.server;
        let loadgen_cpu = own_cpu() - self.own;
        let (server_core_others, loadgen_core_others) = match (self.cores, cores_busy()) {
            (Some((s0, l0)), Some((s1, l1))) => (s1 - s0 - server_cpu, l1 - l0 - loadgen_cpu),
            _ => (0.0, 0.0),
        };
        Ok(CpuUse {
            seconds: self.started.elapsed().as_secs_f64(),
            server_cpu,
            loadgen_cpu,
            server_core_others,
            loadgen_core_others,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_heap_lines() {
        let heap = parse_heap("heap: live_bytes=123456 live_allocations=-7").expect("a heap line");
        assert_eq!((heap.bytes, heap.allocations), (123_456.0, -7.0));
        assert!(parse_heap("heap: live_bytes=12").is_none());
        assert!(parse_heap("something else").is_none());
    }
}
