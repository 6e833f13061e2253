//! The learned score on the platform's own declarations: gradient-boosted trees (`zonegate-score`) over
//! item rows built from the facts, trained on recorded inspection outcomes. A declaration scores as its
//! riskiest item; its top contributing features are that item's.

use crate::engine::{Contribution, Scored, Scorer, TOP_FEATURES};
use crate::facts::{Facts, Item};
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};
use zonegate_score::{Model, PreparedRow, Row, Schema, ScoreError, TrainOptions, TrainReport};

/// The categorical features, in schema order.
pub const CATEGORIES: [&str; 10] =
    ["declarant", "importer", "hs6", "hs4", "chapter", "origin", "flow", "purpose", "credit", "treatment"];
/// The numeric features, in schema order.
pub const NUMBERS: [&str; 8] = [
    "value_cny",
    "quantity",
    "net_kg",
    "unit_value_cny",
    "kg_value_cny",
    "items_count",
    "history_inspections",
    "history_finding_rate",
];

const FORMAT: &str = "zonegate-risk-model/1";

/// The schema of the platform's item rows.
pub fn schema() -> Schema {
    Schema::new(CATEGORIES, NUMBERS)
}

fn present(text: &str) -> Option<&str> {
    (!text.is_empty()).then_some(text)
}

/// One item's feature values, borrowed from the facts.
pub fn item_values<'a>(facts: &'a Facts, item: &'a Item) -> ([Option<&'a str>; 10], [Option<f64>; 8]) {
    let categories = [
        present(&facts.decl.declarant),
        present(&facts.decl.importer),
        present(&item.hs6),
        present(&item.hs4),
        present(&item.chapter),
        present(&item.origin),
        present(&facts.decl.flow),
        present(&facts.decl.purpose),
        present(&facts.credit),
        present(&item.treatment),
    ];
    let known = |v: f64| (v > 0.0).then_some(v);
    let numbers = [
        Some(item.value_cny),
        Some(item.quantity),
        known(item.net_kg),
        known(item.unit_value_cny),
        known(item.kg_value_cny),
        Some(facts.decl.items_count as f64),
        Some(facts.history.inspections as f64),
        (facts.history.inspections > 0).then_some(facts.history.finding_rate),
    ];
    (categories, numbers)
}

fn item_row(facts: &Facts, item: &Item) -> Row {
    let (categories, numbers) = item_values(facts, item);
    Row::new(categories.iter().map(|c| c.map(str::to_owned)).collect(), numbers.to_vec())
}

/// Item rows of declarations, each labelled with its declaration's outcome.
fn rows(examples: &[(Facts, bool)]) -> (Vec<Row>, Vec<bool>) {
    let mut rows = Vec::new();
    let mut labels = Vec::new();
    for (facts, finding) in examples {
        for item in &facts.items {
            rows.push(item_row(facts, item));
            labels.push(*finding);
        }
    }
    (rows, labels)
}

/// A trained model with the reference distribution of declaration scores that turns an inspection budget
/// (a share of the traffic) into a cutoff.
pub struct LearnedModel {
    model: Model,
    version: String,
    /// Declaration scores of the reference traffic, ascending.
    reference: Vec<f64>,
}

#[derive(Serialize, Deserialize)]
struct File {
    format: String,
    version: String,
    reference: Vec<f64>,
    model: serde_json::Value,
}

impl LearnedModel {
    /// Trains on recorded declarations and their outcomes (`true` = a finding). The reference distribution
    /// is the scores of `valid` when given, else of the training declarations.
    pub fn train(
        examples: &[(Facts, bool)],
        valid: Option<&[(Facts, bool)]>,
        options: &TrainOptions,
        version: String,
    ) -> Result<(LearnedModel, TrainReport), ScoreError> {
        let (train_rows, train_labels) = rows(examples);
        let valid_rows = valid.map(rows);
        let (model, report) = Model::train(
            &schema(),
            &train_rows,
            &train_labels,
            valid_rows.as_ref().map(|(r, l)| (r.as_slice(), l.as_slice())),
            options,
        )?;
        let mut learned = LearnedModel { model, version, reference: Vec::new() };
        let reference_set = valid.unwrap_or(examples);
        let mut reference: Vec<f64> = reference_set.iter().map(|(facts, _)| learned.score(facts).score).collect();
        reference.sort_by(f64::total_cmp);
        learned.reference = reference;
        Ok((learned, report))
    }

