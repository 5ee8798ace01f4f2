//! Reading a packet's JSON array without building values.
//!
//! An event's arguments usually go back out as they came in (an ack echoing them, a broadcast
//! relaying them), so the decoder keeps them as text instead of `serde_json::Value`s. It still
//! reads every byte of them as `Value` would, and refuses what `Value` refuses (bad syntax, numbers
//! out of range, nesting deeper than serde_json's limit), so arguments parsed later, when a handler
//! asks for values, always parse.

use std::cell::Cell;
use std::fmt;

use serde::de::{self, DeserializeSeed, Deserializer, IgnoredAny, MapAccess, SeqAccess, Visitor};
use serde_json::value::RawValue;

/// How deep an argument may nest: serde_json's 127 levels, less the array the arguments sit in.
const ARGUMENT_DEPTH_LIMIT: usize = 126;

/// The placeholder key of a binary value (`{"_placeholder":true,"num":N}`).
const PLACEHOLDER_KEY: &str = "_placeholder";

/// A JSON array read as text.
#[derive(Debug, PartialEq)]
pub(crate) struct ArrayText<'a> {
    /// The first element's text; `None` for an empty array.
    pub first: Option<&'a str>,
    /// The elements' text, comma-separated as written, without the brackets (blank when empty).
    pub elements: &'a str,
    /// The text of the elements after the first (blank when there are none).
    pub after_first: &'a str,
    /// Whether some object holds `"_placeholder": true`, which only a binary packet may.
    pub has_placeholder: bool,
}

/// Reads `text` as one JSON value, and splits it when it is an array; `Ok(None)` when it is
/// valid JSON of another kind.
pub(crate) fn read_array(text: &str) -> Result<Option<ArrayText<'_>>, serde_json::Error> {
    split(text, true)
}

/// Splits an array that [`read_array`] has already checked (a payload's kept text), without
/// checking its elements again: only their bounds are found.
pub(crate) fn split_checked(text: &str) -> Option<ArrayText<'_>> {
    split(text, false).ok().flatten()
}

/// Splits `text`, checking every element as `Value` would when `check` is set.
fn split(text: &str, check: bool) -> Result<Option<ArrayText<'_>>, serde_json::Error> {
    let placeholder = Cell::new(false);
    let mut deserializer = serde_json::Deserializer::from_str(text);
    let top = deserializer.deserialize_any(Top {
        placeholder: &placeholder,
        check,
    })?;
    deserializer.end()?;
    let Some(first) = top else {
        return Ok(None);
    };
    let Some(first) = first else {
        return Ok(Some(ArrayText {
            first: None,
            elements: "",
            after_first: "",
            has_placeholder: false,
        }));
    };
    if check {
        // The first element was only scanned for its syntax, as raw text: now check it as a value.
        let mut of_first = serde_json::Deserializer::from_str(first);
        of_first.deserialize_any(Checked::new(&placeholder))?;
        of_first.end()?;
    }
    // serde_json hands out a raw value as a slice of the text it reads, and the text is a valid
    // array: `[`, the first element, then more elements, then `]` and maybe whitespace.
    let start = (first.as_ptr() as usize).wrapping_sub(text.as_ptr() as usize);
    let end = start + first.len();
    let close = text.trim_end().len().saturating_sub(1);
    let (Some(elements), Some(after)) = (text.get(start..close), text.get(end..close)) else {
        return Err(de::Error::custom("array text out of place"));
    };
    let after = after.trim_start();
    Ok(Some(ArrayText {
        first: Some(first),
        elements: elements.trim_end(),
        after_first: after.strip_prefix(',').unwrap_or(after).trim(),
        has_placeholder: placeholder.get(),
    }))
}

/// The top value: `Some(first element as raw text)` for an array, `None` for anything else.
struct Top<'c> {
    placeholder: &'c Cell<bool>,
    /// Check the elements after the first as `Value` would; otherwise only skip over them.
    check: bool,
}

impl<'de> Visitor<'de> for Top<'_> {
    type Value = Option<Option<&'de str>>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        let Some(first) = seq.next_element::<&'de RawValue>()? else {
            return Ok(Some(None));
        };
        if self.check {
            while seq
                .next_element_seed(Checked::new(self.placeholder))?
                .is_some()
            {}
        } else {
            while seq.next_element::<IgnoredAny>()?.is_some() {}
        }
        Ok(Some(Some(first.get())))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        Checked::new(self.placeholder).visit_map(map).map(|_| None)
    }

    fn visit_bool<E>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

/// Reads one value as `serde_json::Value` would, building nothing. Its result: whether the value
/// was the literal `true` (what a placeholder key must hold).
#[derive(Clone, Copy)]
struct Checked<'c> {
    depth: usize,
    placeholder: &'c Cell<bool>,
}

impl<'c> Checked<'c> {
    fn new(placeholder: &'c Cell<bool>) -> Checked<'c> {
        Checked {
            depth: 0,
            placeholder,
        }
    }

    /// The reader of the values one level further in.
    fn nested<E: de::Error>(self) -> Result<Checked<'c>, E> {
        if self.depth >= ARGUMENT_DEPTH_LIMIT {
            return Err(E::custom("arguments nested too deeply"));
        }
        Ok(Checked {
            depth: self.depth + 1,
            ..self
        })
    }
}

