//! The admin UI's operations (`emit`, `join`, `leave`, `_disconnect`), parsed from untrusted
//! arguments into [`Operation`] once, then carried out on the sockets a room filter selects.

use std::sync::Arc;

use serde_json::Value;

use super::observer::ObservedAdapter;
use crate::socketio::{
    Adapter, BroadcastOperator, DisconnectReason, EmitError, Payload, Room, SocketIo,
};

/// Longest namespace, room or event name accepted.
const MAX_NAME_LEN: usize = 256;

/// Why an operation was not carried out.
#[derive(Debug, thiserror::Error)]
pub enum OperationError {
    /// `--admin-readonly`.
    #[error("operations are disabled (read-only admin)")]
    ReadOnly,
    /// The arguments are not what the operation takes.
    #[error("malformed arguments for {0}")]
    Malformed(&'static str),
    /// No such namespace on this server.
    #[error("unknown namespace {0}")]
    UnknownNamespace(String),
    /// The event cannot be emitted (a reserved name).
    #[error(transparent)]
    Emit(#[from] EmitError),
}

/// One operation of the admin UI.
#[derive(Debug)]
pub enum Operation {
    /// `emit(nsp, filter, event, ...args)`: emit to the namespace, or to a room of it.
    Emit {
        /// The namespace.
        nsp: String,
        /// Only the sockets in this room.
        filter: Option<Room>,
        /// The event name.
        event: String,
        /// Its arguments.
        payload: Payload,
    },
    /// `join(nsp, room, filter)` (`leave` when `join` is false): the selected sockets join or
    /// leave `room`.
    Rooms {
        /// The namespace.
        nsp: String,
        /// The room joined or left.
        room: Room,
        /// Only the sockets in this room.
        filter: Option<Room>,
        /// Join, or leave.
        join: bool,
    },
    /// `_disconnect(nsp, close, filter)`: the selected sockets are disconnected; with `close`
    /// their whole connection too.
    Disconnect {
        /// The namespace.
        nsp: String,
        /// Close the connections.
        close: bool,
        /// Only the sockets in this room.
        filter: Option<Room>,
    },
}

/// A name argument: a string of sensible length.
fn name(value: Option<&Value>, what: &'static str) -> Result<String, OperationError> {
    match value {
        Some(Value::String(text)) if !text.is_empty() && text.len() <= MAX_NAME_LEN => {
            Ok(text.clone())
        }
        _ => Err(OperationError::Malformed(what)),
    }
}

/// A room filter: absent, `null` or `""` for none.
fn filter(value: Option<&Value>, what: &'static str) -> Result<Option<Room>, OperationError> {
    match value {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(text)) if text.is_empty() => Ok(None),
        other => name(other, what).map(|room| Some(Room::from(room))),
    }
}

impl Operation {
    /// Parses the operation named `event`; `None` for an event that is none.
    pub fn parse(event: &str, payload: Payload) -> Option<Result<Operation, OperationError>> {
        let mut payload = payload;
        let args = payload.args();
        let operation = match event {
            "emit" => (|| {
                let nsp = name(args.first(), "emit")?;
                let filter = filter(args.get(1), "emit")?;
                let event = name(args.get(2), "emit")?;
                Ok((nsp, filter, event))
            })()
            .map(|(nsp, filter, event)| {
                payload.args_mut().drain(..3);
                Operation::Emit {
                    nsp,
                    filter,
                    event,
                    payload,
                }
            }),
            "join" | "leave" => (|| {
                let what = if event == "join" { "join" } else { "leave" };
                Ok(Operation::Rooms {
                    nsp: name(args.first(), what)?,
                    room: Room::from(name(args.get(1), what)?),
                    filter: filter(args.get(2), what)?,
                    join: event == "join",
                })
            })(),
            "_disconnect" => (|| {
                let close = match args.get(1) {
                    Some(Value::Bool(close)) => *close,
                    None | Some(Value::Null) => false,
                    _ => return Err(OperationError::Malformed("_disconnect")),
                };
                Ok(Operation::Disconnect {
                    nsp: name(args.first(), "_disconnect")?,
                    close,
                    filter: filter(args.get(2), "_disconnect")?,
                })
            })(),
            _ => return None,
        };
        Some(operation)
    }

    /// Carries the operation out, on every node of a cluster.
    pub async fn run(self, io: &SocketIo, adapter: &ObservedAdapter) -> Result<(), OperationError> {
        let select =
            |nsp: &str, filter: Option<Room>| -> Result<BroadcastOperator, OperationError> {
                let all = io
                    .of(nsp)
                    .ok_or_else(|| OperationError::UnknownNamespace(nsp.to_string()))?;
                Ok(match filter {
                    Some(room) => all.to(room),
                    None => all,
                })
            };
        match self {
            Operation::Emit {
                nsp,
                filter,
                event,
                payload,
            } => select(&nsp, filter)?.emit(&event, payload)?,
            Operation::Rooms {
                nsp,
                room,
                filter,
                join,
            } => {
                // On every node; each reports its own sockets' moves to the feed.
                let selected = select(&nsp, filter)?;
                if join {
                    selected.sockets_join(room);
                } else {
                    selected.sockets_leave(room);
                }
            }
            Operation::Disconnect { nsp, close, filter } => {
                let selected = select(&nsp, filter)?;
                if close {
                    selected.disconnect_sockets(true);
                } else {
                    // Without `close` the sockets only leave the adapter: their end is told here.
                    let ids = selected.clone().sockets().await;
                    selected.disconnect_sockets(false);
                    let nsp = Arc::from(nsp);
                    for id in ids.iter().filter(|id| adapter.is_local(&nsp, id)) {
                        adapter.socket_disconnected(
                            &nsp,
                            id,
                            DisconnectReason::ServerNamespaceDisconnect,
                        );
                    }
                }
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn parse(event: &str, args: Value) -> Result<Operation, OperationError> {
        let Value::Array(args) = args else { panic!() };
        Operation::parse(event, Payload::new(args)).expect("an operation")
    }

    #[test]
    fn parses_the_ui_operations() {
        match parse("emit", json!(["/", null, "hello", 1, {"a": 2}])).unwrap() {
            Operation::Emit {
                nsp,
                filter,
                event,
                payload,
            } => {
                assert_eq!((nsp.as_str(), filter, event.as_str()), ("/", None, "hello"));
                assert_eq!(payload.args(), vec![json!(1), json!({"a": 2})]);
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(
            parse("leave", json!(["/", "r", "f"])).unwrap(),
            Operation::Rooms {
                join: false,
                filter: Some(_),
                ..
            }
        ));
        assert!(matches!(
            parse("_disconnect", json!(["/", true])).unwrap(),
            Operation::Disconnect {
                close: true,
                filter: None,
                ..
            }
        ));
        assert!(Operation::parse("other", Payload::empty()).is_none());
    }

    #[test]
    fn refuses_malformed_arguments() {
        for (event, args) in [
            ("emit", json!([])),
            ("emit", json!(["/", null])),
            ("emit", json!([1, null, "x"])),
            ("join", json!(["/", "x".repeat(MAX_NAME_LEN + 1)])),
            ("join", json!(["/", {"room": 1}])),
            ("_disconnect", json!(["/", "yes"])),
            ("leave", json!(["/", "r", 5])),
        ] {
            assert!(
                matches!(
                    parse(event, args.clone()),
                    Err(OperationError::Malformed(_))
                ),
                "{event} {args}"
            );
        }
    }
}
