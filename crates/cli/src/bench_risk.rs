//! `zonegate risk bench`: the time of one full risk decision (rules, alerts, credit, the draw and the learned
//! score) for 10-item declarations with 50 rules in force, on one core; and, in the same run, the same 50
//! conditions as a Cedar policy set (`cedar-policy`), one authorization request per item.

use std::hint::black_box;
use std::str::FromStr;
use std::time::Instant;

use anyhow::Context as _;
use cedar_policy::{Authorizer, Context, Decision, Entities, EntityUid, Policy, PolicyId, PolicySet, Request};
use serde_json::json;
use zonegate_risk::draw::DrawSecret;
use zonegate_risk::engine::{decide, Inputs};
use zonegate_risk::facts::Facts;
use zonegate_risk::learned::LearnedModel;
use zonegate_risk::params::RiskParameters;
use zonegate_risk::rules::{RuleDef, RuleSet, RuleSetDef};
use zonegate_risk::{synthetic, Channel};

#[derive(clap::Args)]
pub struct RiskBenchArgs {
    /// Decisions timed (after a warm-up of a tenth as many).
    #[arg(long, default_value_t = 50_000)]
    decisions: usize,
    /// Items per declaration.
    #[arg(long, default_value_t = 10)]
    items: usize,
    /// Rules in force.
    #[arg(long, default_value_t = 50)]
    rules: usize,
}

/// One rule as CEL and as the equivalent Cedar condition over one item (`context.item`) and the
/// declaration (`context.decl`): both fire on the same declarations (the run checks it).
fn rule_pair(k: usize) -> (String, String) {
    const HS4: [&str; 6] = ["8471", "8517", "8528", "9018", "6109", "3304"];
    const CHAPTERS: [&str; 5] = ["84", "85", "61", "64", "94"];
    const ORIGINS: [(&str, &str); 4] = [("VN", "TH"), ("KR", "JP"), ("US", "DE"), ("MO", "PT")];
    let hs4 = HS4[k % HS4.len()];
    let chapter = CHAPTERS[k % CHAPTERS.len()];
    let (o1, o2) = ORIGINS[k % ORIGINS.len()];
    let fen = 1_000_000 * (1 + k as i64 % 7);
    match k % 5 {
        0 => (
            format!("items.exists(i, i.hs4 == '{hs4}' && i.value_fen > {fen})"),
            format!("context.item.hs4 == \"{hs4}\" && context.item.value_fen > {fen}"),
        ),
        1 => (
            format!("decl.flow == 'second_line_out' && decl.value_fen > {}", fen * 10),
            format!("context.decl.flow == \"second_line_out\" && context.decl.value_fen > {}", fen * 10),
        ),
        2 => (
            format!("items.exists(i, i.origin in ['{o1}', '{o2}'] && i.chapter == '{chapter}')"),
            format!("[\"{o1}\", \"{o2}\"].contains(context.item.origin) && context.item.chapter == \"{chapter}\""),
        ),
        3 => (
            format!("credit == 'dishonest' && decl.importer == '914404{:012}'", k % 200),
            format!("context.decl.credit == \"dishonest\" && context.decl.importer == \"914404{:012}\"", k % 200),
        ),
        _ => {
            let quantity = 50 + 10 * (k % 10);
            (
                format!("items.exists(i, i.chapter == '{chapter}' && i.quantity > {quantity}.0 && i.unit_value_cny < 5.0)"),
                format!(
                    "context.item.chapter == \"{chapter}\" && context.item.quantity > {quantity} && context.item.unit_value_fen < 500"
                ),
            )
        }
    }
}

fn rule_set(count: usize) -> anyhow::Result<RuleSet> {
    let rules = (0..count)
        .map(|k| RuleDef {
            id: format!("bench.rule{k:02}"),
            description: String::new(),
            condition: rule_pair(k).0,
            channel: [Some(Channel::DocumentCheck), None, Some(Channel::Inspection)][k % 3],
            weight: if k % 3 == 0 { None } else { Some(0.5) },
            hard_stop: false,
            effective_from: chrono::NaiveDate::from_ymd_opt(2026, 1, 1).unwrap_or_default(),
            effective_to: None,
            author: "bench".into(),
        })
        .collect();
    RuleSet::compile(&RuleSetDef { note: String::new(), rules }, Some(1))
        .map_err(|e| anyhow::anyhow!("bench rules: {e}"))
}

