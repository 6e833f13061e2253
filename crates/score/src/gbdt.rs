//! Gradient-boosted decision trees: logistic loss, Newton leaf values, histogram splits with a learned direction for
//! missing values, L2 regularisation, min child weight, depth limit, row/column subsampling, early stopping on AUC.

use crate::metrics;
use crate::rng::Rng;
use serde::{Deserialize, Serialize};

/// Training options. [`TrainOptions::default`] is the tuned default for declaration data.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct TrainOptions {
    /// The most trees to grow (early stopping may keep fewer).
    pub max_trees: usize,
    /// Shrinkage of each tree's leaf values.
    pub learning_rate: f64,
    /// The deepest a tree may grow (root = depth 0).
    pub max_depth: usize,
    /// Minimum hessian sum in each child of a split.
    pub min_child_weight: f64,
    /// L2 regularisation of leaf values.
    pub lambda: f64,
    /// Minimum loss reduction of a split.
    pub gamma: f64,
    /// Fraction of rows sampled (without replacement, Bernoulli) for each tree.
    pub subsample: f64,
    /// Fraction of features sampled for each tree.
    pub colsample: f64,
    /// Histogram bins per numeric feature (2..=255).
    pub max_bins: usize,
    /// Stop when the validation AUC has not improved for this many trees (only with a validation set).
    pub early_stopping_rounds: usize,
    /// Seed of every random choice (folds, row and column sampling).
    pub seed: u64,
    /// Pseudo-count of the target encoding: values seen fewer times lean towards the overall rate.
    pub smoothing: f64,
    /// Folds of the out-of-fold target encoding of training rows.
    pub folds: usize,
    /// Target-encode each training row from the rows before it (rows must be in time order) instead of out of fold.
    /// Measured on KCS: worse than out of fold, so off by default.
    pub time_ordered_encoding: bool,
    /// Threads building histograms (0 or 1 = none spawned). Results do not depend on it, so it is not saved with
    /// the model (a loaded model reads 0).
    #[serde(skip)]
    pub threads: usize,
}

impl Default for TrainOptions {
    fn default() -> Self {
        Self {
            max_trees: 1000,
            learning_rate: 0.1,
            max_depth: 6,
            min_child_weight: 1.0,
            lambda: 1.0,
            gamma: 0.0,
            subsample: 0.8,
            colsample: 0.8,
            max_bins: 255,
            early_stopping_rounds: 100,
            seed: 42,
            smoothing: 10.0,
            folds: 5,
            time_ordered_encoding: false,
            threads: 2,
        }
    }
}

impl TrainOptions {
    /// A small, fast model for the hot path: at most 100 trees at learning rate 0.3 (about 1 µs per prepared row,
    /// against about 15 µs for the default 1,000 trees; on the KCS valid split AUC 0.885 instead of 0.907).
    pub fn fast() -> Self {
        Self { max_trees: 100, learning_rate: 0.3, ..Self::default() }
    }

    pub(crate) fn check(&self) -> Result<(), String> {
        let ok = self.max_trees > 0
            && self.learning_rate > 0.0
            && self.learning_rate.is_finite()
            && self.min_child_weight >= 0.0
            && self.lambda >= 0.0
            && self.gamma >= 0.0
            && self.subsample > 0.0
            && self.subsample <= 1.0
            && self.colsample > 0.0
            && self.colsample <= 1.0
            && (2..=255).contains(&self.max_bins)
            && self.smoothing >= 0.0
            && self.folds >= 2;
        if ok {
            Ok(())
        } else {
            Err(format!("invalid options {self:?}"))
        }
    }
}

/// A node of a tree. Children of a split are adjacent: `right = left + 1`.
#[derive(Clone, Copy, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Node {
    /// The feature tested, or `None` for a leaf.
    pub feature: Option<u32>,
    /// Go left when `x < threshold`.
    pub threshold: f64,
    /// Where a missing value goes.
    pub default_left: bool,
    /// Index of the left child within the tree.
    pub left: u32,
    /// The (shrunk) Newton value of the node: the leaf output, or for a split node the value it would have as a leaf
    /// (used by path attribution).
    pub value: f64,
    /// The hessian sum of the training rows that reached the node.
    pub cover: f64,
}

/// One tree, root first.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub(crate) struct Tree {
    pub nodes: Vec<Node>,
}

/// The missing-value bin.
const MISSING: u8 = 255;
const HIST: usize = 256;

