//! gzip on polling responses, as Node's engine.io does with `httpCompression` (on by default):
//! a GET whose body reaches [`GZIP_THRESHOLD`] bytes goes out gzipped when the client accepts it.

use std::io::Write as _;

use actix_web::http::header::{self, HeaderMap};
use actix_web::HttpResponse;
use flate2::write::GzEncoder;
use flate2::Compression;

/// Bodies shorter than this go out as they are (Node's `httpCompression.threshold`, 1 KiB):
/// below it, gzip's header and the CPU cost outweigh what it saves.
pub const GZIP_THRESHOLD: usize = 1024;

const TEXT_PLAIN: &str = "text/plain; charset=UTF-8";

/// True when `Accept-Encoding` accepts gzip (named, or `*`, with a weight above zero).
pub fn accepts_gzip(headers: &HeaderMap) -> bool {
    let mut named = None;
    let mut any = false;
    let codings = headers
        .get_all(header::ACCEPT_ENCODING)
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','));
    for coding in codings {
        let mut parts = coding.split(';');
        let name = parts.next().unwrap_or_default().trim();
        let weight = parts
            .filter_map(|param| {
                let (key, value) = param.split_once('=')?;
                key.trim()
                    .eq_ignore_ascii_case("q")
                    .then(|| value.trim().parse::<f32>().ok())?
            })
            .next()
            .unwrap_or(1.0);
        if name.eq_ignore_ascii_case("gzip") || name.eq_ignore_ascii_case("x-gzip") {
            named = Some(weight > 0.0);
        } else if name == "*" {
            any = weight > 0.0;
        }
    }
    named.unwrap_or(any)
}

/// The answer to a polling GET: `body`, gzipped when `gzip` and it reaches the threshold.
/// `Vary: Accept-Encoding` either way, since the same URL may be answered both ways.
pub fn polling_response(body: String, gzip: bool) -> HttpResponse {
    let mut response = HttpResponse::Ok();
    response
        .content_type(TEXT_PLAIN)
        .insert_header((header::VARY, "Accept-Encoding"));
    if gzip && body.len() >= GZIP_THRESHOLD {
        match compress(body.as_bytes()) {
            Ok(compressed) => {
                return response
                    .insert_header((header::CONTENT_ENCODING, "gzip"))
                    .body(compressed)
            }
            // Writing into memory does not fail; if it ever did, the plain body still serves.
            Err(error) => tracing::error!(%error, "gzip of a polling response failed"),
        }
    }
    response.body(body)
}

fn compress(bytes: &[u8]) -> std::io::Result<Vec<u8>> {
    let mut encoder = GzEncoder::new(Vec::with_capacity(bytes.len() / 4), Compression::default());
    encoder.write_all(bytes)?;
    encoder.finish()
}

#[cfg(test)]
mod tests {
    use super::*;
    use actix_web::body::MessageBody;
    use actix_web::http::header::HeaderValue;
    use flate2::read::GzDecoder;
    use std::io::Read as _;

    fn accepts(values: &[&str]) -> bool {
        let mut headers = HeaderMap::new();
        for value in values {
            headers.append(
                header::ACCEPT_ENCODING,
                HeaderValue::from_str(value).unwrap(),
            );
        }
        accepts_gzip(&headers)
    }

    #[test]
    fn reads_accept_encoding_with_weights() {
        assert!(!accepts(&[]));
        assert!(accepts(&["gzip"]));
        assert!(accepts(&["gzip, deflate, br"]));
        assert!(accepts(&["br", "GZIP;q=0.5"]));
        assert!(accepts(&["*"]));
        assert!(accepts(&["deflate, x-gzip"]));
        assert!(!accepts(&["deflate, br"]));
        assert!(!accepts(&["gzip;q=0"]));
        assert!(!accepts(&["*, gzip;q=0"]), "a named refusal beats *");
        assert!(!accepts(&["*;q=0"]));
        assert!(!accepts(&["identity"]));
        assert!(
            accepts(&["gzip;q=nonsense"]),
            "an unreadable weight counts as 1"
        );
    }

    fn body_of(response: HttpResponse) -> Vec<u8> {
        let bytes = response.into_body().try_into_bytes();
        bytes.map(|b| b.to_vec()).unwrap_or_default()
    }

    #[test]
    fn compresses_from_the_threshold_only_when_accepted() {
        let long = "4hello".repeat(GZIP_THRESHOLD);
        let response = polling_response(long.clone(), true);
        assert_eq!(
            response.headers().get(header::CONTENT_ENCODING).unwrap(),
            "gzip"
        );
        assert_eq!(
            response.headers().get(header::VARY).unwrap(),
            "Accept-Encoding"
        );
        let mut decoded = String::new();
        GzDecoder::new(&body_of(response)[..])
            .read_to_string(&mut decoded)
            .unwrap();
        assert_eq!(decoded, long);

        let short = "x".repeat(GZIP_THRESHOLD - 1);
        let response = polling_response(short.clone(), true);
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_of(response), short.as_bytes());

        let response = polling_response(long.clone(), false);
        assert!(response.headers().get(header::CONTENT_ENCODING).is_none());
        assert_eq!(body_of(response), long.as_bytes());
    }
}
