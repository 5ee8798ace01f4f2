//! Behind a proxy: docker/nginx.conf itself, run by Debian's nginx in front of in-process
//! nodes; whose forwarding headers count; security headers; `Secure` cookies.

use actix_web::http::StatusCode;
use agora::config::Settings;
use agora::web::cidr::Cidr;
use agora::web::client::SecureCookies;
use serde_json::{json, Value};

use crate::common::app::{spawn_app_with, spawn_node_beside, TestApp};
use crate::common::nginx::Nginx;
use crate::common::{http_client, Ws, WsFrame};

/// Two nodes on one database, adjusted by `adjust`, behind docker/nginx.conf.
async fn cluster_behind_nginx(adjust: fn(&mut Settings)) -> (TestApp, TestApp, Nginx) {
    let first = spawn_app_with(adjust).await;
    let second = spawn_node_beside(&first, adjust).await;
    let nginx = Nginx::start(&[first.port, second.port]).await;
    (first, second, nginx)
}

/// One node, adjusted by `adjust`, behind docker/nginx.conf. The rate limits are each node's, and
/// round-robin spreads one client over every node, so a test of one client's budget runs one.
async fn node_behind_nginx(adjust: fn(&mut Settings)) -> (TestApp, Nginx) {
    let node = spawn_app_with(adjust).await;
    let nginx = Nginx::start(&[node.port]).await;
    (node, nginx)
}

/// A board post to `url` with these extra headers; returns the status.
async fn board_post(url: &str, headers: &[(&str, &str)]) -> u16 {
    let mut request = http_client().post(url);
    for (name, value) in headers {
        request = request.insert_header((*name, *value));
    }
    let response = request
        .send_json(&json!({"name": "ann", "message": "hello"}))
        .await
        .expect("POST /messages");
    response.status().as_u16()
}

fn trust_loopback(settings: &mut Settings) {
    settings.trusted_proxies = vec!["127.0.0.1/32".parse::<Cidr>().expect("a CIDR")];
    settings.board_posts_per_minute = 2;
}

fn trust_nobody(settings: &mut Settings) {
    settings.board_posts_per_minute = 2;
}

#[actix_web::test]
async fn a_page_served_through_nginx_opens_sockets_and_registers() {
    let (_first, _second, nginx) = cluster_behind_nginx(|_| {}).await;
    let origin = nginx.origin();
    let page = [("Origin", origin.as_str())];

    let url = format!(
        "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
        nginx.port
    );
    let mut ws = Ws::try_connect_with(&url, &page)
        .await
        .unwrap_or_else(|status| panic!("WebSocket handshake through nginx: {status}"));
    match ws.recv().await {
        WsFrame::Text(open) => assert!(open.starts_with('0'), "{open}"),
        other => panic!("expected the open packet, got {other:?}"),
    }

    let mut polling = http_client()
        .get(nginx.url("/socket.io/?EIO=4&transport=polling"))
        .insert_header(("Origin", origin.as_str()))
        .send()
        .await
        .expect("polling handshake");
    let body = polling.body().await.expect("open packet");
    assert_eq!(polling.status(), StatusCode::OK, "{body:?}");
    assert!(body.starts_with(b"0{"), "{body:?}");

    let mut register = http_client()
        .post(nginx.url("/api/register"))
        .insert_header(("Origin", origin.as_str()))
        .send_json(&json!({"username": "behind_nginx", "password": "correct horse"}))
        .await
        .expect("POST /api/register");
    let body: Value = register.json().await.expect("JSON");
    assert_eq!(register.status(), StatusCode::CREATED, "{body}");

    // Another site's page is still refused through the proxy.
    let refused = http_client()
        .post(nginx.url("/api/register"))
        .insert_header(("Origin", "http://127.0.0.1:1"))
        .send_json(&json!({"username": "other_site", "password": "correct horse"}))
        .await
        .expect("POST /api/register");
    assert_eq!(refused.status(), StatusCode::FORBIDDEN);
}

#[actix_web::test]
async fn nodes_trusting_nginx_give_each_forwarded_client_its_own_budget() {
    let (_node, nginx) = node_behind_nginx(trust_loopback).await;
    let url = nginx.url("/messages");
    let one = [("X-Forwarded-For", "203.0.113.7")];
    let two = [("X-Forwarded-For", "203.0.113.8")];
    assert_eq!(board_post(&url, &one).await, 201);
    assert_eq!(board_post(&url, &one).await, 201);
    assert_eq!(board_post(&url, &one).await, 429, "203.0.113.7 spent its 2");
    assert_eq!(board_post(&url, &two).await, 201, "another client is not");
    assert_eq!(board_post(&url, &[]).await, 201, "nor the direct one");
    assert_eq!(board_post(&url, &[]).await, 201);
    // nginx appends to X-Forwarded-For, so a `Forwarded` header the client adds is not read.
    for n in 0..3 {
        let forged = format!("for=198.51.100.{n}");
        let status = board_post(&url, &[("Forwarded", forged.as_str())]).await;
        assert_eq!(status, 429, "Forwarded cannot dodge the limit ({forged})");
    }
}

