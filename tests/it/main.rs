//! Agora's integration tests, one binary so the crate links once. Each module is one concern;
//! `common` holds the helpers (servers started in-process on port 0, wire-level clients).

mod common;

mod accounts;
mod apps;
mod cluster;
mod cluster_apps;
mod e2e;
mod engineio;
mod hostile;
mod interop;
mod operations;
mod permessage_deflate;
mod recovery;
mod recovery_clients;
mod socketio;
mod trades;
