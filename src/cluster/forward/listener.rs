//! The listener task: subscribed to this node's forwarding channel, it serves other nodes'
//! requests, hands answers to this node's waiting requests, and resubscribes after Redis comes
//! back.

use std::sync::Arc;

use actix_web::http::StatusCode;
use actix_web::web::Bytes;
use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};

use super::owner::{self, Incoming};
use super::sender;
use super::state::Shared;
use super::wire::{self, Header};
use super::{relay_entry, relay_owner};
use crate::cluster::connection::{open_pubsub, with_timeout, Backoff, HEALTH_INTERVAL};
use crate::engineio::{CloseReason, Engine, ForwardedResponse, Frame};

/// Subscribes this node's channel on a fresh pub/sub connection.
pub(super) async fn subscribe(shared: &Shared) -> Result<(PubSubSink, PubSubStream), String> {
    let timeout = shared.options.connect_timeout;
    let (mut sink, stream) = open_pubsub(&shared.client, timeout)
        .await
        .map_err(|error| error.to_string())?;
    let channel = wire::channel(&shared.options.key, &shared.tag);
    with_timeout(timeout, sink.subscribe(channel))
        .await
        .map_err(|error| error.to_string())?;
    Ok((sink, stream))
}

/// Runs until the process ends: serves the subscription, reopens it with backoff when lost.
pub(super) async fn run(shared: Arc<Shared>, engine: Engine, first: (PubSubSink, PubSubStream)) {
    let mut connection = Some(first);
    let mut backoff = Backoff::new();
    loop {
        if let Some((sink, stream)) = connection.take() {
            backoff.reset();
            let reason = listen(&shared, &engine, sink, stream).await;
            tracing::warn!(%reason, "lost the forwarding subscription; reconnecting");
            // Relayed frames published meanwhile are lost: no relay can go on in order.
            relay_entry::lose(&shared, None);
            relay_owner::lose(&shared, None);
        }
        tokio::time::sleep(backoff.next()).await;
        match subscribe(&shared).await {
            Ok(pubsub) => {
                tracing::info!("forwarding subscription re-established");
                connection = Some(pubsub);
            }
            Err(error) => tracing::debug!(%error, "Redis still unreachable (forwarding)"),
        }
    }
}

/// Serves one subscription until it is lost; answers why.
async fn listen(
    shared: &Arc<Shared>,
    engine: &Engine,
    mut sink: PubSubSink,
    mut stream: PubSubStream,
) -> String {
    let mut health = tokio::time::interval(HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return "connection closed".to_string();
                };
                on_message(shared, engine, message.get_payload_bytes());
            }
            _ = health.tick() => {
                let timeout = shared.options.connect_timeout;
                if let Err(error) = with_timeout(timeout, sink.ping::<redis::Value>()).await {
                    return format!("ping failed: {error}");
                }
            }
        }
    }
}

/// One message on this node's channel.
fn on_message(shared: &Arc<Shared>, engine: &Engine, payload: &[u8]) {
    let (header, body) = match wire::decode(payload) {
        Ok(message) => message,
        Err(error) => {
            tracing::debug!(%error, "ignoring a malformed forwarding message");
            return;
        }
    };
    match header {
        Header::Request {
            id,
            from,
            method,
            query,
            headers,
        } => owner::serve(
            shared,
            engine,
            Incoming {
                id,
                from,
                method,
                query,
                headers,
                body: Bytes::copy_from_slice(body),
            },
        ),
        Header::Response {
            id,
            status,
            headers,
        } => {
            let Ok(status) = StatusCode::from_u16(status) else {
                tracing::debug!(status, "ignoring a forwarded answer with a bad status");
                return;
            };
            let response = ForwardedResponse {
                status,
                headers: wire::header_map(&headers),
                body: Bytes::copy_from_slice(body),
            };
            sender::answered(shared, id, response);
        }
        Header::Cancel { id, from } => owner::cancel(shared, from, id),
        Header::RelayOpen { relay, from, sid } => {
            relay_owner::open(shared, engine, from, relay, &sid);
        }
        Header::RelayUp { relay, from, close } => {
            let Some((frames, close)) = relayed(body, close) else {
                return;
            };
            relay_owner::up(shared, &(from, relay), frames, close);
        }
        Header::RelayDown { relay, close } => {
            let Some((frames, close)) = relayed(body, close) else {
                return;
            };
            relay_entry::down(shared, relay, frames, close);
        }
    }
}

/// The frames and close reason of a relay message, unless they cannot be read.
fn relayed(body: &[u8], close: Option<String>) -> Option<(Vec<Frame>, Option<CloseReason>)> {
    let frames = match wire::decode_frames(body) {
        Ok(frames) => frames,
        Err(error) => {
            tracing::debug!(%error, "ignoring a malformed relay message");
            return None;
        }
    };
    // An unknown reason (a newer node's) still ends the relay.
    let close =
        close.map(|name| CloseReason::from_name(&name).unwrap_or(CloseReason::TransportError));
    Some((frames, close))
}
