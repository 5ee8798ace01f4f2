//! Event and ack arguments, with binary attachments referenced by placeholders.
//!
//! Arguments stay JSON; a binary value inside them is the protocol's placeholder object
//! `{"_placeholder":true,"num":N}` pointing at `attachments[N]`. This is the wire form, so packets are
//! neither rebuilt nor copied on the way through, and [`Payload::binary`] resolves a placeholder.
//!
//! Arguments read off the wire stay text until something asks for their values: an ack that
//! echoes them, or a broadcast that relays them, writes the text back as it came (see
//! [`json_text`](super::json_text), which checked it).

use std::sync::OnceLock;

use bytes::Bytes;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::Value;

use super::json_text;

/// The arguments of an event or acknowledgement.
#[derive(Debug, Clone, Default)]
pub struct Payload {
    /// The arguments as JSON text, `[…]`, when they were read off the wire and not changed since.
    /// Never blank, and it holds no placeholder (the decoder checked both).
    text: Option<Box<str>>,
    /// The arguments as values: parsed from `text` when first asked for.
    values: OnceLock<Vec<Value>>,
    /// Binary attachments, in placeholder order.
    pub attachments: Vec<Bytes>,
}

impl Payload {
    /// A payload of JSON arguments.
    pub fn new(args: Vec<Value>) -> Payload {
        Payload {
            text: None,
            values: OnceLock::from(args),
            attachments: Vec::new(),
        }
    }

