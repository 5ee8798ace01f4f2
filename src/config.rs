//! Settings: every one a command-line flag and an `AGORA_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};

use crate::apps::RateLimits;
use crate::engineio::EngineConfig;
use crate::socketio::SocketIoConfig;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Agora's settings.
#[derive(Debug, Clone, Parser)]
#[command(name = "agora", version, about = "A Socket.IO-compatible realtime hub")]
pub struct Settings {
    /// Address to listen on.
    #[arg(long, env = "AGORA_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "AGORA_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Database URL: an SQLite file (created with its directory if missing).
    #[arg(
        long,
        env = "AGORA_DATABASE_URL",
        default_value = "sqlite://data/agora.db"
    )]
    pub database_url: String,

    /// Another origin allowed to open sockets and call the API (repeatable; comma-separated in
    /// the environment). The server's own origin is always allowed.
    #[arg(
        long = "allowed-origin",
        env = "AGORA_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Milliseconds between two heartbeat pings.
    #[arg(long, env = "AGORA_PING_INTERVAL_MS", default_value_t = 25_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub ping_interval_ms: u64,

    /// Milliseconds a client has to answer a ping.
    #[arg(long, env = "AGORA_PING_TIMEOUT_MS", default_value_t = 20_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub ping_timeout_ms: u64,

    /// Largest accepted message or polling body, in bytes.
    #[arg(long, env = "AGORA_MAX_PAYLOAD", default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1024..=100_000_000))]
    pub max_payload: u64,

    /// Frames a session may hold for a slow client before it is dropped.
    #[arg(long, env = "AGORA_MAX_QUEUE", default_value_t = 1024, value_parser = clap::value_parser!(u64).range(16..=1_000_000))]
    pub max_queue: u64,

    /// Milliseconds a new connection has to join a namespace.
    #[arg(long, env = "AGORA_CONNECT_TIMEOUT_MS", default_value_t = 45_000, value_parser = clap::value_parser!(u64).range(100..))]
    pub connect_timeout_ms: u64,

    /// Failed logins allowed per user name in 15 minutes.
    #[arg(long, env = "AGORA_LOGIN_FAILURES_PER_USER", default_value_t = 5)]
    pub login_failures_per_user: u32,

    /// Failed logins allowed per client address in 15 minutes.
    #[arg(long, env = "AGORA_LOGIN_FAILURES_PER_IP", default_value_t = 20)]
    pub login_failures_per_ip: u32,

    /// Chat messages a socket may send per minute.
    #[arg(long, env = "AGORA_CHAT_MESSAGES_PER_MINUTE", default_value_t = 60)]
    pub chat_messages_per_minute: u32,

    /// Tweets a user may post per minute.
    #[arg(long, env = "AGORA_TWEETS_PER_MINUTE", default_value_t = 10)]
    pub tweets_per_minute: u32,

    /// Board messages a client address may post per minute.
    #[arg(long, env = "AGORA_BOARD_POSTS_PER_MINUTE", default_value_t = 20)]
    pub board_posts_per_minute: u32,

    /// Seconds a trade offer stays active before it expires.
    #[arg(long, env = "AGORA_TRADE_LIFETIME_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub trade_lifetime_secs: u64,

    /// Log format (level from RUST_LOG, default info).
    #[arg(long, env = "AGORA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "AGORA_WORKERS")]
    pub workers: Option<usize>,

    /// Directory of the Tera templates.
    #[arg(long, env = "AGORA_TEMPLATES_DIR", default_value = "templates")]
    pub templates_dir: PathBuf,

    /// Directory of the static files.
    #[arg(long, env = "AGORA_STATIC_DIR", default_value = "static")]
    pub static_dir: PathBuf,
}

impl Settings {
    /// The defaults, as if started with no flags and no environment (for tests).
    pub fn defaults() -> Settings {
        Settings::parse_from(["agora"])
    }

    /// The Engine.IO settings.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms),
            max_payload: self.max_payload as usize,
            max_queue: self.max_queue as usize,
            ..EngineConfig::default()
        }
    }

    /// The apps' rate limits.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            chat_messages: self.chat_messages_per_minute,
            tweets: self.tweets_per_minute,
            board_posts: self.board_posts_per_minute,
        }
    }

    /// The Socket.IO settings.
    pub fn socket_io(&self) -> SocketIoConfig {
        SocketIoConfig {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            ..SocketIoConfig::default()
        }
    }
}
