//! The `/admin` namespace: the login middleware, what a new admin is sent (`session`, `config`,
//! `all_sockets`), and the operations it may ask for.

use std::sync::Arc;

use serde_json::{json, Value};

use super::gate::NewSession;
use super::operations::{Operation, OperationError};
use super::state::{AdminState, ADMIN_NAMESPACE};
use crate::socketio::{ConnectError, Namespace, NamespaceBuilder, Payload, Socket};

/// The operations, by event name.
const OPERATIONS: [&str; 4] = ["emit", "join", "leave", "_disconnect"];

/// The features the UI enables: operations (unless read-only), the dashboard's aggregated
/// counts, and the socket and event lists (which Node sends only in its development mode).
fn supported_features(readonly: bool) -> Vec<&'static str> {
    let operations = [
        "EMIT",
        "JOIN",
        "LEAVE",
        "DISCONNECT",
        "MJOIN",
        "MLEAVE",
        "MDISCONNECT",
    ];
    let mut features = if readonly {
        Vec::new()
    } else {
        operations.to_vec()
    };
    features.extend(["AGGREGATED_EVENTS", "ALL_EVENTS"]);
    features
}

/// The `/admin` namespace.
pub fn builder(state: Arc<AdminState>) -> NamespaceBuilder {
    let gate_state = Arc::clone(&state);
    let connect_state = Arc::clone(&state);
    let mut namespace = Namespace::builder(ADMIN_NAMESPACE)
        .middleware(move |socket: Socket| {
            let state = Arc::clone(&gate_state);
            async move {
                let peer = socket.handshake().peer.map(|peer| peer.ip());
                match state.gate.admit(socket.auth(), peer).await {
                    Ok(session) => {
                        tracing::info!(address = ?peer, "admin connected");
                        if let Some(session) = session {
                            socket.insert_extension(session);
                        }
                        Ok(())
                    }
                    Err(error) => {
                        tracing::warn!(address = ?peer, %error, "admin login refused");
                        Err(ConnectError::new(error.to_string()))
                    }
                }
            }
        })
        .on_connect(move |socket| welcome(&connect_state, socket));
    for name in OPERATIONS {
        let state = Arc::clone(&state);
        namespace = namespace.on(name, move |socket, payload, _| {
            operate(&state, socket, name, payload);
        });
    }
    namespace
}

/// Sends a new admin its session, the configuration, then every socket.
fn welcome(state: &Arc<AdminState>, socket: &Socket) {
    if let Some(NewSession(session)) = socket.extension::<NewSession>() {
        emit(socket, "session", vec![json!(session)]);
    }
    emit(
        socket,
        "config",
        vec![json!({ "supportedFeatures": supported_features(state.readonly) })],
    );
    let state = Arc::clone(state);
    let socket = socket.clone();
    actix_rt::spawn(async move {
        let sockets = state.all_sockets().await;
        emit(&socket, "all_sockets", vec![Value::Array(sockets)]);
    });
}

fn emit(socket: &Socket, event: &str, args: Vec<Value>) {
    if let Err(error) = socket.emit(event, Payload::new(args)) {
        tracing::debug!(%error, event, "cannot send to an admin");
    }
}

/// Parses and carries out an operation, or says in the log why not.
fn operate(state: &Arc<AdminState>, socket: &Socket, name: &'static str, payload: Payload) {
    let operation = match Operation::parse(name, payload) {
        Some(Ok(_)) if state.readonly => Err(OperationError::ReadOnly),
        Some(parsed) => parsed,
        None => return,
    };
    let admin = socket.id().clone();
    let operation = match operation {
        Ok(operation) => operation,
        Err(error) => {
            tracing::warn!(admin = %admin, operation = name, %error, "admin operation refused");
            return;
        }
    };
    let (Some(io), Some(adapter)) = (state.io.get().cloned(), state.adapter.get().cloned()) else {
        return;
    };
    tracing::info!(admin = %admin, ?operation, "admin operation");
    actix_rt::spawn(async move {
        if let Err(error) = operation.run(&io, &adapter).await {
            tracing::warn!(admin = %admin, operation = name, %error, "admin operation failed");
        }
    });
}
