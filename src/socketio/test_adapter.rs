//! A test adapter for the socketio layer's own unit tests (which cannot use the hub's): it records
//! every call and answers as an adapter with no other node and no socket would.

use std::sync::{Arc, Mutex};
use std::time::Duration;

use futures_util::future::{ready, BoxFuture};
use futures_util::FutureExt;
use serde_json::Value;

use super::adapter::{
    AckRequest, Adapter, BroadcastOptions, FetchedSocket, NewSocket, NodesReached, RestoreRequest,
};
use super::server_side::{ServerSideAckError, ServerSideEvents};
use super::types::{Room, SocketId};
use crate::engineio::Frame;

/// One call the adapter got: a registration with its namespace and socket id, or any other
/// method by name.
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Call {
    Added(String, String),
    Removed(String, String),
    Other(&'static str),
}

/// Records every call, in order.
#[derive(Default)]
pub(crate) struct Recorder(Mutex<Vec<Call>>);

impl Recorder {
    /// The calls so far.
    pub(crate) fn calls(&self) -> Vec<Call> {
        crate::sync::lock(&self.0).clone()
    }

    fn record(&self, call: Call) {
        crate::sync::lock(&self.0).push(call);
    }

    fn other<T>(&self, name: &'static str, answer: T) -> BoxFuture<'static, T>
    where
        T: Send + 'static,
    {
        self.record(Call::Other(name));
        ready(answer).boxed()
    }
}

impl Adapter for Recorder {
    fn add_socket(&self, nsp: &Arc<str>, socket: NewSocket) {
        self.record(Call::Added(nsp.to_string(), socket.id.to_string()));
    }

    fn remove_socket(&self, nsp: &Arc<str>, id: &SocketId) {
        self.record(Call::Removed(nsp.to_string(), id.to_string()));
    }

    fn join(&self, _: &Arc<str>, _: &SocketId, _: Vec<Room>) {
        self.record(Call::Other("join"));
    }

    fn leave(&self, _: &Arc<str>, _: &SocketId, _: Vec<Room>) {
        self.record(Call::Other("leave"));
    }

    fn broadcast(&self, _: &Arc<str>, _: Arc<[Frame]>, _: BroadcastOptions) {
        self.record(Call::Other("broadcast"));
    }

    fn broadcast_with_ack(&self, _: &Arc<str>, _: AckRequest) -> NodesReached {
        self.other("broadcast_with_ack", Some(1))
    }

    fn sockets(&self, _: &Arc<str>, _: Vec<Room>) -> BoxFuture<'static, Vec<SocketId>> {
        self.other("sockets", Vec::new())
    }

    fn rooms(&self, _: &Arc<str>, _: &str) -> BoxFuture<'static, Vec<Room>> {
        self.other("rooms", Vec::new())
    }

    fn detach_socket(&self, _: &Arc<str>, _: &SocketId, _: Duration) {
        self.record(Call::Other("detach_socket"));
    }

    fn disconnect_sockets(&self, _: &Arc<str>, _: BroadcastOptions, _: bool) {
        self.record(Call::Other("disconnect_sockets"));
    }

    fn restore_socket(&self, _: &Arc<str>, _: RestoreRequest) -> BoxFuture<'static, bool> {
        self.other("restore_socket", false)
    }

    fn fetch_sockets(
        &self,
        _: &Arc<str>,
        _: BroadcastOptions,
    ) -> BoxFuture<'static, Vec<FetchedSocket>> {
        self.other("fetch_sockets", Vec::new())
    }

    fn add_sockets(&self, _: &Arc<str>, _: BroadcastOptions, _: Vec<Room>) {
        self.record(Call::Other("add_sockets"));
    }

    fn del_sockets(&self, _: &Arc<str>, _: BroadcastOptions, _: Vec<Room>) {
        self.record(Call::Other("del_sockets"));
    }

    fn serve_server_side(&self, _: &Arc<str>, _: ServerSideEvents) {
        self.record(Call::Other("serve_server_side"));
    }

    fn server_side_emit(&self, _: &Arc<str>, _: Vec<Value>) {
        self.record(Call::Other("server_side_emit"));
    }

    fn server_side_emit_with_ack(
        &self,
        _: &Arc<str>,
        _: Vec<Value>,
        _: Duration,
    ) -> BoxFuture<'static, Result<Vec<Value>, ServerSideAckError>> {
        self.other("server_side_emit_with_ack", Ok(Vec::new()))
    }
}
