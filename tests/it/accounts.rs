//! Accounts (JSON API and forms), socket identity, origin checks, CSRF and persistence.

use actix_web::cookie::Cookie;
use actix_web::http::Method;

use crate::common::app::{next_event, spawn_app, spawn_app_with, TestApp};
use crate::common::{http_client, Ws, WsFrame};
use serde_json::{json, Value};

/// `method path` with the session `cookie`: the status and the JSON answer (null if none).
async fn with_cookie(
    app: &TestApp,
    method: Method,
    path: &str,
    cookie: &Cookie<'static>,
) -> (u16, Value) {
    let request = http_client().request(method, app.url(path));
    let mut response = request
        .cookie(cookie.clone())
        .send()
        .await
        .expect("request");
    let body = response.json::<Value>().await.unwrap_or(Value::Null);
    (response.status().as_u16(), body)
}

#[actix_web::test]
async fn register_login_me_logout() {
    let app = spawn_app().await;
    let (status, body) = app.try_register("alice", "wonderland").await;
    assert_eq!(status, 201);
    assert_eq!(body["user"], json!({"name": "alice"}));

    let mut response = http_client()
        .post(app.url("/api/login"))
        .send_json(&json!({"username": "alice", "password": "wonderland"}))
        .await
        .unwrap();
    assert_eq!(response.status(), 200);
    let cookie = response
        .cookie("agora_session")
        .expect("the session cookie is set");
    assert!(cookie.http_only().unwrap_or(false));
    assert_eq!(cookie.same_site(), Some(actix_web::cookie::SameSite::Lax));
    let token = response.json::<Value>().await.unwrap()["token"]
        .as_str()
        .unwrap()
        .to_string();

    let (status, me) = with_cookie(&app, Method::GET, "/api/me", &cookie).await;
    assert_eq!(status, 200);
    assert_eq!(me["user"]["name"], "alice");
    assert_eq!(app.get_json("/api/me", Some(&token)).await.0, 200);

    let (status, _) = with_cookie(&app, Method::POST, "/api/logout", &cookie).await;
    assert_eq!(status, 200);
    let (status, _) = with_cookie(&app, Method::GET, "/api/me", &cookie).await;
    assert_eq!(status, 401, "the session ended server-side");
}

#[actix_web::test]
async fn bad_input_gets_json_errors_with_codes() {
    let app = spawn_app().await;
    app.register("taken_name").await;
    let register = |username: &str, password: &str| {
        (
            "/api/register",
            json!({"username": username, "password": password}),
        )
    };
    let login = |username: &str, password: &str| {
        (
            "/api/login",
            json!({"username": username, "password": password}),
        )
    };
    let cases = [
        (register("ab", "long enough"), 400, "bad_request"),
        (register("<b>x</b>", "long enough"), 400, "bad_request"),
        (register("guest-abc", "long enough"), 400, "bad_request"),
        (register("bob", "short"), 400, "bad_request"),
        (
            ("/api/register", json!({"username": "bob"})),
            400,
            "bad_request",
        ),
        (register("TAKEN_NAME", "long enough"), 409, "name_taken"),
        (
            login("taken_name", "wrong password"),
            401,
            "wrong_credentials",
        ),
        (login("nobody", "whatever1"), 401, "wrong_credentials"),
    ];
    for ((path, body), status, code) in cases {
        let (got, answer) = app.post_json(path, body.clone()).await;
        assert_eq!(got, status, "{path} {body}: {answer}");
        assert_eq!(answer["error"]["code"], code, "{path} {body}");
        assert!(answer["error"]["message"].is_string());
    }
    let malformed = http_client()
        .post(app.url("/api/login"))
        .insert_header(("content-type", "application/json"))
        .send_body("{\"username\":")
        .await
        .unwrap();
    assert_eq!(malformed.status(), 400);
}

#[actix_web::test]
async fn failed_logins_are_rate_limited_per_user_name() {
    let app = spawn_app_with(|s| s.login_failures_per_user = 3).await;
    app.register("carol").await;
    for _ in 0..3 {
        let (status, _) = app.log_in("carol", "not it at all").await;
        assert_eq!(status, 401);
    }
    let (status, body) = app.log_in("carol", "correct horse").await;
    assert_eq!(status, 429, "even the right password waits: {body}");
    assert_eq!(body["error"]["code"], "rate_limited");
    let (status, _) = app.log_in("dave", "correct horse").await;
    assert_eq!(status, 401, "another name is not limited");
}

#[actix_web::test]
async fn failed_logins_are_rate_limited_per_address() {
    let app = spawn_app_with(|s| s.login_failures_per_ip = 2).await;
    for name in ["u1x", "u2x"] {
        app.log_in(name, "whatever1").await;
    }
    let (status, _) = app.log_in("u3x", "whatever1").await;
    assert_eq!(status, 429);
}

