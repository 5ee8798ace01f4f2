//! `spawn_app()`: the real application, in-process on port 0 with a fresh database.

use actix_web::dev::ServerHandle;
use agora::config::Settings;
use agora::startup::Application;
use serde_json::{json, Value};

use std::sync::Arc;

use super::postgres::TestDatabase;
use super::{http_client, Ws, WsFrame};

/// A running application and the database it owns (removed when the last holder is dropped).
pub struct TestApp {
    pub port: u16,
    pub database_url: String,
    server: Server,
    database: Arc<TestStorage>,
}

/// How a test app runs: in this process, or as the real `agora` binary (which a test can kill).
enum Server {
    InProcess(ServerHandle),
    Process(std::process::Child),
}

impl Drop for TestApp {
    fn drop(&mut self) {
        if let Server::Process(child) = &mut self.server {
            let _ = child.kill();
            let _ = child.wait();
        }
    }
}

/// Where a test app keeps its data: a SQLite file in a temporary directory, or a fresh PostgreSQL
/// database. Nodes of one cluster share it. Only held, never read: dropping it removes the data.
enum TestStorage {
    Sqlite(#[allow(dead_code)] tempfile::TempDir),
    Postgres(#[allow(dead_code)] TestDatabase),
}

/// Starts the application with default settings and a fresh database.
pub async fn spawn_app() -> TestApp {
    spawn_app_with(|_| {}).await
}

/// Starts the application with settings adjusted by `adjust`, on a fresh database: SQLite, or
/// PostgreSQL when `AGORA_TEST_DATABASE=postgres` (tests/run.sh runs the app suites both ways).
pub async fn spawn_app_with(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    if std::env::var("AGORA_TEST_DATABASE").as_deref() == Ok("postgres") {
        spawn_app_with_postgres(adjust).await
    } else {
        let dir = tempfile::tempdir().expect("temp dir");
        let url = format!("sqlite://{}/agora.db", dir.path().display());
        start(url, Arc::new(TestStorage::Sqlite(dir)), adjust).await
    }
}

/// Starts the application on a fresh PostgreSQL database.
pub async fn spawn_app_with_postgres(adjust: impl FnOnce(&mut Settings)) -> TestApp {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    start(url, Arc::new(TestStorage::Postgres(database)), adjust).await
}

/// Starts another node on `first`'s database, with settings adjusted by `adjust`.
pub async fn spawn_node_beside(first: &TestApp, adjust: impl FnOnce(&mut Settings)) -> TestApp {
    start(first.database_url.clone(), first.database.clone(), adjust).await
}

async fn start(
    database_url: String,
    database: Arc<TestStorage>,
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
        server: Server::InProcess(handle),
        database,
    }
}

/// Starts the `agora` binary as another node on `first`'s database, with these extra arguments;
/// returns once it is ready.
pub async fn spawn_process_beside(first: &TestApp, args: &[&str]) -> TestApp {
    spawn_process(first.database_url.clone(), first.database.clone(), args).await
}

/// Starts `count` nodes, each the `agora` binary with these extra arguments, on one fresh
/// PostgreSQL database; returns once they are ready.
pub async fn spawn_process_cluster(count: usize, args: &[&str]) -> Vec<TestApp> {
    let database = TestDatabase::create().await;
    let url = database.url.clone();
    let storage = Arc::new(TestStorage::Postgres(database));
    let mut nodes = Vec::new();
    for _ in 0..count {
        nodes.push(spawn_process(url.clone(), storage.clone(), args).await);
    }
    nodes
}

async fn spawn_process(database_url: String, database: Arc<TestStorage>, args: &[&str]) -> TestApp {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port();
    let child = std::process::Command::new(env!("CARGO_BIN_EXE_agora"))
        .args(["--port", &port.to_string(), "--database-url", &database_url])
        .args(args)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .expect("start the agora binary");
    let app = TestApp {
        port,
        database_url,
        server: Server::Process(child),
        database,
    };
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(20);
    loop {
        if let Ok(response) = http_client().get(app.url("/readyz")).send().await {
            if response.status() == 200 {
                return app;
            }
        }
        assert!(
            std::time::Instant::now() < deadline,
            "the node never became ready"
        );
        tokio::time::sleep(std::time::Duration::from_millis(100)).await;
    }
}

impl TestApp {
    /// `http://127.0.0.1:PORT` + path.
    pub fn url(&self, path: &str) -> String {
        format!("http://127.0.0.1:{}{}", self.port, path)
    }

    /// The process id of a node started as the `agora` binary.
    pub fn pid(&self) -> u32 {
        let Server::Process(child) = &self.server else {
            panic!("only a node running as a process has a pid");
        };
        child.id()
    }

    /// Kills a node started by [`spawn_process_beside`] at once (SIGKILL): a node that dies.
    pub fn kill(&mut self) {
        let Server::Process(child) = &mut self.server else {
            panic!("only a node running as a process can be killed");
        };
        child.kill().expect("kill the node");
        let _ = child.wait();
    }

