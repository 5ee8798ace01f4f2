//! A plain WebSocket echo on the transport's own codec, for the Autobahn conformance suite.

use actix::{Actor, ActorContext, StreamHandler};
use actix_web::ResponseError;

use super::context::{run, LiveSockets, WsContext};
use super::frame::CloseCode;
use super::handshake::WsUpgrade;
use super::message::{WsError, WsMessage};
use crate::engineio::EngineError;

/// Answers a WebSocket handshake with a connection that sends every message back as it came,
/// with permessage-deflate if `per_message_deflate` and the client offers it.
pub async fn echo(upgrade: WsUpgrade, max_payload: usize, per_message_deflate: bool) {
    match upgrade.accept(per_message_deflate) {
        Ok(accepted) => run(
            Echo,
            upgrade,
            accepted,
            max_payload,
            &LiveSockets::default(),
        ),
        Err(error) => {
            tracing::info!(%error, "refused a WebSocket handshake");
            upgrade
                .answer(EngineError::BadRequest.error_response())
                .await;
        }
    }
}

struct Echo;

impl Actor for Echo {
    type Context = WsContext<Self>;
}

impl StreamHandler<Result<WsMessage, WsError>> for Echo {
    fn handle(&mut self, item: Result<WsMessage, WsError>, ctx: &mut Self::Context) {
        let code = match item {
            Ok(WsMessage::Text(text)) => return ctx.text(&text, true),
            Ok(WsMessage::Binary(bytes)) => return ctx.binary(&bytes, true),
            Ok(WsMessage::Ping(payload)) => return ctx.pong(&payload),
            Ok(WsMessage::Pong) => return,
            Ok(WsMessage::Close(_)) => CloseCode::Normal,
            Err(error) => {
                tracing::debug!(%error, "closing an echo WebSocket");
                error.close_code()
            }
        };
        ctx.close(code);
        ctx.stop();
    }

    fn finished(&mut self, ctx: &mut Self::Context) {
        ctx.stop();
    }
}