#[actix_web::test]
async fn sockets_take_their_identity_from_the_cookie_or_the_auth_token() {
    let app = spawn_app().await;
    let token = app.register("erin").await;

    let cookie = format!("agora_session={token}");
    let (_, welcome) = app.connect(&[("Cookie", cookie.as_str())], None).await;
    assert_eq!(
        welcome,
        json!({"text": "thanks for joining", "user": "erin"})
    );

    let (_, welcome) = app.connect(&[], Some(json!({ "token": token }))).await;
    assert_eq!(welcome["user"], "erin");

    let (_, guest) = app.connect(&[], None).await;
    let name = guest["user"].as_str().unwrap();
    assert!(name.starts_with("guest-") && name.len() == 12, "{name}");

    // A stale cookie makes a guest; an explicit bad token is refused.
    let (_, stale) = app
        .connect(&[("Cookie", "agora_session=stale")], None)
        .await;
    assert!(stale["user"].as_str().unwrap().starts_with("guest-"));
    let mut ws = app.socket(&[]).await;
    ws.send_text(r#"40{"token":"forged"}"#).await;
    let WsFrame::Text(refusal) = ws.recv_data().await else {
        panic!("expected CONNECT_ERROR");
    };
    assert_eq!(
        refusal,
        r#"44{"message":"invalid or expired token","data":{"code":"unauthenticated"}}"#
    );
}

#[actix_web::test]
async fn the_online_list_follows_connections() {
    let app = spawn_app().await;
    let token = app.register("frank").await;
    let (mut observer, _) = app.connect(&[], None).await;
    next_event(&mut observer, "online").await;
    let cookie = format!("agora_session={token}");
    let (frank, _) = app.connect(&[("Cookie", cookie.as_str())], None).await;
    let online = next_event(&mut observer, "online").await;
    assert!(online["users"]
        .as_array()
        .unwrap()
        .contains(&json!("frank")));
    drop(frank);
    let online = next_event(&mut observer, "online").await;
    assert!(!online["users"]
        .as_array()
        .unwrap()
        .contains(&json!("frank")));
}

/// The one cross-site origin the CORS tests allow.
const FRIEND: &str = "https://friend.example";

/// CORS headers that let `origin`, and only it, send credentials.
fn assert_allows_credentials_from(headers: &actix_web::http::header::HeaderMap, origin: &str) {
    let header = |name: &str| headers.get(name).map(|value| value.to_str().unwrap_or("?"));
    assert_eq!(header("access-control-allow-origin"), Some(origin));
    assert_eq!(header("access-control-allow-credentials"), Some("true"));
}

#[actix_web::test]
async fn handshakes_from_other_origins_are_refused() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://friend.example".into()]).await;
    let polling = app.url("/socket.io/?EIO=4&transport=polling");
    for (origin, status) in [
        ("https://evil.example", 403),
        (&format!("http://127.0.0.1:{}", app.port)[..], 200),
        ("https://friend.example", 200),
    ] {
        let response = http_client()
            .get(&polling)
            .insert_header(("Origin", origin))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status().as_u16(), status, "polling from {origin}");
    }
    let allowed = http_client()
        .get(&polling)
        .insert_header(("Origin", "https://friend.example"))
        .send()
        .await
        .unwrap();
    let headers = allowed.headers();
    assert_allows_credentials_from(headers, FRIEND);

    let ws_url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        app.port
    );
    let refused = Ws::try_connect_with(&ws_url, &[("Origin", "https://evil.example")]).await;
    assert_eq!(refused.err().map(|s| s.as_u16()), Some(403));
    assert!(
        Ws::try_connect_with(&ws_url, &[("Origin", "https://friend.example")])
            .await
            .is_ok()
    );

    let api = http_client()
        .post(app.url("/api/login"))
        .insert_header(("Origin", "https://evil.example"))
        .send_json(&json!({"username": "x", "password": "y"}))
        .await
        .unwrap();
    assert_eq!(api.status(), 403);
}

#[actix_web::test]
async fn forms_need_the_csrf_token_of_their_cookie() {
    let app = spawn_app().await;
    let no_cookies = awc::Client::builder().disable_redirects().finish();
    let form = [
        ("username", "grace"),
        ("password", "long enough"),
        ("csrf_token", "guess"),
    ];
    // The registration form, posted with the CSRF cookie if there is one.
    let register = |form: &[(&str, &str)], csrf: Option<&Cookie<'static>>| {
        let mut request = no_cookies.post(app.url("/register"));
        if let Some(csrf) = csrf {
            request = request.cookie(csrf.clone());
        }
        request.send_form(&form)
    };
    let forged = register(&form, None).await.unwrap();
    assert_eq!(forged.status(), 403);

    let page = no_cookies.get(app.url("/register")).send().await.unwrap();
    let csrf = page.cookie("agora_csrf").expect("the CSRF cookie is set");
    let wrong = register(&form, Some(&csrf)).await.unwrap();
    assert_eq!(wrong.status(), 403);

    let good_form = [
        ("username", "grace"),
        ("password", "long enough"),
        ("csrf_token", csrf.value()),
    ];
    let registered = register(&good_form, Some(&csrf)).await.unwrap();
    assert_eq!(registered.status(), 303);
    assert!(registered.cookie("agora_session").is_some());
}

#[actix_web::test]
async fn accounts_survive_a_restart() {
    let app = spawn_app().await;
    app.register("heidi").await;
    let app = app.restart().await;
    let (status, body) = app.log_in("heidi", "correct horse").await;
    assert_eq!(status, 200, "{body}");
}

#[actix_web::test]
async fn preflights_answer_allowed_origins_only_and_never_with_a_wildcard() {
    let app = spawn_app_with(|s| s.allowed_origins = vec!["https://friend.example".into()]).await;
    let preflight = |origin: &'static str| {
        http_client()
            .request(actix_web::http::Method::OPTIONS, app.url("/api/login"))
            .insert_header(("Origin", origin))
            .insert_header(("Access-Control-Request-Method", "POST"))
            .insert_header(("Access-Control-Request-Headers", "content-type"))
            .send()
    };
    let allowed = preflight("https://friend.example").await.unwrap();
    assert_eq!(allowed.status(), 204);
    let headers = allowed.headers();
    assert_allows_credentials_from(headers, FRIEND);
    assert!(headers
        .get("access-control-allow-methods")
        .unwrap()
        .to_str()
        .unwrap()
        .contains("POST"));
    let refused = preflight("https://evil.example").await.unwrap();
    assert_eq!(refused.status(), 403);
    assert!(refused
        .headers()
        .get("access-control-allow-origin")
        .is_none());
}