impl<'de> DeserializeSeed<'de> for Checked<'_> {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_any(self)
    }
}

impl<'de> Visitor<'de> for Checked<'_> {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a JSON value")
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<bool, A::Error> {
        let inner = self.nested()?;
        while seq.next_element_seed(inner)?.is_some() {}
        Ok(false)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<bool, A::Error> {
        let inner = self.nested()?;
        // As in a `Value`, the last of repeated keys wins.
        let mut placeholder = false;
        while let Some(is_placeholder_key) = map.next_key_seed(PlaceholderKey)? {
            let is_true = map.next_value_seed(inner)?;
            if is_placeholder_key {
                placeholder = is_true;
            }
        }
        if placeholder {
            self.placeholder.set(true);
        }
        Ok(false)
    }

    fn visit_bool<E>(self, value: bool) -> Result<bool, E> {
        Ok(value)
    }

    fn visit_i64<E>(self, _: i64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_u64<E>(self, _: u64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_f64<E>(self, _: f64) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_str<E>(self, _: &str) -> Result<bool, E> {
        Ok(false)
    }

    fn visit_unit<E>(self) -> Result<bool, E> {
        Ok(false)
    }
}

/// Reads an object's key: whether it is the placeholder key.
struct PlaceholderKey;

impl<'de> DeserializeSeed<'de> for PlaceholderKey {
    type Value = bool;

    fn deserialize<D: Deserializer<'de>>(self, deserializer: D) -> Result<bool, D::Error> {
        deserializer.deserialize_str(self)
    }
}

impl<'de> Visitor<'de> for PlaceholderKey {
    type Value = bool;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("an object key")
    }

    fn visit_str<E>(self, key: &str) -> Result<bool, E> {
        Ok(key == PLACEHOLDER_KEY)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    fn read(text: &str) -> Option<ArrayText<'_>> {
        read_array(text).expect("valid JSON")
    }

    #[test]
    fn splits_an_array_as_written() {
        let array = read(r#" [ "echo" , 1,{"a": [2]} ,"x" ] "#).unwrap();
        assert_eq!(array.first, Some(r#""echo""#));
        assert_eq!(array.elements, r#""echo" , 1,{"a": [2]} ,"x""#);
        assert_eq!(array.after_first, r#"1,{"a": [2]} ,"x""#);
        assert!(!array.has_placeholder);
        let one = read(r#"["only"]"#).unwrap();
        assert_eq!((one.elements, one.after_first), (r#""only""#, ""));
        let empty = read(" [ ] ").unwrap();
        assert_eq!((empty.first, empty.elements), (None, ""));
    }

    #[test]
    fn a_checked_array_splits_the_same_without_the_checks() {
        for text in [r#"["room" , 1,{"a": [2]} ]"#, r#"[{"k":[1]}]"#, "[]"] {
            assert_eq!(split_checked(text), read(text), "{text}");
        }
    }

    #[test]
    fn other_values_are_not_arrays() {
        for text in [r#"{"a":[1]}"#, "1", r#""s""#, "true", "null"] {
            assert_eq!(read_array(text).unwrap(), None, "{text}");
        }
    }

    /// Whatever `Value` refuses, this refuses, and the other way round: text accepted here
    /// always parses later.
    #[test]
    fn accepts_exactly_what_value_accepts() {
        let deep = |levels: usize| format!("[{}{}]", "[".repeat(levels), "]".repeat(levels));
        let cases = [
            r#"["a",1e400]"#.to_string(),
            r#"[1e400,"a"]"#.to_string(),
            r#"["a","\ud800"]"#.to_string(),
            r#"["a","\x"]"#.to_string(),
            "[\"a\",\"\u{1}\"]".to_string(),
            r#"["a",01]"#.to_string(),
            r#"["a",]"#.to_string(),
            r#"["a"] x"#.to_string(),
            r#"["a",{"k":1,}]"#.to_string(),
            r#"["a",-0.5e-3,"é\n",{"k":null}]"#.to_string(),
            deep(126),
            deep(127),
            format!(r#"["x",{}]"#, deep(125)),
            format!(r#"["x",{}]"#, deep(126)),
        ];
        for text in cases {
            let by_value = serde_json::from_str::<Value>(&text).is_ok();
            assert_eq!(read_array(&text).is_ok(), by_value, "{text}");
            if let Ok(Some(array)) = read_array(&text) {
                let again = format!("[{}]", array.elements);
                assert!(serde_json::from_str::<Value>(&again).is_ok(), "{text}");
            }
        }
    }

    #[test]
    fn finds_placeholders_where_value_would() {
        for (text, found) in [
            (r#"["a",{"_placeholder":true,"num":0}]"#, true),
            (r#"["a",[{"x":{"_placeholder":true}}]]"#, true),
            (r#"[{"_placeholder":true}]"#, true),
            (r#"["a",{"\u005fplaceholder":true}]"#, true),
            (r#"["a",{"_placeholder":true,"_placeholder":false}]"#, false),
            (r#"["a",{"_placeholder":"true"}]"#, false),
            (r#"["a",{"_placeholder":1}]"#, false),
            (r#"["_placeholder",true]"#, false),
        ] {
            assert_eq!(read(text).unwrap().has_placeholder, found, "{text}");
        }
    }
}
