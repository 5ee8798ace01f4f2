//! WebSocket handshakes are taken off the HTTP server by actix-http's upgrade hook, before the
//! App's middleware and routes: the hook routes by path, checks the origin and the query, and
//! answers on the raw connection. These tests speak raw HTTP to see exactly what it answers.

use serde_json::{json, Value};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

use crate::common::app::spawn_app;
use crate::common::*;

/// The RFC 6455 sample key and its accept value.
const KEY: &str = "dGhlIHNhbXBsZSBub25jZQ==";
const ACCEPT: &str = "s3pPLMBiTxaQ9kYGzzhZRbK+xOo=";

/// A WebSocket handshake for `target` (method and path), with extra header lines.
fn handshake(method: &str, target: &str, extra: &str) -> String {
    format!(
        "{method} {target} HTTP/1.1\r\nHost: 127.0.0.1\r\nUpgrade: websocket\r\n\
         Connection: Upgrade\r\nSec-WebSocket-Key: {KEY}\r\nSec-WebSocket-Version: 13\r\n\
         {extra}\r\n"
    )
}

/// Sends `request` (and `then`, in the same write) on a new connection and reads until the
/// server closes it or `enough` says the bytes so far are enough.
async fn exchange(port: u16, request: &[u8], enough: impl Fn(&[u8]) -> bool) -> Vec<u8> {
    let mut stream = TcpStream::connect(("127.0.0.1", port)).await.unwrap();
    stream.write_all(request).await.unwrap();
    let mut got = Vec::new();
    within_wait("the answer", async {
        let mut chunk = [0u8; 4096];
        while !enough(&got) {
            let read = stream.read(&mut chunk).await.unwrap_or(0);
            if read == 0 {
                break;
            }
            got.extend_from_slice(&chunk[..read]);
        }
    })
    .await;
    got
}

/// The status code and JSON body of a whole (closed) HTTP answer.
fn status_and_json(answer: &[u8]) -> (u16, Value) {
    let text = String::from_utf8_lossy(answer);
    let (head, body) = text.split_once("\r\n\r\n").expect("a whole answer");
    let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
    let json = serde_json::from_str(body).unwrap_or_else(|_| panic!("a JSON body: {text}"));
    (status.expect("a status line"), json)
}

#[actix_web::test]
async fn the_101_carries_the_accept_key_and_the_open_packet_follows() {
    let server = spawn_quiet().await;
    let request = handshake("GET", "/engine.io/?EIO=4&transport=websocket", "");
    let answer = exchange(server.port, request.as_bytes(), |got| {
        got.windows(4).any(|w| w == b"\r\n\r\n") && got.ends_with(b"}")
    })
    .await;
    let text = String::from_utf8_lossy(&answer);
    let (head, frames) = text.split_once("\r\n\r\n").expect("a head");
    assert!(head.starts_with("HTTP/1.1 101"), "{head}");
    let head = head.to_ascii_lowercase();
    assert!(head.contains("upgrade: websocket"), "{head}");
    assert!(
        head.contains(&format!(
            "sec-websocket-accept: {}",
            ACCEPT.to_ascii_lowercase()
        )),
        "{head}"
    );
    // The first frame: a text frame holding the open packet.
    assert!(frames.contains("0{\"sid\":"), "{frames:?}");
    server.stop().await;
}

#[actix_web::test]
async fn frames_sent_with_the_handshake_are_not_lost() {
    let server = spawn_quiet().await;
    let mut request = handshake("GET", "/engine.io/?EIO=4&transport=websocket", "").into_bytes();
    // The client does not wait for the 101: its first message rides in the same segment.
    request.extend_from_slice(&masked_text("4early"));
    let answer = exchange(server.port, &request, |got| {
        got.windows(5).any(|w| w == b"early")
    })
    .await;
    assert!(
        answer.windows(6).any(|w| w == b"4early"),
        "the echo of the early message: {}",
        String::from_utf8_lossy(&answer)
    );
    server.stop().await;
}

#[actix_web::test]
async fn a_websocket_on_no_websocket_path_gets_a_404_not_a_hang() {
    let server = spawn_quiet().await;
    for (method, target) in [("GET", "/nope"), ("GET", "/"), ("CONNECT", "/socket.io/")] {
        let answer = exchange(
            server.port,
            handshake(method, target, "").as_bytes(),
            |_| false,
        )
        .await;
        let (status, body) = status_and_json(&answer);
        let expected = if method == "CONNECT" { 400 } else { 404 };
        assert_eq!(status, expected, "{method} {target}: {body}");
    }
    server.stop().await;
}

