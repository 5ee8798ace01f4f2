//! The applications on top of the hub: each is a set of Socket.IO events (and pages and HTTP
//! endpoints in `web`). [`main_namespace`] wires them onto the main namespace.

pub mod identity;
pub mod welcome;

use actix::Addr;

use crate::accounts::Accounts;
use crate::hub::ChatServer;
use crate::socketio::{Namespace, NamespaceBuilder};

/// What the app handlers need.
#[derive(Clone)]
pub struct AppContext {
    pub accounts: Accounts,
    pub hub: Addr<ChatServer>,
}

/// The main namespace: identity on connect, then every app's events.
pub fn main_namespace(context: AppContext) -> NamespaceBuilder {
    let for_identity = context.clone();
    let for_connect = context.clone();
    let for_disconnect = context;
    Namespace::builder("/")
        .middleware(move |socket| {
            let accounts = for_identity.accounts.clone();
            async move { identity::identify(&accounts, &socket).await }
        })
        .on_connect(move |socket| welcome::on_connect(&for_connect.hub, socket))
        .on_disconnect(move |socket, _| welcome::on_disconnect(&for_disconnect.hub, socket))
}
