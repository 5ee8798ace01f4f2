//! Settings: every one a command-line flag and an `AGORA_*` environment variable.

use std::net::IpAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::builder::BoolishValueParser;
use clap::{ArgAction, CommandFactory, Parser, ValueEnum};
use serde::Serialize;

use crate::admin::AdminOptions;
use crate::apps::chat::ChatLimits;
use crate::apps::RateLimits;
use crate::engineio::EngineConfig;
use crate::socketio::{Parser as WireParser, RecoveryConfig, SocketIoConfig};
use crate::web::api_keys::{ApiKey, ApiKeyParser};
use crate::web::cidr::Cidr;
use crate::web::client::SecureCookies;

/// How log lines look.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum LogFormat {
    /// Human-readable lines.
    Human,
    /// One JSON object per line.
    Json,
}

/// Agora's settings. Precedence: command-line flag, then `AGORA_*` environment variable, then the
/// `--config` TOML file (keys are the flag names, `-` or `_`), then the default.
#[derive(Debug, Clone, Parser, Serialize)]
#[command(name = "agora", version, about = "A Socket.IO-compatible realtime hub")]
pub struct Settings {
    /// A TOML file of settings (keys as the flag names).
    #[arg(long, env = "AGORA_CONFIG")]
    #[serde(skip)]
    pub config: Option<PathBuf>,

    /// Print the effective settings as TOML and exit.
    #[arg(long, num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    #[serde(skip)]
    pub print_config: bool,

    /// Address to listen on.
    #[arg(long, env = "AGORA_BIND", default_value = "127.0.0.1")]
    pub bind: IpAddr,

    /// Port to listen on (0 picks a free one).
    #[arg(long, env = "AGORA_PORT", default_value_t = 3000)]
    pub port: u16,

