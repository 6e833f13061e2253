//! The trained model: schema, encoders and trees; saved as JSON; prepared rows scored on flat node arrays.

use crate::encode::Encoder;
use crate::gbdt::{self, TrainOptions, Tree};
use crate::schema::{Row, Schema};
use crate::ScoreError;
use serde::{Deserialize, Serialize};
use std::io::{Read, Write};

/// The version of the model file format written by [`Model::save`] and accepted by [`Model::load`].
pub const FORMAT_VERSION: u32 = 1;

/// A row with its encodings looked up: ready for [`Model::score`] and [`Model::contributions`].
#[derive(Clone, Debug, Default, PartialEq)]
pub struct PreparedRow {
    values: Vec<f64>,
}

impl PreparedRow {
    /// The feature values, in [`Model::feature_names`] order (NaN = missing).
    pub fn values(&self) -> &[f64] {
        &self.values
    }
}

/// What training did.
#[derive(Clone, Debug, PartialEq)]
pub struct TrainReport {
    /// Training rows.
    pub rows: usize,
    /// Features the trees see.
    pub features: usize,
    /// Trees kept in the model.
    pub trees: usize,
    /// Trees grown before early stopping.
    pub trees_grown: usize,
    /// The best validation AUC (the model keeps the trees up to it), when a validation set was given.
    pub valid_auc: Option<f64>,
}

/// A flat node for scoring, 16 bytes. `meta` holds the feature index, [`DEFAULT_LEFT`] when a missing value goes
/// left, and [`LEAF`] for a leaf; the right child is `left + 1`. A leaf keeps its value in `threshold` and points to
/// itself, so every walk takes exactly `depth` steps with no data-dependent branch (the next index is computed, not
/// branched on) and several trees can be walked in lock-step.
#[derive(Clone, Copy, Debug)]
struct FlatNode {
    threshold: f64,
    left: u32,
    meta: u32,
}

const DEFAULT_LEFT: u32 = 1 << 31;
const LEAF: u32 = 1 << 30;
const FEATURE_MASK: u32 = LEAF - 1;

#[derive(Serialize, Deserialize)]
struct ModelFile {
    format_version: u32,
    schema: Schema,
    feature_names: Vec<String>,
    options: TrainOptions,
    encoder: Encoder,
    base_margin: f64,
    trees: Vec<Tree>,
}

/// A trained risk model.
#[derive(Clone, Debug)]
pub struct Model {
    schema: Schema,
    feature_names: Vec<String>,
    options: TrainOptions,
    encoder: Encoder,
    base_margin: f64,
    trees: Vec<Tree>,
    /// All trees' nodes, each tree's nodes contiguous, node indices absolute.
    flat: Vec<FlatNode>,
    roots: Vec<u32>,
    /// The depth of the deepest tree: the steps of every walk.
    depth: usize,
    /// `base_margin` plus every tree's root value: the expected margin the contributions are measured from.
    expected_margin: f64,
}

/// The flat nodes of all trees, the root of each, and the depth of the deepest tree.
fn flatten(trees: &[Tree]) -> (Vec<FlatNode>, Vec<u32>, usize) {
    let mut flat = Vec::with_capacity(trees.iter().map(|t| t.nodes.len()).sum());
    let mut roots = Vec::with_capacity(trees.len());
    let mut max_depth = 0;
    for tree in trees {
        let offset = flat.len() as u32;
        roots.push(offset);
        let mut depth = vec![0usize; tree.nodes.len()];
        for (i, node) in tree.nodes.iter().enumerate() {
            let at = offset + i as u32;
            flat.push(match node.feature {
                None => FlatNode { threshold: node.value, left: at, meta: LEAF },
                Some(f) => {
                    let left = node.left as usize;
                    depth[left] = depth[i] + 1;
                    depth[left + 1] = depth[i] + 1;
                    max_depth = max_depth.max(depth[i] + 1);
                    FlatNode {
                        threshold: node.threshold,
                        left: offset + node.left,
                        meta: f | if node.default_left { DEFAULT_LEFT } else { 0 },
                    }
                }
            });
        }
    }
    (flat, roots, max_depth)
}