/// Cut points of one feature: `bin(x) = #{cuts ≤ x}`, so a split after bin `b` is `x < cuts[b]`.
fn cuts(values: &[f64], max_bins: usize) -> Vec<f64> {
    let mut sorted: Vec<f64> = values.iter().copied().filter(|x| !x.is_nan()).collect();
    sorted.sort_by(f64::total_cmp);
    let mut distinct: Vec<(f64, usize)> = Vec::new();
    for x in sorted.iter().copied() {
        match distinct.last_mut() {
            Some((v, c)) if *v == x => *c += 1,
            _ => distinct.push((x, 1)),
        }
    }
    let mid = |i: usize| distinct[i].0 + (distinct[i + 1].0 - distinct[i].0) / 2.0;
    if distinct.len() <= max_bins {
        return (0..distinct.len().saturating_sub(1)).map(mid).collect();
    }
    let per_bin = sorted.len() as f64 / max_bins as f64;
    let mut out = Vec::with_capacity(max_bins - 1);
    let mut seen = 0usize;
    for (i, (_, count)) in distinct.iter().enumerate().take(distinct.len() - 1) {
        seen += count;
        if seen as f64 >= per_bin * (out.len() + 1) as f64 && out.len() < max_bins - 1 {
            out.push(mid(i));
        }
    }
    out
}

fn bin_of(cuts: &[f64], x: f64) -> u8 {
    if x.is_nan() {
        MISSING
    } else {
        cuts.partition_point(|&c| c <= x) as u8
    }
}

fn sigmoid(x: f64) -> f64 {
    1.0 / (1.0 + (-x).exp())
}

/// The result of boosting.
pub(crate) struct Boosted {
    pub base_margin: f64,
    pub trees: Vec<Tree>,
    pub best_valid_auc: Option<f64>,
    pub trees_grown: usize,
}

#[derive(Clone, Copy, Default)]
struct Split {
    gain: f64,
    feature: usize,
    bin: u8,
    default_left: bool,
}

type Hist = Vec<[f64; 2]>;

struct Grower<'a> {
    bins: &'a [Vec<u8>],
    cuts: &'a [Vec<f64>],
    grad: &'a [f64],
    hess: &'a [f64],
    features: Vec<usize>,
    options: &'a TrainOptions,
}

