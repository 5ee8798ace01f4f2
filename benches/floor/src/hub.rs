//! The `ChatServer` hub actor and its messages, as in actix/examples `websockets/chat`: it knows
//! every session's [`Recipient`] and which sessions are in which room, and delivers broadcasts.

use std::collections::{HashMap, HashSet};

use actix::prelude::*;
use bytestring::ByteString;

/// A session's number, given by the session itself when it starts.
pub type SessionId = usize;

/// A text frame for a session to write to its WebSocket. The frame is shared: cloning a
/// [`ByteString`] only bumps a reference count, so a broadcast is encoded once for all recipients.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Frame(pub ByteString);

/// A session has started and wants the frames sent to it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Connect {
    pub id: SessionId,
    pub addr: Recipient<Frame>,
}

/// A session has stopped.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Disconnect {
    pub id: SessionId,
}

/// A session joins a room; the reply tells it the join is done.
#[derive(Message)]
#[rtype(result = "()")]
pub struct Join {
    pub id: SessionId,
    pub room: String,
}

/// A frame for every member of `room` but the session `id` that sent it.
#[derive(Message)]
#[rtype(result = "()")]
pub struct ClientMessage {
    pub id: SessionId,
    pub room: String,
    pub frame: ByteString,
}

/// The hub: sessions and rooms. It runs on the main thread (the actix system's arbiter), the
/// sessions on the HTTP workers, as Agora's hub does.
#[derive(Default)]
pub struct ChatServer {
    sessions: HashMap<SessionId, Recipient<Frame>>,
    rooms: HashMap<String, HashSet<SessionId>>,
}

impl Actor for ChatServer {
    type Context = Context<Self>;
}

impl Handler<Connect> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Connect, _: &mut Context<Self>) {
        self.sessions.insert(msg.id, msg.addr);
    }
}

impl Handler<Disconnect> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Disconnect, _: &mut Context<Self>) {
        if self.sessions.remove(&msg.id).is_some() {
            self.rooms.retain(|_, members| {
                members.remove(&msg.id);
                !members.is_empty()
            });
        }
    }
}

impl Handler<Join> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: Join, _: &mut Context<Self>) {
        self.rooms.entry(msg.room).or_default().insert(msg.id);
    }
}

impl Handler<ClientMessage> for ChatServer {
    type Result = ();

    fn handle(&mut self, msg: ClientMessage, _: &mut Context<Self>) {
        let Some(members) = self.rooms.get(&msg.room) else {
            return;
        };
        for id in members {
            if *id == msg.id {
                continue;
            }
            if let Some(addr) = self.sessions.get(id) {
                addr.do_send(Frame(msg.frame.clone()));
            }
        }
    }
}
