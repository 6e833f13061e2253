//! The targeting behaviours: rules, hard stops, credit, the random draw, alerts and the green channel.
//! Each test fails if its behaviour breaks.

use chrono::{DateTime, NaiveDate, Utc};
use zonegate_risk::alerts::{Alert, AlertDef, Scope, Severity, Withdrawal};
use zonegate_risk::draw::DrawSecret;
use zonegate_risk::engine::{decide, Contribution, Inputs, Scored, Scorer};
use zonegate_risk::facts::Facts;
use zonegate_risk::params::RiskParameters;
use zonegate_risk::rules::{RuleDef, RuleSet, RuleSetDef};
use zonegate_risk::Channel;

const DECLARANT: &str = "91440400MA4UJ0J57H";
const IMPORTER: &str = "91440400MA4W2XXK0L";

fn date(text: &str) -> NaiveDate {
    text.parse().unwrap()
}

fn now() -> DateTime<Utc> {
    "2026-11-27T10:00:00Z".parse().unwrap()
}

fn secret() -> DrawSecret {
    DrawSecret::new(b"engine-test-secret-0123456789".to_vec()).unwrap()
}

/// An ordinary, unlisted declaration of `reference`.
fn facts(reference: &str) -> Facts {
    let mut facts = Facts::example();
    facts.decl.reference = reference.to_owned();
    facts.decl.zone = "hengqin".into();
    facts.decl.flow = "first_line_in".into();
    facts.decl.purpose = "resale".into();
    facts.decl.declared_on = "2026-11-27".into();
    facts.decl.declarant = DECLARANT.into();
    facts.decl.importer = DECLARANT.into();
    facts.declarant.uscc = DECLARANT.into();
    facts.declarant.credit = "ordinary".into();
    facts.declarant.lists = vec![];
    facts.importer = facts.declarant.clone();
    facts.credit = "ordinary".into();
    facts
}

fn rule(id: &str, condition: &str, channel: Option<Channel>, weight: Option<f64>, hard_stop: bool) -> RuleDef {
    RuleDef {
        id: id.into(),
        description: String::new(),
        condition: condition.into(),
        channel,
        weight,
        hard_stop,
        effective_from: date("2026-01-01"),
        effective_to: None,
        author: "analyst.ng".into(),
    }
}

fn rules(defs: Vec<RuleDef>) -> RuleSet {
    RuleSet::compile(&RuleSetDef { note: String::new(), rules: defs }, Some(1)).expect("valid rules")
}

/// No exploration, so only what a test sets up selects.
fn quiet() -> RiskParameters {
    let mut params = RiskParameters::default();
    params.exploration.inspection = 0.0;
    params.exploration.document_check = 0.0;
    params
}

fn run(facts: &Facts, rules: &RuleSet, alerts: &[Alert], params: &RiskParameters) -> zonegate_risk::Decision {
    let secret = secret();
    let inputs = Inputs { rules, alerts, params, secret: &secret, scorer: None, now: now() };
    decide(facts, date("2026-11-27"), &inputs)
}

fn alert(id: &str, severity: Severity, scope: Scope) -> Alert {
    Alert {
        key: format!("authority:iacm/{id}"),
        def: AlertDef {
            id: id.into(),
            title: "Frozen shrimp: residues".into(),
            description: String::new(),
            severity,
            scope,
            valid_from: date("2026-11-01"),
            valid_to: Some(date("2026-12-31")),
        },
        publisher: "authority:iacm".into(),
        published_by: "iacm.desk".into(),
        published_at: now(),
        withdrawn: None,
    }
}

#[test]
fn a_declaration_nothing_selects_is_released() {
    let decision = run(&facts("R-1"), &RuleSet::default(), &[], &quiet());
    assert_eq!(decision.channel, Channel::Release);
    assert_eq!(decision.reasons, vec!["release"]);
    assert_eq!(decision.credit_class.as_str(), "ordinary");
}

