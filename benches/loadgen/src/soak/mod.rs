//! The soak workload: many clients for a long time, with churn, and a check that the server comes
//! back to where it started.
//!
//! - N clients (WebSocket, and a share over HTTP long-polling) each join one of the rooms, with an
//!   ack; then for the whole run, every tick of the churn rate, one new client connects and one
//!   random client leaves, politely (Socket.IO DISCONNECT and a close) or by a TCP reset (RST, no
//!   close at all).
//! - Chat-like traffic: at a fixed rate a random joined client broadcasts to its room. Every
//!   receiver counts what reaches it; when it leaves it checks that it got every broadcast sent to
//!   its room from after its join ack until [`LOSS_GRACE`] before it left (at the end: until the
//!   last broadcast). What is missing is lost.
//! - Every few seconds the server's RSS and CPU, and its counts (`GET /stats`: Engine.IO sessions,
//!   Socket.IO sockets, rooms, hub members) are sampled.
//! - At the end every client leaves, and the server must be back at zero sessions, sockets, rooms
//!   and hub members; the RSS must be flat after warm-up (the growth the least-squares slope
//!   predicts over the last two thirds of the run, within a share of the RSS).
//!
//! Everything runs on the loadgen's one thread, sharing state through `Rc<RefCell<…>>`.
//!
//! The files, by concern: [`settings`] (flags and defaults), [`state`] (what the clients and the
//! drivers share), [`clients`] (one client's life), [`sampling`] (the server's RSS, CPU and
//! counts over time), [`run`] (the phases of one run), [`report`] (the checks and the text),
//! [`svg`] (the RSS over time as a chart); this file runs the soak against each server.

mod clients;
mod report;
mod run;
mod sampling;
mod settings;
mod state;
mod svg;

use std::time::Duration;

use crate::client::Failure;
use crate::server::{Kind, Launcher, Server};

pub use settings::{Settings, SoakArgs};

/// Broadcasts sent less than this long before a client left need not have reached it.
const LOSS_GRACE: Duration = Duration::from_secs(5);

/// Runs the soak against each server in turn (starting each, or the attached one); prints the
/// reports; answers whether every check passed.
pub async fn run_all(
    kinds: &[Kind],
    launcher: &Launcher,
    attach: Option<(u16, u32)>,
    base_port: u16,
    settings: &Settings,
) -> bool {
    let mut all_passed = true;
    let mut port = base_port;
    for &kind in kinds {
        port = crate::free_port(port);
        let started = match attach {
            Some((port, pid)) => Server::attach(kind, port, pid),
            None => launcher.start(kind, port, settings.heartbeat),
        };
        port = port.wrapping_add(1).max(1024);
        let result = match started {
            Ok(mut server) => {
                eprintln!("soak: {} on port {}", kind.name(), server.port);
                let result = run::soak(&mut server, settings).await;
                result.map_err(|error| {
                    Box::new(Failure(format!(
                        "{error}\n  server log tail:\n{}",
                        server.log_tail()
                    ))) as crate::client::BoxError
                })
            }
            Err(error) => Err(error),
        };
        match result {
            Ok(outcome) => {
                let (text, passed) = report::report(kind, settings, &outcome);
                print!("{text}");
                all_passed &= passed;
                if let Some(base) = &settings.svg {
                    let path = base.with_file_name(format!(
                        "{}-{}.svg",
                        base.file_stem().and_then(|s| s.to_str()).unwrap_or("soak"),
                        kind.name()
                    ));
                    if let Err(error) = std::fs::write(&path, svg::svg(kind, &outcome)) {
                        eprintln!("soak: could not write {}: {error}", path.display());
                    }
                }
            }
            Err(error) => {
                println!(
                    "\n## Soak: {}\n\nFAIL the soak did not finish: {error}",
                    kind.title()
                );
                all_passed = false;
            }
        }
    }
    all_passed
}