impl Grower<'_> {
    fn hist_feature(&self, f: usize, rows: &[u32], out: &mut [[f64; 2]]) {
        let column = &self.bins[f];
        for &r in rows {
            let r = r as usize;
            let cell = &mut out[usize::from(column[r])];
            cell[0] += self.grad[r];
            cell[1] += self.hess[r];
        }
    }

    fn histogram(&self, rows: &[u32]) -> Hist {
        let n_features = self.bins.len();
        let mut hist = vec![[0.0; 2]; n_features * HIST];
        let threads = self.options.threads.max(1);
        if threads == 1 || rows.len() < 4096 {
            for &f in &self.features {
                self.hist_feature(f, rows, &mut hist[f * HIST..(f + 1) * HIST]);
            }
            return hist;
        }
        // Each feature's histogram is summed by one thread in row order: the result does not depend on threads.
        let mut slots: Vec<(usize, &mut [[f64; 2]])> =
            hist.chunks_mut(HIST).enumerate().filter(|(f, _)| self.features.binary_search(f).is_ok()).collect();
        let per_thread = slots.len().div_ceil(threads).max(1);
        std::thread::scope(|scope| {
            for chunk in slots.chunks_mut(per_thread) {
                scope.spawn(move || {
                    for (f, out) in chunk.iter_mut() {
                        self.hist_feature(*f, rows, out);
                    }
                });
            }
        });
        hist
    }

    fn score(&self, g: f64, h: f64) -> f64 {
        g * g / (h + self.options.lambda)
    }

    fn best_split(&self, hist: &Hist, g: f64, h: f64) -> Option<Split> {
        let parent = self.score(g, h);
        let mcw = self.options.min_child_weight;
        let mut best = Split::default();
        for &f in &self.features {
            let cells = &hist[f * HIST..(f + 1) * HIST];
            let [gm, hm] = cells[usize::from(MISSING)];
            let n_cuts = self.cuts[f].len();
            let (mut gl, mut hl) = (0.0, 0.0);
            for (b, cell) in cells.iter().enumerate().take(n_cuts) {
                gl += cell[0];
                hl += cell[1];
                // Missing values right.
                let (gr, hr) = (g - gl, h - hl);
                if hl >= mcw && hr >= mcw {
                    let gain = self.score(gl, hl) + self.score(gr, hr) - parent;
                    if gain > best.gain {
                        best = Split { gain, feature: f, bin: b as u8, default_left: false };
                    }
                }
                if hm > 0.0 {
                    let (gl2, hl2) = (gl + gm, hl + hm);
                    let (gr2, hr2) = (g - gl2, h - hl2);
                    if hl2 >= mcw && hr2 >= mcw {
                        let gain = self.score(gl2, hl2) + self.score(gr2, hr2) - parent;
                        if gain > best.gain {
                            best = Split { gain, feature: f, bin: b as u8, default_left: true };
                        }
                    }
                }
            }
        }
        (0.5 * best.gain > self.options.gamma && best.gain > 1e-9).then_some(best)
    }

    fn leaf_value(&self, g: f64, h: f64) -> f64 {
        -g / (h + self.options.lambda) * self.options.learning_rate
    }

    /// Grows one tree on `rows` (reordered in place). Returns the tree and, per node, the split bin (for binned
    /// prediction of the training rows).
    fn grow(&self, rows: &mut [u32]) -> (Tree, Vec<u8>) {
        struct Pending {
            node: usize,
            start: usize,
            end: usize,
            depth: usize,
            hist: Hist,
            g: f64,
            h: f64,
        }
        let (g, h) = rows.iter().fold((0.0, 0.0), |(g, h), &r| (g + self.grad[r as usize], h + self.hess[r as usize]));
        let mut nodes = vec![Node {
            feature: None,
            threshold: 0.0,
            default_left: false,
            left: 0,
            value: self.leaf_value(g, h),
            cover: h,
        }];
        let mut split_bins = vec![0u8];
        let mut stack =
            vec![Pending { node: 0, start: 0, end: rows.len(), depth: 0, hist: self.histogram(rows), g, h }];
        while let Some(p) = stack.pop() {
            if p.depth >= self.options.max_depth {
                continue;
            }
            let Some(split) = self.best_split(&p.hist, p.g, p.h) else { continue };
            let column = &self.bins[split.feature];
            let goes_left = |r: u32| {
                let b = column[r as usize];
                if b == MISSING {
                    split.default_left
                } else {
                    b <= split.bin
                }
            };
            // Stable partition of rows[start..end] (keeps row order, so sums are reproducible).
            let segment = &mut rows[p.start..p.end];
            let (left_rows, right_rows): (Vec<u32>, Vec<u32>) = segment.iter().partition(|&&r| goes_left(r));
            let mid = p.start + left_rows.len();
            segment[..left_rows.len()].copy_from_slice(&left_rows);
            segment[left_rows.len()..].copy_from_slice(&right_rows);
            let sum = |rs: &[u32]| {
                rs.iter().fold((0.0, 0.0), |(g, h), &r| (g + self.grad[r as usize], h + self.hess[r as usize]))
            };
            let (gl, hl) = sum(&rows[p.start..mid]);
            let (gr, hr) = (p.g - gl, p.h - hl);
            let left = nodes.len();
            for (gc, hc) in [(gl, hl), (gr, hr)] {
                nodes.push(Node {
                    feature: None,
                    threshold: 0.0,
                    default_left: false,
                    left: 0,
                    value: self.leaf_value(gc, hc),
                    cover: hc,
                });
                split_bins.push(0);
            }
            let node = &mut nodes[p.node];
            node.feature = Some(split.feature as u32);
            node.threshold = self.cuts[split.feature][usize::from(split.bin)];
            node.default_left = split.default_left;
            node.left = left as u32;
            split_bins[p.node] = split.bin;
            if p.depth + 1 >= self.options.max_depth {
                continue;
            }
            // Histogram of the smaller child by summation, the larger by subtraction.
            let left_small = mid - p.start <= p.end - mid;
            let small =
                if left_small { self.histogram(&rows[p.start..mid]) } else { self.histogram(&rows[mid..p.end]) };
            let mut large = p.hist;
            for (l, s) in large.iter_mut().zip(&small) {
                l[0] -= s[0];
                l[1] -= s[1];
            }
            let (left_hist, right_hist) = if left_small { (small, large) } else { (large, small) };
            stack.push(Pending {
                node: left + 1,
                start: mid,
                end: p.end,
                depth: p.depth + 1,
                hist: right_hist,
                g: gr,
                h: hr,
            });
            stack.push(Pending {
                node: left,
                start: p.start,
                end: mid,
                depth: p.depth + 1,
                hist: left_hist,
                g: gl,
                h: hl,
            });
        }
        (Tree { nodes }, split_bins)
    }
}

/// The leaf value a tree gives a binned row.
fn predict_binned(tree: &Tree, split_bins: &[u8], bins: &[Vec<u8>], row: usize) -> f64 {
    let mut i = 0;
    loop {
        let node = &tree.nodes[i];
        let Some(f) = node.feature else { return node.value };
        let b = bins[f as usize][row];
        let left = if b == MISSING { node.default_left } else { b <= split_bins[i] };
        i = node.left as usize + usize::from(!left);
    }
}