    pub fn save<W: Write>(&self, writer: W) -> Result<(), ScoreError> {
        let mut bytes = Vec::new();
        self.model.save(&mut bytes)?;
        let model = serde_json::from_slice(&bytes).map_err(|e| ScoreError::ModelFormat(e.to_string()))?;
        let file =
            File { format: FORMAT.to_owned(), version: self.version.clone(), reference: self.reference.clone(), model };
        serde_json::to_writer(writer, &file).map_err(|e| ScoreError::ModelFormat(e.to_string()))
    }

    /// Reads a model written by [`LearnedModel::save`]; refuses a model of another schema (a KCS model, say).
    pub fn load<R: Read>(reader: R) -> Result<LearnedModel, ScoreError> {
        let file: File = serde_json::from_reader(std::io::BufReader::new(reader))
            .map_err(|e| ScoreError::ModelFormat(format!("not a zonegate risk model: {e}")))?;
        if file.format != FORMAT {
            return Err(ScoreError::ModelFormat(format!("format `{}`, expected `{FORMAT}`", file.format)));
        }
        let bytes = serde_json::to_vec(&file.model).map_err(|e| ScoreError::ModelFormat(e.to_string()))?;
        let model = Model::load(bytes.as_slice())?;
        if *model.schema() != schema() {
            return Err(ScoreError::ModelFormat(
                "the model was trained on another layout than the platform's item rows".into(),
            ));
        }
        let mut reference = file.reference;
        reference.sort_by(f64::total_cmp);
        Ok(LearnedModel { model, version: file.version, reference })
    }

    pub fn model(&self) -> &Model {
        &self.model
    }
}

impl Scorer for LearnedModel {
    fn version(&self) -> &str {
        &self.version
    }

    fn score(&self, facts: &Facts) -> Scored {
        // Two buffers: the riskiest item's row so far, and the one being scored.
        let (mut prepared, mut row) = (PreparedRow::default(), PreparedRow::default());
        let mut best: Option<f64> = None;
        for item in &facts.items {
            let (categories, numbers) = item_values(facts, item);
            if self.model.prepare_into(&categories, &numbers, &mut prepared).is_err() {
                continue;
            }
            let score = self.model.score(&prepared);
            if best.is_none_or(|b| score > b) {
                best = Some(score);
                std::mem::swap(&mut prepared, &mut row);
            }
        }
        let Some(score) = best else { return Scored { score: 0.0, top_features: Vec::new() } };
        // Per column: a categorical column's `rate` and `count` features add up.
        let values = self.model.contribution_values(&row);
        let mut by_column: Vec<(&str, f64)> = Vec::with_capacity(values.len());
        for (name, value) in self.model.feature_names().iter().zip(values) {
            let column = name.strip_suffix(":rate").or_else(|| name.strip_suffix(":count")).unwrap_or(name);
            match by_column.iter_mut().find(|(c, _)| *c == column) {
                Some((_, total)) => *total += value,
                None => by_column.push((column, value)),
            }
        }
        by_column.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        let top_features = by_column
            .into_iter()
            .take(TOP_FEATURES)
            .map(|(feature, value)| Contribution { feature: feature.to_owned(), value })
            .collect();
        Scored { score, top_features }
    }

    fn cutoff(&self, share: f64) -> f64 {
        if share <= 0.0 || self.reference.is_empty() {
            return f64::INFINITY;
        }
        let n = self.reference.len();
        // The smallest score among the top `share` of the reference traffic.
        let top = ((share * n as f64).ceil() as usize).clamp(1, n);
        self.reference[n - top]
    }
}
