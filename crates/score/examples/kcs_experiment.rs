//! Trains on the KCS train split with options from the environment and prints the valid metrics and timings.
//!
//! `cargo run --release -p zonegate-score --example kcs_experiment` (from the repository root);
//! options: `DEPTH`, `ETA`, `MCW`, `LAMBDA`, `SUBSAMPLE`, `COLSAMPLE`, `SMOOTHING`, `FOLDS`, `SEED`, `TREES`, `THREADS`.

use std::fs::File;
use std::time::Instant;
use zonegate_score::{kcs, metrics, Model, TrainOptions};

fn env<T: std::str::FromStr>(name: &str, default: T) -> T {
    std::env::var(name).ok().and_then(|v| v.parse().ok()).unwrap_or(default)
}

/// Nanoseconds this thread has run on a CPU (Linux), so timings hold on a busy machine; wall time elsewhere.
fn cpu_ns(wall: Instant) -> f64 {
    std::fs::read_to_string("/proc/thread-self/schedstat")
        .ok()
        .and_then(|s| s.split_whitespace().next().and_then(|v| v.parse().ok()))
        .unwrap_or_else(|| wall.elapsed().as_nanos() as f64)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/../../data/kcs");
    let mut train = kcs::read(File::open(format!("{dir}/df_syn_train_eng.csv"))?, "train", Some("Fraud"))?;
    let mut valid = kcs::read(File::open(format!("{dir}/df_syn_valid_eng.csv"))?, "valid", Some("Fraud"))?;
    let mut schema = kcs::schema();
    // CROSSES="A*B,C*D": extra categorical columns joining two existing ones.
    if let Ok(spec) = std::env::var("CROSSES") {
        for pair in spec.split(',').filter(|p| !p.is_empty()) {
            let (a, b) = pair.split_once('*').ok_or("CROSSES: A*B")?;
            let ia = schema.categorical.iter().position(|c| c == a).ok_or("unknown column")?;
            let ib = schema.categorical.iter().position(|c| c == b).ok_or("unknown column")?;
            for data in [&mut train, &mut valid] {
                for row in &mut data.rows {
                    let value = format!(
                        "{}|{}",
                        row.categories[ia].as_deref().unwrap_or(""),
                        row.categories[ib].as_deref().unwrap_or("")
                    );
                    row.categories.push(Some(value));
                }
            }
            schema.categorical.push(pair.to_owned());
        }
    }
    let d = TrainOptions::default();
    let options = TrainOptions {
        max_depth: env("DEPTH", d.max_depth),
        learning_rate: env("ETA", d.learning_rate),
        min_child_weight: env("MCW", d.min_child_weight),
        lambda: env("LAMBDA", d.lambda),
        subsample: env("SUBSAMPLE", d.subsample),
        colsample: env("COLSAMPLE", d.colsample),
        smoothing: env("SMOOTHING", d.smoothing),
        folds: env("FOLDS", d.folds),
        seed: env("SEED", d.seed),
        max_trees: env("TREES", d.max_trees),
        threads: env("THREADS", d.threads),
        time_ordered_encoding: env("TIME_ORDERED", d.time_ordered_encoding),
        ..d
    };
    let (train_labels, valid_labels) =
        (train.labels.clone().unwrap_or_default(), valid.labels.clone().unwrap_or_default());
    let started = Instant::now();
    let (model, report) =
        Model::train(&schema, &train.rows, &train_labels, Some((&valid.rows, &valid_labels)), &options)?;
    let train_seconds = started.elapsed().as_secs_f64();
    let prepared: Vec<_> = valid.rows.iter().map(|r| model.prepare(r)).collect::<Result<_, _>>()?;
    let wall = Instant::now();
    let started = cpu_ns(wall);
    let mut scores = Vec::with_capacity(prepared.len());
    let rounds = 20;
    for round in 0..rounds {
        scores.clear();
        scores.extend(prepared.iter().map(|p| model.score(p)));
        std::hint::black_box(round);
    }
    let ns_per_row = (cpu_ns(wall) - started) / (rounds * prepared.len()) as f64;
    let started = cpu_ns(wall);
    for row in &valid.rows {
        std::hint::black_box(model.prepare(row)?);
    }
    let prepare_ns = (cpu_ns(wall) - started) / valid.rows.len() as f64;
    println!("{options:?}");
    println!(
        "trees {} (grown {}), nodes {}, train {train_seconds:.2} s, score {ns_per_row:.0} ns/row, prepare {prepare_ns:.0} ns/row",
        report.trees,
        report.trees_grown,
        model.node_count()
    );
    print!("{}", metrics::report(&scores, &valid_labels));
    if std::env::var("IMPORTANCE").is_ok() {
        let mut importance = vec![0.0; model.feature_names().len()];
        for p in &prepared {
            for (i, (_, c)) in model.contributions(p).into_iter().enumerate() {
                importance[i] += c.abs() / prepared.len() as f64;
            }
        }
        let mut named: Vec<_> = model.feature_names().iter().zip(importance).collect();
        named.sort_by(|a, b| b.1.total_cmp(&a.1));
        for (name, value) in named {
            println!("  {name:<40} {value:.4}");
        }
    }
    Ok(())
}
