//! `POST /api/emit`: a backend holding an API key publishes a Socket.IO event to a namespace,
//! rooms or single sockets, on every node of the cluster (the Redis adapter carries it).

use std::time::Duration;

use actix_web::error::JsonPayloadError;
use actix_web::{web, FromRequest, HttpRequest, HttpResponse};
use futures_util::future::{ready, Ready};
use serde::Deserialize;
use serde_json::Value;

use super::api_keys::{ApiKey, ApiKeys};
use super::error::ApiError;
use super::AppState;
use crate::limits::RateLimiter;
use crate::socketio::packet::{MAIN_NAMESPACE, RESERVED_EVENTS};
use crate::socketio::{Payload, Room};

/// Most rooms in `rooms`, and in `except`, of one emit.
pub const MAX_ROOMS: usize = 100;

/// Longest room name (a socket id is far shorter), in bytes.
pub const MAX_ROOM_LENGTH: usize = 256;

/// Longest event name, in bytes.
pub const MAX_EVENT_LENGTH: usize = 256;

/// Emits one key may make per [`EMIT_WINDOW`]; past it, 429 `rate_limited` with `Retry-After`.
pub const EMITS_PER_WINDOW: u32 = 1_000;

/// The window of [`EMITS_PER_WINDOW`].
pub const EMIT_WINDOW: Duration = Duration::from_secs(1);

/// What the endpoint needs besides the app's state: the keys and their rate limit.
pub struct EmitApi {
    keys: ApiKeys,
    /// Counted per key, by the key's id (so at most as many entries as configured keys).
    limiter: RateLimiter<String>,
}

impl EmitApi {
    /// The endpoint for these keys.
    pub fn new(keys: ApiKeys) -> EmitApi {
        EmitApi {
            keys,
            limiter: RateLimiter::new(EMITS_PER_WINDOW, EMIT_WINDOW),
        }
    }
}

/// Registers `POST /api/emit` when at least one key is configured, taking bodies of at most
/// `max_body` bytes (the largest client packet, `--max-payload`); without keys it does not exist
/// (404 like any unknown endpoint).
pub fn configure(cfg: &mut web::ServiceConfig, keys: ApiKeys, max_body: usize) {
    if keys.is_empty() {
        return;
    }
    let json = web::JsonConfig::default()
        .limit(max_body)
        .error_handler(move |error, _| json_error(error, max_body).into());
    cfg.service(
        web::resource("/api/emit")
            .app_data(web::Data::new(EmitApi::new(keys)))
            .app_data(json)
            .route(web::post().to(emit)),
    );
}

/// An oversized body is 413, any other unreadable one 400.
fn json_error(error: JsonPayloadError, max_body: usize) -> ApiError {
    match error {
        JsonPayloadError::Overflow { .. } | JsonPayloadError::OverflowKnownLength { .. } => {
            ApiError::PayloadTooLarge(max_body)
        }
        other => ApiError::BadRequest(other.to_string()),
    }
}

/// The body as sent.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmitRequest {
    namespace: Option<String>,
    #[serde(default)]
    rooms: Vec<String>,
    #[serde(default)]
    except: Vec<String>,
    event: String,
    #[serde(default)]
    data: Vec<Value>,
}

/// A checked emit: what to send, and to whom.
#[derive(Debug, PartialEq)]
struct Emit {
    namespace: String,
    rooms: Vec<Room>,
    except: Vec<Room>,
    event: String,
    payload: Payload,
}

impl TryFrom<EmitRequest> for Emit {
    type Error = ApiError;

