//! Assembles the application: store, accounts, hub, Socket.IO, pages and API on one HTTP server.

use std::net::TcpListener;
use std::sync::Arc;

use actix::Actor;
use actix_web::dev::Server;
use actix_web::middleware::{from_fn, Logger};
use actix_web::{web, App, HttpServer};

use crate::accounts::{Accounts, LoginLimits};
use crate::apps::{self, AppContext, Limiters};
use crate::config::Settings;
use crate::engineio::Engine;
use crate::hub::{ChatServer, LocalAdapter};
use crate::socketio::SocketIo;
use crate::store::{Store, StoreError};
use crate::web::origin::{self, OriginPolicy};
use crate::web::templates::{TemplateError, Templates};
use crate::web::{self as pages, AppState};

/// Why the application could not start.
#[derive(Debug, thiserror::Error)]
pub enum StartupError {
    #[error("cannot open the database: {0}")]
    Store(#[from] StoreError),
    #[error(transparent)]
    Templates(#[from] TemplateError),
    #[error("cannot listen on {address}: {source}")]
    Bind {
        address: String,
        #[source]
        source: std::io::Error,
    },
}

/// A built, not yet running, application.
pub struct Application {
    port: u16,
    server: Server,
    store: Store,
}

impl Application {
    /// Opens the store, builds every layer and binds the listener.
    pub async fn build(settings: Settings) -> Result<Application, StartupError> {
        let store = Store::open(&settings.database_url).await?;
        let templates = Templates::load(&settings.templates_dir)?;
        let accounts = Accounts::new(
            store.clone(),
            LoginLimits {
                per_username: settings.login_failures_per_user,
                per_ip: settings.login_failures_per_ip,
            },
        );
        let hub = ChatServer::default().start();
        let apps = AppContext {
            accounts,
            store: store.clone(),
            hub: hub.clone(),
            limits: Arc::new(Limiters::new(settings.rate_limits())),
            trade_lifetime: std::time::Duration::from_secs(settings.trade_lifetime_secs),
        };
        let io = SocketIo::builder(Arc::new(LocalAdapter::new(hub)))
            .config(settings.socket_io())
            .namespace(apps::main_namespace(apps.clone()))
            .build();
        actix_rt::spawn(apps::trades::sweep_expired(apps.clone(), io.main()));
        let engine = Engine::new(settings.engine(), Arc::new(io.clone()));
        let state = web::Data::new(AppState {
            apps,
            templates,
            io,
        });
        let policy = web::Data::new(OriginPolicy::new(&settings.allowed_origins));
        let address = format!("{}:{}", settings.bind, settings.port);
        let listener = TcpListener::bind(&address).map_err(|source| StartupError::Bind {
            address: address.clone(),
            source,
        })?;
        let port = listener
            .local_addr()
            .map_err(|source| StartupError::Bind { address, source })?
            .port();
        let static_dir = settings.static_dir.clone();
        let mut server = HttpServer::new(move || {
            App::new()
                .wrap(from_fn(origin::enforce))
                .wrap(Logger::new("%r %s %Dms").log_target("agora::http"))
                .app_data(state.clone())
                .app_data(policy.clone())
                .service(engine.resource("/socket.io/"))
                .configure(|cfg| pages::configure(cfg, static_dir.clone()))
                .default_service(web::to(pages::pages::not_found))
        })
        .listen(listener)
        .map_err(|source| StartupError::Bind {
            address: format!("port {port}"),
            source,
        })?;
        if let Some(workers) = settings.workers {
            server = server.workers(workers);
        }
        Ok(Application {
            port,
            server: server.run(),
            store,
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

    /// Serves until the server is stopped (SIGINT/SIGTERM), then closes the store.
    pub async fn run_until_stopped(self) -> std::io::Result<()> {
        let result = self.server.await;
        self.store.close().await;
        result
    }
}
