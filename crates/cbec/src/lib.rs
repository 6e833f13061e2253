//! Cross-border e-commerce bonded retail import (customs mode 1210, measure 3; domain-rules.md §3).
//!
//! No I/O: time, policy data and registrations come in as arguments. The three documents (order from the
//! platform, payment from the payment company, waybill from the logistics company) are parsed at the edge
//! ([`documents`]), matched when all three are present ([`checks`]: the seven checks of GACC Ann. 2018
//! No. 194), taxed at the e-commerce rate ([`tax`]), counted against the buyer's annual quota ([`quota`])
//! and the positive list's per-person caps ([`positive`]), billed to the withholding agent ([`bills`]) and
//! traced item by item ([`trace`]). [`engine`] is the state machine that ties them together.

pub mod bills;
pub mod checks;
pub mod decision;
pub mod documents;
pub mod engine;
pub mod gtin;
pub mod identity;
pub mod json;
pub mod positive;
pub mod quota;
pub mod synthetic;
pub mod tax;
pub mod trace;
