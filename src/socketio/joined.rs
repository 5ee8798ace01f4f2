//! [`Joined`]: the sockets of one Socket.IO connection, one per namespace joined.

use super::socket::Socket;

/// A connection's sockets, found by their namespace's name. Most connections join one or two
/// namespaces: a list searched in order needs one small allocation and no key of its own (a
/// socket knows its namespace), where a hash map keyed by name held a table and a string.
#[derive(Default)]
pub(crate) struct Joined(Vec<Socket>);

impl Joined {
    /// The socket in namespace `nsp`.
    pub(crate) fn get(&self, nsp: &str) -> Option<&Socket> {
        self.0.iter().find(|socket| &**socket.nsp() == nsp)
    }

    /// Takes out the socket in namespace `nsp`.
    pub(crate) fn remove(&mut self, nsp: &str) -> Option<Socket> {
        let at = self.0.iter().position(|socket| &**socket.nsp() == nsp)?;
        Some(self.0.swap_remove(at))
    }

    /// Adds `socket`, in place of one already in its namespace.
    pub(crate) fn insert(&mut self, socket: Socket) {
        self.remove(socket.nsp());
        self.0.push(socket);
    }

    /// Takes out every socket.
    pub(crate) fn drain(&mut self) -> impl Iterator<Item = Socket> {
        std::mem::take(&mut self.0).into_iter()
    }
}
