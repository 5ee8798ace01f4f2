//! How an app event is wired: its first argument parsed into a typed request, the handler run, its
//! result sent as the ack (`{"ok":true,...}` or `{"ok":false,"error":{code,message}}`, see
//! [`reply`]), all in one place. A handler is
//!
//! ```text
//! async fn on_event(ctx: AppContext, socket: Socket, request: R) -> Result<T, AppError>
//! ```
//!
//! with `R: Deserialize` (a payload that does not fit is refused as `bad_request` before the
//! handler runs) and `T: Serialize` (an object whose fields go into the ack next to `ok`).
//! A handler that ignores its argument takes [`serde::de::IgnoredAny`].

use std::future::Future;

use serde::de::DeserializeOwned;
use serde::Serialize;

use super::error::{parse, reply, AppError};
use super::AppContext;
use crate::socketio::{NamespaceBuilder, Socket};

/// A namespace being built, with the context its app handlers get.
pub struct AppEvents {
    namespace: NamespaceBuilder,
    ctx: AppContext,
}

impl AppEvents {
    /// Starts registering app events on `namespace`.
    pub fn new(namespace: NamespaceBuilder, ctx: AppContext) -> AppEvents {
        AppEvents { namespace, ctx }
    }

    /// Registers an asynchronous request: each event runs `handler` in a task of its own, then
    /// acks its result if the client asked for an ack.
    pub fn request<R, T, F, Fut>(mut self, event: &str, handler: F) -> AppEvents
    where
        R: DeserializeOwned + 'static,
        T: Serialize + 'static,
        F: Fn(AppContext, Socket, R) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<T, AppError>> + 'static,
    {
        let ctx = self.ctx.clone();
        self.namespace = self.namespace.on(event, move |socket, payload, ack| {
            let request = parse::<R>(&payload);
            let (ctx, socket) = (ctx.clone(), socket.clone());
            let answer = request.map(|request| handler(ctx, socket, request));
            actix_rt::spawn(async move {
                let result = match answer {
                    Ok(answer) => answer.await,
                    Err(error) => Err(error),
                };
                reply(ack, result);
            });
        });
        self
    }

    /// Registers a signal (such as typing): handled at once, without a task; a refused signal is
    /// dropped with a debug log, and refused in the ack for a client that asks for one.
    pub fn signal<R, F>(mut self, event: &'static str, handler: F) -> AppEvents
    where
        R: DeserializeOwned,
        F: Fn(&AppContext, &Socket, R) -> Result<(), AppError> + Send + Sync + 'static,
    {
        let ctx = self.ctx.clone();
        self.namespace = self.namespace.on(event, move |socket, payload, ack| {
            let result = parse::<R>(&payload).and_then(|request| handler(&ctx, socket, request));
            if let Err(error) = &result {
                tracing::debug!(socket = %socket.id(), code = error.code(), "{event} dropped");
            }
            reply(ack, result.map(|()| serde_json::json!({})));
        });
        self
    }

    /// The namespace with every registered event.
    pub fn build(self) -> NamespaceBuilder {
        self.namespace
    }
}
