//! The event hash chain: each event's hash covers the previous hash and the event's own fields, so changing,
//! removing or reordering any stored event breaks every hash after it.

use chrono::{DateTime, SecondsFormat, Utc};
use sha2::{Digest, Sha256};

/// The `prev_hash` of the first event.
pub const GENESIS_HASH: &str = "0000000000000000000000000000000000000000000000000000000000000000";

/// SHA-256 over the length-prefixed fields, hex encoded. Length prefixes make the encoding unambiguous.
pub fn event_hash(
    prev_hash: &str,
    seq: i64,
    recorded_at: DateTime<Utc>,
    kind: &str,
    subject: &str,
    payload_json: &str,
) -> String {
    let mut hasher = Sha256::new();
    let recorded_at = recorded_at.to_rfc3339_opts(SecondsFormat::Micros, true);
    for field in [prev_hash, &seq.to_string(), &recorded_at, kind, subject, payload_json] {
        hasher.update((field.len() as u64).to_be_bytes());
        hasher.update(field.as_bytes());
    }
    hex::encode(hasher.finalize())
}

/// SHA-256 of arbitrary text, hex encoded.
pub fn sha256_hex(text: &str) -> String {
    hex::encode(Sha256::digest(text.as_bytes()))
}