impl Model {
    fn assemble(
        schema: Schema,
        options: TrainOptions,
        encoder: Encoder,
        base_margin: f64,
        trees: Vec<Tree>,
    ) -> Result<Self, ScoreError> {
        let feature_names = Encoder::feature_names(&schema);
        if encoder.columns.len() != schema.categorical.len() {
            return Err(ScoreError::ModelFormat("encoders do not match the schema".into()));
        }
        for tree in &trees {
            let n = tree.nodes.len();
            for (i, node) in tree.nodes.iter().enumerate() {
                if let Some(f) = node.feature {
                    // Children after their parent: a walk always ends.
                    if f as usize >= feature_names.len()
                        || f > FEATURE_MASK
                        || node.left as usize + 1 >= n
                        || node.left as usize <= i
                    {
                        return Err(ScoreError::ModelFormat("a tree node points outside its tree".into()));
                    }
                }
            }
            if n == 0 {
                return Err(ScoreError::ModelFormat("an empty tree".into()));
            }
        }
        let (flat, roots, depth) = flatten(&trees);
        let expected_margin = base_margin + trees.iter().map(|t| t.nodes[0].value).sum::<f64>();
        Ok(Self { schema, feature_names, options, encoder, base_margin, trees, flat, roots, depth, expected_margin })
    }

    /// Trains a model on `rows` with outcomes `labels` (true = a finding). `valid` (rows, labels), when given, is used
    /// for early stopping only: the model keeps the trees up to the best validation AUC.
    pub fn train(
        schema: &Schema,
        rows: &[Row],
        labels: &[bool],
        valid: Option<(&[Row], &[bool])>,
        options: &TrainOptions,
    ) -> Result<(Self, TrainReport), ScoreError> {
        options.check().map_err(ScoreError::Training)?;
        if rows.len() != labels.len() {
            return Err(ScoreError::Training(format!("{} rows but {} labels", rows.len(), labels.len())));
        }
        let positives = labels.iter().filter(|&&l| l).count();
        if positives == 0 || positives == labels.len() {
            return Err(ScoreError::Training("the labels need both outcomes".into()));
        }
        for (i, row) in rows.iter().enumerate() {
            schema.check(i, row)?;
        }
        let (encoder, columns) = Encoder::fit(
            schema,
            rows,
            labels,
            options.smoothing,
            options.folds,
            options.seed,
            options.time_ordered_encoding,
        );
        let mut model = Self::assemble(schema.clone(), options.clone(), encoder, 0.0, Vec::new())?;
        let valid_prepared = match valid {
            Some((valid_rows, valid_labels)) => {
                if valid_rows.len() != valid_labels.len() {
                    return Err(ScoreError::Training(format!(
                        "{} validation rows but {} labels",
                        valid_rows.len(),
                        valid_labels.len()
                    )));
                }
                let prepared: Result<Vec<Vec<f64>>, ScoreError> =
                    valid_rows.iter().map(|r| model.prepare(r).map(|p| p.values)).collect();
                Some((prepared?, valid_labels))
            }
            None => None,
        };
        let boosted = gbdt::boost(&columns, labels, valid_prepared.as_ref().map(|(r, l)| (r.as_slice(), *l)), options);
        model = Self::assemble(model.schema, model.options, model.encoder, boosted.base_margin, boosted.trees)?;
        let report = TrainReport {
            rows: rows.len(),
            features: model.feature_names.len(),
            trees: model.trees.len(),
            trees_grown: boosted.trees_grown,
            valid_auc: boosted.best_valid_auc,
        };
        Ok((model, report))
    }

    /// The schema rows must follow.
    pub fn schema(&self) -> &Schema {
        &self.schema
    }

    /// The options the model was trained with.
    pub fn options(&self) -> &TrainOptions {
        &self.options
    }

