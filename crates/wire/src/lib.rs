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
    // serde_json's Map is a BTreeMap (no `preserve_order` feature), so keys serialize sorted.
    value.to_string()
}

/// SHA-256 of the canonical text, hex encoded.
pub fn document_sha256(value: &serde_json::Value) -> String {
    use sha2::{Digest, Sha256};
    hex::encode(Sha256::digest(canonical_json(value).as_bytes()))
}
