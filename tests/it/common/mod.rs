//! Test helpers: servers started in-process on port 0, and typed Engine.IO/Socket.IO clients that
//! speak the wire protocol directly, so tests can assert on exact packets.
#![allow(dead_code)] // some helpers serve only the tests of one configuration (PostgreSQL, cluster)

pub mod app;
pub mod nginx;
pub mod node;
pub mod postgres;
pub mod raw_ws;
pub mod redis_proxy;
pub mod trading;

use std::net::TcpListener;
use std::time::Duration;

use actix_web::dev::ServerHandle;
use actix_web::http::StatusCode;
use agora::conformance::{self, Conformance};
use agora::engineio::{Engine, EngineConfig};
use agora::socketio::SocketIoConfig;
use agora::web::serve::{ServeOptions, WebSockets};
use awc::ws;
use bytes::Bytes;
use futures_util::{SinkExt, StreamExt};
use serde_json::Value;

/// How long a test waits for any one thing before failing.
pub const WAIT: Duration = Duration::from_secs(5);

/// A conformance server running in this process.
pub struct TestServer {
    pub port: u16,
    pub socket_io: Engine,
    pub echo: Engine,
    handle: ServerHandle,
}

impl TestServer {
    /// `http://127.0.0.1:PORT` + path.
    pub fn http(&self, path_and_query: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path_and_query)
    }

    /// `ws://127.0.0.1:PORT` + path.
    pub fn ws(&self, path_and_query: &str) -> String {
        format!("ws://127.0.0.1:{}{}", self.port, path_and_query)
    }

    /// Opens a polling session on the Engine.IO echo endpoint.
    pub async fn echo_polling(&self) -> Polling {
        Polling::open(&self.http("/engine.io/")).await
    }

    /// Opens a WebSocket session on the Engine.IO echo endpoint and reads its open packet.
    pub async fn echo_ws(&self) -> Ws {
        let mut ws = Ws::connect(&self.ws("/engine.io/?EIO=4&transport=websocket")).await;
        ws.recv().await;
        ws
    }

    /// Opens the WebSocket that upgrades the echo endpoint's polling session `sid`.
    pub async fn echo_upgrade(&self, sid: &str) -> Ws {
        Ws::connect(&self.ws(&format!("/engine.io/?EIO=4&transport=websocket&sid={sid}"))).await
    }

    /// Stops the server.
    pub async fn stop(self) {
        self.handle.stop(false).await;
    }
}

/// Engine settings for tests that are not about heartbeats: pings far apart.
pub fn quiet_engine() -> EngineConfig {
    EngineConfig {
        ping_interval: Duration::from_secs(30),
        ping_timeout: Duration::from_secs(30),
        ..EngineConfig::default()
    }
}

/// Starts the conformance server with these settings on a free port.
pub async fn spawn_conformance(engine: EngineConfig, socket_io: SocketIoConfig) -> TestServer {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().unwrap().port();
    let Conformance {
        server,
        socket_io,
        echo,
    } = conformance::run(listener, engine, socket_io).expect("start the server");
    TestServer {
        port,
        socket_io,
        echo,
        handle: serve(server),
    }
}

/// Serves `engine` at `/socket.io/` on a free port with one worker; the port and the handle that
/// stops the server.
pub fn serve_socket_io(engine: Engine) -> (u16, ServerHandle) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind a free port");
    let port = listener.local_addr().expect("bound").port();
    let options = ServeOptions {
        workers: Some(1),
        ..ServeOptions::default()
    };
    let sockets = WebSockets::new().engine("/socket.io/", engine.clone());
    let server = agora::web::serve::serve(listener, options, sockets, move || {
        actix_web::App::new().service(engine.resource("/socket.io/"))
    })
    .expect("listen");
    (port, serve(server))
}

/// Runs `server` in the background; the handle stops it.
pub fn serve(server: actix_web::dev::Server) -> ServerHandle {
    let handle = server.handle();
    actix_rt::spawn(server);
    handle
}

/// Starts the conformance server with quiet heartbeats and default Socket.IO settings.
pub async fn spawn_quiet() -> TestServer {
    spawn_conformance(quiet_engine(), SocketIoConfig::default()).await
}

/// Starts the conformance server with quiet heartbeats changed by `adjust`.
pub async fn spawn_quiet_with(adjust: impl FnOnce(&mut EngineConfig)) -> TestServer {
    let mut engine = quiet_engine();
    adjust(&mut engine);
    spawn_conformance(engine, SocketIoConfig::default()).await
}

