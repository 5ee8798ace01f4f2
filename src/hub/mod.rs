//! The hub: the one `ChatServer` actor that every session reports to. It owns the rooms and fans
//! broadcasts out; [`LocalAdapter`] plugs it into the Socket.IO layer.

mod adapter;
mod chat_rooms;
pub mod messages;
mod presence;
mod recovery_log;
mod server;

pub use adapter::LocalAdapter;
pub use chat_rooms::PresenceChange;
pub use server::ChatServer;
