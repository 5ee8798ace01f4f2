//! `spawn_app()`: the real application, in-process on port 0 with a fresh database.

use actix_web::dev::ServerHandle;
use agora::config::Settings;
use agora::startup::Application;
use serde_json::{json, Value};

use super::{http_client, Ws, WsFrame};

/// A running application and its database directory (removed when dropped).
pub struct TestApp {
    pub port: u16,
    pub database_url: String,
    handle: ServerHandle,
    _dir: std::sync::Arc<tempfile::TempDir>,
}

/// Starts the application with default settings and a fresh SQLite database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application with settings adjusted by `adjust`.
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let dir = std::sync::Arc::new(tempfile::tempdir().expect("temp dir"));
    let url = format!("sqlite://{}/agora.db", dir.path().display());
    start(url, dir, adjust).await
}

async fn start(
    database_url: String,
    dir: std::sync::Arc<tempfile::TempDir>,
    adjust: impl FnOnce(&mut Settings),
) -> TestApp {
    let mut settings = Settings::defaults();
    settings.port = 0;
    settings.database_url = database_url.clone();
    settings.workers = Some(2);
    adjust(&mut settings);
    let application = Application::build(settings).await.expect("build the app");
    let port = application.port();
    let handle = application.handle();
    actix_rt::spawn(application.run_until_stopped());
    TestApp {
        port,
        database_url,
        handle,
        _dir: dir,
    }
}

impl TestApp {
    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// Stops this instance and starts a new one on the same database.
    pub async fn restart(self) -> TestApp {
        self.handle.stop(true).await;
        start(self.database_url.clone(), self._dir.clone(), |_| {}).await
    }

    /// POSTs JSON; returns status and JSON body.
    pub async fn post_json(&self, path: &str, body: Value) -> (u16, Value) {
        let mut response = http_client()
            .post(self.url(path))
            .send_json(&body)
            .await
            .expect("POST");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Registers an account through the API; returns its session token.
    pub async fn register(&self, name: &str) -> String {
        let (status, body) = self
            .post_json(
                "/api/register",
                json!({"username": name, "password": "correct horse"}),
            )
            .await;
        assert_eq!(status, 201, "register {name}: {body}");
        body["token"].as_str().expect("token").to_string()
    }

    /// Opens a WebSocket Socket.IO session with these request headers.
    pub async fn socket(&self, headers: &[(&str, &str)]) -> Ws {
        let url = format!(
            "ws://127.0.0.1:{}/socket.io/?EIO=4&transport=websocket",
            self.port
        );
        let mut ws = Ws::try_connect_with(&url, headers)
            .await
            .expect("handshake accepted");
        match ws.recv().await {
            WsFrame::Text(open) if open.starts_with('0') => ws,
            other => panic!("expected the open packet, got {other:?}"),
        }
    }

    /// Connects a socket to the main namespace (with an optional CONNECT auth payload) and returns
    /// it with its `welcome` payload.
    pub async fn connect(&self, headers: &[(&str, &str)], auth: Option<Value>) -> (Ws, Value) {
        let mut ws = self.socket(headers).await;
        let connect = match auth {
            Some(auth) => format!("40{auth}"),
            None => "40".to_string(),
        };
        ws.send_text(&connect).await;
        let WsFrame::Text(reply) = ws.recv_data().await else {
            panic!("no CONNECT reply");
        };
        assert!(reply.starts_with("40{"), "connect refused: {reply}");
        let welcome = next_event(&mut ws, "welcome").await;
        (ws, welcome)
    }
}

/// Reads packets until event `name` arrives; returns its first argument.
pub async fn next_event(ws: &mut Ws, name: &str) -> Value {
    loop {
        let WsFrame::Text(text) = ws.recv_data().await else {
            panic!("socket closed while waiting for {name}");
        };
        if let Some(json) = text.strip_prefix("42") {
            let packet: Value = serde_json::from_str(json).expect("event JSON");
            if packet[0] == name {
                return packet[1].clone();
            }
        }
    }
}