fn cedar_policies(count: usize) -> anyhow::Result<PolicySet> {
    let policies = (0..count)
        .map(|k| {
            let text = format!("permit (principal, action, resource) when {{ {} }};", rule_pair(k).1);
            Policy::parse(Some(PolicyId::new(format!("bench.rule{k:02}"))), text)
                .map_err(|e| anyhow::anyhow!("cedar policy {k}: {e}"))
        })
        .collect::<anyhow::Result<Vec<_>>>()?;
    PolicySet::from_policies(policies).map_err(|e| anyhow::anyhow!("cedar policies: {e}"))
}

/// The Cedar requests of a declaration: one per item, the item and declaration facts in the context.
fn cedar_requests(facts: &Facts) -> anyhow::Result<Vec<Request>> {
    let uid = |text: &str| EntityUid::from_str(text).map_err(|e| anyhow::anyhow!("{e}"));
    let decl = json!({
        "flow": facts.decl.flow, "value_fen": facts.decl.value_fen, "credit": facts.credit, "importer": facts.decl.importer,
    });
    facts
        .items
        .iter()
        .map(|item| {
            let context = json!({
                "decl": decl,
                "item": {
                    "hs4": item.hs4, "chapter": item.chapter, "origin": item.origin, "value_fen": item.value_fen,
                    "quantity": item.quantity.floor() as i64, "unit_value_fen": (item.unit_value_cny * 100.0).round() as i64,
                },
            });
            let context = Context::from_json_value(context, None).map_err(|e| anyhow::anyhow!("{e}"))?;
            Request::new(uid("Officer::\"bench\"")?, uid("Action::\"select\"")?, uid("Declaration::\"x\"")?, context, None)
                .map_err(|e| anyhow::anyhow!("{e}"))
        })
        .collect()
}

struct Timing {
    median_ns: u128,
    p90_ns: u128,
    p99_ns: u128,
    mean_ns: u128,
}

fn time<T>(n: usize, mut run: impl FnMut(usize) -> T) -> Timing {
    for i in 0..n / 10 {
        black_box(run(i));
    }
    let mut samples: Vec<u128> = Vec::with_capacity(n);
    let started = Instant::now();
    for i in 0..n {
        let at = Instant::now();
        black_box(run(i));
        samples.push(at.elapsed().as_nanos());
    }
    let total = started.elapsed().as_nanos();
    samples.sort_unstable();
    let pick = |q: f64| samples[((q * n as f64) as usize).min(n - 1)];
    Timing { median_ns: pick(0.5), p90_ns: pick(0.9), p99_ns: pick(0.99), mean_ns: total / n.max(1) as u128 }
}

fn row(what: &str, t: &Timing) {
    let us = |ns: u128| ns as f64 / 1_000.0;
    println!(
        "| {what:<58} | {:>8.2} | {:>8.2} | {:>8.2} | {:>8.2} |",
        us(t.median_ns),
        us(t.p90_ns),
        us(t.p99_ns),
        us(t.mean_ns)
    );
}

