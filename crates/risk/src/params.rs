//! Targeting parameters: the inspection budget, exploration rates, credit terms and alert grading. They are
//! zone data with effective dates, not code.

use crate::alerts::Severity;
use crate::channel::Channel;
use serde::{Deserialize, Serialize};
use zonegate_domain::{CreditClass, FieldErrors};

/// Random selection rates that every part of the traffic keeps (before credit factors).
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exploration {
    pub inspection: f64,
    pub document_check: f64,
}

/// How each severity of alert acts on a matching declaration.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlertTerms {
    pub channel: Channel,
    /// Added to the risk in log-odds.
    pub weight: f64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RiskParameters {
    /// Share of the traffic the score may select for inspection (the top share by risk).
    pub budget_share: f64,
    pub exploration: Exploration,
    /// Advanced-certified (AEO) enterprises: their budget share and exploration rates are multiplied by this.
    /// GACC Order 251 art. 30: their average inspection rate is below 20 % of ordinary enterprises'.
    pub advanced_factor: f64,
    /// AEO relief: a rule that asks for inspection of an AEO's goods sends them to document check instead,
    /// unless it is a hard stop.
    pub advanced_relief: bool,
    /// Dishonest enterprises: at least this share of their declarations is inspected (≥ 80 %).
    pub dishonest_inspection_rate: f64,
    /// The risk (0..1) that sends a declaration to inspection when no model is loaded: only rule and alert
    /// weights then move the risk away from `prior`.
    pub cutoff_without_model: f64,
    /// The risk assumed when no model is loaded.
    pub prior: f64,
    pub alerts_low: AlertTerms,
    pub alerts_medium: AlertTerms,
    pub alerts_high: AlertTerms,
    /// Critical alerts are hard stops.
    pub alerts_critical: AlertTerms,
}

impl Default for RiskParameters {
    fn default() -> Self {
        RiskParameters {
            budget_share: 0.05,
            exploration: Exploration { inspection: 0.01, document_check: 0.02 },
            advanced_factor: 0.1,
            advanced_relief: true,
            dishonest_inspection_rate: 0.85,
            cutoff_without_model: 0.5,
            prior: 0.05,
            alerts_low: AlertTerms { channel: Channel::Release, weight: 1.0 },
            alerts_medium: AlertTerms { channel: Channel::DocumentCheck, weight: 1.5 },
            alerts_high: AlertTerms { channel: Channel::Inspection, weight: 2.0 },
            alerts_critical: AlertTerms { channel: Channel::Hold, weight: 6.0 },
        }
    }
}

impl RiskParameters {
    pub fn alert_terms(&self, severity: Severity) -> AlertTerms {
        match severity {
            Severity::Low => self.alerts_low,
            Severity::Medium => self.alerts_medium,
            Severity::High => self.alerts_high,
            Severity::Critical => self.alerts_critical,
        }
    }

    /// The factor applied to the budget and exploration of a credit class.
    pub fn credit_factor(&self, class: CreditClass) -> f64 {
        match class {
            CreditClass::Advanced => self.advanced_factor,
            CreditClass::Ordinary | CreditClass::Dishonest => 1.0,
        }
    }

    /// Every problem at once. The credit terms must honour domain-rules.md §5.
    pub fn validate(&self) -> Result<(), FieldErrors> {
        let mut errors = FieldErrors::default();
        let mut share = |field: &str, value: f64, max: f64| {
            if !(0.0..=max).contains(&value) {
                errors.add("rate", field.to_owned(), format!("must be between 0 and {max}"));
            }
        };
        share("budget_share", self.budget_share, 0.5);
        share("exploration.inspection", self.exploration.inspection, 0.2);
        share("exploration.document_check", self.exploration.document_check, 0.5);
        share("cutoff_without_model", self.cutoff_without_model, 1.0);
        share("prior", self.prior, 1.0);
        if !(0.0..0.2).contains(&self.advanced_factor) {
            errors.add(
                "credit_terms",
                "advanced_factor",
                "must be at least 0 and below 0.2: AEO inspection rates stay below 20 % of the ordinary average",
            );
        }
        if !(0.8..=1.0).contains(&self.dishonest_inspection_rate) {
            errors.add(
                "credit_terms",
                "dishonest_inspection_rate",
                "must be between 0.8 and 1: dishonest enterprises are inspected at 80 % or more",
            );
        }
        if self.prior <= 0.0 || self.prior >= 1.0 {
            errors.add("rate", "prior", "must be strictly between 0 and 1");
        }
        if self.alerts_critical.channel < Channel::Hold {
            errors.add("alert_terms", "alerts_critical.channel", "a critical alert is a hard stop: `hold` or `refuse`");
        }
        for (field, terms) in [
            ("alerts_low", self.alerts_low),
            ("alerts_medium", self.alerts_medium),
            ("alerts_high", self.alerts_high),
            ("alerts_critical", self.alerts_critical),
        ] {
            if !terms.weight.is_finite() || terms.weight.abs() > crate::rules::WEIGHT_MAX {
                errors.add("alert_terms", format!("{field}.weight"), "must be between -6 and 6");
            }
        }
        errors.into_result(())
    }
}