    /// Stops this instance and starts a new one on the same database.
    pub async fn restart(self) -> TestApp {
        let Server::InProcess(handle) = &self.server else {
            panic!("only an in-process app restarts");
        };
        handle.stop(true).await;
        start(self.database_url.clone(), self.database.clone(), |_| {}).await
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

    /// GETs `path`, as the user of `token` if given; returns status and JSON body (null if none).
    pub async fn get_json(&self, path: &str, token: Option<&str>) -> (u16, Value) {
        let mut request = http_client().get(self.url(path));
        if let Some(token) = token {
            request = request.insert_header(("Authorization", format!("Bearer {token}")));
        }
        let mut response = request.send().await.expect("GET");
        let status = response.status().as_u16();
        let body = response.json::<Value>().await.unwrap_or(Value::Null);
        (status, body)
    }

    /// Tries to log in through the API: the status and the JSON answer.
    pub async fn log_in(&self, name: &str, password: &str) -> (u16, Value) {
        self.post_json("/api/login", credentials(name, password))
            .await
    }

    /// Tries to register through the API: the status and the JSON answer.
    pub async fn try_register(&self, name: &str, password: &str) -> (u16, Value) {
        self.post_json("/api/register", credentials(name, password))
            .await
    }

    /// Registers an account through the API; returns its session token.
    pub async fn register(&self, name: &str) -> String {
        let (status, body) = self.try_register(name, "correct horse").await;
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
        let (ws, welcome, _) = self.connect_with_id(headers, auth).await;
        (ws, welcome)
    }

    /// As [`TestApp::connect`], also returning the socket's id.
    pub async fn connect_with_id(
        &self,
        headers: &[(&str, &str)],
        auth: Option<Value>,
    ) -> (Ws, Value, String) {
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
        let answer: Value = serde_json::from_str(&reply[2..]).expect("CONNECT answer JSON");
        let id = answer["sid"].as_str().expect("socket id").to_string();
        let welcome = next_event(&mut ws, "welcome").await;
        (ws, welcome, id)
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

/// A Socket.IO client on the main namespace that keeps events arriving while it waits for acks.
pub struct Client {
    pub ws: Ws,
    next_ack: u64,
    events: std::collections::VecDeque<(String, Value)>,
    pub name: String,
    /// The socket's id (also a room of its own).
    pub id: String,
}

impl TestApp {
    /// A connected client: a guest, or the user of `token`.
    pub async fn client(&self, token: Option<&str>) -> Client {
        let auth = token.map(|t| json!({ "token": t }));
        let (ws, welcome, id) = self.connect_with_id(&[], auth).await;
        Client {
            ws,
            next_ack: 0,
            events: Default::default(),
            name: welcome["user"].as_str().unwrap_or_default().to_string(),
            id,
        }
    }

    /// A new guest client, and its `online` greeting: who is online as it arrives.
    pub async fn fresh_guest(&self) -> (Client, Value) {
        let mut guest = self.client(None).await;
        let online = guest.event("online").await;
        (guest, online)
    }
}

/// The body of a login or registration.
pub fn credentials(name: &str, password: &str) -> Value {
    json!({"username": name, "password": password})
}

/// How many users an `online` event lists.
pub fn online_count(online: &Value) -> usize {
    online["users"]
        .as_array()
        .expect("online lists users")
        .len()
}

impl Client {
    /// Emits an event.
    pub async fn emit(&mut self, event: &str, arg: Value) {
        self.ws
            .send_text(&format!("42{}", json!([event, arg])))
            .await;
    }

    /// Emits an event asking for an ack; returns the ack's first argument.
    pub async fn ack(&mut self, event: &str, arg: Value) -> Value {
        self.next_ack += 1;
        let id = self.next_ack;
        self.ws
            .send_text(&format!("42{id}{}", json!([event, arg])))
            .await;
        let prefix = format!("43{id}");
        loop {
            let text = self.next_text().await;
            if let Some(rest) = text.strip_prefix(&prefix) {
                let args: Value = serde_json::from_str(rest).expect("ack JSON");
                return args[0].clone();
            }
            self.keep(&text);
        }
    }

    /// Joins chat room `room`; the ack.
    pub async fn join(&mut self, room: &str) -> Value {
        self.ack("chat:join", json!({ "room": room })).await
    }

    /// Joins chat room `room` and asserts that it was allowed (`why` says why it must be).
    pub async fn must_join(&mut self, room: &str, why: &str) {
        let answer = self.join(room).await;
        assert_eq!(
            answer["ok"], true,
            "{} joins {room}: {why}: {answer}",
            self.name
        );
    }

    /// Sends `text` to chat room `room`; the ack.
    pub async fn say(&mut self, room: &str, text: &str) -> Value {
        self.ack("chat:send", json!({ "room": room, "text": text }))
            .await
    }

    /// The next event called `name` (earlier ones of other names are kept).
    pub async fn event(&mut self, name: &str) -> Value {
        if let Some(index) = self.events.iter().position(|(n, _)| n == name) {
            return self
                .events
                .remove(index)
                .map(|(_, v)| v)
                .unwrap_or_default();
        }
        loop {
            let text = self.next_text().await;
            if let Some((event, arg)) = parse_event(&text) {
                if event == name {
                    return arg;
                }
                self.events.push_back((event, arg));
            }
        }
    }

    /// True if no event called `name` arrives within `wait`.
    pub async fn quiet(&mut self, name: &str, wait: std::time::Duration) -> bool {
        if self.events.iter().any(|(n, _)| n == name) {
            return false;
        }
        tokio::time::timeout(wait, self.event(name)).await.is_err()
    }

    fn keep(&mut self, text: &str) {
        if let Some(event) = parse_event(text) {
            self.events.push_back(event);
        }
    }

    async fn next_text(&mut self) -> String {
        match self.ws.recv_data().await {
            WsFrame::Text(text) => text,
            other => panic!("{}: expected a packet, got {other:?}", self.name),
        }
    }
}

fn parse_event(text: &str) -> Option<(String, Value)> {
    let packet: Value = serde_json::from_str(text.strip_prefix("42")?).ok()?;
    Some((packet[0].as_str()?.to_string(), packet[1].clone()))
}
