//! gzip on polling GETs, as Node's engine.io `httpCompression`: a body from 1 KiB goes out gzipped
//! when the client accepts it, and decodes to the same packets; anything else goes out plain.

use std::io::Read as _;

use flate2::read::GzDecoder;

use crate::common::*;

/// A polling GET on the echo server's session, sent raw (no automatic decompression), with this
/// `Accept-Encoding`: its `Content-Encoding`, `Vary` and body bytes.
async fn raw_get(
    session: &Polling,
    accept: Option<&str>,
) -> (Option<String>, Option<String>, Vec<u8>) {
    let mut request = http_client().get(&session.url).no_decompress();
    if let Some(accept) = accept {
        request = request.insert_header(("Accept-Encoding", accept));
    }
    let mut response = request.send().await.expect("GET");
    assert_eq!(response.status(), 200);
    let header = |name| {
        response
            .headers()
            .get(name)
            .and_then(|v: &awc::http::header::HeaderValue| v.to_str().ok())
            .map(str::to_string)
    };
    let (encoding, vary) = (header("content-encoding"), header("vary"));
    let body = response.body().limit(64 << 20).await.expect("GET body");
    (encoding, vary, body.to_vec())
}

/// An echo session that has `packets` (joined as a POST body) waiting to be polled.
async fn echoed(server: &TestServer, packets: &[String]) -> Polling {
    let session = Polling::open(&server.http("/engine.io/")).await;
    let (status, _) = session.post(&packets.join("\u{1e}")).await;
    assert_eq!(status, 200);
    session
}

fn long_packets() -> Vec<String> {
    vec![
        format!("4{}", "agora polls ".repeat(300)),
        "4short".to_string(),
    ]
}

#[actix_web::test]
async fn a_long_payload_comes_back_gzipped() {
    let server = spawn_quiet().await;
    let packets = long_packets();
    let session = echoed(&server, &packets).await;
    let (encoding, vary, body) = raw_get(&session, Some("gzip, deflate")).await;
    assert_eq!(encoding.as_deref(), Some("gzip"));
    assert!(vary.unwrap_or_default().contains("Accept-Encoding"));
    let expected = packets.join("\u{1e}");
    assert!(
        body.len() < expected.len() / 4,
        "{} bytes gzipped",
        body.len()
    );
    let mut decoded = String::new();
    GzDecoder::new(&body[..])
        .read_to_string(&mut decoded)
        .expect("gzip");
    assert_eq!(decoded, expected);
    server.stop().await;
}

#[actix_web::test]
async fn a_short_payload_or_a_client_without_gzip_gets_it_plain() {
    let server = spawn_quiet().await;
    let short = vec!["4hello".to_string()];
    let session = echoed(&server, &short).await;
    let (encoding, vary, body) = raw_get(&session, Some("gzip")).await;
    assert_eq!(encoding, None, "below the threshold");
    assert!(vary.unwrap_or_default().contains("Accept-Encoding"));
    assert_eq!(body, b"4hello");

    let packets = long_packets();
    for accept in [None, Some("identity"), Some("gzip;q=0, br")] {
        let session = echoed(&server, &packets).await;
        let (encoding, _, body) = raw_get(&session, accept).await;
        assert_eq!(encoding, None, "Accept-Encoding {accept:?}");
        assert_eq!(String::from_utf8(body).unwrap(), packets.join("\u{1e}"));
    }
    server.stop().await;
}

#[actix_web::test]
async fn official_client_exchanges_large_messages_over_polling() {
    crate::interop::run_scenario("polling-gzip").await;
}