    /// A payload of JSON arguments and the attachments their placeholders point at.
    pub fn with_attachments(args: Vec<Value>, attachments: Vec<Bytes>) -> Payload {
        Payload {
            attachments,
            ..Payload::new(args)
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

    /// A payload of the arguments `elements` (comma-separated JSON, as [`json_text`] read and
    /// checked them, free of placeholders), kept as text.
    pub(crate) fn from_checked_text(elements: &str) -> Payload {
        if elements.is_empty() {
            return Payload::empty();
        }
        let mut text = String::with_capacity(elements.len() + 2);
        text.push('[');
        text.push_str(elements);
        text.push(']');
        Payload {
            text: Some(text.into_boxed_str()),
            values: OnceLock::new(),
            attachments: Vec::new(),
        }
    }

    /// The arguments, parsed now if they are still text.
    pub fn args(&self) -> &[Value] {
        self.values.get_or_init(|| match &self.text {
            Some(text) => {
                let parsed = serde_json::from_str(text);
                // The decoder checked the text as `Value` reads it, so this cannot fail; the
                // fuzz targets (built with debug assertions) hold the two readers to that.
                debug_assert!(parsed.is_ok(), "checked arguments do not parse: {parsed:?}");
                parsed.unwrap_or_default()
            }
            None => Vec::new(),
        })
    }

    /// The arguments, to change them (they are not written back as the text they came as).
    pub fn args_mut(&mut self) -> &mut Vec<Value> {
        self.args();
        self.text = None;
        // `args` has just set the values, if they were not set before.
        self.values.get_mut().expect("set by args()")
    }

    /// The arguments, taken out.
    pub fn into_args(self) -> Vec<Value> {
        self.into_parts().0
    }

    /// The arguments and the attachments, taken apart.
    pub fn into_parts(mut self) -> (Vec<Value>, Vec<Bytes>) {
        (std::mem::take(self.args_mut()), self.attachments)
    }

    /// Takes the first argument off (`None` when there is none), leaving the others as they were:
    /// text that came as text stays text.
    pub fn take_first(&mut self) -> Option<Value> {
        if self.values.get().is_none() {
            if let Some(array) = self.text.as_deref().and_then(json_text::split_checked) {
                let first = array
                    .first
                    .and_then(|first| serde_json::from_str(first).ok());
                let rest = Payload::from_checked_text(array.after_first);
                self.text = rest.text;
                return first;
            }
        }
        let args = self.args_mut();
        (!args.is_empty()).then(|| args.remove(0))
    }

    /// Writes the arguments as JSON, comma-separated without brackets, as they go after an event's
    /// name or inside an ack's array.
    pub(crate) fn write_elements(&self, out: &mut Vec<u8>) {
        if let Some(text) = &self.text {
            // `text` is `[`, at least one element, `]` (only `from_checked_text` builds it).
            out.extend_from_slice(&text.as_bytes()[1..text.len() - 1]);
            return;
        }
        for (n, arg) in self.args().iter().enumerate() {
            if n > 0 {
                out.push(b',');
            }
            // Serializing a JSON value to a Vec cannot fail.
            let _ = serde_json::to_writer(&mut *out, arg);
        }
    }

    /// Whether there are no arguments.
    pub fn is_empty(&self) -> bool {
        self.text.is_none() && self.args().is_empty()
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
        T::deserialize(self.args().first().unwrap_or(&Value::Null))
    }

    /// Checks that the placeholders, read in order, are the attachments in order, each once: the
    /// only form a parser that holds binary values inline (msgpack) can write back as it read it.
    pub fn placeholders_in_order(&self) -> bool {
        let mut next = 0;
        self.args()
            .iter()
            .all(|arg| placeholders_numbered_from(arg, &mut next))
            && next == self.attachments.len()
    }

    /// Checks that every placeholder points at an attachment and every attachment is used.
    pub fn placeholders_valid(&self) -> bool {
        if self.text.is_some() && self.attachments.is_empty() {
            // Text holds no placeholder: the decoder checked it.
            return true;
        }
        let mut used = vec![false; self.attachments.len()];
        let all_in_range = self
            .args()
            .iter()
            .all(|arg| visit_placeholders(arg, &mut used));
        all_in_range && used.iter().all(|u| *u)
    }
}

/// Payloads are equal when their arguments and attachments are, whether held as text or values.
impl PartialEq for Payload {
    fn eq(&self, other: &Payload) -> bool {
        self.args() == other.args() && self.attachments == other.attachments
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
        payload.args_mut().push(json!({ "file": placeholder }));
        assert!(payload.placeholders_valid());
        assert_eq!(
            payload.binary(&payload.args()[0]["file"]),
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
            let mut payload = Payload::new(args.clone());
            payload.attachments = attachments.clone();
            assert!(!payload.placeholders_valid(), "{args:?}");
        }
    }

    fn written(payload: &Payload) -> String {
        let mut out = Vec::new();
        payload.write_elements(&mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn text_goes_back_out_as_it_came() {
        let payload = Payload::from_checked_text(r#"1, {"b":"\u00e9"}"#);
        assert_eq!(written(&payload), r#"1, {"b":"\u00e9"}"#);
        assert_eq!(payload.args(), [json!(1), json!({"b": "é"})]);
        assert_eq!(
            written(&payload),
            r#"1, {"b":"\u00e9"}"#,
            "reading is not changing"
        );
        assert_eq!(payload, Payload::new(vec![json!(1), json!({"b": "é"})]));
        assert!(Payload::from_checked_text("").is_empty());
    }

    #[test]
    fn changed_arguments_are_written_from_their_values() {
        let mut payload = Payload::from_checked_text(r#"1, "two""#);
        payload.args_mut().push(json!(3));
        assert_eq!(written(&payload), r#"1,"two",3"#);
        assert_eq!(Payload::from_checked_text("[1]").into_args(), [json!([1])]);
    }

    #[test]
    fn taking_the_first_argument_keeps_the_rest_as_text() {
        let mut payload = Payload::from_checked_text(r#""room" , {"k": 1},2"#);
        assert_eq!(payload.take_first(), Some(json!("room")));
        assert_eq!(written(&payload), r#"{"k": 1},2"#);
        assert_eq!(payload.take_first(), Some(json!({"k": 1})));
        assert_eq!(payload.take_first(), Some(json!(2)));
        assert_eq!(payload.take_first(), None);
        assert!(payload.is_empty());
        let mut values = Payload::new(vec![json!("a"), json!("b")]);
        assert_eq!(values.take_first(), Some(json!("a")));
        assert_eq!(values.args(), [json!("b")]);
    }
}
