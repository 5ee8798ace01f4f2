//! One client's life (connect, join, broadcast and receive until told to leave, check, leave),
//! over WebSocket or HTTP long-polling.

use std::cell::RefCell;
use std::collections::HashSet;
use std::rc::Rc;
use std::time::Instant;

use tokio::sync::{mpsc, Semaphore};

use super::settings::Settings;
use super::state::{Command, Sent, State};
use super::LOSS_GRACE;
use crate::client::{join_ack, join_request, parse_u64, truncate, Client, Incoming, Result};
use crate::polling::PollingClient;

/// A WebSocket or a polling connection.
enum Conn {
    Ws(Box<Client>),
    Polling(PollingClient),
}

impl Conn {
    async fn open(port: u16, polling: bool) -> Result<Conn> {
        Ok(if polling {
            Conn::Polling(PollingClient::connect(port).await?)
        } else {
            Conn::Ws(Box::new(Client::connect(port).await?))
        })
    }

    async fn send(&mut self, text: String) -> Result<()> {
        match self {
            Conn::Ws(client) => client.send(text).await,
            Conn::Polling(client) => client.send(text).await,
        }
    }

    async fn recv(&mut self) -> Result<Incoming> {
        match self {
            Conn::Ws(client) => client.recv().await,
            Conn::Polling(client) => client.recv().await,
        }
    }

    /// Joins `room` and waits for the ack.
    async fn join(&mut self, room: &str) -> Result<()> {
        self.send(join_request(room)).await?;
        join_ack(async || self.recv().await).await
    }

    async fn leave(self, reset: bool) {
        match (self, reset) {
            (Conn::Ws(client), false) => {
                let _ = client.close().await;
            }
            (Conn::Ws(client), true) => client.reset(),
            (Conn::Polling(client), false) => client.close().await,
            (Conn::Polling(client), true) => client.reset().await,
        }
    }
}

/// The room names.
pub(super) fn room_name(room: usize) -> String {
    format!("soak-{room}")
}

/// `42["msg",[SEQ,SENT_US,...]]` → (SEQ, SENT_US).
pub(super) fn parse_delivery(text: &str) -> Option<(u64, u64)> {
    let rest = text.as_bytes().strip_prefix(b"42[\"msg\",[")?;
    let (seq, rest) = parse_u64(rest)?;
    let (sent, _) = parse_u64(rest.strip_prefix(b",")?)?;
    Some((seq, sent))
}

/// How a client's life ended.
pub(super) enum End {
    Told { reset: bool, cutoff: Instant },
    Failed,
}

/// One client's life: connect, join, broadcast and receive until told to leave, check, leave.
pub(super) async fn client(
    state: Rc<RefCell<State>>,
    port: u16,
    id: u64,
    polling: bool,
    room: usize,
    pad: Rc<str>,
    gate: Option<Rc<Semaphore>>,
) {
    let permit = match &gate {
        Some(gate) => gate.acquire().await.ok(),
        None => None,
    };
    let opened = async {
        let mut conn = Conn::open(port, polling).await?;
        conn.join(&room_name(room)).await?;
        Ok::<Conn, crate::client::BoxError>(conn)
    }
    .await;
    drop(permit);
    let mut conn = match opened {
        Ok(conn) => conn,
        Err(error) => {
            let mut st = state.borrow_mut();
            st.tally.connect_errors += 1;
            st.tally.error("connect", error);
            st.active -= 1;
            return;
        }
    };
    let joined = Instant::now();
    let (commands, mut inbox) = mpsc::unbounded_channel();
    {
        let mut st = state.borrow_mut();
        if polling {
            st.tally.polling += 1;
        } else {
            st.tally.websocket += 1;
        }
        st.add_live(id, commands);
        if st.closing {
            st.dismiss(id, false, joined);
        }
    }
    let mut got = HashSet::new();
    let end = loop {
        tokio::select! {
            command = inbox.recv() => match command {
                Some(Command::Broadcast(seq)) => {
                    let sent_us = {
                        let mut st = state.borrow_mut();
                        let at = Instant::now();
                        st.logs[room].push(Sent { seq, at, sender: id });
                        st.room_of.insert(seq, room);
                        st.tally.broadcasts += 1;
                        at.duration_since(st.clock).as_micros()
                    };
                    let text = format!(
                        "42[\"broadcast\",\"{}\",[{seq},{sent_us},\"{pad}\"]]",
                        room_name(room)
                    );
                    if let Err(error) = conn.send(text).await {
                        let mut st = state.borrow_mut();
                        st.tally.dropped += 1;
                        st.tally.error("send", error);
                        break End::Failed;
                    }
                }
                Some(Command::Leave { reset, cutoff }) => break End::Told { reset, cutoff },
                None => break End::Told { reset: false, cutoff: Instant::now() },
            },
            incoming = conn.recv() => match incoming {
                Ok(Incoming::Ping) => {}
                Ok(Incoming::Text(text)) => {
                    let mut st = state.borrow_mut();
                    match parse_delivery(&text) {
                        Some((seq, sent_us)) => {
                            if st.room_of.get(&seq) != Some(&room) {
                                st.tally.misrouted += 1;
                            } else if !got.insert(seq) {
                                st.tally.duplicates += 1;
                            }
                            st.tally.deliveries += 1;
                            let now = st.clock.elapsed().as_micros() as u64;
                            let _ = st.latency.record(now.saturating_sub(sent_us).max(1));
                        }
                        None => {
                            st.tally.unexpected += 1;
                            st.tally.error("unexpected message", truncate(&text));
                        }
                    }
                }
                Err(error) => {
                    let mut st = state.borrow_mut();
                    st.tally.dropped += 1;
                    st.tally.error("connection dropped", error);
                    break End::Failed;
                }
            },
        }
    };
    let (reset, cutoff) = match end {
        End::Told { reset, cutoff } => (reset, cutoff),
        End::Failed => (
            true,
            Instant::now().checked_sub(LOSS_GRACE).unwrap_or(joined),
        ),
    };
    {
        let mut st = state.borrow_mut();
        st.retire(id);
        st.slots.remove(&id);
        st.audit(id, room, joined, cutoff, &got);
        if matches!(end, End::Told { .. }) {
            if reset {
                st.tally.resets += 1;
            } else {
                st.tally.polite += 1;
            }
        }
    }
    conn.leave(reset).await;
    state.borrow_mut().active -= 1;
}

/// Starts one client task.
pub(super) fn spawn_client(
    state: &Rc<RefCell<State>>,
    settings: &Settings,
    port: u16,
    pad: &Rc<str>,
    gate: Option<Rc<Semaphore>>,
) {
    let (id, polling, room) = {
        let mut st = state.borrow_mut();
        st.next_id += 1;
        st.active += 1;
        let polling = st.rng.chance(settings.polling);
        let room = st.rng.below(settings.rooms);
        (st.next_id, polling, room)
    };
    tokio::task::spawn_local(client(
        Rc::clone(state),
        port,
        id,
        polling,
        room,
        Rc::clone(pad),
        gate,
    ));
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_deliveries() {
        assert_eq!(
            parse_delivery(r#"42["msg",[12,345,"xx"]]"#),
            Some((12, 345))
        );
        assert_eq!(parse_delivery(r#"42["other",[12,345]]"#), None);
    }
}
