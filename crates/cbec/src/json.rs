//! A small JSON tree for e-commerce documents.
//!
//! `serde_json::Value` keeps objects in an `IndexMap` hashed with SipHash whenever any crate of the build
//! enables serde_json's `preserve_order` feature (Cedar does), so every key of every document costs a hash
//! and an insert, and every key and string an allocation. Documents are small objects read a few keys at a
//! time, so here an object is a vector of its entries, looked up by a linear scan (no hashing), and keys
//! and strings borrow from the text they were read from unless they hold an escape. When a key appears
//! more than once the last one counts, as with `serde_json::Value`. [`Json::canonical`] writes the canonical
//! text of documents, and [`crate::documents::canonical_json`] that of a `serde_json::Value`.

use std::borrow::Cow;
use std::fmt;

use serde::de::{Deserialize, Deserializer, MapAccess, SeqAccess, Visitor};
use serde_json::{Number, Value};

/// A JSON value, its strings borrowed from the text it was read from where they can be.
#[derive(Debug, Clone, PartialEq)]
pub enum Json<'a> {
    Null,
    Bool(bool),
    Number(Number),
    String(Cow<'a, str>),
    Array(Vec<Json<'a>>),
    Object(Object<'a>),
}

/// A JSON object: its entries in the order written (a repeated key is kept; the last one counts).
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Object<'a>(Vec<(Cow<'a, str>, Json<'a>)>);

impl<'a> Object<'a> {
    /// The value of `key` (the last one when the key is repeated).
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        self.0.iter().rev().find(|(k, _)| k == key).map(|(_, value)| value)
    }

    /// Takes the value of `key` out (every entry of that key goes; the last value is returned).
    pub fn remove(&mut self, key: &str) -> Option<Json<'a>> {
        let mut found = None;
        self.0.retain_mut(|(k, value)| {
            if k == key {
                found = Some(std::mem::replace(value, Json::Null));
                false
            } else {
                true
            }
        });
        found
    }

    /// The keys in the order written, a repeated key as often as it appears.
    pub fn keys(&self) -> impl Iterator<Item = &str> {
        self.0.iter().map(|(k, _)| k.as_ref())
    }

    /// Writes the entries that count (the last of a repeated key) sorted by key bytes, without allocating
    /// for objects of up to [`SORT_ON_STACK`] entries.
    fn write_sorted(&self, out: &mut Vec<u8>) {
        let entries = &self.0;
        let mut on_stack = [0u32; SORT_ON_STACK];
        let mut on_heap = Vec::new();
        let order: &mut [u32] = if entries.len() <= SORT_ON_STACK {
            &mut on_stack[..entries.len()]
        } else {
            on_heap.resize(entries.len(), 0);
            &mut on_heap
        };
        // A text of at most a few hundred MB has fewer than 2^32 entries in one object.
        for (slot, index) in order.iter_mut().zip(0u32..) {
            *slot = index;
        }
        let key = |index: u32| entries[index as usize].0.as_ref();
        // By key, then by position: the last of each run of equal keys is the one that counts.
        order.sort_unstable_by(|&a, &b| key(a).cmp(key(b)).then(a.cmp(&b)));
        out.push(b'{');
        let mut first = true;
        for (at, &index) in order.iter().enumerate() {
            if order.get(at + 1).is_some_and(|&next| key(next) == key(index)) {
                continue; // a later entry of the same key counts
            }
            if !first {
                out.push(b',');
            }
            first = false;
            let (key, value) = &entries[index as usize];
            write_string(key, out);
            out.push(b':');
            value.write_canonical(out);
        }
        out.push(b'}');
    }
}

/// Most entries of an object whose keys [`Object::write_sorted`] sorts in a buffer on the stack.
const SORT_ON_STACK: usize = 32;

impl<'a> Json<'a> {
    /// Parses JSON text; the tree borrows the text's unescaped strings.
    pub fn parse(text: &'a str) -> serde_json::Result<Json<'a>> {
        serde_json::from_str(text)
    }

    /// What the value is, for messages (`must be a string, not a number`).
    pub fn kind(&self) -> &'static str {
        match self {
            Json::Null => "null",
            Json::Bool(_) => "a boolean",
            Json::Number(_) => "a number",
            Json::String(_) => "a string",
            Json::Array(_) => "an array",
            Json::Object(_) => "an object",
        }
    }

