//! The HTTP side: Tera pages, the JSON API, static files, Agora's browser client, and the origin
//! policy in front of all of them.

pub mod admin_ui;
mod api_accounts;
mod api_board;
pub mod api_emit;
mod api_feed;
pub mod api_keys;
mod api_trades;
pub mod cidr;
pub mod client;
pub mod csrf;
pub mod error;
pub mod headers;
pub mod ops;
pub mod origin;
pub mod pages;
pub mod serve;
pub mod session;
pub mod templates;

use std::path::PathBuf;

use actix_web::web;

use crate::apps::AppContext;
use crate::socketio::SocketIo;
use templates::Templates;

/// State shared by every HTTP handler.
pub struct AppState {
    /// What the apps share with their socket handlers (store, accounts, hub, limits).
    pub apps: AppContext,
    /// The page templates.
    pub templates: Templates,
    /// The Socket.IO server, for the API's broadcasts.
    pub io: SocketIo,
    /// The Redis cluster link, when this node is part of one.
    pub cluster: Option<crate::cluster::ClusterStatus>,
}

/// Signing up, in and out: the forms and the JSON API.
fn account_routes(cfg: &mut web::ServiceConfig) {
    let form = |action| web::post().to(pages::credentials(action));
    cfg.route("/login", form(pages::CredentialsAction::LogIn))
        .route("/register", form(pages::CredentialsAction::Register))
        .route("/logout", web::post().to(pages::logout));
    cfg.route("/api/register", web::post().to(api_accounts::register))
        .route("/api/login", web::post().to(api_accounts::login))
        .route("/api/logout", web::post().to(api_accounts::logout))
        .route("/api/me", web::get().to(api_accounts::me));
}

/// The apps' HTTP endpoints: the board, the feed, trades.
fn app_routes(cfg: &mut web::ServiceConfig) {
    cfg.route("/messages", web::get().to(api_board::list))
        .route("/messages", web::post().to(api_board::post))
        .route("/api/tweets", web::get().to(api_feed::list))
        .route("/api/tweets", web::post().to(api_feed::post));
    cfg.route("/api/inventory", web::get().to(api_trades::own_inventory))
        .route(
            "/api/users/{name}/inventory",
            web::get().to(api_trades::user_inventory),
        )
        .route("/api/trades", web::get().to(api_trades::list))
        .route("/api/trades", web::post().to(api_trades::offer))
        .route(
            "/api/trades/{id}/{action}",
            web::post().to(api_trades::decide),
        );
}

/// Registers the pages, the API and the static files (not the Socket.IO endpoint).
pub fn configure(cfg: &mut web::ServiceConfig, static_dir: PathBuf) {
    let client = static_dir.join("socket.io.js");
    for (path, template, title) in pages::PLAIN_PAGES {
        cfg.route(path, web::get().to(pages::plain(template, title)));
    }
    cfg.app_data(error::json_config())
        .app_data(error::form_config())
        .route("/healthz", web::get().to(ops::healthz))
        .route("/readyz", web::get().to(ops::readyz))
        .route("/metrics", web::get().to(ops::metrics));
    account_routes(cfg);
    app_routes(cfg);
    cfg.route(
        "/socket.io/socket.io.js",
        web::get().to(move || {
            let client = client.clone();
            async move { actix_files::NamedFile::open_async(client).await }
        }),
    )
    .service(actix_files::Files::new("/static", static_dir));
}
