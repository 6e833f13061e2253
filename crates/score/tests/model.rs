//! The model on synthetic data: it learns a planted pattern, does not leak labels through the target encoding, is
//! deterministic, round-trips through its file, and explains its scores exactly.

use zonegate_score::metrics::auc;
use zonegate_score::{Model, Row, Schema, ScoreError, TrainOptions};

/// A small deterministic generator for test data (independent of the crate's own).
struct Lcg(u64);

impl Lcg {
    fn next(&mut self) -> f64 {
        self.0 = self.0.wrapping_mul(6_364_136_223_846_793_005).wrapping_add(1_442_695_040_888_963_407);
        (self.0 >> 11) as f64 / (1u64 << 53) as f64
    }
}

fn schema() -> Schema {
    Schema::new(["importer", "hs6", "origin"], ["value", "mass"])
}

/// Rows where importers `bad-*` and values above 0.8 are risky; `origin` and `mass` are noise; `shuffle` makes the
/// labels independent of everything.
fn data(n: usize, seed: u64, shuffle: bool) -> (Vec<Row>, Vec<bool>) {
    let mut rng = Lcg(seed);
    let mut rows = Vec::with_capacity(n);
    let mut labels = Vec::with_capacity(n);
    for _ in 0..n {
        let bad = rng.next() < 0.2;
        let importer = format!("{}-{}", if bad { "bad" } else { "ok" }, (rng.next() * 40.0) as u32);
        let hs6 = format!("{:06}", (rng.next() * 300.0) as u32);
        let origin = ["CN", "US", "DE", "VN"][(rng.next() * 4.0) as usize].to_owned();
        let value = rng.next();
        let mass = rng.next() * 100.0;
        let p = 0.05 + if bad { 0.6 } else { 0.0 } + if value > 0.8 { 0.3 } else { 0.0 };
        let label = if shuffle { rng.next() < 0.25 } else { rng.next() < p };
        let missing_mass = rng.next() < 0.1;
        rows.push(Row::new(
            vec![Some(importer), Some(hs6), Some(origin)],
            vec![Some(value), if missing_mass { None } else { Some(mass) }],
        ));
        labels.push(label);
    }
    (rows, labels)
}

fn options() -> TrainOptions {
    TrainOptions { max_trees: 60, learning_rate: 0.1, max_depth: 4, ..TrainOptions::default() }
}

fn held_out_auc(model: &Model, rows: &[Row], labels: &[bool]) -> f64 {
    let scores: Vec<f64> = rows.iter().map(|r| model.score_row(r).unwrap()).collect();
    auc(&scores, labels).unwrap()
}

fn bytes(model: &Model) -> Vec<u8> {
    let mut out = Vec::new();
    model.save(&mut out).unwrap();
    out
}

#[test]
fn learns_a_planted_pattern() {
    let (rows, labels) = data(3000, 1, false);
    let (test_rows, test_labels) = data(2000, 2, false);
    let (model, report) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    assert_eq!(report.trees, 60);
    let a = held_out_auc(&model, &test_rows, &test_labels);
    assert!(a > 0.85, "held-out AUC {a}");
    // The planted features carry the explanation, not the noise.
    let contributions = model.contributions(&model.prepare(&test_rows[0]).unwrap());
    let total = |prefix: &str| -> f64 {
        contributions.iter().filter(|(name, _)| name.starts_with(prefix)).map(|(_, c)| c.abs()).sum()
    };
    assert!(total("importer") + total("value") > total("origin"), "{contributions:?}");
}

