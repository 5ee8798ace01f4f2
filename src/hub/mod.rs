//! The hub: the one `ChatServer` actor that every session reports to. It owns the rooms and fans
//! broadcasts out; [`LocalAdapter`] plugs it into the Socket.IO layer.

mod adapter;
pub mod messages;
mod placement;
mod recovery_log;
pub mod room_index;
mod server;

pub use adapter::LocalAdapter;
pub use placement::PendingHub;
pub use server::ChatServer;
