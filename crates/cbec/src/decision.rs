//! The decision on a complete order: what the `decision` record stores and a step answers.
//!
//! Typed and serialised once, straight to the stored text: no JSON tree is built, cloned or dropped per
//! order. The field names are the stored format's; replay reads back only the figures it needs
//! ([`StoredDecision`]), so the record may carry more than replay uses.

use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};

use crate::checks::CheckOutcome;
use crate::engine::{LineFigures, Status, Verdict};
use crate::tax::OrderTax;
use crate::trace::TraceCode;
use zonegate_domain::FieldError;

/// The decision on a complete order.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    /// `platform/order_no`.
    pub order: String,
    pub decided_at: DateTime<Utc>,
    /// The day in China the limits, lists and rates were read for.
    pub day: NaiveDate,
    /// Every check, passed or not, with its stable id.
    pub checks: Vec<CheckOutcome>,
    /// The buyer's key (SHA-256 of the ID number; the number itself is never stored with the decision).
    pub buyer: String,
    pub year: i32,
    /// The transaction value counted against the limits, CNY.
    pub amount: String,
    pub status: Status,
    /// The ids of the failed checks, or the risk engine's reasons for a refusal.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub reasons: Vec<String>,
    /// Why the tax could not be computed (with `cbec.tax_not_computable`).
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub tax_problems: Vec<Problem>,
    /// Why the quota refused an order the checks passed (with `cbec.quota_refused`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quota_problem: Option<String>,
    /// The figures of an order that passed the checks and was taxed.
    #[serde(flatten, skip_serializing_if = "Option::is_none")]
    pub assessment: Option<Box<Assessment>>,
}

/// One problem with the field it concerns, as stored and answered (a [`FieldError`] in JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Problem {
    pub field: String,
    pub code: String,
    pub message: String,
}

/// What an order that passed the checks was assessed at and how it was channelled.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Assessment {
    /// `ecommerce` (70 % of VAT and consumption tax) or `full_goods_rate` (one indivisible item over the single
    /// limit).
    pub mode: &'static str,
    pub tax: OrderTax,
    /// The tax the platform says it withheld, CNY.
    pub tax_withheld: String,
    pub risk: Verdict,
    /// The withholding agent (the platform) and the bill period its tax went to.
    pub agent: String,
    pub period: String,
    /// The agent's guarantee in force, fen.
    pub guarantee_fen: i64,
    pub lines: Vec<LineFigures>,
    pub enterprise: String,
    pub zone: String,
    /// Each line's goods, for the traceability page.
    pub origin: Vec<OriginLine>,
    /// Whether the tax was paid or guaranteed when decided (absent when the quota refused the order).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tax_secured: Option<bool>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub released_at: Option<DateTime<Utc>>,
    /// The items' traceability codes, when released at once.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub trace: Option<Vec<TraceCode>>,
}

/// A line's goods as the traceability page shows them.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OriginLine {
    pub line: u32,
    pub origin: String,
    pub gtin: String,
    pub name: String,
}

impl From<&FieldError> for Problem {
    fn from(error: &FieldError) -> Problem {
        Problem { field: error.field.clone(), code: error.code.to_owned(), message: error.message.clone() }
    }
}

impl Decision {
    /// The risk channel, for an order that reached the risk engine.
    pub fn channel(&self) -> Option<&str> {
        self.assessment.as_ref().map(|a| a.risk.channel.as_str())
    }

    /// The order's tax, fen, for an order that was taxed.
    pub fn tax_fen(&self) -> Option<i64> {
        self.assessment.as_ref().map(|a| a.tax.total_fen)
    }

    /// The traceability codes given at the decision (an order released later gets them with its release).
    pub fn trace(&self) -> Option<&[TraceCode]> {
        self.assessment.as_ref().and_then(|a| a.trace.as_deref())
    }

    /// The stored text.
    pub fn to_json(&self) -> String {
        // A released order's decision is 1.5–3 KB: written into room for that, not grown from 128 bytes.
        let mut out = Vec::with_capacity(DECISION_BYTES_TYPICAL);
        // Every field serialises infallibly (strings, numbers, dates and a JSON value).
        serde_json::to_writer(&mut out, self).expect("a decision serialises");
        // serde_json writes UTF-8 only.
        String::from_utf8(out).expect("serde_json writes UTF-8")
    }
}

/// Bytes reserved for a decision's text.
const DECISION_BYTES_TYPICAL: usize = 2048;

/// What replay reads back from a stored decision.
#[derive(Debug, Deserialize)]
pub(crate) struct StoredDecision {
    pub status: Status,
    pub decided_at: Option<DateTime<Utc>>,
    pub buyer: String,
    pub year: i32,
    pub amount: String,
    pub risk: Option<StoredRisk>,
    pub tax: Option<StoredTax>,
    pub agent: Option<String>,
    pub period: Option<String>,
    pub guarantee_fen: Option<i64>,
    #[serde(default)]
    pub lines: Vec<LineFigures>,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StoredRisk {
    pub channel: String,
}

#[derive(Debug, Deserialize)]
pub(crate) struct StoredTax {
    pub total_fen: i64,
}