    /// Database URL: `sqlite://file.db` (created with its directory if missing) or
    /// `postgres://user:password@host:5432/database` for a cluster.
    #[arg(
        long,
        env = "AGORA_DATABASE_URL",
        default_value = "sqlite://data/agora.db"
    )]
    pub database_url: String,

    /// Redis URL shared by the nodes of a cluster (`redis://[:password@]host:port[/db]`):
    /// broadcasts and socket queries then reach every node, Node.js servers using
    /// @socket.io/redis-adapter included. Unset: this process alone.
    #[arg(long, env = "AGORA_REDIS_URL")]
    #[serde(skip)]
    pub redis_url: Option<String>,

    /// Prefix of the cluster's Redis channels, as the Node adapter's `key` option: nodes (and
    /// Node.js servers) with the same prefix form one cluster; other prefixes share the Redis
    /// without seeing each other's traffic.
    #[arg(long, env = "AGORA_REDIS_KEY", default_value = "socket.io")]
    pub redis_key: String,

    /// Another origin allowed to open sockets and call the API (repeatable; comma-separated in
    /// the environment). The server's own origin is always allowed.
    #[arg(
        long = "allowed-origin",
        env = "AGORA_ALLOWED_ORIGINS",
        value_delimiter = ','
    )]
    pub allowed_origins: Vec<String>,

    /// Turns on the Socket.IO Admin UI (`/admin` namespace, UI at `/admin/`) for this user name.
    #[arg(long, env = "AGORA_ADMIN_USER", requires = "admin_password")]
    #[serde(skip)]
    pub admin_user: Option<String>,

    /// The admin's password: plain, or a bcrypt hash (`$2a$`, `$2b$`, `$2y$`). Never printed.
    #[arg(long, env = "AGORA_ADMIN_PASSWORD", requires = "admin_user")]
    #[serde(skip)]
    pub admin_password: Option<String>,

    /// The admin may only watch: emit, join, leave and disconnect are refused.
    #[arg(long, env = "AGORA_ADMIN_READONLY", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub admin_readonly: bool,

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

    /// Seconds a dropped connection can be recovered (same socket id, rooms and missed packets);
    /// 0 turns connection state recovery off.
    #[arg(long, env = "AGORA_RECOVERY_WINDOW_SECS", default_value_t = 120)]
    pub recovery_window_secs: u64,

    /// Most dropped connections kept for recovery at once.
    #[arg(long, env = "AGORA_RECOVERY_MAX_SESSIONS", default_value_t = 10_000, value_parser = clap::value_parser!(u64).range(1..))]
    pub recovery_max_sessions: u64,

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

    /// Trade offers a user may make per minute.
    #[arg(long, env = "AGORA_TRADE_OFFERS_PER_MINUTE", default_value_t = 30)]
    pub trade_offers_per_minute: u32,

    /// Seconds a trade offer stays active before it expires.
    #[arg(long, env = "AGORA_TRADE_LIFETIME_SECS", default_value_t = 86_400, value_parser = clap::value_parser!(u64).range(1..))]
    pub trade_lifetime_secs: u64,

    /// Seconds a shutdown (SIGTERM/SIGINT) may take before remaining connections are dropped.
    #[arg(long, env = "AGORA_SHUTDOWN_GRACE_SECS", default_value_t = 10)]
    pub shutdown_grace_secs: u64,

    /// Log format (level from RUST_LOG, default info).
    #[arg(long, env = "AGORA_LOG_FORMAT", value_enum, default_value_t = LogFormat::Human)]
    pub log_format: LogFormat,

    /// Socket.IO packet format: `default` (socket.io-parser) or `msgpack`
    /// (socket.io-msgpack-parser); every client must use the same.
    #[arg(long, env = "AGORA_PARSER", value_enum, default_value_t = WireParser::Default)]
    pub parser: WireParser,

    /// HTTP worker threads (default: one per core).
    #[arg(long, env = "AGORA_WORKERS")]
    pub workers: Option<usize>,

    /// Directory of the Tera templates.
    #[arg(long, env = "AGORA_TEMPLATES_DIR", default_value = "templates")]
    pub templates_dir: PathBuf,

    /// Directory of the static files.
    #[arg(long, env = "AGORA_STATIC_DIR", default_value = "static")]
    pub static_dir: PathBuf,

    /// Bytes a session may hold for a client that does not read them (polling queue or WebSocket
    /// buffer) before it is dropped as a slow consumer; one larger message still goes through.
    #[arg(long, env = "AGORA_MAX_QUEUE_BYTES", default_value_t = 8 << 20, value_parser = clap::value_parser!(u64).range(65_536..=1 << 32))]
    pub max_queue_bytes: u64,

    /// Negotiate permessage-deflate with WebSocket clients that offer it: messages of 1 KiB and
    /// more are compressed, without context takeover (no memory kept per connection).
    #[arg(long, env = "AGORA_PER_MESSAGE_DEFLATE", num_args = 0..=1, default_missing_value = "true", default_value_t = false, action = ArgAction::Set, value_parser = BoolishValueParser::new())]
    pub per_message_deflate: bool,

    /// A load balancer or reverse proxy whose `X-Forwarded-For`, `Forwarded` and
    /// `X-Forwarded-Proto` headers are believed: an address or CIDR range like 10.0.0.0/8
    /// (repeatable; comma-separated in the environment). None by default, not even loopback:
    /// anyone else's forwarding headers are ignored. Behind a trusted proxy the client is the
    /// first untrusted address from the right of `X-Forwarded-For`, for rate limits, logs and
    /// cookies.
    #[arg(
        long = "trusted-proxy",
        env = "AGORA_TRUSTED_PROXIES",
        value_delimiter = ',',
        value_name = "CIDR"
    )]
    #[serde(rename = "trusted_proxy")]
    pub trusted_proxies: Vec<Cidr>,

    /// Mark cookies `Secure` (browsers then send them over HTTPS only): `auto` when a trusted
    /// proxy says the client used HTTPS, `true` (or the bare flag) always, `false` never.
    #[arg(
        long,
        env = "AGORA_SECURE_COOKIES",
        value_enum,
        default_value_t = SecureCookies::Auto,
        num_args = 0..=1,
        default_missing_value = "true"
    )]
    pub secure_cookies: SecureCookies,

    /// Accounts one client address may register in 10 minutes (generous: a class behind one NAT
    /// fits); past it, 429 `rate_limited` with `Retry-After`.
    #[arg(long, env = "AGORA_REGISTRATIONS_PER_IP", default_value_t = 50)]
    pub registrations_per_ip: u32,

    /// Password hashes (registrations and logins, ~19 MiB each) computed at once; 0 = one per
    /// core. Four times as many may wait; past that, 429 `rate_limited` with `Retry-After`.
    #[arg(long, env = "AGORA_PASSWORD_HASH_WORKERS", default_value_t = 0)]
    pub password_hash_workers: usize,

    /// Chat rooms a socket may be in at once; a signed-in user too, over all their tabs.
    #[arg(long, env = "AGORA_CHAT_ROOMS_PER_USER", default_value_t = 20, value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_rooms_per_user: u32,

    /// New chat rooms a signed-in user, or a guest's address, may create per minute.
    #[arg(long, env = "AGORA_CHAT_NEW_ROOMS_PER_MINUTE", default_value_t = 10)]
    pub chat_new_rooms_per_minute: u32,

    /// Most chat rooms listed at once (`lobby` included); creating more is refused.
    #[arg(long, env = "AGORA_CHAT_MAX_ROOMS", default_value_t = 1000, value_parser = clap::value_parser!(u32).range(1..))]
    pub chat_max_rooms: u32,

    /// Seconds an empty chat room stays listed after it was created or its last member left.
    #[arg(long, env = "AGORA_CHAT_ROOM_IDLE_SECS", default_value_t = 600, value_parser = clap::value_parser!(u64).range(1..))]
    pub chat_room_idle_secs: u64,

    /// A key that authorizes `POST /api/emit` (`Authorization: Bearer KEY`; 16 to 256 printable
    /// ASCII characters). Repeatable, to rotate keys; comma-separated in the environment. None:
    /// the endpoint does not exist. Never printed.
    #[arg(long = "api-key", env = "AGORA_API_KEYS", value_delimiter = ',', value_name = "KEY", value_parser = ApiKeyParser, hide_env_values = true)]
    #[serde(skip)]
    pub api_keys: Vec<ApiKey>,
}

