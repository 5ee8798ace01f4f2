//! Event and ack arguments, with binary attachments referenced by placeholders.
//!
//! Arguments stay JSON; a binary value inside them is the protocol's placeholder object
//! `{"_placeholder":true,"num":N}` pointing at `attachments[N]`. This is the wire form, so packets are
//! neither rebuilt nor copied on the way through, and [`Payload::binary`] resolves a placeholder.

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

/// The arguments of an event or acknowledgement.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Payload {
    /// JSON arguments, possibly holding placeholders.
    pub args: Vec<Value>,
    /// Binary attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
}

impl Payload {
    /// A payload of JSON arguments.
    pub fn new(args: Vec<Value>) -> Payload {
        Payload {
            args,
            attachments: Vec::new(),
        }
    }

    /// A payload of no arguments.
    pub fn empty() -> Payload {
        Payload::default()
    }

    /// A payload of one argument, serialized from `value`.
    pub fn json(value: impl Serialize) -> Payload {
        // Serializing our own plain data types to a Value cannot fail (no non-string map keys).
        let value = serde_json::to_value(value).unwrap_or(Value::Null);
        Payload::new(vec![value])
    }

    /// Adds a binary attachment and returns the placeholder that stands for it in the arguments.
    pub fn attach(&mut self, bytes: Bytes) -> Value {
        let num = self.attachments.len();
        self.attachments.push(bytes);
        serde_json::json!({ "_placeholder": true, "num": num })
    }

    /// The attachment a placeholder stands for.
    pub fn binary(&self, value: &Value) -> Option<&Bytes> {
        placeholder_index(value).and_then(|num| self.attachments.get(num))
    }

    /// The first argument, deserialized.
    pub fn first<T: DeserializeOwned>(&self) -> Result<T, serde_json::Error> {
        T::deserialize(self.args.first().unwrap_or(&Value::Null))
    }

    /// Checks that the placeholders, read in order, are the attachments in order, each once: the
    /// only form a parser that holds binary values inline (msgpack) can write back as it read it.
    pub fn placeholders_in_order(&self) -> bool {
        let mut next = 0;
        self.args
            .iter()
            .all(|arg| placeholders_numbered_from(arg, &mut next))
            && next == self.attachments.len()
    }

    /// Checks that every placeholder points at an attachment and every attachment is used.
    pub fn placeholders_valid(&self) -> bool {
        let mut used = vec![false; self.attachments.len()];
        let all_in_range = self
            .args
            .iter()
            .all(|arg| visit_placeholders(arg, &mut used));
        all_in_range && used.iter().all(|u| *u)
    }
}

/// Whether the placeholders of `value`, read in order, number on from `*next` (advancing it).
fn placeholders_numbered_from(value: &Value, next: &mut usize) -> bool {
    match value {
        Value::Object(object) if object.get("_placeholder") == Some(&Value::Bool(true)) => {
            if placeholder_index(value) != Some(*next) {
                return false;
            }
            *next += 1;
            true
        }
        Value::Object(object) => object.values().all(|v| placeholders_numbered_from(v, next)),
        Value::Array(items) => items.iter().all(|v| placeholders_numbered_from(v, next)),
        _ => true,
    }
}

/// `Some(N)` when `value` is a placeholder object with an integer `num`.
fn placeholder_index(value: &Value) -> Option<usize> {
    let object = value.as_object()?;
    if object.get("_placeholder")? != &Value::Bool(true) {
        return None;
    }
    object.get("num")?.as_u64().map(|n| n as usize)
}

fn visit_placeholders(value: &Value, used: &mut [bool]) -> bool {
    match value {
        Value::Object(object) if object.get("_placeholder") == Some(&Value::Bool(true)) => {
            match placeholder_index(value) {
                Some(num) if num < used.len() => {
                    used[num] = true;
                    true
                }
                _ => false,
            }
        }
        Value::Object(object) => object.values().all(|v| visit_placeholders(v, used)),
        Value::Array(items) => items.iter().all(|v| visit_placeholders(v, used)),
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn resolves_placeholders() {
        let mut payload = Payload::empty();
        let placeholder = payload.attach(Bytes::from_static(b"abc"));
        payload.args.push(json!({ "file": placeholder }));
        assert!(payload.placeholders_valid());
        assert_eq!(
            payload.binary(&payload.args[0]["file"]),
            Some(&Bytes::from_static(b"abc"))
        );
    }

    #[test]
    fn rejects_bad_placeholders() {
        let attachments = vec![Bytes::from_static(b"x")];
        for args in [
            vec![json!({"_placeholder": true, "num": 1})],
            vec![json!({"_placeholder": true, "num": "0"})],
            vec![json!({"_placeholder": true, "num": -1})],
            vec![json!({"_placeholder": true})],
            vec![json!("unused attachment")],
        ] {
            let payload = Payload {
                args: args.clone(),
                attachments: attachments.clone(),
            };
            assert!(!payload.placeholders_valid(), "{args:?}");
        }
    }
}