#[test]
fn a_rule_that_fires_sets_the_channel_and_is_named() {
    let set = rules(vec![
        rule(
            "laptops.value",
            "items.exists(i, i.hs4 == '8471' && i.value_cny > 100000.0)",
            Some(Channel::DocumentCheck),
            None,
            false,
        ),
        rule(
            "bolts.cheap",
            "items.exists(i, i.hs4 == '7318' && i.unit_value_cny < 5.0)",
            Some(Channel::Inspection),
            None,
            false,
        ),
    ]);
    let decision = run(&facts("R-2"), &set, &[], &quiet());
    assert_eq!(decision.channel, Channel::DocumentCheck);
    assert_eq!(decision.reasons, vec!["rule:laptops.value"]);
    assert_eq!(decision.rules_fired.len(), 1);
    // Raising the threshold stops it firing.
    let mut cheap = facts("R-2");
    cheap.items[0].value_cny = 50_000.0;
    assert_eq!(run(&cheap, &set, &[], &quiet()).channel, Channel::Release);
}

#[test]
fn the_strictest_channel_wins_and_rules_out_of_their_period_do_not_fire() {
    let mut expired = rule("old", "true", Some(Channel::Refuse), None, false);
    expired.effective_to = Some(date("2026-06-01"));
    let set = rules(vec![
        rule("a", "decl.flow == 'first_line_in'", Some(Channel::DocumentCheck), None, false),
        rule("b", "items.size() >= 2", Some(Channel::Inspection), None, false),
        expired,
    ]);
    let decision = run(&facts("R-3"), &set, &[], &quiet());
    assert_eq!(decision.channel, Channel::Inspection);
    assert_eq!(decision.reasons[0], "rule:b");
    assert!(decision.reasons.contains(&"rule:a".to_owned()));
    assert!(!decision.rules_fired.iter().any(|f| f.id == "old"));
}

#[test]
fn hard_stops_win_over_the_green_channel_and_credit() {
    let set =
        rules(vec![rule("waste.plastics", "items.exists(i, i.hs4 == '3915')", Some(Channel::Refuse), None, true)]);
    let mut waste = facts("R-4");
    waste.items[1].hs = "39159000".into();
    waste.items[1].hs4 = "3915".into();
    waste.decl.purpose = "research".into();
    waste.declarant.lists = vec!["rd_enterprise".into()];
    waste.declarant.credit = "advanced".into();
    waste.importer = waste.declarant.clone();
    let decision = run(&waste, &set, &[], &quiet());
    assert_eq!(decision.channel, Channel::Refuse);
    assert_eq!(decision.reasons[..2], ["hard_stop", "rule:waste.plastics"]);
}

#[test]
fn research_goods_of_listed_enterprises_take_the_green_channel() {
    let set = rules(vec![rule("any.inspect", "true", Some(Channel::Inspection), None, false)]);
    let mut research = facts("R-5");
    research.decl.purpose = "research".into();
    research.declarant.lists = vec!["rd_enterprise".into()];
    let decision = run(&research, &set, &[], &quiet());
    assert_eq!(decision.channel, Channel::Release);
    assert_eq!(decision.reasons[0], "green_channel.research");
    // Not on the list, or not research: no green channel.
    research.declarant.lists.clear();
    assert_eq!(run(&research, &set, &[], &quiet()).channel, Channel::Inspection);
    let mut resale = facts("R-5");
    resale.declarant.lists = vec!["rd_enterprise".into()];
    assert_eq!(run(&resale, &set, &[], &quiet()).channel, Channel::Inspection);
}

