//! Targeting: rules, alerts, credit, the random draw and the score combined into one channel, with every
//! reason kept.
//!
//! Order of precedence:
//! 1. **Hard stops** (hard-stop rules, alerts of the highest severity) always win.
//! 2. **Green channel** (measure 1): `research` goods of an enterprise on the R&D list are released.
//! 3. Otherwise the strictest of: rule channels, alert channels, the dishonest-credit floor, the score's top
//!    share, and the random exploration draw. AEO relief and the AEO factor apply here.

use crate::alerts::{self, Alert, Matched, Severity};
use crate::channel::Channel;
use crate::draw::DrawSecret;
use crate::facts::Facts;
use crate::params::RiskParameters;
use crate::rules::{Fired, RuleFailure, RuleSet};
use chrono::{DateTime, NaiveDate, Utc};
use serde::Serialize;
use zonegate_domain::{CreditClass, Purpose};

/// Every reason id the engine itself names (data-defined ones are `rule:<id>` and `alert:<key>`).
pub const BUILTIN_REASONS: &[&str] = &[
    "release",
    "hard_stop",
    "green_channel.research",
    "credit.dishonest",
    "credit.advanced.relief",
    "score.top_share",
    "risk.weights",
    "random.inspection",
    "random.document_check",
];

/// The list that makes an enterprise eligible for the green channel.
pub const RD_LIST: &str = "rd_enterprise";
/// How many contributing features a decision keeps.
pub const TOP_FEATURES: usize = 5;

/// One feature's contribution to the score, in log-odds.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Contribution {
    pub feature: String,
    pub value: f64,
}

/// A learned score of one declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Scored {
    /// Probability-like, 0..1, higher is riskier.
    pub score: f64,
    /// The strongest contributions, by absolute value.
    pub top_features: Vec<Contribution>,
}

/// A learned model the engine can consult.
pub trait Scorer: Send + Sync {
    /// Names the model in decisions.
    fn version(&self) -> &str;
    fn score(&self, facts: &Facts) -> Scored;
    /// The risk at or above which a declaration is in the top `share` of the reference traffic.
    fn cutoff(&self, share: f64) -> f64;
}

/// Everything a decision depends on besides the declaration.
pub struct Inputs<'a> {
    pub rules: &'a RuleSet,
    pub alerts: &'a [Alert],
    pub params: &'a RiskParameters,
    pub secret: &'a DrawSecret,
    pub scorer: Option<&'a dyn Scorer>,
    /// When the decision is made: withdrawals recorded after it are not yet known.
    pub now: DateTime<Utc>,
}

/// The channel and why: stored with the declaration and returned by the API.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Decision {
    pub channel: Channel,
    /// Stable ids: built-in reasons (`hard_stop`, `green_channel.research`, `credit.dishonest`,
    /// `credit.advanced.relief`, `score.top_share`, `risk.weights` (rule and alert weights
    /// alone, without a model), `random.inspection`, `random.document_check`) and
    /// `rule:<id>` / `alert:<key>` for data-defined ones. Those that set the channel come first.
    pub reasons: Vec<String>,
    pub rules_fired: Vec<Fired>,
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub rule_failures: Vec<RuleFailure>,
    pub alerts: Vec<Matched>,
    /// The lower class of declarant and importer.
    #[serde(serialize_with = "credit_as_str")]
    pub credit_class: CreditClass,
    /// The reproducible draw in [0, 1).
    pub draw: f64,
    pub draw_secret: String,
    /// The model's score, when a model is loaded.
    pub score: Option<f64>,
    /// The score (or the prior) moved by rule and alert weights: what the budget selects on.
    pub risk: f64,
    /// The risk at which this declaration's class is selected.
    pub cutoff: f64,
    pub top_features: Vec<Contribution>,
    pub rule_set: Option<i64>,
    pub model: Option<String>,
}

fn credit_as_str<S: serde::Serializer>(class: &CreditClass, serializer: S) -> Result<S::Ok, S::Error> {
    serializer.serialize_str(class.as_str())
}

/// The channel being decided and its reasons: those that set the channel lead, the others follow.
struct Tally {
    channel: Channel,
    leading: Vec<String>,
    also: Vec<String>,
}

impl Tally {
    fn raise(&mut self, to: Channel, reason: String) {
        if to > self.channel {
            self.channel = to;
            self.also.append(&mut self.leading);
            self.leading.push(reason);
        } else if to == self.channel && to != Channel::Release {
            self.leading.push(reason);
        } else {
            self.also.push(reason);
        }
    }
}

