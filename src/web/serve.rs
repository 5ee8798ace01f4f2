//! The HTTP server, with WebSockets taken off it.
//!
//! actix-web's `HttpServer` would keep its HTTP/1 dispatcher (a task with an 8 KiB read and an
//! 8 KiB write buffer) alive under every upgraded WebSocket. [`serve`] builds the same server from
//! its parts instead: actix-server's listener and workers, actix-http's HTTP/1 service running the
//! App for every plain request, and its upgrade hook for every `Upgrade: websocket` request (on any
//! path, and CONNECT requests too). The hook hands the connection to the WebSocket transport,
//! which owns it from then on; the dispatcher and its buffers end.
//!
//! The hook sees the raw request, without the App's middleware, so [`WebSockets`] does here what
//! the middleware does for other requests: it resolves the client behind trusted proxies
//! ([`ClientInfo`]), refuses other origins ([`OriginPolicy`], the CSWSH protection), routes by path
//! (404 for a path with no WebSocket), and leaves the query, the handshake itself and the answers
//! to the Engine.IO layer.

use std::fmt;
use std::net::{SocketAddr, TcpListener};
use std::sync::Arc;
use std::time::Duration;

use actix_codec::Framed;
use actix_http::body::MessageBody;
use actix_http::{h1, HttpService, Request, Response};
use actix_rt::net::TcpStream;
use actix_service::{fn_factory, fn_service, map_config, IntoServiceFactory, ServiceFactoryExt};
use actix_web::dev::{AppConfig, Server, Service, ServiceFactory};
use actix_web::http::header;
use actix_web::ResponseError;

use super::cidr::TrustedProxies;
use super::client::ClientInfo;
use super::error::ApiError;
use super::origin::OriginPolicy;
use crate::engineio::{websocket_echo, Engine, EngineError, WsUpgrade};

/// How long a new connection may take to send its first request head before it gets
/// `408 Request Timeout`. actix-web's default is 5 s, which a busy server misses for clients that
/// did send in time: at 19,000 handshakes on a loaded machine a few waited longer than 5 s to be
/// read and were refused (docs/BENCHMARKS.md, "The 408s at 19,000"). Node allows 60 s
/// (`server.headersTimeout`). 20 s is the Engine.IO ping timeout: a client that cannot get a
/// request head through in that time would not keep a session alive either.
pub const REQUEST_HEAD_TIMEOUT: Duration = Duration::from_secs(20);

/// How long an idle HTTP keep-alive connection stays open (actix-web's default).
const KEEP_ALIVE: Duration = Duration::from_secs(5);

/// Pending connections the listener queues (actix-web's default).
const DEFAULT_BACKLOG: u32 = 2_048;

/// How the server runs.
#[derive(Debug, Clone)]
pub struct ServeOptions {
    /// Worker threads; `None` for one per core.
    pub workers: Option<usize>,
    /// Seconds in-flight HTTP requests get to finish at a graceful stop.
    pub shutdown_timeout: u64,
    /// Pending connections the listener queues.
    pub backlog: u32,
    /// How long a new connection may take to send its first request head (then 408).
    pub request_head_timeout: Duration,
}

impl Default for ServeOptions {
    fn default() -> ServeOptions {
        ServeOptions {
            workers: None,
            shutdown_timeout: 30,
            backlog: DEFAULT_BACKLOG,
            request_head_timeout: REQUEST_HEAD_TIMEOUT,
        }
    }
}

impl ServeOptions {
    /// How many worker threads the server runs: as asked, or one per core (actix-server's
    /// default, 2 when the cores cannot be counted).
    pub fn worker_count(&self) -> usize {
        self.workers.unwrap_or_else(|| {
            std::thread::available_parallelism().map_or(2, std::num::NonZeroUsize::get)
        })
    }
}

/// Where a WebSocket handshake goes.
#[derive(Clone)]
enum Target {
    /// An Engine.IO server.
    Engine(Engine),
    /// A plain WebSocket echo (the conformance server's Autobahn endpoint).
    Echo {
        max_payload: usize,
        per_message_deflate: bool,
    },
}

/// What the upgrade hook does with WebSocket handshakes: the paths that take one, the origin
/// policy, and the proxies whose forwarding headers name the client.
#[derive(Clone, Default)]
pub struct WebSockets {
    /// Paths without their trailing slash, and where they go.
    routes: Vec<(String, Target)>,
    origins: Option<OriginPolicy>,
    proxies: TrustedProxies,
}

impl WebSockets {
    /// No WebSocket anywhere (every handshake gets a 404), any origin, no trusted proxy.
    pub fn new() -> WebSockets {
        WebSockets::default()
    }

    /// Engine.IO WebSockets at `path` (with or without a trailing slash).
    pub fn engine(mut self, path: &str, engine: Engine) -> WebSockets {
        self.routes.push((trimmed(path), Target::Engine(engine)));
        self
    }

    /// A plain WebSocket echo at `path`, for the Autobahn suite.
    pub fn echo(mut self, path: &str, max_payload: usize, per_message_deflate: bool) -> WebSockets {
        let target = Target::Echo {
            max_payload,
            per_message_deflate,
        };
        self.routes.push((trimmed(path), target));
        self
    }