#[test]
fn alerts_act_by_severity_and_critical_ones_are_hard_stops() {
    let shrimp = Scope { hs: vec!["0306".into()], origins: vec!["JP".into()], ..Scope::default() };
    let mut shrimp_facts = facts("R-6");
    shrimp_facts.items[0].hs = "03061790".into();
    shrimp_facts.items[0].origin = "JP".into();
    let high = alert("a-1", Severity::High, shrimp.clone());
    let decision = run(&shrimp_facts, &RuleSet::default(), std::slice::from_ref(&high), &quiet());
    assert_eq!(decision.channel, Channel::Inspection);
    assert_eq!(decision.reasons, vec!["alert:authority:iacm/a-1"]);
    // Another origin does not match (both dimensions must hold for the same item).
    let mut other = shrimp_facts.clone();
    other.items[0].origin = "NO".into();
    assert_eq!(run(&other, &RuleSet::default(), std::slice::from_ref(&high), &quiet()).channel, Channel::Release);
    // Critical: held even on the green channel.
    let critical = alert("a-2", Severity::Critical, shrimp);
    let mut research = shrimp_facts.clone();
    research.decl.purpose = "research".into();
    research.declarant.lists = vec!["rd_enterprise".into()];
    let decision = run(&research, &RuleSet::default(), std::slice::from_ref(&critical), &quiet());
    assert_eq!(decision.channel, Channel::Hold);
    assert_eq!(decision.reasons[0], "hard_stop");
    // Withdrawn before the decision, or outside its validity: no effect.
    let mut withdrawn = critical.clone();
    withdrawn.withdrawn =
        Some(Withdrawal { by: "iacm.desk".into(), at: now() - chrono::Duration::hours(1), reason: String::new() });
    assert_eq!(run(&shrimp_facts, &RuleSet::default(), &[withdrawn], &quiet()).channel, Channel::Release);
    let mut expired = critical;
    expired.def.valid_to = Some(date("2026-11-26"));
    assert_eq!(run(&shrimp_facts, &RuleSet::default(), &[expired], &quiet()).channel, Channel::Release);
}

#[test]
fn alerts_match_enterprises_and_product_text() {
    let by_text = alert("t", Severity::Medium, Scope { text: vec!["LAPTOP".into()], ..Scope::default() });
    assert_eq!(run(&facts("R-7"), &RuleSet::default(), &[by_text], &quiet()).channel, Channel::DocumentCheck);
    let by_enterprise = alert("e", Severity::High, Scope { enterprises: vec![IMPORTER.into()], ..Scope::default() });
    assert_eq!(
        run(&facts("R-7"), &RuleSet::default(), std::slice::from_ref(&by_enterprise), &quiet()).channel,
        Channel::Release
    );
    let mut theirs = facts("R-7");
    theirs.decl.importer = IMPORTER.into();
    assert_eq!(run(&theirs, &RuleSet::default(), &[by_enterprise], &quiet()).channel, Channel::Inspection);
}

fn with_credit(reference: &str, declarant: &str, importer: &str) -> Facts {
    let mut f = facts(reference);
    f.declarant.credit = declarant.into();
    f.importer.credit = importer.into();
    f
}

fn inspected_share(n: usize, credit: (&str, &str), rules: &RuleSet, params: &RiskParameters) -> f64 {
    let inspected = (0..n)
        .filter(|i| run(&with_credit(&format!("S-{i}"), credit.0, credit.1), rules, &[], params).channel.is_physical())
        .count();
    inspected as f64 / n as f64
}

#[test]
fn the_lower_credit_class_of_the_parties_applies() {
    let decision = run(&with_credit("C-1", "advanced", "dishonest"), &RuleSet::default(), &[], &quiet());
    assert_eq!(decision.credit_class.as_str(), "dishonest");
    let decision = run(&with_credit("C-1", "advanced", "ordinary"), &RuleSet::default(), &[], &quiet());
    assert_eq!(decision.credit_class.as_str(), "ordinary");
}

#[test]
fn credit_classes_honour_the_inspection_rates_of_order_251() {
    // A rule that selects a fifth of all traffic, the default exploration and budget: AEO goods are inspected
    // at under 20 % of the ordinary rate, dishonest enterprises' at 80 % or more.
    let set = rules(vec![rule(
        "fifth",
        "decl.reference.endsWith('0') || decl.reference.endsWith('5')",
        Some(Channel::Inspection),
        None,
        false,
    )]);
    let params = RiskParameters::default();
    let n = 4_000;
    let ordinary = inspected_share(n, ("ordinary", "ordinary"), &set, &params);
    let advanced = inspected_share(n, ("advanced", "advanced"), &set, &params);
    let dishonest = inspected_share(n, ("dishonest", "advanced"), &set, &params);
    assert!(ordinary > 0.2, "ordinary {ordinary}");
    assert!(advanced < 0.2 * ordinary, "advanced {advanced} vs ordinary {ordinary}");
    assert!(dishonest >= 0.8, "dishonest {dishonest}");
    // Relief sends an AEO's rule hit to a document check, with the reason.
    let decision = run(&with_credit("S-10", "advanced", "advanced"), &set, &[], &params);
    assert_eq!(decision.channel, Channel::DocumentCheck);
    assert!(decision.reasons.contains(&"credit.advanced.relief".to_owned()));
}

