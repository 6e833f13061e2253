//! Back-testing: replay recorded declarations against a draft rule set before it goes live, and report how
//! many it would select and how often the selected ones were found at fault when inspected.

use crate::channel::Channel;
use crate::facts::Facts;
use crate::rules::RuleSet;
use serde::Serialize;
use std::collections::BTreeMap;

/// One recorded declaration to replay, with its inspection outcome when it was inspected
/// (`Some(true)` = a finding).
pub struct Case<'a> {
    pub facts: &'a Facts,
    pub finding: Option<bool>,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct RuleReport {
    pub id: String,
    /// Declarations on which the rule fired.
    pub fired: u64,
    /// Of those, inspected (with a recorded outcome).
    pub inspected: u64,
    pub findings: u64,
    /// findings / inspected, when anything was inspected.
    pub hit_rate: Option<f64>,
    /// Declarations on which the condition could not be evaluated.
    pub failures: u64,
}

#[derive(Debug, Clone, Default, PartialEq, Serialize)]
pub struct BacktestReport {
    pub rule_set: Option<i64>,
    pub declarations: u64,
    /// Declarations the rules alone would send to a channel other than `release`.
    pub selected: u64,
    pub selected_share: f64,
    pub selected_inspected: u64,
    pub selected_findings: u64,
    pub hit_rate: Option<f64>,
    /// The finding rate of all inspected declarations: what the rules should beat.
    pub baseline_hit_rate: Option<f64>,
    pub by_channel: BTreeMap<String, u64>,
    pub rules: Vec<RuleReport>,
}

fn rate(numerator: u64, denominator: u64) -> Option<f64> {
    (denominator > 0).then(|| numerator as f64 / denominator as f64)
}

/// Replays every case against every rule of the set, ignoring effective dates (a draft is tested as if in
/// force). Channels here are the rules' own: credit, alerts, score and draws are left out.
pub fn backtest(rules: &RuleSet, cases: &[Case<'_>]) -> BacktestReport {
    let mut per_rule: Vec<RuleReport> =
        rules.rules.iter().map(|r| RuleReport { id: r.id().to_owned(), ..RuleReport::default() }).collect();
    let mut report = BacktestReport { rule_set: rules.version, ..BacktestReport::default() };
    let (mut inspected, mut findings) = (0u64, 0u64);
    for case in cases {
        report.declarations += 1;
        if let Some(found) = case.finding {
            inspected += 1;
            findings += u64::from(found);
        }
        let mut channel = Channel::Release;
        for (rule, stats) in rules.rules.iter().zip(per_rule.iter_mut()) {
            match rule.condition.eval(case.facts) {
                Ok(true) => {
                    stats.fired += 1;
                    if let Some(found) = case.finding {
                        stats.inspected += 1;
                        stats.findings += u64::from(found);
                    }
                    if let Some(to) = rule.def.channel {
                        channel = channel.max(to);
                    }
                }
                Ok(false) => {}
                Err(_) => stats.failures += 1,
            }
        }
        *report.by_channel.entry(channel.as_str().to_owned()).or_default() += 1;
        if channel != Channel::Release {
            report.selected += 1;
            if let Some(found) = case.finding {
                report.selected_inspected += 1;
                report.selected_findings += u64::from(found);
            }
        }
    }
    for stats in &mut per_rule {
        stats.hit_rate = rate(stats.findings, stats.inspected);
    }
    report.selected_share =
        if report.declarations == 0 { 0.0 } else { report.selected as f64 / report.declarations as f64 };
    report.hit_rate = rate(report.selected_findings, report.selected_inspected);
    report.baseline_hit_rate = rate(findings, inspected);
    report.rules = per_rule;
    report
}
