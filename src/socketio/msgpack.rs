//! MessagePack as Node writes it (notepack.io, under both `socket.io-msgpack-parser` and the
//! Redis adapter), converted to and from Agora's JSON arguments with binary placeholders.

use bytes::Bytes;
use indexmap::IndexMap;
use rmpv::Value as Msg;
use serde_json::{Map, Number, Value};

/// Deepest nesting read, as deep as serde_json reads JSON.
pub const MAX_DEPTH: usize = 128;

/// Bytes that are not one whole MessagePack value.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("not valid MessagePack")]
pub struct InvalidMessagePack;

/// Reads exactly one MessagePack value (nested at most [`MAX_DEPTH`] deep; no trailing bytes, as
/// notepack.io refuses them too).
pub fn read(bytes: &[u8]) -> Result<Msg, InvalidMessagePack> {
    let mut reader = bytes;
    let value = rmpv::decode::read_value_with_max_depth(&mut reader, MAX_DEPTH)
        .map_err(|_| InvalidMessagePack)?;
    if !reader.is_empty() {
        return Err(InvalidMessagePack);
    }
    Ok(value)
}

/// Writes one MessagePack value.
pub fn write(value: &Msg) -> Vec<u8> {
    let mut out = Vec::with_capacity(64);
    // Writing to a Vec cannot fail.
    let _ = rmpv::encode::write_value(&mut out, value);
    out
}

/// MessagePack to JSON: binary (and extension) values become placeholders over `attachments`;
/// map keys become strings.
pub fn msgpack_to_json(value: Msg, attachments: &mut Vec<Bytes>) -> Value {
    match value {
        Msg::Nil => Value::Null,
        Msg::Boolean(b) => Value::Bool(b),
        Msg::Integer(i) => match (i.as_i64(), i.as_u64()) {
            (Some(n), _) => Value::from(n),
            (None, Some(n)) => Value::from(n),
            _ => Value::Null,
        },
        Msg::F32(f) => Number::from_f64(f64::from(f)).map_or(Value::Null, Value::Number),
        Msg::F64(f) => Number::from_f64(f).map_or(Value::Null, Value::Number),
        Msg::String(s) => Value::String(text(s)),
        // notepack.io's `undefined`, which JSON writes as null in an array.
        Msg::Ext(0, bytes) if bytes.len() == 1 => Value::Null,
        Msg::Binary(bytes) | Msg::Ext(_, bytes) => {
            let num = attachments.len();
            attachments.push(Bytes::from(bytes));
            serde_json::json!({ "_placeholder": true, "num": num })
        }
        Msg::Array(items) => Value::Array(
            items
                .into_iter()
                .map(|item| msgpack_to_json(item, attachments))
                .collect(),
        ),
        Msg::Map(entries) => {
            // Keys first, as JavaScript (and a JSON object) reads them: a repeated key keeps its
            // first place and its last value. Only then are the values converted, so binary
            // values are numbered in the order the object lists them (and writes them back), and
            // a binary value that was overwritten is not kept as an attachment.
            let mut fields = IndexMap::with_capacity(entries.len());
            for (key, value) in entries {
                let key = match key {
                    Msg::String(s) => text(s),
                    other => other.to_string(),
                };
                fields.insert(key, value);
            }
            Value::Object(
                fields
                    .into_iter()
                    .map(|(key, value)| (key, msgpack_to_json(value, attachments)))
                    .collect(),
            )
        }
    }
}

/// A MessagePack string as text (invalid UTF-8 replaced).
pub fn text(s: rmpv::Utf8String) -> String {
    if s.is_str() {
        s.into_str().unwrap_or_default()
    } else {
        String::from_utf8_lossy(&s.into_bytes()).into_owned()
    }
}

/// JSON to MessagePack: with `attachments`, placeholders become the binary values they stand for.
pub fn json_to_msgpack(value: &Value, attachments: &[Bytes]) -> Msg {
    match value {
        Value::Null => Msg::Nil,
        Value::Bool(b) => Msg::Boolean(*b),
        Value::Number(n) => {
            if let Some(i) = n.as_i64() {
                Msg::from(i)
            } else if let Some(u) = n.as_u64() {
                Msg::from(u)
            } else {
                Msg::F64(n.as_f64().unwrap_or(0.0))
            }
        }
        Value::String(s) => Msg::from(s.as_str()),
        Value::Array(items) => Msg::Array(
            items
                .iter()
                .map(|item| json_to_msgpack(item, attachments))
                .collect(),
        ),
        Value::Object(object) => {
            if !attachments.is_empty() {
                if let Some(bytes) = placeholder(object).and_then(|num| attachments.get(num)) {
                    return Msg::Binary(bytes.to_vec());
                }
            }
            Msg::Map(
                object
                    .iter()
                    .map(|(key, value)| {
                        (Msg::from(key.as_str()), json_to_msgpack(value, attachments))
                    })
                    .collect(),
            )
        }
    }
}

/// The attachment number of a binary placeholder `{"_placeholder":true,"num":N}`.
fn placeholder(object: &Map<String, Value>) -> Option<usize> {
    if object.get("_placeholder")? != &Value::Bool(true) {
        return None;
    }
    object.get("num")?.as_u64().map(|n| n as usize)
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn converts_nested_binary_both_ways() {
        let original = Msg::Array(vec![
            Msg::from("ev"),
            Msg::Map(vec![(
                Msg::from("file"),
                Msg::Array(vec![Msg::Binary(vec![9]), Msg::Binary(vec![8, 7])]),
            )]),
            Msg::F64(1.5),
            Msg::from(-3),
            Msg::Nil,
        ]);
        let mut attachments = Vec::new();
        let json = msgpack_to_json(original.clone(), &mut attachments);
        assert_eq!(
            json,
            json!(["ev", {"file": [{"_placeholder": true, "num": 0}, {"_placeholder": true, "num": 1}]}, 1.5, -3, null])
        );
        assert_eq!(attachments.len(), 2);
        assert_eq!(json_to_msgpack(&json, &attachments), original);
    }

    #[test]
    fn a_repeated_key_keeps_its_first_place_and_its_last_value() {
        let original = Msg::Map(vec![
            (Msg::from("a"), Msg::Binary(vec![1])),
            (Msg::from("b"), Msg::Binary(vec![2])),
            (Msg::from("a"), Msg::Binary(vec![3])),
        ]);
        let mut attachments = Vec::new();
        let json = msgpack_to_json(original, &mut attachments);
        assert_eq!(
            json,
            json!({"a": {"_placeholder": true, "num": 0}, "b": {"_placeholder": true, "num": 1}})
        );
        // The overwritten value is not an attachment; the others are numbered in the object's order.
        assert_eq!(
            attachments,
            vec![Bytes::from_static(&[3]), Bytes::from_static(&[2])]
        );
    }
}