/// The `text` of every message in `messages` (a JSON array), in order.
pub fn texts_of(messages: &Value) -> Vec<&str> {
    let messages = messages.as_array().expect("an array of messages");
    messages
        .iter()
        .map(|m| m["text"].as_str().expect("a text"))
        .collect()
}

/// A quiet conformance server and one client connected to its main namespace.
pub async fn quiet_client() -> (TestServer, Sio) {
    let server = spawn_quiet().await;
    let (sio, _) = Sio::connect(&server).await;
    (server, sio)
}

/// A header of a response as text ("" if absent or not text).
pub fn header_of<S>(response: &awc::ClientResponse<S>, name: &str) -> String {
    response
        .headers()
        .get(name)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_string()
}

/// An HTTP client whose requests may wait as long as a long poll does.
pub fn http_client() -> awc::Client {
    awc::Client::builder()
        .timeout(Duration::from_secs(60))
        .finish()
}

/// A GET; returns the status and body.
pub async fn get(url: &str) -> (StatusCode, String) {
    let mut response = http_client().get(url).send().await.expect("GET");
    let body = response.body().limit(64 << 20).await.expect("GET body");
    (
        response.status(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// A POST with a text body; returns the status and body.
pub async fn post(url: &str, body: impl Into<Bytes>) -> (StatusCode, String) {
    let mut response = http_client()
        .post(url)
        .send_body(body.into())
        .await
        .expect("POST");
    let body = response.body().limit(64 << 20).await.expect("POST body");
    (
        response.status(),
        String::from_utf8_lossy(&body).into_owned(),
    )
}

/// A long-polling Engine.IO session opened by a handshake.
pub struct Polling {
    pub url: String,
    pub sid: String,
    pub open: Value,
}

impl Polling {
    /// Performs the handshake at `base` (say `http://127.0.0.1:P/engine.io/`).
    pub async fn open(base: &str) -> Polling {
        let (status, body) = get(&format!("{base}?EIO=4&transport=polling")).await;
        assert_eq!(status, StatusCode::OK, "handshake failed: {body}");
        assert!(body.starts_with('0'), "not an open packet: {body}");
        let open: Value = serde_json::from_str(&body[1..]).expect("open packet JSON");
        let sid = open["sid"].as_str().expect("sid").to_string();
        Polling {
            url: format!("{base}?EIO=4&transport=polling&sid={sid}"),
            sid,
            open,
        }
    }

    pub async fn get(&self) -> (StatusCode, String) {
        get(&self.url).await
    }

    pub async fn post(&self, body: &str) -> (StatusCode, String) {
        post(&self.url, body.to_string()).await
    }

    /// Asserts that the session is gone: a GET is refused with 400.
    pub async fn expect_gone(&self) {
        assert_eq!(self.get().await.0, StatusCode::BAD_REQUEST, "{}", self.url);
    }

    /// A long poll started in the background, and then `pause` for it to reach the server.
    pub async fn pending_get(
        &self,
        pause: Duration,
    ) -> actix_rt::task::JoinHandle<(StatusCode, String)> {
        let url = self.url.clone();
        let poll = actix_rt::spawn(async move { get(&url).await });
        tokio::time::sleep(pause).await;
        poll
    }
}

/// What a WebSocket client received.
#[derive(Debug, Clone, PartialEq)]
pub enum WsFrame {
    Text(String),
    Binary(Bytes),
    Close(Option<u16>),
}

/// `future`'s output; panics if it takes longer than [`WAIT`].
pub async fn within_wait<T>(what: &str, future: impl std::future::Future<Output = T>) -> T {
    tokio::time::timeout(WAIT, future)
        .await
        .unwrap_or_else(|_| panic!("timed out waiting for {what}"))
}

/// A raw WebSocket client.
pub struct Ws {
    framed: actix_codec::Framed<awc::BoxedSocket, ws::Codec>,
}

impl Ws {
    /// Connects; panics if the handshake is refused.
    pub async fn connect(url: &str) -> Ws {
        Ws::try_connect(url).await.expect("WebSocket handshake")
    }

    /// Connects; returns the HTTP status if the handshake is refused.
    pub async fn try_connect(url: &str) -> Result<Ws, StatusCode> {
        Ws::try_connect_with(url, &[]).await
    }

    /// Connects with extra request headers (Origin, Cookie).
    pub async fn try_connect_with(url: &str, headers: &[(&str, &str)]) -> Result<Ws, StatusCode> {
        let mut request = http_client().ws(url).max_frame_size(64 << 20);
        for (name, value) in headers {
            request = request.set_header(*name, *value);
        }
        match request.connect().await {
            Ok((_, framed)) => Ok(Ws { framed }),
            Err(awc::error::WsClientError::InvalidResponseStatus(status)) => Err(status),
            Err(error) => panic!("WebSocket connect failed: {error}"),
        }
    }

    pub async fn send_text(&mut self, text: &str) {
        self.framed
            .send(ws::Message::Text(text.to_string().into()))
            .await
            .expect("send text");
    }

    pub async fn send_binary(&mut self, bytes: &[u8]) {
        self.framed
            .send(ws::Message::Binary(Bytes::copy_from_slice(bytes)))
            .await
            .expect("send binary");
    }

    /// The next frame, or `Close(None)` when the stream ends; panics after [`WAIT`].
    pub async fn recv(&mut self) -> WsFrame {
        within_wait("a WebSocket frame", self.next_frame()).await
    }

    /// The next frame that is not an Engine.IO ping (pings are answered).
    pub async fn recv_data(&mut self) -> WsFrame {
        loop {
            match self.recv().await {
                WsFrame::Text(text) if text == "2" => self.send_text("3").await,
                other => return other,
            }
        }
    }

    /// Waits until the server closes the connection; panics after [`WAIT`].
    pub async fn expect_close(&mut self) -> Option<u16> {
        loop {
            if let WsFrame::Close(code) = self.recv().await {
                return code;
            }
        }
    }

    async fn next_frame(&mut self) -> WsFrame {
        loop {
            match self.framed.next().await {
                None | Some(Err(_)) => return WsFrame::Close(None),
                Some(Ok(ws::Frame::Text(bytes))) => {
                    return WsFrame::Text(String::from_utf8(bytes.to_vec()).expect("UTF-8 text"))
                }
                Some(Ok(ws::Frame::Binary(bytes))) => return WsFrame::Binary(bytes),
                Some(Ok(ws::Frame::Close(reason))) => {
                    return WsFrame::Close(reason.map(|r| u16::from(r.code)))
                }
                Some(Ok(_)) => continue,
            }
        }
    }
}

/// A Socket.IO client over a raw WebSocket, for asserting on exact packets.
pub struct Sio {
    pub ws: Ws,
}

impl Sio {
    /// Opens an Engine.IO WebSocket session at `/socket.io/` without joining any namespace.
    pub async fn open(server: &TestServer) -> Sio {
        let mut ws = Ws::connect(&server.ws("/socket.io/?EIO=4&transport=websocket")).await;
        match ws.recv().await {
            WsFrame::Text(text) if text.starts_with('0') => {}
            other => panic!("expected the open packet, got {other:?}"),
        }
        Sio { ws }
    }

    /// Opens a session and connects to the main namespace; returns the socket id.
    pub async fn connect(server: &TestServer) -> (Sio, String) {
        let mut sio = Sio::open(server).await;
        let id = sio.join_namespace("/", None).await;
        // The conformance server greets every socket with `auth`.
        assert_eq!(sio.recv_text().await, r#"42["auth",{}]"#);
        (sio, id)
    }

    /// Sends CONNECT for `nsp` and returns the socket id from the answer.
    pub async fn join_namespace(&mut self, nsp: &str, auth: Option<&str>) -> String {
        let prefix = if nsp == "/" {
            String::new()
        } else {
            format!("{nsp},")
        };
        self.send(&format!("40{prefix}{}", auth.unwrap_or("")))
            .await;
        let reply = self.recv_text().await;
        let expected = format!("40{prefix}");
        assert!(reply.starts_with(&expected), "unexpected reply {reply}");
        let handshake: Value = serde_json::from_str(&reply[expected.len()..]).unwrap();
        handshake["sid"].as_str().expect("socket id").to_string()
    }

    pub async fn send(&mut self, text: &str) {
        self.ws.send_text(text).await;
    }

    /// Joins `room` through the conformance server's `join` event, and waits for its ack.
    pub async fn join_room(&mut self, room: &str) {
        self.send(&format!(r#"421["join","{room}"]"#)).await;
        assert_eq!(self.recv_text().await, "431[]", "join {room}");
    }

    /// The next text message, pings answered and skipped.
    pub async fn recv_text(&mut self) -> String {
        match self.ws.recv_data().await {
            WsFrame::Text(text) => text,
            other => panic!("expected a text frame, got {other:?}"),
        }
    }

    /// True if nothing but pings arrives within `wait`.
    pub async fn silent_for(&mut self, wait: Duration) -> bool {
        tokio::time::timeout(wait, self.ws.recv_data())
            .await
            .is_err()
    }
}
