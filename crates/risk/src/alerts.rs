//! Risk alerts (measure 14): published by customs or a partner authority, scoped by goods, origin, enterprise
//! and product text, graded by severity, valid for a period, and withdrawn by a later entry.

use crate::facts::Facts;
use chrono::{DateTime, NaiveDate, Utc};
use serde::{Deserialize, Serialize};
use zonegate_domain::FieldErrors;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Severity {
    Low,
    Medium,
    High,
    /// The highest: a hard stop while the alert is active.
    Critical,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Low => "low",
            Severity::Medium => "medium",
            Severity::High => "high",
            Severity::Critical => "critical",
        }
    }
}

/// What an alert covers. Every dimension given must match (an empty one matches anything); within a
/// dimension any entry matches. Goods dimensions (HS, origin, text) must hold for the same item.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Scope {
    /// HS prefixes of 2 to 8 digits.
    #[serde(default)]
    pub hs: Vec<String>,
    /// ISO 3166 alpha-2 origins.
    #[serde(default)]
    pub origins: Vec<String>,
    /// USCCs of declarants or importers.
    #[serde(default)]
    pub enterprises: Vec<String>,
    /// Words found in the goods description (case-insensitive).
    #[serde(default)]
    pub text: Vec<String>,
}

/// An alert as published (the JSON of the alerts API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertDef {
    /// The publisher's own id for the alert, unique per publisher.
    pub id: String,
    pub title: String,
    #[serde(default)]
    pub description: String,
    pub severity: Severity,
    pub scope: Scope,
    pub valid_from: NaiveDate,
    /// Last day the alert applies.
    #[serde(default)]
    pub valid_to: Option<NaiveDate>,
}

/// A recorded alert: its definition, who published it, and its withdrawal if any.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Alert {
    /// `<publisher party>/<id>`: unique across publishers.
    pub key: String,
    pub def: AlertDef,
    pub publisher: String,
    pub published_by: String,
    pub published_at: DateTime<Utc>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub withdrawn: Option<Withdrawal>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Withdrawal {
    pub by: String,
    pub at: DateTime<Utc>,
    #[serde(default)]
    pub reason: String,
}

/// An alert that matched a declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Matched {
    pub key: String,
    pub severity: Severity,
}

fn valid_key_part(id: &str) -> bool {
    !id.is_empty() && id.len() <= 64 && id.bytes().all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'_' | b'-'))
}

impl AlertDef {
    /// Every problem at once.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        if !valid_key_part(&self.id) {
            errors.add("alert_id", "id", "1 to 64 characters of letters, digits, `.`, `_` and `-`");
        }
        if self.title.trim().is_empty() || self.title.chars().count() > 200 {
            errors.add("required", "title", "a title of 1 to 200 characters is required");
        }
        let scope = &self.scope;
        if scope.hs.is_empty() && scope.origins.is_empty() && scope.enterprises.is_empty() && scope.text.is_empty() {
            errors.add("alert_scope", "scope", "an alert needs at least one of `hs`, `origins`, `enterprises`, `text`");
        }
        for (index, hs) in scope.hs.iter().enumerate() {
            if !(2..=8).contains(&hs.len()) || !hs.bytes().all(|b| b.is_ascii_digit()) {
                errors.add(
                    "hs_prefix",
                    format!("scope.hs[{index}]"),
                    format!("`{hs}` is not an HS prefix of 2 to 8 digits"),
                );
            }
        }
        for (index, origin) in scope.origins.iter().enumerate() {
            if zonegate_domain::CountryCode::parse(origin).is_err() {
                errors.add(
                    "country",
                    format!("scope.origins[{index}]"),
                    format!("`{origin}` is not an ISO 3166 alpha-2 code"),
                );
            }
        }
        for (index, uscc) in scope.enterprises.iter().enumerate() {
            if zonegate_domain::Uscc::parse(uscc).is_err() {
                errors.add("uscc", format!("scope.enterprises[{index}]"), format!("`{uscc}` is not a valid USCC"));
            }
        }
        for (index, word) in scope.text.iter().enumerate() {
            if word.trim().chars().count() < 2 {
                errors.add("alert_text", format!("scope.text[{index}]"), "a text scope needs at least 2 characters");
            }
        }
        if let Some(to) = self.valid_to {
            if to < self.valid_from {
                errors.add("alert_period", "valid_to", "`valid_to` must not be before `valid_from`");
            }
        }
        errors.into_result(())
    }
}

impl Alert {
    /// Whether the alert is in force for declarations of `date`, as known at `now`.
    pub fn is_active(&self, date: NaiveDate, now: DateTime<Utc>) -> bool {
        let withdrawn = self.withdrawn.as_ref().is_some_and(|w| w.at <= now);
        !withdrawn && self.def.valid_from <= date && self.def.valid_to.is_none_or(|to| date <= to)
    }

    /// Whether the alert covers the declaration.
    pub fn matches(&self, facts: &Facts) -> bool {
        let scope = &self.def.scope;
        let party = scope.enterprises.is_empty()
            || scope.enterprises.iter().any(|e| *e == facts.decl.declarant || *e == facts.decl.importer);
        if !party {
            return false;
        }
        if scope.hs.is_empty() && scope.origins.is_empty() && scope.text.is_empty() {
            return true;
        }
        facts.items.iter().any(|item| {
            (scope.hs.is_empty() || scope.hs.iter().any(|p| item.hs.starts_with(p.as_str())))
                && (scope.origins.is_empty() || scope.origins.contains(&item.origin))
                && (scope.text.is_empty() || {
                    let description = item.description.to_lowercase();
                    scope.text.iter().any(|w| description.contains(&w.trim().to_lowercase()))
                })
        })
    }
}

/// The active alerts matching the declaration, strictest first.
pub fn matching(alerts: &[Alert], facts: &Facts, date: NaiveDate, now: DateTime<Utc>) -> Vec<Matched> {
    let mut out: Vec<Matched> = alerts
        .iter()
        .filter(|alert| alert.is_active(date, now) && alert.matches(facts))
        .map(|alert| Matched { key: alert.key.clone(), severity: alert.def.severity })
        .collect();
    out.sort_by(|a, b| b.severity.cmp(&a.severity).then_with(|| a.key.cmp(&b.key)));
    out
}
