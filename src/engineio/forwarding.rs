//! Polling requests of sessions owned by other nodes: sent through the [`SessionRouter`] by the
//! node they landed on, and served by the owner as if they had come to it.

use actix_web::body::MessageBody;
use actix_web::http::header::{HeaderMap, HeaderName, ACCEPT_ENCODING, CONTENT_TYPE};
use actix_web::http::Method;
use actix_web::web::{Bytes, Payload};
use actix_web::{HttpRequest, HttpResponse, ResponseError};

use super::error::EngineError;
use super::gzip;
use super::polling;
use super::router::{ForwardError, ForwardedRequest, ForwardedResponse, SessionRouter};
use super::Engine;

/// The request headers that change a polling answer, and so travel with a forwarded request.
const FORWARDED_HEADERS: [HeaderName; 2] = [ACCEPT_ENCODING, CONTENT_TYPE];

/// Carries a polling request of session `sid` (owned by the node tagged `owner`) to its owner and
/// answers with the owner's response. A POST body is read here first, bounded by `maxPayload`
/// (413 as for a local session).
pub async fn forward(
    engine: &Engine,
    router: &dyn SessionRouter,
    owner: &str,
    sid: &str,
    req: &HttpRequest,
    body: Payload,
) -> Result<HttpResponse, EngineError> {
    let method = req.method().clone();
    let body = match method {
        Method::GET => Bytes::new(),
        Method::POST => {
            polling::read_post(engine, sid, polling::declared_length(req), body).await?
        }
        _ => return Err(EngineError::BadRequest),
    };
    let mut headers = HeaderMap::new();
    for name in FORWARDED_HEADERS {
        for value in req.headers().get_all(&name) {
            headers.append(name.clone(), value.clone());
        }
    }
    let request = ForwardedRequest {
        method,
        query: req.query_string().to_string(),
        headers,
        body,
    };
    let response = router
        .forward(owner, request)
        .await
        .map_err(|error| match error {
            // As for an unknown local id: the client's next handshake is the answer, not a log.
            ForwardError::NoOwner => {
                tracing::debug!(sid, owner, %error, "polling request of an unknown node's session");
                EngineError::UnknownSid
            }
            ForwardError::Busy => {
                tracing::warn!(sid, owner, %error, "refused a polling request of another node");
                EngineError::ForwardBusy
            }
            ForwardError::Unreachable => {
                tracing::warn!(sid, owner, %error, "a forwarded polling request failed");
                EngineError::OwnerUnreachable
            }
        })?;
    let mut answer = HttpResponse::build(response.status);
    for (name, value) in &response.headers {
        answer.append_header((name.clone(), value.clone()));
    }
    Ok(answer.body(response.body))
}

impl Engine {
    /// Serves a polling request that another node forwarded here, as if it had come here (the
    /// session must be this node's: it is never forwarded again).
    pub async fn serve_forwarded(&self, request: ForwardedRequest) -> ForwardedResponse {
        let response = self
            .serve_forwarded_locally(request)
            .await
            .unwrap_or_else(|error| error.error_response());
        let status = response.status();
        let headers = response.headers().clone();
        let body = match response.into_body().try_into_bytes() {
            Ok(body) => body,
            Err(_) => {
                // Every polling answer has its whole body at hand; a streamed one is a bug here.
                tracing::error!("a polling answer with a streamed body cannot be forwarded");
                Bytes::new()
            }
        };
        ForwardedResponse {
            status,
            headers,
            body,
        }
    }

    async fn serve_forwarded_locally(
        &self,
        request: ForwardedRequest,
    ) -> Result<HttpResponse, EngineError> {
        let (Some(sid), super::types::TransportKind::Polling) = super::check_query(&request.query)?
        else {
            return Err(EngineError::BadRequest);
        };
        match request.method {
            Method::GET => polling::poll(self, &sid, gzip::accepts_gzip(&request.headers)).await,
            Method::POST => polling::post_read(self, &sid, request.body).await,
            _ => Err(EngineError::BadRequest),
        }
    }
}