/// A configuration file that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read the configuration file {path}: {source}")]
    Read {
        /// The file.
        path: String,
        #[source]
        /// What reading it said.
        source: std::io::Error,
    },
    /// The file is not TOML.
    #[error("the configuration file {path} is not valid TOML: {source}")]
    Parse {
        /// The file.
        path: String,
        #[source]
        /// Where the TOML went wrong.
        source: toml::de::Error,
    },
    /// A key that names no setting.
    #[error("unknown setting `{key}` in the configuration file {path}")]
    UnknownKey {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
    /// A value of a type no setting takes (a table, a date).
    #[error("setting `{key}` in the configuration file {path} must be a string, number or boolean (or a list of them)")]
    BadValue {
        /// The file.
        path: String,
        /// The key.
        key: String,
    },
    /// A value the setting refuses, with clap's message naming it.
    #[error(transparent)]
    Invalid(#[from] clap::Error),
}

impl Settings {
    /// Parses the process's arguments, environment and configuration file.
    pub fn load() -> Result<Settings, ConfigError> {
        Settings::load_from(std::env::args())
    }

    /// Parses these arguments (the first is the program name), the environment and the
    /// configuration file they or `AGORA_CONFIG` name.
    pub fn load_from(args: impl IntoIterator<Item = String>) -> Result<Settings, ConfigError> {
        let args: Vec<String> = args.into_iter().collect();
        let first = Settings::try_parse_from(&args)?;
        let Some(path) = first.config.clone() else {
            return Ok(first);
        };
        let file_args = file_arguments(&path, &args)?;
        let mut merged = Vec::with_capacity(args.len() + file_args.len());
        merged.extend(args.first().cloned());
        merged.extend(file_args);
        merged.extend(args.into_iter().skip(1));
        Ok(Settings::try_parse_from(merged)?)
    }

    /// The defaults, as if started with no flags and no environment (for tests).
    pub fn defaults() -> Settings {
        Settings::parse_from(["agora"])
    }

    /// The effective settings as TOML.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).unwrap_or_default()
    }

    /// The Engine.IO settings.
    pub fn engine(&self) -> EngineConfig {
        EngineConfig {
            ping_interval: Duration::from_millis(self.ping_interval_ms),
            ping_timeout: Duration::from_millis(self.ping_timeout_ms),
            max_payload: self.max_payload as usize,
            max_queue: self.max_queue as usize,
            max_queue_bytes: self.max_queue_bytes as usize,
            per_message_deflate: self.per_message_deflate,
            ..EngineConfig::default()
        }
    }

    /// The apps' rate limits.
    pub fn rate_limits(&self) -> RateLimits {
        RateLimits {
            chat_messages: self.chat_messages_per_minute,
            tweets: self.tweets_per_minute,
            board_posts: self.board_posts_per_minute,
            trade_offers: self.trade_offers_per_minute,
        }
    }

    /// The Socket.IO settings.
    pub fn socket_io(&self) -> SocketIoConfig {
        SocketIoConfig {
            connect_timeout: Duration::from_millis(self.connect_timeout_ms),
            recovery: self.recovery(),
            parser: self.parser,
            ..SocketIoConfig::default()
        }
    }

    /// Connection state recovery, unless its window is 0.
    pub fn recovery(&self) -> Option<RecoveryConfig> {
        (self.recovery_window_secs > 0).then(|| RecoveryConfig {
            max_disconnection: Duration::from_secs(self.recovery_window_secs),
            max_sessions: self.recovery_max_sessions as usize,
        })
    }

    /// The admin UI's settings, when `--admin-user` is set.
    pub fn admin(&self) -> Option<AdminOptions> {
        let (Some(username), Some(password)) = (&self.admin_user, &self.admin_password) else {
            return None;
        };
        Some(AdminOptions {
            username: username.clone(),
            password: password.clone(),
            readonly: self.admin_readonly,
        })
    }

    /// The bounds on chat rooms.
    pub fn chat_limits(&self) -> ChatLimits {
        ChatLimits {
            rooms_per_user: self.chat_rooms_per_user as usize,
            new_rooms_per_minute: self.chat_new_rooms_per_minute,
            max_rooms: self.chat_max_rooms as usize,
            idle: Duration::from_secs(self.chat_room_idle_secs),
        }
    }
}