    /// Refuses handshakes from origins `policy` refuses (without one, any origin may connect).
    pub fn origins(mut self, policy: OriginPolicy) -> WebSockets {
        self.origins = Some(policy);
        self
    }

    /// Believes these proxies' forwarding headers about the client's address.
    pub fn proxies(mut self, trusted: TrustedProxies) -> WebSockets {
        self.proxies = trusted;
        self
    }

    /// Serves one handshake the HTTP dispatcher handed over; the connection is then ours.
    async fn handle(self: Arc<Self>, request: Request, framed: Framed<TcpStream, h1::Codec>) {
        let mut upgrade = WsUpgrade::new(request, framed);
        let peer = upgrade.peer();
        let client = ClientInfo::resolve(peer.map(|p| p.ip()), upgrade.headers(), &self.proxies);
        if let Some(addr) = client.addr.filter(|_| client.proxy.is_some()) {
            // As the `identify` middleware does: the forwarded client's port is unknown.
            upgrade.set_peer(SocketAddr::new(addr, 0));
        }
        if let Some(origin) = self.refused_origin(&upgrade) {
            tracing::warn!(%origin, path = upgrade.path(), %client, "WebSocket from a refused origin");
            upgrade
                .answer(EngineError::Forbidden.error_response())
                .await;
            return;
        }
        let path = upgrade.path().trim_end_matches('/');
        let target = self.routes.iter().find(|(route, _)| route == path);
        match target.map(|(_, target)| target) {
            Some(Target::Engine(engine)) => engine.serve_websocket(upgrade).await,
            Some(&Target::Echo {
                max_payload,
                per_message_deflate,
            }) => websocket_echo(upgrade, max_payload, per_message_deflate).await,
            None => {
                tracing::info!(path = upgrade.path(), %client, "WebSocket handshake on no WebSocket path");
                let refusal = ApiError::NotFound("no WebSocket here").error_response();
                upgrade.answer(refusal).await;
            }
        }
    }

    /// The handshake's origin, if the policy refuses it.
    fn refused_origin(&self, upgrade: &WsUpgrade) -> Option<String> {
        let policy = self.origins.as_ref()?;
        let header = |name| upgrade.headers().get(name)?.to_str().ok();
        policy.refused(header(header::ORIGIN), header(header::HOST))
    }
}

fn trimmed(path: &str) -> String {
    path.trim_end_matches('/').to_string()
}

/// Serves the App that `app` builds (once per worker) on `listener`, with WebSocket handshakes
/// going to `sockets`. Signals are left to the caller (stop the server through its handle).
pub fn serve<F, I, S, B>(
    listener: TcpListener,
    options: ServeOptions,
    sockets: WebSockets,
    app: F,
) -> std::io::Result<Server>
where
    F: Fn() -> I + Send + Clone + 'static,
    I: IntoServiceFactory<S, Request>,
    S: ServiceFactory<Request, Config = AppConfig> + 'static,
    S::Error: Into<actix_web::Error> + 'static,
    S::InitError: fmt::Debug,
    S::Response: Into<Response<B>> + 'static,
    <S::Service as Service<Request>>::Future: 'static,
    S::Service: 'static,
    B: MessageBody + 'static,
{
    let address = listener.local_addr()?;
    // actix-server applies its backlog only to the addresses it binds itself: a listener handed
    // to it keeps the backlog it was bound with (the standard library's 128), which overflows
    // when thousands of clients connect at once. Listening again sets the backlog asked for.
    socket2::SockRef::from(&listener).listen(i32::try_from(options.backlog).unwrap_or(i32::MAX))?;
    let sockets = Arc::new(sockets);
    let head_timeout = options.request_head_timeout;
    let mut builder = Server::build()
        .backlog(options.backlog)
        .shutdown_timeout(options.shutdown_timeout)
        .disable_signals();
    builder = builder.workers(options.worker_count());
    let builder = builder.listen("agora-http", listener, move || {
        let sockets = Arc::clone(&sockets);
        let upgrade = fn_factory(move || {
            let sockets = Arc::clone(&sockets);
            async move {
                Ok::<_, ()>(fn_service(
                    move |(request, framed): (Request, Framed<TcpStream, h1::Codec>)| {
                        let sockets = Arc::clone(&sockets);
                        async move {
                            sockets.handle(request, framed).await;
                            Ok::<_, actix_web::Error>(())
                        }
                    },
                ))
            }
        });
        let app = app()
            .into_factory()
            .map_err(|error| error.into().error_response());
        HttpService::build()
            // Frames are small and realtime: Nagle's algorithm would hold each back until the
            // client acknowledged the previous one (docs/BENCHMARKS.md, the second run of
            // 2026-12-07).
            .tcp_nodelay(true)
            .keep_alive(KEEP_ALIVE)
            .client_request_timeout(head_timeout)
            .local_addr(address)
            .upgrade(upgrade)
            .finish(map_config(app, |_| AppConfig::default()))
            .tcp()
    })?;
    Ok(builder.run())
}