#[test]
fn shuffled_labels_and_unique_ids_give_chance_auc() {
    // Every row has its own importer: target encoding it in-sample would predict the training labels perfectly;
    // out of fold it carries nothing, and the held-out AUC stays at chance.
    let (mut rows, labels) = data(3000, 3, true);
    for (i, row) in rows.iter_mut().enumerate() {
        row.categories[0] = Some(format!("unique-{i}"));
    }
    let (test_rows, test_labels) = data(3000, 4, true);
    let (model, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    let a = held_out_auc(&model, &test_rows, &test_labels);
    assert!((a - 0.5).abs() < 0.05, "held-out AUC {a} on labels independent of the features");
    // Nor does the model rank its own training rows well through the ids.
    let train_auc = held_out_auc(&model, &rows, &labels);
    assert!(train_auc < 0.75, "training AUC {train_auc}: the id encoding leaks the labels");
}

#[test]
fn same_seed_same_bytes_and_other_seed_other_model() {
    let (rows, labels) = data(1500, 5, false);
    let (a, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    let (b, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    assert!(bytes(&a) == bytes(&b), "same seed, different model");
    let single = TrainOptions { threads: 1, ..options() };
    let (c, _) = Model::train(&schema(), &rows, &labels, None, &single).unwrap();
    assert!(bytes(&a) == bytes(&c), "threads must not change the model");
    let (d, _) = Model::train(&schema(), &rows, &labels, None, &TrainOptions { seed: 7, ..options() }).unwrap();
    assert!(bytes(&a) != bytes(&d), "the seed has no effect");
}

#[test]
fn early_stopping_keeps_the_best_trees() {
    let (rows, labels) = data(2000, 11, false);
    let (valid_rows, valid_labels) = data(1000, 12, false);
    let opts = TrainOptions { max_trees: 400, learning_rate: 0.3, early_stopping_rounds: 20, ..options() };
    let (model, report) = Model::train(&schema(), &rows, &labels, Some((&valid_rows, &valid_labels)), &opts).unwrap();
    assert!(report.trees_grown < 400, "stopped early: {report:?}");
    assert_eq!(report.trees + 20, report.trees_grown);
    let a = held_out_auc(&model, &valid_rows, &valid_labels);
    assert!((a - report.valid_auc.unwrap()).abs() < 1e-12);
}

#[test]
fn save_load_round_trip_scores_identically() {
    let (rows, labels) = data(1500, 6, false);
    let (model, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    let saved = bytes(&model);
    let loaded = Model::load(saved.as_slice()).unwrap();
    assert!(bytes(&loaded) == saved, "a loaded model saves differently");
    let (test_rows, _) = data(300, 7, false);
    for row in &test_rows {
        let prepared = model.prepare(row).unwrap();
        assert_eq!(model.score(&prepared).to_bits(), loaded.score(&loaded.prepare(row).unwrap()).to_bits());
        assert!((model.margin(&prepared) - model.margin_slow(&prepared)).abs() < 1e-12);
    }
    let text = String::from_utf8(saved).unwrap().replace("\"format_version\":1", "\"format_version\":99");
    assert!(matches!(Model::load(text.as_bytes()), Err(ScoreError::ModelVersion { found: 99, .. })));
    assert!(matches!(Model::load(&b"{not json"[..]), Err(ScoreError::ModelFormat(_))));
}

#[test]
fn contributions_sum_to_the_margin_minus_the_base_score() {
    let (rows, labels) = data(1500, 8, false);
    let (model, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    let (test_rows, _) = data(200, 9, false);
    for row in &test_rows {
        let prepared = model.prepare(row).unwrap();
        let contributions = model.contributions(&prepared);
        assert_eq!(contributions.len(), model.feature_names().len());
        let sum: f64 = contributions.iter().map(|(_, c)| c).sum();
        assert!((sum - (model.margin(&prepared) - model.base_score())).abs() < 1e-9);
        let reasons = model.top_reasons(&prepared, 10);
        assert_eq!(reasons.len(), 5, "one per schema column: {reasons:?}");
        assert!(reasons.windows(2).all(|w| w[0].1.abs() >= w[1].1.abs()));
        let reason_sum: f64 = reasons.iter().map(|(_, c)| c).sum();
        assert!((reason_sum - sum).abs() < 1e-9);
    }
}

#[test]
fn unseen_and_missing_values_score() {
    let (rows, labels) = data(1000, 10, false);
    let (model, _) = Model::train(&schema(), &rows, &labels, None, &options()).unwrap();
    let unseen = Row::new(vec![Some("never-seen".into()), None, None], vec![None, None]);
    let s = model.score_row(&unseen).unwrap();
    assert!(s > 0.0 && s < 1.0);
    let borrowed = model.prepare_values(&[Some("never-seen"), None, None], &[None, None]).unwrap();
    assert_eq!(model.score(&borrowed), s);
    let short = Row::new(vec![None], vec![]);
    assert!(matches!(model.prepare(&short), Err(ScoreError::RowShape { .. })));
    let error = Model::train(&schema(), &rows, &vec![false; rows.len()], None, &options()).unwrap_err();
    assert!(error.to_string().contains("both outcomes"), "{error}");
}
