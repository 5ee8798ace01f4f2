//! The recovery writer task (see `recovery`): session records and logged packets go to Redis in pipelined batches, in the
//! order they were queued; each logged packet is then delivered here and published with its entry
//! id as offset. Every [`MAINTENANCE_INTERVAL`] it renews the leases of this node's live sessions
//! and trims the log to the window.

use std::sync::{Arc, Weak};

use super::connection::batch_after;
use super::heartbeat::LUA_NOW;
use super::recovery::{RecoveryStore, Write, MAINTENANCE_INTERVAL, MAX_LOG_ENTRIES, SESSION_LEASE};
use super::state::Inner;
use tokio::sync::mpsc;

/// Runs until the adapter is gone.
pub(super) async fn run_writer(mut queue: mpsc::Receiver<Write>, inner: Weak<Inner>) {
    let mut maintenance = tokio::time::interval(MAINTENANCE_INTERVAL);
    maintenance.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            item = queue.recv() => {
                let Some(first) = item else { return };
                let batch = batch_after(first, &mut queue);
                let Some(inner) = inner.upgrade() else { return };
                write_batch(&inner, batch).await;
            }
            _ = maintenance.tick() => {
                let Some(inner) = inner.upgrade() else { return };
                maintain(&inner).await;
            }
        }
    }
}

/// Sends one batch; then delivers its packets, with their entry ids, or with offsets of this node
/// when Redis failed (they cannot be recovered on another node then).
async fn write_batch(inner: &Arc<Inner>, batch: Vec<Write>) {
    let Some(store) = inner.recovery.as_ref() else {
        return;
    };
    let mut pipe = redis::pipe();
    let mut packets = Vec::new();
    for item in batch {
        match item {
            Write::Packet(packet) => {
                pipe.cmd("XADD")
                    .arg(&store.keys.log)
                    .arg("MAXLEN")
                    .arg("~")
                    .arg(MAX_LOG_ENTRIES)
                    .arg("*")
                    .arg("n")
                    .arg(&*packet.nsp)
                    .arg("m")
                    .arg(packet.message.encode());
                packets.push(packet);
            }
            Write::Session {
                pid,
                record: Some((json, ttl)),
            } => {
                pipe.cmd("SET")
                    .arg(store.keys.session(&pid))
                    .arg(json)
                    .arg("PX")
                    .arg(ttl.as_millis() as u64)
                    .ignore();
            }
            Write::Session { pid, record: None } => {
                pipe.cmd("DEL").arg(store.keys.session(&pid)).ignore();
            }
        }
    }
    let ids = send(store, &pipe).await;
    let ids = ids.filter(|ids| ids.len() == packets.len());
    if ids.is_none() && !packets.is_empty() {
        tracing::debug!(
            packets = packets.len(),
            "recovery log not written: delivered with this node's offsets"
        );
    }
    let mut ids = ids.into_iter().flatten();
    for packet in packets {
        inner.deliver_logged(*packet, ids.next());
    }
}

async fn send(store: &RecoveryStore, pipe: &redis::Pipeline) -> Option<Vec<String>> {
    let mut connection = store.link.connection().await.ok()?;
    let result = store.link.check(pipe.query_async(&mut connection).await);
    match result {
        Ok(ids) => Some(ids),
        Err(error) => {
            tracing::warn!(%error, "Redis refused recovery writes");
            None
        }
    }
}

/// Renews the leases of this node's live sessions and trims the log to the window.
async fn maintain(inner: &Arc<Inner>) {
    let Some(store) = inner.recovery.as_ref() else {
        return;
    };
    let lease = (store.window + SESSION_LEASE).as_millis() as u64;
    let mut pipe = redis::pipe();
    for pid in inner.live_pids() {
        pipe.cmd("PEXPIRE")
            .arg(store.keys.session(&pid))
            .arg(lease)
            .ignore();
    }
    let trim = format!(
        "{LUA_NOW} return redis.call('XTRIM', KEYS[1], 'MINID', '~', (now - tonumber(ARGV[1])) .. '-0')"
    );
    let Ok(mut connection) = store.link.connection().await else {
        return;
    };
    // A node without live sessions has no lease to renew (an empty pipeline is an error).
    let renewed = if pipe.cmd_iter().next().is_none() {
        Ok(())
    } else {
        store
            .link
            .check(pipe.query_async::<()>(&mut connection).await)
    };
    let trimmed = store.link.check(
        redis::cmd("EVAL")
            .arg(trim)
            .arg(1)
            .arg(&store.keys.log)
            .arg(store.window.as_millis() as u64)
            .query_async::<u64>(&mut connection)
            .await,
    );
    if let Err(error) = renewed.and(trimmed.map(|_| ())) {
        tracing::warn!(%error, "recovery maintenance failed; retried at the next interval");
    }
}
