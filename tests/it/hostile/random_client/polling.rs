//! The hostile polling client.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::Value;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio::time::{timeout, Instant};

use super::packets::{connect, engine_io, random_bytes, text};
use super::{pause, Tally, OP_WAIT};

/// A hostile polling client until `until`: handshakes (sometimes badly), POSTs random bodies,
/// GETs with a short patience, doubles GETs, half-writes requests and resets them.
pub(super) async fn polling_client(
    port: u16,
    mut rng: StdRng,
    token: String,
    until: Instant,
    tally: Arc<Tally>,
) {
    let http = awc::Client::builder().timeout(OP_WAIT).finish();
    let base = format!("http://127.0.0.1:{port}/socket.io/?EIO=4&transport=polling");
    let mut sid: Option<String> = None;
    while Instant::now() < until {
        tally.actions.fetch_add(1, Ordering::Relaxed);
        pause(&mut rng).await;
        let Some(current) = sid.clone() else {
            sid = handshake(&http, &base, &mut rng).await;
            if let Some(sid) = &sid {
                tally.sessions.fetch_add(1, Ordering::Relaxed);
                if rng.gen_bool(0.85) {
                    let _ = send(
                        &http,
                        &format!("{base}&sid={sid}"),
                        connect(&mut rng, &token).into(),
                    )
                    .await;
                }
            }
            continue;
        };
        let url = format!("{base}&sid={current}");
        let status = match rng.gen_range(0..42) {
            40 | 41 => {
                let burst = vec!["40"; rng.gen_range(2..60)].join("\u{1e}");
                send(&http, &url, burst.into_bytes()).await
            }
            0..=19 => {
                let body: Vec<String> = (0..rng.gen_range(1..6))
                    .map(|_| engine_io(&mut rng, &token))
                    .collect();
                send(&http, &url, body.join("\u{1e}").into_bytes()).await
            }
            20 => send(&http, &url, random_bytes(&mut rng, 2_000)).await,
            21 => {
                let bytes = random_bytes(&mut rng, 500);
                use base64::Engine as _;
                let packet = base64::engine::general_purpose::STANDARD.encode(bytes);
                let body = format!(
                    "451-[\"chat:send\",{{\"_placeholder\":true,\"num\":0}}]\u{1e}b{packet}"
                );
                send(&http, &url, body.into_bytes()).await
            }
            22 => send(&http, &url, b"b!!not base64!!".to_vec()).await,
            23 => send(&http, &url, vec![b'4'; 1_100_000]).await,
            24 => {
                let (a, b) = tokio::join!(fetch(&http, &url), fetch(&http, &url));
                a.or(b)
            }
            25 | 26 => {
                half_written_post(port, &current, &mut rng).await;
                None
            }
            27 => {
                send(
                    &http,
                    &format!("{base}&sid=nope{}", rng.gen::<u32>()),
                    b"40".to_vec(),
                )
                .await
            }
            28 => {
                fetch(
                    &http,
                    &format!(
                        "http://127.0.0.1:{port}/socket.io/?EIO=3&transport=polling&sid={current}"
                    ),
                )
                .await
            }
            _ => fetch(&http, &url).await,
        };
        // 400: the session is gone (closed, or ended for misbehaving): start another.
        if status.is_none_or(|s| s == 400) {
            sid = None;
        }
    }
}

/// A handshake, one time in ten with a bad query; answers the session id, if one was opened.
pub(super) async fn handshake(http: &awc::Client, base: &str, rng: &mut StdRng) -> Option<String> {
    let url = match rng.gen_range(0..10) {
        0 => base.replace(
            "EIO=4",
            ["EIO=3", "EIO=", "EIO=99999999999999999999"].choose(rng)?,
        ),
        1 => format!("{base}&sid={}", text(rng).replace(['&', '#', ' '], "")),
        _ => base.to_string(),
    };
    let mut response = timeout(OP_WAIT, http.get(url).send()).await.ok()?.ok()?;
    let body = timeout(OP_WAIT, response.body()).await.ok()?.ok()?;
    let open: Value = serde_json::from_slice(body.strip_prefix(b"0")?).ok()?;
    open["sid"].as_str().map(str::to_string)
}

/// A GET; answers the status, if any came.
pub(super) async fn fetch(http: &awc::Client, url: &str) -> Option<u16> {
    let mut response = http.get(url).send().await.ok()?;
    let _ = timeout(OP_WAIT, response.body()).await;
    Some(response.status().as_u16())
}

/// A POST of `body`; answers the status, if any came.
pub(super) async fn send(http: &awc::Client, url: &str, body: Vec<u8>) -> Option<u16> {
    let mut response = http.post(url).send_body(body).await.ok()?;
    let _ = timeout(OP_WAIT, response.body()).await;
    Some(response.status().as_u16())
}

/// A POST whose body stops halfway, then a TCP reset.
pub(super) async fn half_written_post(port: u16, sid: &str, rng: &mut StdRng) {
    let Ok(Ok(mut tcp)) = timeout(OP_WAIT, TcpStream::connect(("127.0.0.1", port))).await else {
        return;
    };
    let request = format!(
        "POST /socket.io/?EIO=4&transport=polling&sid={sid} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Length: 1000\r\n\r\n42[\"chat:send\",{{\"room\":\"lob"
    );
    let cut = rng.gen_range(1..request.len());
    let _ = timeout(OP_WAIT, tcp.write_all(&request.as_bytes()[..cut])).await;
    reset(tcp);
}

/// Closes a TCP connection with a reset (SO_LINGER 0).
pub(super) fn reset(tcp: TcpStream) {
    #[allow(deprecated)] // set_zero_linger is not in every tokio 1.x
    let _ = tcp.set_linger(Some(Duration::ZERO));
    drop(tcp);
}