    fn try_from(request: EmitRequest) -> Result<Emit, ApiError> {
        let bad = |message: &str| Err(ApiError::BadRequest(message.to_string()));
        let namespace = request
            .namespace
            .unwrap_or_else(|| MAIN_NAMESPACE.to_string());
        if !namespace.starts_with('/') {
            return bad("namespace must start with /");
        }
        if request.event.is_empty() || request.event.len() > MAX_EVENT_LENGTH {
            return Err(ApiError::BadRequest(format!(
                "event must be 1 to {MAX_EVENT_LENGTH} bytes"
            )));
        }
        if RESERVED_EVENTS.contains(&request.event.as_str()) {
            return Err(ApiError::BadRequest(format!(
                "{:?} is a reserved event name",
                request.event
            )));
        }
        let payload = Payload::new(request.data);
        if !payload.placeholders_valid() {
            return bad("data holds a binary placeholder; send JSON only");
        }
        Ok(Emit {
            namespace,
            rooms: rooms(request.rooms, "rooms")?,
            except: rooms(request.except, "except")?,
            event: request.event,
            payload,
        })
    }
}

/// Checks a list of room names (`field` names it in the error).
fn rooms(names: Vec<String>, field: &str) -> Result<Vec<Room>, ApiError> {
    if names.len() > MAX_ROOMS {
        return Err(ApiError::BadRequest(format!(
            "{field} may name at most {MAX_ROOMS} rooms"
        )));
    }
    if names
        .iter()
        .any(|name| name.is_empty() || name.len() > MAX_ROOM_LENGTH)
    {
        return Err(ApiError::BadRequest(format!(
            "each room in {field} must be 1 to {MAX_ROOM_LENGTH} bytes"
        )));
    }
    Ok(names.into_iter().map(Room::from).collect())
}

/// `POST /api/emit`: 202 once the event is handed to the adapter (which reaches every node).
/// The key is checked (first, before the body is read) by the [`EmitKey`] extractor.
pub async fn emit(
    key: EmitKey,
    state: web::Data<AppState>,
    body: web::Json<EmitRequest>,
) -> Result<HttpResponse, ApiError> {
    let emit = Emit::try_from(body.into_inner())?;
    let mut operator = state
        .io
        .of(&emit.namespace)
        .ok_or(ApiError::NotFound("no such namespace"))?;
    let (rooms, except) = (emit.rooms.len(), emit.except.len());
    for room in emit.rooms {
        operator = operator.to(room);
    }
    for room in emit.except {
        operator = operator.except(room);
    }
    operator
        .emit(&emit.event, emit.payload)
        .map_err(|error| ApiError::BadRequest(error.to_string()))?;
    tracing::info!(
        event = %emit.event,
        namespace = %emit.namespace,
        rooms,
        except,
        key = key.0.id(),
        "emitted over HTTP"
    );
    Ok(HttpResponse::Accepted().json(serde_json::json!({ "ok": true })))
}

/// The API key a request to `/api/emit` showed, within its rate limit. As the handler's first
/// argument it is extracted before the body, so a request without a valid key is refused
/// (401/403) before anything of its body is read.
pub struct EmitKey(ApiKey);

impl FromRequest for EmitKey {
    type Error = ApiError;
    type Future = Ready<Result<EmitKey, ApiError>>;

    fn from_request(req: &HttpRequest, _: &mut actix_web::dev::Payload) -> Self::Future {
        ready(match req.app_data::<web::Data<EmitApi>>() {
            Some(api) => authorize(req, api).map(|key| EmitKey(key.clone())),
            // Registered with the route by `configure`: missing only if the wiring is broken.
            None => Err(ApiError::Internal),
        })
    }
}