#[actix_web::test]
async fn bad_engine_io_queries_get_the_protocol_errors_on_the_raw_connection() {
    let server = spawn_quiet().await;
    let cases = [
        (
            "/engine.io/?EIO=3&transport=websocket",
            5,
            "Unsupported protocol version",
        ),
        (
            "/engine.io/?EIO=4&transport=carrier-pigeon",
            0,
            "Transport unknown",
        ),
        (
            "/engine.io/?EIO=4&transport=websocket&sid=nope",
            1,
            "Session ID unknown",
        ),
        ("/socket.io?EIO=4&transport=polling", 3, "Bad request"),
    ];
    for (target, code, message) in cases {
        let answer = exchange(server.port, handshake("GET", target, "").as_bytes(), |_| {
            false
        })
        .await;
        let (status, body) = status_and_json(&answer);
        assert_eq!(status, 400, "{target}");
        assert_eq!(body, json!({"code": code, "message": message}), "{target}");
    }
    // A handshake the WebSocket rules refuse (no version 13).
    let request = "GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\nHost: x\r\n\
        Upgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: x\r\n\r\n";
    let (status, body) =
        status_and_json(&exchange(server.port, request.as_bytes(), |_| false).await);
    assert_eq!((status, body["code"].clone()), (400, json!(3)));
    server.stop().await;
}

#[actix_web::test]
async fn the_hook_refuses_other_origins_as_the_middleware_does() {
    let app = spawn_app().await;
    let target = "/socket.io/?EIO=4&transport=websocket";
    let refused = handshake("GET", target, "Origin: https://evil.example\r\n");
    let (status, body) = status_and_json(&exchange(app.port, refused.as_bytes(), |_| false).await);
    assert_eq!(status, 403);
    assert_eq!(body, json!({"code": 4, "message": "Forbidden"}));
    // The server's own origin opens.
    let own = handshake("GET", target, "Origin: http://127.0.0.1\r\n");
    let answer = exchange(app.port, own.as_bytes(), |got| {
        got.windows(4).any(|w| w == b"\r\n\r\n")
    })
    .await;
    assert!(
        answer.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&answer)
    );
}

/// A masked client text frame (short payloads only).
fn masked_text(text: &str) -> Vec<u8> {
    let payload = text.as_bytes();
    let mask = [7u8, 1, 2, 9];
    let mut frame = vec![0x81, 0x80 | payload.len() as u8];
    frame.extend_from_slice(&mask);
    frame.extend(payload.iter().enumerate().map(|(i, b)| b ^ mask[i % 4]));
    frame
}

/// Records the peer of every handshake it opens.
struct PeerProbe(std::sync::mpsc::Sender<Option<std::net::SocketAddr>>);

struct Ignore;

impl agora::engineio::EngineConnection for Ignore {
    fn on_message(&mut self, _: agora::engineio::Message) {}
    fn on_close(&mut self, _: agora::engineio::CloseReason) {}
}

impl agora::engineio::EngineHandler for PeerProbe {
    fn on_open(
        &self,
        _: agora::engineio::EngineSocket,
        handshake: agora::engineio::Handshake,
    ) -> Box<dyn agora::engineio::EngineConnection> {
        let _ = self.0.send(handshake.peer);
        Box::new(Ignore)
    }
}

#[actix_web::test]
async fn the_hook_names_the_client_behind_a_trusted_proxy_only() {
    use agora::web::cidr::{Cidr, TrustedProxies};
    use agora::web::serve::{serve, ServeOptions, WebSockets};

    let target = "/engine.io/?EIO=4&transport=websocket";
    let forwarded = handshake("GET", target, "X-Forwarded-For: 203.0.113.7\r\n");
    for (trusted, expected) in [(true, "203.0.113.7"), (false, "127.0.0.1")] {
        let (sender, peers) = std::sync::mpsc::channel();
        let engine =
            agora::engineio::Engine::new(quiet_engine(), std::sync::Arc::new(PeerProbe(sender)));
        let mut sockets = WebSockets::new().engine("/engine.io/", engine);
        if trusted {
            let loopback: Cidr = "127.0.0.1/32".parse().unwrap();
            sockets = sockets.proxies(TrustedProxies::new(&[loopback]));
        }
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        let port = listener.local_addr().unwrap().port();
        let options = ServeOptions {
            workers: Some(1),
            ..ServeOptions::default()
        };
        let server = serve(listener, options, sockets, actix_web::App::new).unwrap();
        let handle = crate::common::serve(server);
        let answer = exchange(port, forwarded.as_bytes(), |got| got.ends_with(b"}")).await;
        assert!(answer.starts_with(b"HTTP/1.1 101"));
        let peer = peers.recv_timeout(WAIT).expect("a session opened");
        assert_eq!(
            peer.map(|p| p.ip().to_string()).as_deref(),
            Some(expected),
            "trusted: {trusted}"
        );
        handle.stop(false).await;
    }
}