#[test]
fn the_random_draw_is_reproducible_and_keeps_a_minimum_rate_per_channel() {
    let params = RiskParameters::default();
    let n = 10_000;
    let decisions: Vec<_> = (0..n).map(|i| run(&facts(&format!("D-{i}")), &RuleSet::default(), &[], &params)).collect();
    let share = |c: Channel| decisions.iter().filter(|d| d.channel == c).count() as f64 / n as f64;
    let (inspection, check) = (share(Channel::Inspection), share(Channel::DocumentCheck));
    assert!((0.007..0.013).contains(&inspection), "inspection {inspection}");
    assert!((0.016..0.024).contains(&check), "document check {check}");
    let drawn = decisions.iter().find(|d| d.channel == Channel::Inspection).unwrap();
    assert_eq!(drawn.reasons, vec!["random.inspection"]);
    // The same declaration draws the same number again; the draw and the secret's fingerprint are kept.
    let again = run(&facts("D-7"), &RuleSet::default(), &[], &params);
    assert_eq!(again, decisions[7]);
    assert_eq!(again.draw_secret, secret().fingerprint());
    // Another secret draws differently.
    let other = DrawSecret::new(b"a different secret, long enough".to_vec()).unwrap();
    let inputs =
        Inputs { rules: &RuleSet::default(), alerts: &[], params: &params, secret: &other, scorer: None, now: now() };
    assert_ne!(decide(&facts("D-7"), date("2026-11-27"), &inputs).draw, again.draw);
}

struct Fixed(f64);

impl Scorer for Fixed {
    fn version(&self) -> &str {
        "fixed"
    }
    fn score(&self, _facts: &Facts) -> Scored {
        Scored { score: self.0, top_features: vec![Contribution { feature: "importer".into(), value: 1.5 }] }
    }
    fn cutoff(&self, share: f64) -> f64 {
        // The top `share` of a uniform reference distribution.
        1.0 - share
    }
}

#[test]
fn the_score_selects_the_top_share_and_rule_weights_move_it() {
    let params = quiet();
    let secret = secret();
    let none = RuleSet::default();
    let decide_with = |score: f64, rules: &RuleSet, credit: &str| {
        let inputs =
            Inputs { rules, alerts: &[], params: &params, secret: &secret, scorer: Some(&Fixed(score)), now: now() };
        decide(&with_credit("W-1", credit, credit), date("2026-11-27"), &inputs)
    };
    let high = decide_with(0.97, &none, "ordinary");
    assert_eq!(high.channel, Channel::Inspection);
    assert_eq!(high.reasons, vec!["score.top_share"]);
    assert_eq!(high.score, Some(0.97));
    assert_eq!(high.model.as_deref(), Some("fixed"));
    assert_eq!(high.top_features[0].feature, "importer");
    assert_eq!(decide_with(0.90, &none, "ordinary").channel, Channel::Release);
    // A positive weight lifts 0.90 over the cutoff (0.95); AEO's cutoff is stricter (top 0.5 %).
    let weighted = rules(vec![rule("w", "true", None, Some(1.0), false)]);
    let lifted = decide_with(0.90, &weighted, "ordinary");
    assert_eq!(lifted.channel, Channel::Inspection);
    assert!(lifted.risk > 0.95 && lifted.reasons.contains(&"rule:w".to_owned()));
    assert_eq!(decide_with(0.97, &none, "advanced").channel, Channel::Release);
}

#[test]
fn a_rule_that_cannot_be_evaluated_is_reported_not_fired() {
    // An integer division by zero is an evaluation error: the rule does not fire and the failure is named.
    let set = rules(vec![rule(
        "ratio",
        "decl.items_count / (decl.items_count - decl.items_count) > 1",
        Some(Channel::Hold),
        None,
        false,
    )]);
    let decision = run(&facts("E-1"), &set, &[], &quiet());
    assert_eq!(decision.channel, Channel::Release);
    assert_eq!(decision.rule_failures.len(), 1);
    assert_eq!(decision.rule_failures[0].id, "ratio");
}
