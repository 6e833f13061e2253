//! Officers' rules: a CEL condition over the declaration, an action, an effective period and an author.
//! A rule set is a versioned list of rules; it is validated as a whole when saved, with every problem at once.

use crate::channel::Channel;
use crate::expr::Condition;
use crate::facts::Facts;
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};
use zonegate_domain::FieldErrors;

/// The largest weight a rule may add to the risk, in log-odds (e^6 ≈ 400 times the odds).
pub const WEIGHT_MAX: f64 = 6.0;
/// The longest rule id.
pub const RULE_ID_MAX: usize = 64;
/// The most rules a set may hold.
pub const RULES_MAX: usize = 2_000;

/// A rule as written by an officer (the JSON of the rule-set API).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleDef {
    pub id: String,
    #[serde(default)]
    pub description: String,
    /// CEL over `decl`, `items`, `declarant`, `importer`, `credit` and `history` (see `facts`).
    pub condition: String,
    /// The channel the declaration goes to at least, when the rule fires.
    #[serde(default)]
    pub channel: Option<Channel>,
    /// Added to the risk in log-odds when the rule fires (may be negative).
    #[serde(default)]
    pub weight: Option<f64>,
    /// A hard stop wins over everything else: the green channel, credit relief and the score.
    #[serde(default)]
    pub hard_stop: bool,
    pub effective_from: NaiveDate,
    /// First day the rule no longer applies.
    #[serde(default)]
    pub effective_to: Option<NaiveDate>,
    /// Who wrote this version of the rule: the author of the rule set that holds it, set by the platform
    /// from the caller, never by the body.
    #[serde(skip)]
    pub author: String,
}

/// A validated, compiled rule.
#[derive(Debug, Clone)]
pub struct Rule {
    pub def: RuleDef,
    pub condition: Condition,
}

impl Rule {
    pub fn id(&self) -> &str {
        &self.def.id
    }

    /// Whether the rule applies to declarations of `date`.
    pub fn is_effective(&self, date: NaiveDate) -> bool {
        self.def.effective_from <= date && self.def.effective_to.is_none_or(|to| date < to)
    }
}

/// A rule that fired on a declaration.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Fired {
    pub id: String,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub channel: Option<Channel>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub weight: Option<f64>,
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub hard_stop: bool,
}

/// A rule whose condition could not be evaluated on a declaration (for instance a division by zero): it does
/// not fire, and the failure is reported with the decision.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct RuleFailure {
    pub id: String,
    pub message: String,
}

/// A versioned set of rules.
#[derive(Debug, Clone, Default)]
pub struct RuleSet {
    /// `None` for a set that has not been saved (a draft being validated).
    pub version: Option<i64>,
    pub rules: Vec<Rule>,
}

/// The JSON body of a rule set.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RuleSetDef {
    #[serde(default)]
    pub note: String,
    pub rules: Vec<RuleDef>,
}

fn valid_id(id: &str) -> bool {
    !id.is_empty()
        && id.len() <= RULE_ID_MAX
        && id.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || matches!(b, b'.' | b'_' | b'-'))
        && id.as_bytes()[0].is_ascii_lowercase()
}

impl RuleSet {
    /// Validates and compiles every rule; reports every problem at once, each naming its field
    /// (`rules[3].condition`) and, for conditions, the line and column in the expression.
    pub fn compile(def: &RuleSetDef, version: Option<i64>) -> Result<RuleSet, FieldErrors> {
        let mut errors = FieldErrors::default();
        if def.rules.len() > RULES_MAX {
            errors.add("too_many", "rules", format!("a rule set holds at most {RULES_MAX} rules"));
        }
        let mut seen = std::collections::HashSet::new();
        let mut rules = Vec::with_capacity(def.rules.len());
        for (index, rule) in def.rules.iter().enumerate() {
            let at = |field: &str| format!("rules[{index}].{field}");
            if !valid_id(&rule.id) {
                errors.add(
                    "rule_id",
                    at("id"),
                    format!(
                        "`{}` is not a rule id: 1 to {RULE_ID_MAX} characters of a-z, 0-9, `.`, `_` and `-`, starting \
                         with a letter",
                        rule.id
                    ),
                );
            } else if !seen.insert(rule.id.as_str()) {
                errors.add("rule_duplicate", at("id"), format!("rule `{}` appears more than once", rule.id));
            }
            if rule.channel.is_none() && rule.weight.is_none() {
                errors.add("rule_action", at("channel"), "a rule needs a `channel`, a `weight`, or both");
            }
            if let Some(weight) = rule.weight {
                if !weight.is_finite() || weight.abs() > WEIGHT_MAX {
                    errors.add(
                        "rule_weight",
                        at("weight"),
                        format!("the weight must be between -{WEIGHT_MAX} and {WEIGHT_MAX}"),
                    );
                }
            }
            if rule.hard_stop && !matches!(rule.channel, Some(Channel::Hold | Channel::Refuse)) {
                errors.add("rule_hard_stop", at("channel"), "a hard stop must send the goods to `hold` or `refuse`");
            }
            if let Some(to) = rule.effective_to {
                if to <= rule.effective_from {
                    errors.add("rule_period", at("effective_to"), "`effective_to` must be after `effective_from`");
                }
            }
            match Condition::compile(&rule.condition) {
                Ok(condition) => rules.push(Rule { def: rule.clone(), condition }),
                Err(problems) => {
                    for problem in problems {
                        errors.add(
                            "rule_condition",
                            at("condition"),
                            format!("line {}, column {}: {}", problem.line, problem.column, problem.message),
                        );
                    }
                }
            }
        }
        errors.into_result(RuleSet { version, rules })
    }

    /// Rules in force for declarations of `date`.
    pub fn effective(&self, date: NaiveDate) -> impl Iterator<Item = &Rule> {
        self.rules.iter().filter(move |rule| rule.is_effective(date))
    }

    /// Evaluates `rules` on the facts: what fired, and what could not be evaluated.
    pub fn fire<'r>(rules: impl Iterator<Item = &'r Rule>, facts: &Facts) -> (Vec<Fired>, Vec<RuleFailure>) {
        let mut fired = Vec::new();
        let mut failures = Vec::new();
        for rule in rules {
            match rule.condition.eval(facts) {
                Ok(true) => fired.push(Fired {
                    id: rule.def.id.clone(),
                    channel: rule.def.channel,
                    weight: rule.def.weight,
                    hard_stop: rule.def.hard_stop,
                }),
                Ok(false) => {}
                Err(error) => failures.push(RuleFailure { id: rule.def.id.clone(), message: error.to_string() }),
            }
        }
        (fired, failures)
    }

    pub fn get(&self, id: &str) -> Option<&Rule> {
        self.rules.iter().find(|rule| rule.id() == id)
    }
}