/// A connection that never finishes its request head is answered `408` and closed after the
/// server's head timeout, while a client that sends its handshake meanwhile is served.
#[actix_web::test]
async fn a_half_sent_request_head_gets_408_after_the_head_timeout() {
    use agora::web::serve::{serve, ServeOptions, WebSockets};

    let engine = agora::engineio::Engine::new(
        quiet_engine(),
        std::sync::Arc::new(PeerProbe(std::sync::mpsc::channel().0)),
    );
    let sockets = WebSockets::new().engine("/engine.io/", engine);
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let options = ServeOptions {
        workers: Some(1),
        request_head_timeout: std::time::Duration::from_millis(300),
        ..ServeOptions::default()
    };
    let server = serve(listener, options, sockets, actix_web::App::new).unwrap();
    let handle = crate::common::serve(server);
    // Half a head: no blank line ever comes.
    let slow = exchange(
        port,
        b"GET /engine.io/?EIO=4&transport=websocket HTTP/1.1\r\n",
        |_| false,
    );
    let request = handshake("GET", "/engine.io/?EIO=4&transport=websocket", "");
    let good = exchange(port, request.as_bytes(), |got| got.ends_with(b"}"));
    let (slow, good) = tokio::join!(slow, good);
    assert!(
        good.starts_with(b"HTTP/1.1 101"),
        "{}",
        String::from_utf8_lossy(&good)
    );
    assert!(
        slow.starts_with(b"HTTP/1.1 408"),
        "{}",
        String::from_utf8_lossy(&slow)
    );
    handle.stop(false).await;
}

/// The TCP_NODELAY setting of this process's end of the connection whose peer is `client`
/// (the server runs in this process, so its accepted socket is one of our descriptors).
fn server_side_nodelay(client: &TcpStream) -> bool {
    use std::os::fd::BorrowedFd;
    let (ours, theirs) = (client.local_addr().unwrap(), client.peer_addr().unwrap());
    for entry in std::fs::read_dir("/proc/self/fd").unwrap().flatten() {
        let Ok(fd) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let target = std::fs::read_link(entry.path()).unwrap_or_default();
        if !target.to_string_lossy().starts_with("socket:") {
            continue;
        }
        // SAFETY: the descriptor was listed as open just now and is only borrowed for these
        // calls; the one we look for stays open while `client` is connected and the server runs.
        let borrowed = unsafe { BorrowedFd::borrow_raw(fd) };
        let socket = socket2::SockRef::from(&borrowed);
        let (Ok(local), Ok(peer)) = (socket.local_addr(), socket.peer_addr()) else {
            continue;
        };
        if local.as_socket() == Some(theirs) && peer.as_socket() == Some(ours) {
            return socket.tcp_nodelay().unwrap();
        }
    }
    panic!("no socket of this process is the server's end of {ours}");
}

#[actix_web::test]
async fn accepted_connections_send_small_frames_at_once() {
    // Nagle's algorithm would hold a small frame back until the client acknowledged the one
    // before: realtime frames are small, and with it a fan-out wrote twice as many, smaller
    // segments (docs/BENCHMARKS.md, its second run of 2026-12-07). Node's `ws` turns it off too.
    let server = spawn_quiet().await;
    let mut websocket = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    let request = handshake("GET", "/engine.io/?EIO=4&transport=websocket", "");
    websocket.write_all(request.as_bytes()).await.unwrap();
    let mut answer = [0u8; 12];
    websocket.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 101");
    assert!(server_side_nodelay(&websocket), "a WebSocket");

    let mut http = TcpStream::connect(("127.0.0.1", server.port))
        .await
        .unwrap();
    http.write_all(b"GET /engine.io/?EIO=4&transport=polling HTTP/1.1\r\nHost: 127.0.0.1\r\n\r\n")
        .await
        .unwrap();
    let mut answer = [0u8; 12];
    http.read_exact(&mut answer).await.unwrap();
    assert_eq!(&answer, b"HTTP/1.1 200");
    assert!(server_side_nodelay(&http), "an HTTP connection");
}
