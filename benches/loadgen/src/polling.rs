//! A bare Engine.IO v4 HTTP long-polling client, plain HTTP/1.1 over a tokio `TcpStream`: just
//! enough for the soak workload, no HTTP or socket.io library.
//!
//! - open: `GET /socket.io/?EIO=4&transport=polling`, answered with the open packet `0{"sid":...}`;
//! - receive: one long-polling `GET …&sid=SID` at a time on a kept-alive connection; a response
//!   holds packets separated by `\x1e`; pings (`2`) are answered with a `3`;
//! - send: `POST …&sid=SID` on a fresh connection (`Connection: close`), one at a time (Engine.IO
//!   servers refuse overlapping POSTs), packets waiting meanwhile go together in the next one.
//!
//! Two tasks per client (the poll loop and the post loop) talk to [`PollingClient`] through
//! channels, so that [`PollingClient::recv`] can be cancelled in a `select!`.

use std::os::fd::AsRawFd;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader};
use tokio::net::TcpStream;
use tokio::sync::{mpsc, oneshot};
use tokio::task::JoinHandle;

use crate::client::{truncate, Incoming, Result, CONNECT_TIMEOUT};
use crate::fail;

/// The Engine.IO packet separator in a polling payload.
const SEPARATOR: char = '\x1e';

/// How long one POST, or the wait between pings on the poll, may take at most.
const REQUEST_TIMEOUT: Duration = Duration::from_secs(60);

/// Biggest response head or body the client accepts.
const MAX_RESPONSE: usize = 4 << 20;

/// One Socket.IO connection to the main namespace over HTTP long-polling.
pub struct PollingClient {
    /// Packets (and errors) from the poll loop and the post loop.
    inbox: mpsc::UnboundedReceiver<Result<String>>,
    /// Packets for the post loop (taken away to end it).
    outbox: Option<mpsc::UnboundedSender<String>>,
    poller: JoinHandle<()>,
    poster: Option<JoinHandle<()>>,
    /// Tells the poll loop to reset its connection (RST, no FIN).
    reset: Option<oneshot::Sender<()>>,
}

impl PollingClient {
    /// Opens an Engine.IO session over polling at `127.0.0.1:port` and connects to the main
    /// namespace.
    pub async fn connect(port: u16) -> Result<PollingClient> {
        match tokio::time::timeout(CONNECT_TIMEOUT, PollingClient::connect_inner(port)).await {
            Ok(result) => result,
            Err(_) => fail!("polling connect timed out after {CONNECT_TIMEOUT:?}"),
        }
    }

    async fn connect_inner(port: u16) -> Result<PollingClient> {
        let mut conn = HttpConn::open(port).await?;
        let open = conn.get("/socket.io/?EIO=4&transport=polling").await?;
        let Some(json) = open.strip_prefix('0') else {
            fail!(
                "expected an Engine.IO open packet, got {:?}",
                truncate(&open)
            );
        };
        let sid = match serde_json::from_str::<serde_json::Value>(json)?.get("sid") {
            Some(serde_json::Value::String(sid)) => sid.clone(),
            _ => fail!("no sid in the open packet {:?}", truncate(&open)),
        };
        let path = format!("/socket.io/?EIO=4&transport=polling&sid={sid}");
        let (inbox_tx, inbox) = mpsc::unbounded_channel();
        let (outbox, outbox_rx) = mpsc::unbounded_channel();
        let (reset, reset_rx) = oneshot::channel();
        let poster =
            tokio::task::spawn_local(post_loop(port, path.clone(), outbox_rx, inbox_tx.clone()));
        let poller = tokio::task::spawn_local(poll_loop(
            conn,
            path,
            outbox.downgrade(),
            inbox_tx,
            reset_rx,
        ));
        let mut client = PollingClient {
            inbox,
            outbox: Some(outbox),
            poller,
            poster: Some(poster),
            reset: Some(reset),
        };
        client.send("40").await?;
        loop {
            match client.recv().await? {
                Incoming::Ping => {}
                Incoming::Text(text) if text.starts_with("40") => return Ok(client),
                Incoming::Text(text) if text.starts_with("44") => {
                    fail!("CONNECT refused: {}", truncate(&text))
                }
                Incoming::Text(text) => {
                    fail!("expected the CONNECT reply, got {:?}", truncate(&text))
                }
            }
        }
    }

    /// Queues one packet for the next POST.
    pub async fn send(&mut self, text: impl Into<String>) -> Result<()> {
        match &self.outbox {
            Some(outbox) if outbox.send(text.into()).is_ok() => Ok(()),
            _ => fail!("the polling session's post loop has ended"),
        }
    }

