//! The JSON shapes of the platform (interchange.md), kept apart from the domain types on purpose: the wire
//! format is a compatibility promise, the domain types are free to change.
//!
//! - [`declaration`]: raw JSON → [`zonegate_domain::Declaration`], reporting every problem at once.
//! - [`parties`]: the party descriptions of `zonegate assess --parties`.
//! - [`assessment`]: [`zonegate_policy::Assessment`] → the assessment JSON of interchange.md §2.
//! - [`errors`]: the `{"errors":[…]}` envelope.

pub mod assessment;
pub mod declaration;
pub mod errors;
pub mod parties;

/// Canonical text of a JSON value: keys sorted, no insignificant white space. Two documents that differ only
/// in key order or spacing have the same canonical text, hence the same hash.
pub fn canonical_json(value: &serde_json::Value) -> String {
    let mut out = String::with_capacity(256);
    write_canonical(value, &mut out);
    out
}

/// Writes objects with their keys sorted (byte order) whatever the map's own order: serde_json keeps
/// insertion order when any crate in the build enables its `preserve_order` feature.
fn write_canonical(value: &serde_json::Value, out: &mut String) {
    use serde_json::Value;
    match value {
        Value::Object(map) => {
            let mut entries: Vec<(&String, &Value)> = map.iter().collect();
            entries.sort_unstable_by(|a, b| a.0.cmp(b.0));
            out.push('{');
            for (index, (key, value)) in entries.into_iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                out.push_str(&Value::String(key.clone()).to_string());
                out.push(':');
                write_canonical(value, out);
            }
            out.push('}');
        }
        Value::Array(items) => {
            out.push('[');
            for (index, item) in items.iter().enumerate() {
                if index > 0 {
                    out.push(',');
                }
                write_canonical(item, out);
            }
            out.push(']');
        }
        scalar => out.push_str(&scalar.to_string()),
    }
}

/// SHA-256 of the canonical text, hex encoded.
pub fn document_sha256(value: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::{json, Map, Value};

    #[test]
    fn canonical_text_sorts_keys_at_every_depth_whatever_the_insertion_order() {
        let mut inner = Map::new();
        inner.insert("z".into(), json!(1));
        inner.insert("a".into(), json!("x\"y"));
        let mut outer = Map::new();
        outer.insert("items".into(), json!([Value::Object(inner.clone()), 2.5, null, true]));
        outer.insert("B".into(), json!({}));
        outer.insert("a".into(), json!("中"));
        let text = canonical_json(&Value::Object(outer));
        assert_eq!(text, r#"{"B":{},"a":"中","items":[{"a":"x\"y","z":1},2.5,null,true]}"#);
        let reordered = json!({ "a": "中", "items": [ { "z": 1, "a": "x\"y" }, 2.5, null, true ], "B": {} });
        assert_eq!(canonical_json(&reordered), text);
        // The hash that stores written before this function existed hold for the same document.
        assert_eq!(
            document_sha256(&json!({ "b": "1", "a": ["x", { "d": 1, "c": 2 }] })),
            hex::encode(<sha2::Sha256 as sha2::Digest>::digest(br#"{"a":["x",{"c":2,"d":1}],"b":"1"}"#))
        );
    }
}
