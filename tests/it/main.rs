//! Agora's integration tests, one binary so the crate links once. Each module is one concern;
//! `common` holds the helpers (servers started in-process on port 0, wire-level clients).

mod common;

mod accounts;
mod admin;
mod apps;
mod cluster;
mod cluster_apps;
mod cluster_departures;
mod cluster_forward;
mod cluster_lb;
mod cluster_parity;
mod cluster_recovery;
mod e2e;
mod emit_api;
mod engineio;
mod hostile;
mod interop;
mod msgpack;
mod operations;
mod permessage_deflate;
mod polling_gzip;
mod recovery;
mod recovery_clients;
mod server_api;
mod socketio;
mod trades;
mod upgrade_hook;