/// The key of the request, within its rate limit.
fn authorize<'a>(req: &HttpRequest, api: &'a EmitApi) -> Result<&'a ApiKey, ApiError> {
    let key = api.keys.authorize(req.headers()).inspect_err(|error| {
        tracing::warn!(code = error.code(), "refused an emit over HTTP");
    })?;
    api.limiter.hit(&key.id().to_string()).map_err(|wait| {
        tracing::warn!(key = key.id(), "emits over HTTP past the rate limit");
        ApiError::RetryAfter(wait)
    })?;
    Ok(key)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn checked(body: Value) -> Result<Emit, ApiError> {
        let request: EmitRequest = serde_json::from_value(body)
            .map_err(|error| ApiError::BadRequest(error.to_string()))?;
        Emit::try_from(request)
    }

    fn refusal(body: Value) -> String {
        match checked(body) {
            Err(ApiError::BadRequest(message)) => message,
            other => panic!("expected a bad request, got {other:?}"),
        }
    }

    #[test]
    fn defaults_to_everyone_in_the_main_namespace() {
        let emit = checked(json!({"event": "news"})).unwrap();
        assert_eq!(emit.namespace, "/");
        assert!(emit.rooms.is_empty() && emit.except.is_empty());
        assert!(emit.payload.args().is_empty());
        let emit = checked(json!({
            "namespace": "/admin", "rooms": ["a", "b"], "except": ["c"],
            "event": "news", "data": [1, {"x": 2}]
        }))
        .unwrap();
        assert_eq!(emit.namespace, "/admin");
        assert_eq!(emit.rooms, vec![Room::from("a"), Room::from("b")]);
        assert_eq!(emit.except, vec![Room::from("c")]);
        assert_eq!(emit.payload.args(), vec![json!(1), json!({"x": 2})]);
    }

    #[test]
    fn refuses_bad_names_counts_and_shapes() {
        assert!(refusal(json!({"event": "connect"})).contains("reserved"));
        assert!(refusal(json!({"event": "disconnect"})).contains("reserved"));
        assert!(refusal(json!({"event": ""})).contains("event"));
        assert!(refusal(json!({"event": "e".repeat(MAX_EVENT_LENGTH + 1)})).contains("event"));
        assert!(refusal(json!({"event": "e", "namespace": "admin"})).contains("namespace"));
        let many: Vec<String> = (0..=MAX_ROOMS).map(|i| format!("r{i}")).collect();
        assert!(refusal(json!({"event": "e", "rooms": many})).contains("rooms"));
        assert!(refusal(json!({"event": "e", "except": many})).contains("except"));
        assert!(refusal(json!({"event": "e", "rooms": [""]})).contains("rooms"));
        assert!(refusal(json!({"event": "e", "data": {"not": "an array"}})).contains("sequence"));
        assert!(refusal(json!({"event": "e", "extra": 1})).contains("unknown field"));
        assert!(refusal(json!({"data": []})).contains("event"));
        assert!(
            refusal(json!({"event": "e", "data": [{"_placeholder": true, "num": 0}]}))
                .contains("binary")
        );
    }

    #[test]
    fn each_key_has_its_own_rate_limit() {
        let (a, b) = ("emit-key-a-0123456789", "emit-key-b-0123456789");
        let keys = [ApiKey::parse(a).unwrap(), ApiKey::parse(b).unwrap()];
        let api = EmitApi::new(ApiKeys::new(&keys));
        let request = |key: &str| {
            actix_web::test::TestRequest::default()
                .insert_header(("Authorization", format!("Bearer {key}")))
                .to_http_request()
        };
        let with_a = request(a);
        for _ in 0..EMITS_PER_WINDOW {
            assert!(authorize(&with_a, &api).is_ok());
        }
        assert!(matches!(
            authorize(&with_a, &api),
            Err(ApiError::RetryAfter(wait)) if wait <= EMIT_WINDOW
        ));
        assert!(
            authorize(&request(b), &api).is_ok(),
            "another key is not held back"
        );
    }

    #[test]
    fn an_oversized_body_is_413_and_other_failures_400() {
        let overflow = JsonPayloadError::OverflowKnownLength {
            length: 20,
            limit: 10,
        };
        assert!(matches!(
            json_error(overflow, 10),
            ApiError::PayloadTooLarge(10)
        ));
        assert!(matches!(
            json_error(JsonPayloadError::ContentType, 10),
            ApiError::BadRequest(_)
        ));
    }
}