    /// The next packet from the server (pings are answered by the poll loop and never show).
    pub async fn recv(&mut self) -> Result<Incoming> {
        match self.inbox.recv().await {
            Some(Ok(text)) => Ok(Incoming::Text(text.into())),
            Some(Err(error)) => Err(error),
            None => fail!("polling session ended"),
        }
    }

    /// Leaves politely: Socket.IO DISCONNECT and Engine.IO CLOSE in one last POST, then stops
    /// polling.
    pub async fn close(mut self) {
        if let Some(outbox) = self.outbox.take() {
            let _ = outbox.send("41".into());
            let _ = outbox.send("1".into());
        }
        // The post loop ends once its outbox is closed and drained.
        if let Some(poster) = self.poster.take() {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, poster).await;
        }
    }

    /// Vanishes: what was already sent goes out, then the pending poll's connection is reset
    /// (RST) and nothing more is sent.
    pub async fn reset(mut self) {
        self.outbox = None;
        if let Some(poster) = self.poster.take() {
            let _ = tokio::time::timeout(REQUEST_TIMEOUT, poster).await;
        }
        if let Some(reset) = self.reset.take() {
            let _ = reset.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(1), &mut self.poller).await;
    }
}

impl Drop for PollingClient {
    fn drop(&mut self) {
        self.poller.abort();
        if let Some(poster) = &self.poster {
            poster.abort();
        }
    }
}

/// Polls until the session ends: packets go to `inbox`, pings are answered through `outbox` (weak:
/// the post loop ends once the client drops its sender, whatever the poll is doing).
async fn poll_loop(
    mut conn: HttpConn,
    path: String,
    outbox: mpsc::WeakUnboundedSender<String>,
    inbox: mpsc::UnboundedSender<Result<String>>,
    mut reset: oneshot::Receiver<()>,
) {
    loop {
        let body = tokio::select! {
            body = tokio::time::timeout(REQUEST_TIMEOUT, conn.get(&path)) => body,
            _ = &mut reset => {
                set_zero_linger(conn.stream.get_ref());
                return;
            }
        };
        let body = match body {
            Ok(Ok(body)) => body,
            Ok(Err(error)) => {
                let _ = inbox.send(Err(error));
                return;
            }
            Err(_) => {
                let _ = inbox.send(Err(crate::client::Failure(format!(
                    "poll got no answer in {REQUEST_TIMEOUT:?}"
                ))
                .into()));
                return;
            }
        };
        for packet in body.split(SEPARATOR) {
            match packet {
                "2" => {
                    if let Some(outbox) = outbox.upgrade() {
                        let _ = outbox.send("3".into());
                    }
                }
                // A noop, sent to end a poll.
                "6" => {}
                "1" => {
                    let _ = inbox.send(Err(crate::client::Failure(
                        "the server closed the polling session".into(),
                    )
                    .into()));
                    return;
                }
                packet => {
                    if inbox.send(Ok(packet.to_owned())).is_err() {
                        return;
                    }
                }
            }
        }
    }
}

/// POSTs what `outbox` holds, everything waiting in one request, until the outbox is closed.
async fn post_loop(
    port: u16,
    path: String,
    mut outbox: mpsc::UnboundedReceiver<String>,
    inbox: mpsc::UnboundedSender<Result<String>>,
) {
    while let Some(first) = outbox.recv().await {
        let mut body = first;
        while let Ok(more) = outbox.try_recv() {
            body.push(SEPARATOR);
            body.push_str(&more);
        }
        let result = tokio::time::timeout(REQUEST_TIMEOUT, post(port, &path, &body)).await;
        let error = match result {
            Ok(Ok(())) => continue,
            Ok(Err(error)) => error,
            Err(_) => {
                crate::client::Failure(format!("POST got no answer in {REQUEST_TIMEOUT:?}")).into()
            }
        };
        let _ = inbox.send(Err(error));
        return;
    }
}