fn logit(p: f64) -> f64 {
    let p = p.clamp(1e-9, 1.0 - 1e-9);
    (p / (1.0 - p)).ln()
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The lower of two credit classes (domain-rules.md §5: the lower grade's measures apply).
pub fn lower_class(a: CreditClass, b: CreditClass) -> CreditClass {
    fn rank(c: CreditClass) -> u8 {
        match c {
            CreditClass::Dishonest => 0,
            CreditClass::Ordinary => 1,
            CreditClass::Advanced => 2,
        }
    }
    if rank(a) <= rank(b) {
        a
    } else {
        b
    }
}

fn class_of(text: &str) -> CreditClass {
    CreditClass::parse(text).unwrap_or(CreditClass::Ordinary)
}

/// Decides the channel of one declaration.
pub fn decide(facts: &Facts, date: NaiveDate, inputs: &Inputs<'_>) -> Decision {
    let params = inputs.params;
    let (rules_fired, rule_failures) = RuleSet::fire(inputs.rules.effective(date), facts);
    let matched = alerts::matching(inputs.alerts, facts, date, inputs.now);
    let credit = lower_class(class_of(&facts.declarant.credit), class_of(&facts.importer.credit));
    let draw = inputs.secret.draw(&facts.decl.declarant, &facts.decl.reference);
    let factor = params.credit_factor(credit);

    let scored = inputs.scorer.map(|scorer| scorer.score(facts));
    let base = scored.as_ref().map_or(params.prior, |s| s.score);
    let weights: f64 = rules_fired.iter().filter_map(|f| f.weight).sum::<f64>()
        + matched.iter().map(|m| params.alert_terms(m.severity).weight).sum::<f64>();
    let risk = sigmoid(logit(base) + weights);
    let cutoff = match inputs.scorer {
        Some(scorer) => scorer.cutoff(params.budget_share * factor),
        None => params.cutoff_without_model,
    };

    let mut tally = Tally { channel: Channel::Release, leading: Vec::new(), also: Vec::new() };
    let hard_rules: Vec<&Fired> = rules_fired.iter().filter(|f| f.hard_stop).collect();
    let critical: Vec<&Matched> = matched.iter().filter(|m| m.severity == Severity::Critical).collect();
    if !hard_rules.is_empty() || !critical.is_empty() {
        for fired in hard_rules {
            tally.raise(fired.channel.unwrap_or(Channel::Hold), format!("rule:{}", fired.id));
        }
        for alert in critical {
            tally.raise(params.alerts_critical.channel, format!("alert:{}", alert.key));
        }
        tally.leading.insert(0, "hard_stop".to_owned());
        tally.also.extend(rules_fired.iter().filter(|f| !f.hard_stop).map(|f| format!("rule:{}", f.id)));
        tally
            .also
            .extend(matched.iter().filter(|m| m.severity != Severity::Critical).map(|m| format!("alert:{}", m.key)));
    } else if facts.decl.purpose == Purpose::Research.as_str() && facts.declarant.lists.iter().any(|l| l == RD_LIST) {
        tally.leading.push("green_channel.research".to_owned());
        tally.also.extend(rules_fired.iter().map(|f| format!("rule:{}", f.id)));
        tally.also.extend(matched.iter().map(|m| format!("alert:{}", m.key)));
    } else {
        let relieved = credit == CreditClass::Advanced && params.advanced_relief;
        for fired in &rules_fired {
            let reason = format!("rule:{}", fired.id);
            match fired.channel {
                Some(Channel::Inspection) if relieved => {
                    tally.raise(Channel::DocumentCheck, reason);
                    tally.raise(Channel::DocumentCheck, "credit.advanced.relief".to_owned());
                }
                Some(to) => tally.raise(to, reason),
                None => tally.also.push(reason),
            }
        }
        for alert in &matched {
            let to = params.alert_terms(alert.severity).channel;
            let to = if relieved && to == Channel::Inspection { Channel::DocumentCheck } else { to };
            tally.raise(to, format!("alert:{}", alert.key));
        }
        if credit == CreditClass::Dishonest && draw < params.dishonest_inspection_rate {
            tally.raise(Channel::Inspection, "credit.dishonest".to_owned());
        }
        if risk >= cutoff {
            let reason = if scored.is_some() { "score.top_share" } else { "risk.weights" };
            tally.raise(Channel::Inspection, reason.to_owned());
        }
        let inspect = params.exploration.inspection * factor;
        let check = inspect + params.exploration.document_check * factor;
        if draw < inspect {
            tally.raise(Channel::Inspection, "random.inspection".to_owned());
        } else if draw < check {
            tally.raise(Channel::DocumentCheck, "random.document_check".to_owned());
        }
    }
    let Tally { channel, leading, also } = tally;
    let mut reasons = Vec::with_capacity(leading.len() + also.len() + 1);
    if channel == Channel::Release && leading.is_empty() {
        reasons.push("release".to_owned());
    }
    for reason in leading.into_iter().chain(also) {
        if !reasons.contains(&reason) {
            reasons.push(reason);
        }
    }
    Decision {
        channel,
        reasons,
        rules_fired,
        rule_failures,
        alerts: matched,
        credit_class: credit,
        draw,
        draw_secret: inputs.secret.fingerprint(),
        score: scored.as_ref().map(|s| s.score),
        risk,
        cutoff,
        top_features: scored.map(|s| s.top_features).unwrap_or_default(),
        rule_set: inputs.rules.version,
        model: inputs.scorer.map(|s| s.version().to_owned()),
    }
}
