//! Agora: a Socket.IO-compatible realtime hub on actix.
//!
//! Layers, bottom up: [`engineio`] (transports and sessions), [`socketio`] (namespaces, events, acks,
//! rooms), [`hub`] (the `ChatServer` actor that owns rooms), and the application on top.

#![warn(missing_docs)]

pub mod accounts;
pub mod admin;
pub mod apps;
pub mod cluster;
pub mod config;
pub mod conformance;
pub mod engineio;
pub mod expiring;
pub mod hub;
#[cfg(test)]
mod layers_test;
pub mod limits;
pub mod metrics;
pub mod socketio;
pub mod startup;
pub mod store;
pub mod sync;
pub mod telemetry;
pub mod web;
