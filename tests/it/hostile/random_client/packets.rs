//! Random content for the hostile clients: strings, JSON values, Engine.IO and Socket.IO packets,
//! valid or not.

use rand::rngs::StdRng;
use rand::seq::SliceRandom;
use rand::Rng;
use serde_json::{json, Value};

/// The events the app handles, and a few it only sends or reserves.
const EVENTS: &[&str] = &[
    "chat:rooms",
    "chat:join",
    "chat:leave",
    "chat:send",
    "chat:typing",
    "tweet:post",
    "trade:offer",
    "trade:accept",
    "trade:decline",
    "trade:cancel",
    "online",
    "welcome",
    "connect",
    "disconnect",
    "__proto__",
];
/// Keys of the app events' arguments.
const KEYS: &[&str] = &[
    "room", "text", "after", "to", "give", "want", "note", "id", "token", "pid", "offset",
];
/// Namespaces a CONNECT names: the real one, unknown ones, malformed ones.
const NAMESPACES: &[&str] = &[
    "/", "/", "/", "/admin", "/nope", "//", "/\u{e9}", "/a,b", "",
];

pub(super) fn text(rng: &mut StdRng) -> String {
    match rng.gen_range(0..8) {
        0 => String::new(),
        1 => "lobby".into(),
        2 => format!("fuzz{}", rng.gen_range(0..4)),
        3 => "x".repeat(rng.gen_range(100..5_000)),
        4 => (0..rng.gen_range(1..40))
            .map(|_| char::from_u32(rng.gen_range(0..0x11_0000)).unwrap_or('\u{fffd}'))
            .collect(),
        5 => "\u{0}\u{1}\u{7f}\u{202e}\u{feff}../../etc/passwd<script>".into(),
        6 => "\u{1f600}".repeat(rng.gen_range(1..600)),
        _ => format!("hi {}", rng.gen::<u32>()),
    }
}

/// A random JSON number, some far out of any range.
pub(super) fn number(rng: &mut StdRng) -> Value {
    match rng.gen_range(0..5) {
        0 => json!(rng.gen_range(-3..1_000)),
        1 => json!(i64::MIN),
        2 => json!(u64::MAX),
        3 => json!(rng.gen::<f64>() * 1e300),
        _ => json!(-0.5),
    }
}

/// A random JSON value of at most `depth` more levels.
pub(super) fn value(rng: &mut StdRng, depth: u32) -> Value {
    let kinds = if depth == 0 { 5 } else { 8 };
    match rng.gen_range(0..kinds) {
        0 => Value::Null,
        1 => json!(rng.gen_bool(0.5)),
        2 => number(rng),
        3 | 4 => json!(text(rng)),
        5 => Value::Array(
            (0..rng.gen_range(0..5))
                .map(|_| value(rng, depth - 1))
                .collect(),
        ),
        _ => arguments(rng, depth - 1),
    }
}

/// An object with some of the keys the app events read, each of a random type.
pub(super) fn arguments(rng: &mut StdRng, depth: u32) -> Value {
    let mut object = serde_json::Map::new();
    for _ in 0..rng.gen_range(0..5) {
        let key = *KEYS.choose(rng).expect("KEYS is not empty");
        let value = match (key, rng.gen_bool(0.6)) {
            ("room", true) => json!(["lobby", "fuzz", ""].choose(rng)),
            ("to", true) => json!(["mallory", "nobody", ""].choose(rng)),
            ("give" | "want", true) => json!([rng.gen_range(-2..50), rng.gen_range(0..3)]),
            ("id" | "after", true) => json!(rng.gen_range(-1..20)),
            _ if depth > 0 => value(rng, depth),
            _ => json!(text(rng)),
        };
        object.insert(key.to_string(), value);
    }
    Value::Object(object)
}