    /// The names of the features the trees see (numeric columns, then `column:rate` and `column:count` per
    /// categorical column).
    pub fn feature_names(&self) -> &[String] {
        &self.feature_names
    }

    /// Trees in the model.
    pub fn tree_count(&self) -> usize {
        self.trees.len()
    }

    /// Nodes in all trees.
    pub fn node_count(&self) -> usize {
        self.flat.len()
    }

    /// The log-odds the contributions are measured from: the model's expected margin over the training rows
    /// (base log-odds plus each tree's root value).
    pub fn base_score(&self) -> f64 {
        self.expected_margin
    }

    /// Looks the encodings of a row up once.
    pub fn prepare(&self, row: &Row) -> Result<PreparedRow, ScoreError> {
        self.schema.check(0, row)?;
        let categories: Vec<Option<&str>> = row.categories.iter().map(Option::as_deref).collect();
        self.prepare_values(&categories, &row.numbers)
    }

    /// [`Model::prepare`] over borrowed values, in schema order (no string copies).
    pub fn prepare_values(
        &self,
        categories: &[Option<&str>],
        numbers: &[Option<f64>],
    ) -> Result<PreparedRow, ScoreError> {
        let mut prepared = PreparedRow { values: Vec::with_capacity(self.feature_names.len()) };
        self.prepare_into(categories, numbers, &mut prepared)?;
        Ok(prepared)
    }

    /// [`Model::prepare_values`] into an existing [`PreparedRow`], reusing its allocation.
    pub fn prepare_into(
        &self,
        categories: &[Option<&str>],
        numbers: &[Option<f64>],
        out: &mut PreparedRow,
    ) -> Result<(), ScoreError> {
        self.schema.check_lengths(0, categories.len(), numbers.len())?;
        self.encoder.encode_into(categories, numbers, &mut out.values);
        Ok(())
    }

    /// One step of a walk from node `at`.
    #[inline(always)]
    fn step(flat: &[FlatNode], values: &[f64], at: u32) -> u32 {
        let node = &flat[at as usize];
        let x = values[(node.meta & FEATURE_MASK) as usize];
        let left = (x < node.threshold) | (x.is_nan() & (node.meta & DEFAULT_LEFT != 0));
        // A leaf (LEAF set) stays where it is.
        node.left + (u32::from(!left) & (((node.meta & LEAF) >> 30) ^ 1))
    }

    /// The raw margin (log-odds) of a prepared row (NaN for a row prepared by a model with other features).
    pub fn margin(&self, row: &PreparedRow) -> f64 {
        let values = row.values.as_slice();
        if values.len() != self.feature_names.len() {
            return f64::NAN;
        }
        let flat = self.flat.as_slice();
        let mut margin = self.base_margin;
        // Eight trees in lock-step: their walks are independent, so the CPU overlaps them.
        let groups = self.roots.chunks_exact(8);
        let rest = groups.remainder();
        for group in groups {
            let mut at = [group[0], group[1], group[2], group[3], group[4], group[5], group[6], group[7]];
            for _ in 0..self.depth {
                for a in &mut at {
                    *a = Self::step(flat, values, *a);
                }
            }
            margin += ((flat[at[0] as usize].threshold + flat[at[1] as usize].threshold)
                + (flat[at[2] as usize].threshold + flat[at[3] as usize].threshold))
                + ((flat[at[4] as usize].threshold + flat[at[5] as usize].threshold)
                    + (flat[at[6] as usize].threshold + flat[at[7] as usize].threshold));
        }
        for &root in rest {
            let mut at = root;
            for _ in 0..self.depth {
                at = Self::step(flat, values, at);
            }
            margin += flat[at as usize].threshold;
        }
        margin
    }

    /// The risk score of a prepared row: the probability of a finding, 0..1, higher = riskier.
    pub fn score(&self, row: &PreparedRow) -> f64 {
        1.0 / (1.0 + (-self.margin(row)).exp())
    }

    /// Prepares and scores a row.
    pub fn score_row(&self, row: &Row) -> Result<f64, ScoreError> {
        Ok(self.score(&self.prepare(row)?))
    }