/// One POST on a fresh connection, expecting `200 ok`.
async fn post(port: u16, path: &str, body: &str) -> Result<()> {
    let mut conn = HttpConn::open(port).await?;
    let head = format!(
        "POST {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nContent-Type: text/plain;charset=UTF-8\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    conn.stream.get_mut().write_all(head.as_bytes()).await?;
    conn.stream.get_mut().write_all(body.as_bytes()).await?;
    let (status, answer) = conn.response().await?;
    if status != 200 {
        fail!("POST answered {status}: {}", truncate(&answer));
    }
    // Read to the end, so that the server closes first and keeps the TIME_WAIT.
    let mut rest = Vec::new();
    let _ = conn.stream.read_to_end(&mut rest).await;
    Ok(())
}

/// One HTTP GET on a fresh connection to `127.0.0.1:port`: the status and the body.
pub async fn get(port: u16, path: &str) -> Result<(u16, String)> {
    let mut conn = HttpConn::open(port).await?;
    conn.request_get(path).await?;
    conn.response().await
}

/// An HTTP/1.1 connection that may carry several requests, one after the other.
struct HttpConn {
    port: u16,
    stream: BufReader<TcpStream>,
}

impl HttpConn {
    async fn open(port: u16) -> Result<HttpConn> {
        let stream = TcpStream::connect(("127.0.0.1", port)).await?;
        stream.set_nodelay(true)?;
        Ok(HttpConn {
            port,
            stream: BufReader::with_capacity(4096, stream),
        })
    }

    /// GET `path`, expecting a 200: the body.
    async fn get(&mut self, path: &str) -> Result<String> {
        self.request_get(path).await?;
        let (status, body) = self.response().await?;
        if status != 200 {
            fail!("GET {path} answered {status}: {}", truncate(&body));
        }
        Ok(body)
    }

    async fn request_get(&mut self, path: &str) -> Result<()> {
        let head = format!(
            "GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{}\r\n\r\n",
            self.port
        );
        self.stream.get_mut().write_all(head.as_bytes()).await?;
        Ok(())
    }

    /// Reads one response: the status and the body (by Content-Length, or chunked).
    async fn response(&mut self) -> Result<(u16, String)> {
        let status_line = self.line().await?;
        let status = status_line
            .split_whitespace()
            .nth(1)
            .and_then(|code| code.parse::<u16>().ok());
        let Some(status) = status else {
            fail!("not an HTTP status line: {:?}", truncate(&status_line));
        };
        let mut length = None;
        let mut chunked = false;
        loop {
            let line = self.line().await?;
            if line.is_empty() {
                break;
            }
            let Some((name, value)) = line.split_once(':') else {
                continue;
            };
            let value = value.trim();
            if name.eq_ignore_ascii_case("content-length") {
                length = Some(value.parse::<usize>()?);
            } else if name.eq_ignore_ascii_case("transfer-encoding") {
                chunked = value.eq_ignore_ascii_case("chunked");
            }
        }
        let body = if chunked {
            let mut body = Vec::new();
            loop {
                let size_line = self.line().await?;
                let size_hex = size_line.split(';').next().unwrap_or_default().trim();
                let size = usize::from_str_radix(size_hex, 16)?;
                if size == 0 {
                    // Trailers end with an empty line.
                    while !self.line().await?.is_empty() {}
                    break;
                }
                if body.len() + size > MAX_RESPONSE {
                    fail!("response body over {MAX_RESPONSE} bytes");
                }
                let start = body.len();
                body.resize(start + size, 0);
                self.stream.read_exact(&mut body[start..]).await?;
                self.line().await?;
            }
            body
        } else {
            let length = length.unwrap_or(0);
            if length > MAX_RESPONSE {
                fail!("response body of {length} bytes");
            }
            let mut body = vec![0; length];
            self.stream.read_exact(&mut body).await?;
            body
        };
        Ok((status, String::from_utf8(body)?))
    }

    /// One header line without its CRLF; fails at the end of the stream.
    async fn line(&mut self) -> Result<String> {
        let mut line = String::new();
        let read = (&mut self.stream)
            .take(MAX_RESPONSE as u64)
            .read_line(&mut line)
            .await?;
        if read == 0 {
            fail!("connection closed by the server");
        }
        Ok(line.trim_end_matches(['\r', '\n']).to_owned())
    }
}

/// Makes the next close of `stream` a reset: SO_LINGER on with a zero timeout sends an RST and
/// skips the FIN handshake, as when a client machine vanishes or a middlebox gives up.
pub fn set_zero_linger(stream: &impl AsRawFd) {
    let linger = libc::linger {
        l_onoff: 1,
        l_linger: 0,
    };
    // SAFETY: a valid socket descriptor and a correctly sized option value.
    unsafe {
        libc::setsockopt(
            stream.as_raw_fd(),
            libc::SOL_SOCKET,
            libc::SO_LINGER,
            (&linger as *const libc::linger).cast(),
            std::mem::size_of::<libc::linger>() as libc::socklen_t,
        );
    }
}
