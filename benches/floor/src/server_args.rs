//! The settings every benchmark server takes besides its port: the floor's and Agora's
//! `benches/agora/bench.rs` (which includes this file), so the loadgen starts both alike.

/// Where to listen, how many workers, and the Engine.IO heartbeat.
#[derive(clap::Args, Debug)]
pub struct ServerArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    pub host: String,
    /// actix-web worker threads (default: actix's choice, one per CPU the process may run on).
    #[arg(long)]
    pub workers: Option<usize>,
    /// Engine.IO ping interval, in milliseconds.
    #[arg(long, default_value_t = 25_000)]
    pub ping_interval: u64,
    /// Engine.IO ping timeout, in milliseconds.
    #[arg(long, default_value_t = 20_000)]
    pub ping_timeout: u64,
}