    /// Each feature's contribution to the margin (Saabas path attribution: along the row's path in each tree, the
    /// change of node value is credited to the feature split on), in feature order. They sum to
    /// `margin(row) - base_score()`. Sort by absolute value for the top reasons.
    pub fn contributions(&self, row: &PreparedRow) -> Vec<(String, f64)> {
        self.feature_names.iter().cloned().zip(self.contribution_values(row)).collect()
    }

    /// [`Model::contributions`] without the names (in [`Model::feature_names`] order): no string is copied.
    pub fn contribution_values(&self, row: &PreparedRow) -> Vec<f64> {
        let mut out = vec![0.0; self.feature_names.len()];
        for tree in &self.trees {
            let mut i = 0;
            loop {
                let node = &tree.nodes[i];
                let Some(f) = node.feature else { break };
                let x = row.values[f as usize];
                let left = if x.is_nan() { node.default_left } else { x < node.threshold };
                let next = node.left as usize + usize::from(!left);
                out[f as usize] += tree.nodes[next].value - node.value;
                i = next;
            }
        }
        out
    }

    /// The contributions summed per schema column (a categorical column's `rate` and `count` features together), the
    /// `n` largest in absolute value first: the reasons to show next to a score.
    pub fn top_reasons(&self, row: &PreparedRow, n: usize) -> Vec<(String, f64)> {
        let mut by_column: Vec<(String, f64)> = Vec::new();
        for (name, value) in self.contributions(row) {
            let column = name.strip_suffix(":rate").or_else(|| name.strip_suffix(":count")).unwrap_or(&name);
            match by_column.iter_mut().find(|(c, _)| c == column) {
                Some((_, total)) => *total += value,
                None => by_column.push((column.to_owned(), value)),
            }
        }
        by_column.sort_by(|a, b| b.1.abs().total_cmp(&a.1.abs()));
        by_column.truncate(n);
        by_column
    }

    /// The margin of a prepared row computed tree by tree on the serialisable trees (a cross-check of the flat path).
    #[doc(hidden)]
    pub fn margin_slow(&self, row: &PreparedRow) -> f64 {
        self.base_margin + self.trees.iter().map(|t| gbdt::predict_tree(t, &row.values)).sum::<f64>()
    }

    /// Writes the model as JSON (format version, schema, encoders, trees).
    pub fn save<W: Write>(&self, writer: W) -> Result<(), ScoreError> {
        let file = ModelFile {
            format_version: FORMAT_VERSION,
            schema: self.schema.clone(),
            feature_names: self.feature_names.clone(),
            options: self.options.clone(),
            encoder: self.encoder.clone(),
            base_margin: self.base_margin,
            trees: self.trees.clone(),
        };
        let mut writer = std::io::BufWriter::new(writer);
        serde_json::to_writer(&mut writer, &file).map_err(|e| ScoreError::ModelFormat(e.to_string()))?;
        writer.flush()?;
        Ok(())
    }

    /// Reads a model written by [`Model::save`].
    pub fn load<R: Read>(reader: R) -> Result<Self, ScoreError> {
        let value: serde_json::Value = serde_json::from_reader(std::io::BufReader::new(reader))
            .map_err(|e| ScoreError::ModelFormat(e.to_string()))?;
        let found = value.get("format_version").and_then(serde_json::Value::as_u64).unwrap_or(0);
        if found != u64::from(FORMAT_VERSION) {
            return Err(ScoreError::ModelVersion { found: found as u32, expected: FORMAT_VERSION });
        }
        let file: ModelFile = serde_json::from_value(value).map_err(|e| ScoreError::ModelFormat(e.to_string()))?;
        let model = Self::assemble(file.schema, file.options, file.encoder, file.base_margin, file.trees)?;
        if model.feature_names != file.feature_names {
            return Err(ScoreError::ModelFormat("feature names do not match the schema".into()));
        }
        Ok(model)
    }
}