/// A Socket.IO packet (without the Engine.IO `4` in front), valid or not.
pub(super) fn socket_io(rng: &mut StdRng, token: &str) -> String {
    match rng.gen_range(0..20) {
        0..=2 => connect(rng, token),
        3 => format!("41{}", namespace_prefix(rng)),
        4..=10 => {
            let event = EVENTS.choose(rng).expect("EVENTS is not empty");
            let mut args = vec![json!(event)];
            args.extend((0..rng.gen_range(0..3)).map(|_| arguments(rng, 2)));
            let id = if rng.gen_bool(0.5) {
                rng.gen_range(0..1_000u32).to_string()
            } else {
                String::new()
            };
            format!("42{}{id}{}", namespace_prefix(rng), Value::Array(args))
        }
        11 => format!("42{}", value(rng, 3)),
        12 => format!("43{}{}", rng.gen::<u32>(), json!([value(rng, 2)])),
        13 => format!("44{}", json!({ "message": text(rng) })),
        14 => {
            // A binary event announcing attachments that never come.
            let count = [1, 2, 9, 1_000_000, u64::MAX].choose(rng).copied();
            let count = count.unwrap_or(1);
            let id = rng.gen::<u16>();
            format!(
                r#"45{count}-{id}["chat:send",{{"_placeholder":true,"num":0}},{{"_placeholder":true,"num":7}}]"#
            )
        }
        15 => format!(
            r#"46{}-{}[{{"_placeholder":true,"num":0}}]"#,
            rng.gen::<u8>(),
            rng.gen::<u32>()
        ),
        16 => {
            let cut = [
                r#"["chat:send",{"room":"#,
                r#"["chat:join""#,
                "[",
                "{}",
                r#"["chat:send",{"room":"lobby","text":"\ud800"}]"#,
                r#"["chat:join",{"room":"lobby","after":1e999}]"#,
                r#"["chat:join",{"room":"lobby","after":123456789012345678901234567890}]"#,
            ];
            format!("42{}", cut.choose(rng).expect("not empty"))
        }
        17 => format!("42{}[\"chat:rooms\"]", "9".repeat(rng.gen_range(10..40))),
        18 => {
            let depth = rng.gen_range(100..3_000);
            format!(
                "42[\"chat:send\",{}{}]",
                "[".repeat(depth),
                "]".repeat(depth)
            )
        }
        _ => format!("{}{}", rng.gen_range(0..10), text(rng)),
    }
}

/// `/nsp,` for a random namespace, or nothing (the main namespace) most of the time.
pub(super) fn namespace_prefix(rng: &mut StdRng) -> String {
    match rng.gen_range(0..6) {
        0 => format!("{},", NAMESPACES.choose(rng).expect("not empty")),
        _ => String::new(),
    }
}

/// A CONNECT to a random or real namespace, with or without (valid, forged or absurd) auth.
pub(super) fn connect(rng: &mut StdRng, token: &str) -> String {
    let auth = match rng.gen_range(0..7) {
        0 => json!({ "token": token }).to_string(),
        1 => json!({ "token": text(rng) }).to_string(),
        2 => json!({ "pid": text(rng), "offset": text(rng) }).to_string(),
        3 => value(rng, 2).to_string(),
        4 => "{\"token\":".into(),
        _ => String::new(),
    };
    format!("40{}{auth}", namespace_prefix(rng))
}

/// An Engine.IO packet, valid or not; most carry a Socket.IO packet.
pub(super) fn engine_io(rng: &mut StdRng, token: &str) -> String {
    match rng.gen_range(0..40) {
        0 => "1".into(),
        1 => "2".into(),
        2 => "3".into(),
        3 => "5".into(),
        4 => "6".into(),
        5 => String::new(),
        6 => format!(
            "{}{}",
            ['0', '7', '8', '9', 'x'].choose(rng).expect("not empty"),
            text(rng)
        ),
        _ => format!("4{}", socket_io(rng, token)),
    }
}

/// Random bytes, never valid UTF-8 (the first is a lone continuation byte).
pub(super) fn random_bytes(rng: &mut StdRng, max: usize) -> Vec<u8> {
    let mut bytes = vec![0u8; rng.gen_range(1..max)];
    rng.fill(&mut bytes[..]);
    bytes[0] = 0x80;
    bytes
}
