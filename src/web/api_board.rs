//! The message board's HTTP side: `GET /messages` and `POST /messages` (JSON or form).

use actix_web::http::header;
use actix_web::{web, HttpRequest, HttpResponse};
use serde::Deserialize;

use super::client::ClientInfo;
use super::error::ApiError;
use super::AppState;
use crate::apps::board::{self, BoardPost};

/// `?before=ID`.
#[derive(Deserialize)]
pub struct Page {
    before: Option<i64>,
}

/// `GET /messages`: the last 100 messages (before `?before=ID`), oldest first.
pub async fn list(
    state: web::Data<AppState>,
    page: web::Query<Page>,
) -> Result<HttpResponse, ApiError> {
    let messages = state
        .apps
        .store
        .board_messages(page.before, board::PAGE_SIZE)
        .await?;
    Ok(HttpResponse::Ok().json(messages))
}

/// `POST /messages` with JSON or a form: 201 and the stored message; every socket gets `message`.
/// A plain HTML form post (no script) is redirected back to the board.
pub async fn post(
    req: HttpRequest,
    state: web::Data<AppState>,
    body: web::Bytes,
) -> Result<HttpResponse, ApiError> {
    let is_form = req
        .headers()
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let post: BoardPost = if is_form {
        serde_urlencoded::from_bytes(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    } else {
        serde_json::from_slice(&body).map_err(|e| ApiError::BadRequest(e.to_string()))?
    };
    let peer = ClientInfo::of(&req).addr;
    let stored = board::post_message(&state.apps, &post, peer, state.io.main()).await?;
    let wants_html = is_form
        && req
            .headers()
            .get(header::ACCEPT)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|v| v.contains("text/html"));
    if wants_html {
        return Ok(HttpResponse::SeeOther()
            .insert_header((header::LOCATION, "/board"))
            .finish());
    }
    Ok(HttpResponse::Created().json(stored))
}