    /// The value of `key` when this is an object.
    pub fn get(&self, key: &str) -> Option<&Json<'a>> {
        match self {
            Json::Object(object) => object.get(key),
            _ => None,
        }
    }

    pub fn as_u64(&self) -> Option<u64> {
        match self {
            Json::Number(number) => number.as_u64(),
            _ => None,
        }
    }

    /// The canonical text: object keys sorted by bytes at every depth, no whitespace, strings and numbers as
    /// serde_json writes them.
    pub fn canonical(&self) -> String {
        let mut out = Vec::with_capacity(768);
        self.write_canonical(&mut out);
        // Only JSON text was written: valid UTF-8.
        String::from_utf8(out).unwrap_or_default()
    }

    fn write_canonical(&self, out: &mut Vec<u8>) {
        match self {
            Json::Object(object) => object.write_sorted(out),
            Json::Array(items) => {
                out.push(b'[');
                for (index, item) in items.iter().enumerate() {
                    if index > 0 {
                        out.push(b',');
                    }
                    item.write_canonical(out);
                }
                out.push(b']');
            }
            Json::Null => out.extend_from_slice(b"null"),
            Json::Bool(true) => out.extend_from_slice(b"true"),
            Json::Bool(false) => out.extend_from_slice(b"false"),
            // Writing to a Vec cannot fail.
            Json::Number(number) => {
                let _ = serde_json::to_writer(&mut *out, number);
            }
            Json::String(text) => write_string(text, out),
        }
    }
}

/// A JSON string as serde_json escapes it (plain text is copied as is).
fn write_string(text: &str, out: &mut Vec<u8>) {
    if text.bytes().all(|b| b >= 0x20 && b != b'"' && b != b'\\') {
        out.push(b'"');
        out.extend_from_slice(text.as_bytes());
        out.push(b'"');
    } else {
        // Writing to a Vec cannot fail.
        let _ = serde_json::to_writer(&mut *out, text);
    }
}

impl<'v> From<&'v Value> for Json<'v> {
    fn from(value: &'v Value) -> Json<'v> {
        match value {
            Value::Null => Json::Null,
            Value::Bool(flag) => Json::Bool(*flag),
            Value::Number(number) => Json::Number(number.clone()),
            Value::String(text) => Json::String(Cow::Borrowed(text)),
            Value::Array(items) => Json::Array(items.iter().map(Json::from).collect()),
            Value::Object(map) => {
                Json::Object(Object(map.iter().map(|(k, v)| (Cow::Borrowed(k.as_str()), Json::from(v))).collect()))
            }
        }
    }
}

impl<'de> Deserialize<'de> for Json<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Json<'de>, D::Error> {
        deserializer.deserialize_any(JsonVisitor)
    }
}

/// A key or string: borrowed when the text holds it unescaped.
struct Text<'de>(Cow<'de, str>);

impl<'de> Deserialize<'de> for Text<'de> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Text<'de>, D::Error> {
        struct TextVisitor;
        impl<'de> Visitor<'de> for TextVisitor {
            type Value = Text<'de>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a string")
            }
            fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Borrowed(value)))
            }
            fn visit_str<E>(self, value: &str) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value.to_owned())))
            }
            fn visit_string<E>(self, value: String) -> Result<Text<'de>, E> {
                Ok(Text(Cow::Owned(value)))
            }
        }
        deserializer.deserialize_str(TextVisitor)
    }
}

struct JsonVisitor;

impl<'de> Visitor<'de> for JsonVisitor {
    type Value = Json<'de>;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_bool<E>(self, value: bool) -> Result<Json<'de>, E> {
        Ok(Json::Bool(value))
    }

    fn visit_i64<E>(self, value: i64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_u64<E>(self, value: u64) -> Result<Json<'de>, E> {
        Ok(Json::Number(value.into()))
    }