pub fn run(args: RiskBenchArgs) -> anyhow::Result<()> {
    let n = args.decisions.max(100);
    let traffic: Vec<Facts> = (0..2_000u64)
        .map(|i| synthetic::declaration(&mut synthetic::Rng::new(1_000 + i), i as usize, args.items).0)
        .collect();
    let rules = rule_set(args.rules)?;
    let params = RiskParameters::default();
    let secret = DrawSecret::new(b"bench-draw-secret-0123456789".to_vec()).map_err(anyhow::Error::msg)?;
    let now = chrono::Utc::now();
    let date = chrono::NaiveDate::from_ymd_opt(2026, 11, 27).unwrap_or_default();

    println!("training the learned score on 20,000 synthetic declarations (zonegate-score, 100 trees) …");
    let train = synthetic::traffic(11, 20_000, args.items);
    let (model, report) = LearnedModel::train(&train, None, &zonegate_score::TrainOptions::fast(), "bench".into())
        .context("training the bench model")?;
    let held_out = synthetic::traffic(12, 5_000, args.items);
    let scores: Vec<f64> = held_out.iter().map(|(f, _)| zonegate_risk::Scorer::score(&model, f).score).collect();
    let labels: Vec<bool> = held_out.iter().map(|(_, l)| *l).collect();
    let auc = zonegate_score::metrics::auc(&scores, &labels).unwrap_or(f64::NAN);
    println!("  {} trees, {} nodes, held-out AUC {auc:.3}", report.trees, model.model().node_count());

    let full = Inputs { rules: &rules, alerts: &[], params: &params, secret: &secret, scorer: Some(&model), now };
    let rules_only = Inputs { rules: &rules, alerts: &[], params: &params, secret: &secret, scorer: None, now };
    let at = |i: usize| &traffic[i % traffic.len()];
    let t_full = time(n, |i| decide(at(i), date, &full));
    let t_rules = time(n, |i| decide(at(i), date, &rules_only));
    let t_score = time(n, |i| zonegate_risk::Scorer::score(&model, at(i)));
    let t_conditions = time(n, |i| RuleSet::fire(rules.rules.iter(), at(i)));

    // The same conditions in Cedar, and a check that both fire the same rules.
    let policies = cedar_policies(args.rules)?;
    let authorizer = Authorizer::new();
    let entities = Entities::empty();
    let requests: Vec<Vec<Request>> = traffic.iter().map(cedar_requests).collect::<anyhow::Result<_>>()?;
    let cedar_fired = |requests: &[Request]| {
        let mut fired: Vec<String> = requests
            .iter()
            .flat_map(|r| {
                authorizer
                    .is_authorized(r, &policies, &entities)
                    .diagnostics()
                    .reason()
                    .map(|p| p.to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        fired.sort();
        fired.dedup();
        fired
    };
    let mut agree = 0;
    for (facts, requests) in traffic.iter().zip(&requests) {
        let mut ours: Vec<String> = RuleSet::fire(rules.rules.iter(), facts).0.into_iter().map(|f| f.id).collect();
        ours.sort();
        agree += usize::from(ours == cedar_fired(requests));
    }
    let t_cedar = time(n, |i| {
        let requests = &requests[i % requests.len()];
        requests
            .iter()
            .filter(|r| authorizer.is_authorized(r, &policies, &entities).decision() == Decision::Allow)
            .count()
    });
    let t_cedar_built = time(n / 5, |i| {
        let requests = cedar_requests(at(i)).unwrap_or_default();
        requests
            .iter()
            .filter(|r| authorizer.is_authorized(r, &policies, &entities).decision() == Decision::Allow)
            .count()
    });

    let fired: usize = traffic.iter().map(|f| RuleSet::fire(rules.rules.iter(), f).0.len()).sum();
    println!();
    println!(
        "{} decisions of {}-item declarations, {} rules in force (on average {:.2} fire), one thread:",
        n,
        args.items,
        args.rules,
        fired as f64 / traffic.len() as f64
    );
    println!("| {:<58} | {:>8} | {:>8} | {:>8} | {:>8} |", "µs per declaration", "median", "p90", "p99", "mean");
    println!("|{}|----------|----------|----------|----------|", "-".repeat(60));
    row("zonegate: full decision (rules, credit, draw, score, reasons)", &t_full);
    row("zonegate: decision without a model", &t_rules);
    row("zonegate: the 50 compiled CEL conditions alone", &t_conditions);
    row("zonegate: learned score alone (10 items, top features)", &t_score);
    row("cedar-policy 4.14: same 50 conditions, 1 request per item", &t_cedar);
    row("cedar-policy 4.14: the same, building the requests too", &t_cedar_built);
    println!();
    println!("Cedar and zonegate fired the same rules on {agree} of {} declarations.", traffic.len());
    Ok(())
}
