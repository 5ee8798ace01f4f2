//! A TCP proxy in front of the local Redis (127.0.0.1:6379), to make Redis unreachable on demand.

use std::sync::{Arc, Mutex};

use tokio::task::JoinHandle;

/// A TCP proxy to Redis that can be cut (connections dropped, port closed) and restored.
pub struct Proxy {
    port: u16,
    accept: Option<JoinHandle<()>>,
    connections: Arc<Mutex<Vec<JoinHandle<()>>>>,
}

impl Proxy {
    /// A proxy listening on a free port, relaying to the local Redis.
    pub async fn start() -> Proxy {
        let mut proxy = Proxy {
            port: 0,
            accept: None,
            connections: Arc::default(),
        };
        proxy.listen().await;
        proxy
    }

    /// The Redis URL of the proxy.
    pub fn url(&self) -> String {
        format!("redis://127.0.0.1:{}", self.port)
    }

    async fn listen(&mut self) {
        let listener = tokio::net::TcpListener::bind(("127.0.0.1", self.port))
            .await
            .expect("bind the proxy");
        self.port = listener.local_addr().unwrap().port();
        let connections = Arc::clone(&self.connections);
        self.accept = Some(tokio::spawn(async move {
            while let Ok((mut inbound, _)) = listener.accept().await {
                let relay = tokio::spawn(async move {
                    if let Ok(mut outbound) = tokio::net::TcpStream::connect("127.0.0.1:6379").await
                    {
                        let _ = tokio::io::copy_bidirectional(&mut inbound, &mut outbound).await;
                    }
                });
                connections.lock().unwrap().push(relay);
            }
        }));
    }

    /// Redis becomes unreachable: open connections drop, new ones are refused.
    pub async fn cut(&mut self) {
        if let Some(accept) = self.accept.take() {
            accept.abort();
            let _ = accept.await;
        }
        for relay in self.connections.lock().unwrap().drain(..) {
            relay.abort();
        }
    }

    /// Redis is back, on the same port.
    pub async fn restore(&mut self) {
        self.listen().await;
    }
}