    fn visit_f64<E>(self, value: f64) -> Result<Json<'de>, E> {
        // JSON text has no NaN or infinity; serde_json reads an overflowing number as an error.
        Ok(Number::from_f64(value).map_or(Json::Null, Json::Number))
    }

    fn visit_borrowed_str<E>(self, value: &'de str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Borrowed(value)))
    }

    fn visit_str<E>(self, value: &str) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value.to_owned())))
    }

    fn visit_string<E>(self, value: String) -> Result<Json<'de>, E> {
        Ok(Json::String(Cow::Owned(value)))
    }

    fn visit_none<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_some<D: Deserializer<'de>>(self, deserializer: D) -> Result<Json<'de>, D::Error> {
        Deserialize::deserialize(deserializer)
    }

    fn visit_unit<E>(self) -> Result<Json<'de>, E> {
        Ok(Json::Null)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Json<'de>, A::Error> {
        let mut items = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
        while let Some(item) = seq.next_element()? {
            items.push(item);
        }
        Ok(Json::Array(items))
    }

    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Json<'de>, A::Error> {
        let mut entries = Vec::with_capacity(map.size_hint().unwrap_or(0).clamp(8, 64));
        while let Some(Text(key)) = map.next_key::<Text<'de>>()? {
            let value = map.next_value()?;
            entries.push((key, value));
        }
        Ok(Json::Object(Object(entries)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn json_values() -> impl Strategy<Value = Value> {
        let leaf = prop_oneof![
            Just(Value::Null),
            any::<bool>().prop_map(Value::Bool),
            any::<i64>().prop_map(Value::from),
            any::<u64>().prop_map(Value::from),
            (-1.0e9f64..1.0e9).prop_map(Value::from),
            "[a-z\"\\\\\u{0}-\u{1f}é中 ]{0,12}".prop_map(Value::String),
        ];
        leaf.prop_recursive(4, 48, 6, |inner| {
            prop_oneof![
                prop::collection::vec(inner.clone(), 0..6).prop_map(Value::Array),
                prop::collection::vec(("[a-e]{1,3}", inner), 0..6)
                    .prop_map(|entries| Value::Object(entries.into_iter().collect())),
            ]
        })
    }

    /// The canonical text by another road: serde_json writing a tree rebuilt with its keys inserted in
    /// sorted order (serde_json keeps insertion order under `preserve_order`, and sorts without it).
    fn sorted_text(value: &Value) -> String {
        fn sorted(value: &Value) -> Value {
            match value {
                Value::Object(map) => {
                    let mut entries: Vec<(&String, &Value)> = map.iter().collect();
                    entries.sort_by(|a, b| a.0.cmp(b.0));
                    Value::Object(entries.into_iter().map(|(k, v)| (k.clone(), sorted(v))).collect())
                }
                Value::Array(items) => Value::Array(items.iter().map(sorted).collect()),
                other => other.clone(),
            }
        }
        serde_json::to_string(&sorted(value)).expect("serialisable")
    }

    proptest! {
        /// Parsed from the same text, both trees give the same canonical text, serde_json's sorted writing.
        #[test]
        fn agrees_with_serde_json(value in json_values(), pretty in any::<bool>()) {
            let text = if pretty { serde_json::to_string_pretty(&value) } else { serde_json::to_string(&value) }
                .expect("serialisable");
            let ours = Json::parse(&text).expect("valid JSON");
            let theirs: Value = serde_json::from_str(&text).expect("valid JSON");
            prop_assert_eq!(ours.canonical(), sorted_text(&theirs));
            prop_assert_eq!(crate::documents::canonical_json(&theirs), sorted_text(&theirs));
            prop_assert_eq!(&ours, &Json::from(&theirs));
        }
    }

    #[test]
    fn an_object_too_large_to_sort_on_the_stack_is_sorted_alike() {
        // 45 entries, keys repeated in reverse and shuffled order: the last of each key counts.
        let entries: Vec<String> = (0..45).map(|i| format!("\"k{:02}\":{i}", (i * 7) % 40)).collect();
        let text = format!("{{{}}}", entries.join(","));
        let theirs: Value = serde_json::from_str(&text).unwrap();
        assert_eq!(Json::parse(&text).unwrap().canonical(), sorted_text(&theirs));
        assert!(Json::parse(&text).unwrap().canonical().contains("\"k00\":40,"));
    }

    #[test]
    fn the_last_of_a_repeated_key_counts() {
        let text = r#"{"b":1,"a":2,"b":{"z":null,"y":[true,"x\n"]}}"#;
        let ours = Json::parse(text).unwrap();
        let theirs: Value = serde_json::from_str(text).unwrap();
        assert_eq!(ours.canonical(), sorted_text(&theirs));
        assert_eq!(ours.canonical(), r#"{"a":2,"b":{"y":[true,"x\n"],"z":null}}"#);
        let Json::Object(mut object) = ours else { panic!("an object") };
        assert_eq!(object.keys().collect::<Vec<_>>(), ["b", "a", "b"]);
        assert_eq!(object.get("b").map(Json::kind), Some("an object"));
        assert_eq!(object.remove("b").map(|v| v.kind()), Some("an object"));
        assert_eq!(object.get("b"), None);
        assert_eq!(object.keys().collect::<Vec<_>>(), ["a"]);
    }
}
