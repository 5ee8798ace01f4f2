//! The subscriber task: PSUBSCRIBE/SUBSCRIBE per namespace, delivering what arrives, resubscribing
//! after a reconnection.

use std::sync::{Arc, Weak};
use std::time::Duration;

use futures_util::StreamExt;
use redis::aio::{PubSubSink, PubSubStream};
use redis::Client;
use tokio::sync::mpsc;
use tokio::time::Instant;

use super::connection::{
    open_pubsub, subscribe_namespace, with_timeout, Backoff, Subscribe, HEALTH_INTERVAL,
};
use super::state::Inner;
use super::ClusterStatus;
use crate::sync::lock;

/// Why the subscriber stopped serving a connection.
enum End {
    /// The adapter is gone: the task ends.
    Closed,
    /// The connection is gone: reconnect.
    Lost(String),
}

/// The subscriber task: delivers messages, subscribes namespaces, reconnects and resubscribes.
pub(super) async fn run_subscriber(
    client: Client,
    first: (PubSubSink, PubSubStream),
    inner: Weak<Inner>,
    mut commands: mpsc::UnboundedReceiver<Subscribe>,
    status: ClusterStatus,
    timeout: Duration,
) {
    let mut connection = Some(first);
    let mut backoff = Backoff::new();
    loop {
        if let Some((sink, stream)) = connection.take() {
            status.set_subscriber(true);
            let end = serve(sink, stream, &inner, &mut commands, timeout).await;
            status.set_subscriber(false);
            let Some(strong) = inner.upgrade() else {
                return;
            };
            lock(&strong.namespaces)
                .values_mut()
                .for_each(|subscribed| *subscribed = false);
            drop(strong);
            match end {
                End::Closed => return,
                End::Lost(reason) => {
                    tracing::warn!(%reason, "lost the Redis subscription; local delivery goes on, reconnecting");
                }
            }
        }
        if !pause(backoff.next(), &mut commands, &inner).await {
            return;
        }
        let (mut sink, stream) = match open_pubsub(&client, timeout).await {
            Ok(pubsub) => pubsub,
            Err(error) => {
                tracing::debug!(%error, "Redis still unreachable (subscribe)");
                continue;
            }
        };
        let Some(strong) = inner.upgrade() else {
            return;
        };
        let channels = strong.channels.clone();
        let uid = strong.uid.clone();
        let namespaces: Vec<Arc<str>> = lock(&strong.namespaces).keys().cloned().collect();
        drop(strong);
        let mut resubscribed = true;
        for nsp in &namespaces {
            let subscribing = subscribe_namespace(&mut sink, &channels, nsp, &uid);
            if with_timeout(timeout, subscribing).await.is_err() {
                resubscribed = false;
                break;
            }
        }
        if !resubscribed {
            continue;
        }
        if let Some(strong) = inner.upgrade() {
            let mut known = lock(&strong.namespaces);
            for nsp in &namespaces {
                known.insert(Arc::clone(nsp), true);
            }
        }
        backoff.reset();
        status.count_reconnect();
        tracing::info!(
            namespaces = namespaces.len(),
            "Redis subscription re-established"
        );
        connection = Some((sink, stream));
    }
}

/// Waits `wait` while refusing subscription requests; false when the adapter is gone.
async fn pause(
    wait: Duration,
    commands: &mut mpsc::UnboundedReceiver<Subscribe>,
    inner: &Weak<Inner>,
) -> bool {
    let until = Instant::now() + wait;
    loop {
        tokio::select! {
            _ = tokio::time::sleep_until(until) => return inner.strong_count() > 0,
            command = commands.recv() => match command {
                // The namespace is remembered and subscribed on reconnection.
                Some(Subscribe { done, .. }) => {
                    if let Some(done) = done {
                        let _ = done.send(false);
                    }
                }
                None => return false,
            }
        }
    }
}

/// Serves one pub/sub connection until it is lost or the adapter is gone.
async fn serve(
    mut sink: PubSubSink,
    mut stream: PubSubStream,
    inner: &Weak<Inner>,
    commands: &mut mpsc::UnboundedReceiver<Subscribe>,
    timeout: Duration,
) -> End {
    let mut health = tokio::time::interval_at(Instant::now() + HEALTH_INTERVAL, HEALTH_INTERVAL);
    health.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            message = stream.next() => {
                let Some(message) = message else {
                    return End::Lost("connection closed".to_string());
                };
                let Some(inner) = inner.upgrade() else {
                    return End::Closed;
                };
                inner.on_message(&message);
            }
            command = commands.recv() => {
                let Some(Subscribe { nsp, done }) = command else {
                    return End::Closed;
                };
                let Some(strong) = inner.upgrade() else {
                    return End::Closed;
                };
                let channels = strong.channels.clone();
                let uid = strong.uid.clone();
                drop(strong);
                let subscribing = subscribe_namespace(&mut sink, &channels, &nsp, &uid);
                match with_timeout(timeout, subscribing).await {
                    Ok(()) => {
                        if let Some(strong) = inner.upgrade() {
                            lock(&strong.namespaces).insert(nsp, true);
                        }
                        if let Some(done) = done {
                            let _ = done.send(true);
                        }
                    }
                    Err(error) => {
                        if let Some(done) = done {
                            let _ = done.send(false);
                        }
                        return End::Lost(error.to_string());
                    }
                }
            }
            _ = health.tick() => {
                if let Err(error) = with_timeout(timeout, sink.ping::<redis::Value>()).await {
                    return End::Lost(format!("ping failed: {error}"));
                }
            }
        }
    }
}
