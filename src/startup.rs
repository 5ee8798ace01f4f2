//! Assembles the application: store, accounts, hub, Socket.IO, pages and API on one HTTP server.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Logger};
use actix_web::{web, App, HttpMessage};

use crate::accounts::{Accounts, LoginLimits};
use crate::admin::{Admin, CredentialsError, ADMIN_NAMESPACE};
use crate::apps::{self, AppContext, Limiters};
use crate::cluster::{
    ClusterError, ClusterOptions, ForwardOptions, Forwarder, RedisAdapter, TrackedRooms,
};
use crate::config::Settings;
use crate::engineio::{CloseReason, Engine, EngineHandler};
use crate::hub::{ChatServer, LocalAdapter, PendingHub};
use crate::socketio::packet::MAIN_NAMESPACE;
use crate::socketio::{Adapter, SocketIo};
use crate::store::{Store, StoreError};
use crate::web::api_emit;
use crate::web::api_keys::ApiKeys;
use crate::web::cidr::TrustedProxies;
use crate::web::client::{self, ClientInfo, ClientPolicy};
use crate::web::headers;
use crate::web::ops;
use crate::web::origin::{self, OriginPolicy};
use crate::web::serve::{serve, ServeOptions, WebSockets};
use crate::web::templates::{TemplateError, Templates};
use crate::web::{self as pages, admin_ui, AppState};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    /// The database could not be opened or migrated.
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    /// The page templates do not load.
    #[error(transparent)]
    Templates(#[from] TemplateError),
    /// `--redis-url` is set and Redis cannot be reached.
    #[error("cannot join the Redis cluster: {0}")]
    Cluster(#[from] ClusterError),
    /// `--admin-password` is unusable.
    #[error("cannot turn the admin UI on: {0}")]
    Admin(#[from] CredentialsError),
    /// The address and port cannot be bound.
    #[error("cannot listen on {address}: {source}")]
    Bind {
        /// The address asked for.
        address: String,
        #[source]
        /// Why binding failed.
        source: std::io::Error,
    },
}

/// Where Socket.IO is served.
const SOCKET_IO_PATH: &str = "/socket.io/";

/// A built, not yet running, application.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
    engine: Engine,
    /// How long clients get to be told to go at shutdown.
    grace: Duration,
}

impl Application {
    /// Opens the store, builds every layer and binds the listener.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let admin = settings.admin().map(Admin::new).transpose()?;
        let store = Store::open(&settings.database_url).await?;
        let templates = Templates::load(&settings.templates_dir)?;
        let accounts = Accounts::new(
            store.clone(),
            LoginLimits {
                per_username: settings.login_failures_per_user,
                per_ip: settings.login_failures_per_ip,
                registrations_per_ip: settings.registrations_per_ip,
                hash_workers: settings.password_hash_workers,
            },
        );
        let options = ServeOptions {
            workers: settings.workers,
            shutdown_timeout: settings.shutdown_grace_secs,
            ..ServeOptions::default()
        };
        let (hub, pending_hub) = PendingHub::new(
            match settings.recovery() {
                Some(recovery) => ChatServer::with_recovery(recovery),
                None => ChatServer::default(),
            }
            .with_parser(settings.parser),
        );
        if options.worker_count() > 1 {
            // A thread of its own (this one); with one worker it starts on the worker's.
            pending_hub.start_here();
        }
        let apps = AppContext {
            accounts,
            store: store.clone(),
            hub: hub.clone(),
            limits: Arc::new(Limiters::new(settings.rate_limits())),
            trade_lifetime: std::time::Duration::from_secs(settings.trade_lifetime_secs),
            chat: Arc::new(apps::chat::RoomDirectory::new(settings.chat_limits())),
        };
        let local = LocalAdapter::new(hub);
        let mut dead_nodes = None;
        let (adapter, cluster): (Arc<dyn Adapter>, _) = match &settings.redis_url {
            Some(url) => {
                let options = ClusterOptions {
                    key: settings.redis_key.clone(),
                    recovery: settings.recovery().is_some(),
                    recovery_window: settings.recovery().map(|r| r.max_disconnection),
                    recovery_max_sessions: settings.recovery_max_sessions as usize,
                    parser: settings.parser,
                    ..ClusterOptions::default()
                };
                let redis = RedisAdapter::connect_with(url, local, options).await?;
                let status = redis.status();
                tracing::info!("joined the Redis cluster");
                let tracked = TrackedRooms {
                    nsp: MAIN_NAMESPACE.to_string(),
                    prefixes: apps::presence::TRACKED_PREFIXES.map(String::from).to_vec(),
                };
                dead_nodes = Some(redis.track_rooms(tracked));
                (Arc::new(redis), Some(status))
            }
            None => (Arc::new(local), None),
        };
        let adapter = match &admin {
            Some(admin) => admin.observe(adapter),
            None => adapter,
        };
        let mut io = SocketIo::builder(adapter)
            .config(settings.socket_io())
            .namespace(apps::main_namespace(apps.clone()));
        if let Some(admin) = &admin {
            io = io.namespace(admin.namespace());
        }
        let io = io.build();
        actix_rt::spawn(apps::trades::sweep_expired(apps.clone(), io.main()));
        actix_rt::spawn(apps::upkeep(apps.clone()));
        actix_rt::spawn(apps::chat::sweep_idle_rooms(apps.clone(), io.main()));
        if let Some(dead) = dead_nodes {
            actix_rt::spawn(apps::departures::announce_dead_nodes(
                apps.clone(),
                io.main(),
                dead,
            ));
        }
        let handler: Arc<dyn EngineHandler> = match &admin {
            Some(admin) => admin.observe_engine(&io),
            None => Arc::new(io.clone()),
        };
        let engine = Engine::new(settings.engine(), handler);
        // In a cluster any node serves any session's polling requests (no sticky sessions).
        let engine = match &settings.redis_url {
            Some(url) => {
                let options = ForwardOptions::for_ping_interval(
                    &settings.redis_key,
                    engine.config().ping_interval,
                );
                let forwarder = Forwarder::connect(url, options).await?;
                let engine = engine.with_router(Arc::new(forwarder.clone()));
                forwarder.serve(engine.clone());
                engine
            }
            None => engine,
        };
        let sessions = engine.clone();
        let state = web::Data::new(AppState {
            apps,
            templates,
            io,
            cluster,
        });
        let policy = web::Data::new(OriginPolicy::new(&settings.allowed_origins));
        let clients = web::Data::new(ClientPolicy {
            trusted: TrustedProxies::new(&settings.trusted_proxies),
            secure_cookies: settings.secure_cookies,
        });
        let sockets = WebSockets::new()
            .engine(SOCKET_IO_PATH, engine.clone())
            .origins(policy.get_ref().clone())
            .proxies(clients.trusted.clone());
        let address = format!("{}:{}", settings.bind, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        if let Some(admin) = &admin {
            admin.start(port, &[MAIN_NAMESPACE, ADMIN_NAMESPACE]);
        }
        let admin_ui = admin.is_some();
        let static_dir = settings.static_dir.clone();
        let api_keys = ApiKeys::new(&settings.api_keys);
        let max_payload = settings.max_payload as usize;
        // Signals are ours: clients are told to go before the listener stops.
        let server = serve(listener, options, sockets, move || {
            pending_hub.start_here();
            App::new()
                .wrap(from_fn(origin::enforce))
                .wrap(from_fn(ops::count_requests))
                .wrap(from_fn(headers::secure))
                .wrap(
                    Logger::new("%{client}xi \"%r\" %s %Dms")
                        .custom_request_replace("client", |req| {
                            req.extensions()
                                .get::<ClientInfo>()
                                .map_or_else(|| "-".to_string(), ToString::to_string)
                        })
                        .log_target("agora::http"),
                )
                // Outermost: everything inside sees the client, not the proxy.
                .wrap(from_fn(client::identify))
                .app_data(state.clone())
                .app_data(policy.clone())
                .app_data(clients.clone())
                .service(engine.resource(SOCKET_IO_PATH))
                .configure(|cfg| api_emit::configure(cfg, api_keys.clone(), max_payload))
                .configure(|cfg| {
                    if admin_ui {
                        admin_ui::configure(cfg, static_dir.join("admin"));
                    }
                })
                .configure(|cfg| pages::configure(cfg, static_dir.clone()))
                .default_service(web::to(pages::pages::not_found))
        })
        .map_err(|source| StartupError::Bind {
            address: format!("port {port}"),
            source,
        })?;
        Ok(Application {
            port,
            server,
            store,
            engine: sessions,
            grace: Duration::from_secs(settings.shutdown_grace_secs),
        })
    }

    /// A handle that stops the server.
    pub fn handle(&self) -> actix_web::dev::ServerHandle {
        self.server.handle()
    }

    /// The port the server listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Serves until SIGTERM or SIGINT (or [`Application::handle`] stops it). On a signal every
    /// client is disconnected with a transport close, so Socket.IO clients reconnect elsewhere, the
    /// listener stops, in-flight requests finish within the grace period, and the store closes.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let handle = self.server.handle();
        let (engine, grace) = (self.engine, self.grace);
        let signals = actix_rt::spawn(async move {
            wait_for_signal().await;
            tracing::info!(
                sessions = engine.registry().len(),
                "shutting down: disconnecting every client"
            );
            // WebSockets run off the HTTP server, which would not wait for their close frames.
            engine.drain(CloseReason::ServerShutdown, grace).await;
            handle.stop(true).await;
        });
        let result = self.server.await;
        signals.abort();
        self.store.close().await;
        tracing::info!("stopped");
        result
    }
}

/// Resolves on the first SIGTERM or SIGINT.
async fn wait_for_signal() {
    let interrupt = tokio::signal::ctrl_c();
    #[cfg(unix)]
    {
        let mut terminate =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(signal) => signal,
                Err(error) => {
                    tracing::error!(%error, "cannot listen for SIGTERM");
                    let _ = interrupt.await;
                    return;
                }
            };
        tokio::select! {
            _ = interrupt => {}
            _ = terminate.recv() => {}
        }
    }
    #[cfg(not(unix))]
    let _ = interrupt.await;
}