#[actix_web::test]
async fn forwarding_headers_from_untrusted_peers_cannot_dodge_a_limit() {
    let (_node, nginx) = node_behind_nginx(trust_nobody).await;
    let alone = spawn_app_with(trust_nobody).await;
    for base in [nginx.url("/messages"), alone.url("/messages")] {
        let mut statuses = Vec::new();
        for n in 0..4 {
            let forged = format!("203.0.113.{n}");
            let headers = [
                ("X-Forwarded-For", forged.as_str()),
                ("Forwarded", "for=198.51.100.1"),
                ("X-Real-IP", forged.as_str()),
            ];
            statuses.push(board_post(&base, &headers).await);
        }
        // Through nginx the node sees nginx (untrusted), directly the test client: one budget,
        // whatever the headers say.
        assert_eq!(statuses, [201, 201, 429, 429], "{base}");
    }
}

/// The `Set-Cookie` headers of a registration with these extra headers.
async fn cookies_of_register(app: &TestApp, name: &str, headers: &[(&str, &str)]) -> Vec<String> {
    let mut request = http_client().post(app.url("/api/register"));
    for (header, value) in headers {
        request = request.insert_header((*header, *value));
    }
    let response = request
        .send_json(&json!({"username": name, "password": "correct horse"}))
        .await
        .expect("POST /api/register");
    assert_eq!(response.status(), StatusCode::CREATED);
    response
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().expect("ASCII cookie").to_string())
        .collect()
}

fn all_secure(cookies: &[String]) -> bool {
    !cookies.is_empty() && cookies.iter().all(|c| c.contains("; Secure"))
}

fn none_secure(cookies: &[String]) -> bool {
    !cookies.is_empty() && !cookies.iter().any(|c| c.to_lowercase().contains("secure"))
}

#[actix_web::test]
async fn cookies_are_secure_when_a_trusted_proxy_says_https() {
    let https = [("X-Forwarded-Proto", "https")];
    let trusting = spawn_app_with(trust_loopback).await;
    let cookies = cookies_of_register(&trusting, "via_https", &https).await;
    assert!(all_secure(&cookies), "{cookies:?}");
    let cookies = cookies_of_register(&trusting, "via_http", &[]).await;
    assert!(none_secure(&cookies), "plain HTTP: {cookies:?}");

    let untrusting = spawn_app_with(|_| {}).await;
    let cookies = cookies_of_register(&untrusting, "claims_https", &https).await;
    assert!(none_secure(&cookies), "anyone may claim https: {cookies:?}");

    let never = spawn_app_with(|s| {
        trust_loopback(s);
        s.secure_cookies = SecureCookies::Never;
    })
    .await;
    let cookies = cookies_of_register(&never, "never_secure", &https).await;
    assert!(none_secure(&cookies), "--secure-cookies=false: {cookies:?}");

    let always = spawn_app_with(|s| s.secure_cookies = SecureCookies::Always).await;
    let cookies = cookies_of_register(&always, "always_secure", &[]).await;
    assert!(all_secure(&cookies), "--secure-cookies: {cookies:?}");
    // The CSRF cookie of the form pages too.
    let page = http_client()
        .get(always.url("/login"))
        .send()
        .await
        .expect("GET /login");
    let cookies: Vec<String> = page
        .headers()
        .get_all("set-cookie")
        .map(|v| v.to_str().expect("ASCII cookie").to_string())
        .collect();
    assert!(all_secure(&cookies), "{cookies:?}");
}

#[actix_web::test]
async fn pages_api_and_files_carry_security_headers() {
    let app = spawn_app_with(|_| {}).await;
    for path in [
        "/",
        "/chat",
        "/login",
        "/api/me",
        "/messages",
        "/static/js/common.js",
        "/socket.io/socket.io.js",
        "/no-such-page",
    ] {
        let response = http_client().get(app.url(path)).send().await.expect("GET");
        let header = |name: &str| crate::common::header_of(&response, name);
        let csp = header("content-security-policy");
        assert!(csp.contains("default-src 'self'"), "{path}: {csp:?}");
        assert!(csp.contains("frame-ancestors 'none'"), "{path}: {csp:?}");
        assert!(!csp.contains("unsafe-inline"), "{path}: {csp:?}");
        assert_eq!(header("x-content-type-options"), "nosniff", "{path}");
        assert_eq!(header("referrer-policy"), "same-origin", "{path}");
        assert_eq!(header("x-frame-options"), "DENY", "{path}");
    }
}