/// The leaf value a tree gives a row of raw feature values.
pub(crate) fn predict_tree(tree: &Tree, values: &[f64]) -> f64 {
    let mut i = 0;
    loop {
        let node = &tree.nodes[i];
        let Some(f) = node.feature else { return node.value };
        let x = values[f as usize];
        let left = if x.is_nan() { node.default_left } else { x < node.threshold };
        i = node.left as usize + usize::from(!left);
    }
}

/// Boosts trees on a column-major training matrix; `valid` (row-major feature vectors, labels) drives early stopping.
pub(crate) fn boost(
    columns: &[Vec<f64>],
    labels: &[bool],
    valid: Option<(&[Vec<f64>], &[bool])>,
    options: &TrainOptions,
) -> Boosted {
    let n = labels.len();
    let n_features = columns.len();
    let all_cuts: Vec<Vec<f64>> = columns.iter().map(|c| cuts(c, options.max_bins)).collect();
    let bins: Vec<Vec<u8>> =
        columns.iter().zip(&all_cuts).map(|(c, cuts)| c.iter().map(|&x| bin_of(cuts, x)).collect()).collect();
    let positives = labels.iter().filter(|&&l| l).count() as f64;
    let p = (positives / n as f64).clamp(1e-6, 1.0 - 1e-6);
    let base_margin = (p / (1.0 - p)).ln();
    let mut margin = vec![base_margin; n];
    let mut grad = vec![0.0; n];
    let mut hess = vec![0.0; n];
    let mut valid_margin: Vec<f64> = valid.map(|(rows, _)| vec![base_margin; rows.len()]).unwrap_or_default();
    let mut rng = Rng::new(options.seed);
    let mut trees: Vec<Tree> = Vec::new();
    let mut best: Option<(f64, usize)> = None;
    let mut rows: Vec<u32> = Vec::with_capacity(n);
    for t in 0..options.max_trees {
        for i in 0..n {
            let prob = sigmoid(margin[i]);
            grad[i] = prob - if labels[i] { 1.0 } else { 0.0 };
            hess[i] = (prob * (1.0 - prob)).max(1e-16);
        }
        rows.clear();
        for i in 0..n {
            if options.subsample >= 1.0 || rng.next_f64() < options.subsample {
                rows.push(i as u32);
            }
        }
        let mut features: Vec<usize> = (0..n_features).collect();
        if options.colsample < 1.0 {
            let keep = ((options.colsample * n_features as f64).round() as usize).clamp(1, n_features);
            // Partial Fisher–Yates.
            for i in 0..keep {
                let j = i + rng.below(n_features - i);
                features.swap(i, j);
            }
            features.truncate(keep);
            features.sort_unstable();
        }
        let grower = Grower { bins: &bins, cuts: &all_cuts, grad: &grad, hess: &hess, features, options };
        let (tree, split_bins) = grower.grow(&mut rows);
        for (i, m) in margin.iter_mut().enumerate() {
            *m += predict_binned(&tree, &split_bins, &bins, i);
        }
        if let Some((valid_rows, valid_labels)) = valid {
            for (m, row) in valid_margin.iter_mut().zip(valid_rows) {
                *m += predict_tree(&tree, row);
            }
            trees.push(tree);
            if let Some(auc) = metrics::auc(&valid_margin, valid_labels) {
                if best.is_none_or(|(b, _)| auc > b) {
                    best = Some((auc, t + 1));
                }
            }
            if let Some((_, at)) = best {
                if t + 1 - at >= options.early_stopping_rounds.max(1) {
                    break;
                }
            }
        } else {
            trees.push(tree);
        }
    }
    let trees_grown = trees.len();
    if let Some((_, keep)) = best {
        trees.truncate(keep);
    }
    Boosted { base_margin, trees, best_valid_auc: best.map(|(a, _)| a), trees_grown }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cuts_separate_distinct_values_and_quantiles() {
        assert_eq!(cuts(&[1.0, 2.0, 2.0, f64::NAN, 4.0], 10), vec![1.5, 3.0]);
        let many: Vec<f64> = (0..1000).map(f64::from).collect();
        let c = cuts(&many, 10);
        assert_eq!(c.len(), 9);
        assert_eq!(bin_of(&c, -5.0), 0);
        assert_eq!(bin_of(&c, 999.0), 9);
        assert_eq!(bin_of(&c, f64::NAN), MISSING);
    }
}