/// The settings of a TOML file as `--flag=value` arguments, leaving out those that the command
/// line or the environment already set.
fn file_arguments(path: &std::path::Path, args: &[String]) -> Result<Vec<String>, ConfigError> {
    let shown = path.display().to_string();
    let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
        path: shown.clone(),
        source,
    })?;
    let table: toml::Table = text.parse().map_err(|source| ConfigError::Parse {
        path: shown.clone(),
        source,
    })?;
    let command = Settings::command();
    let mut file_args = Vec::new();
    for (key, value) in table {
        // A key is a flag's name (`allowed-origin`) or, as `--print-config` writes it, its
        // setting's name (`allowed_origins`).
        let id = key.replace('-', "_");
        let Some(arg) = command.get_arguments().find(|a| {
            let named = a.get_id().as_str() == id
                || a.get_long().map(|l| l.replace('-', "_")) == Some(id.clone());
            named && !matches!(a.get_id().as_str(), "config" | "print_config")
        }) else {
            return Err(ConfigError::UnknownKey { path: shown, key });
        };
        let Some(flag) = arg.get_long().map(str::to_string) else {
            return Err(ConfigError::UnknownKey { path: shown, key });
        };
        let on_command_line = args
            .iter()
            .any(|a| *a == format!("--{flag}") || a.starts_with(&format!("--{flag}=")));
        let in_environment = arg
            .get_env()
            .is_some_and(|name| std::env::var_os(name).is_some());
        if on_command_line || in_environment {
            continue;
        }
        let values = match value {
            toml::Value::Array(items) => items,
            single => vec![single],
        };
        for value in values {
            let text = match value {
                toml::Value::String(s) => s,
                toml::Value::Integer(n) => n.to_string(),
                toml::Value::Float(f) => f.to_string(),
                toml::Value::Boolean(b) => b.to_string(),
                _ => return Err(ConfigError::BadValue { path: shown, key }),
            };
            file_args.push(format!("--{flag}={text}"));
        }
    }
    Ok(file_args)
}

#[cfg(test)]
mod tests;
