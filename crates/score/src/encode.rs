//! From raw rows to the numeric feature vector the trees see.
//!
//! Numeric columns pass through (missing → NaN). Each categorical column becomes two features:
//! - `rate`: the smoothed positive rate of its value, `(positives + m·prior) / (count + m)`. For training rows it is
//!   computed out of fold (k folds assigned by the seed; a row never sees its own label), at scoring time from the
//!   whole training set. Unseen values get the prior.
//! - `count`: `ln(1 + count)` of the value in the training set (no label involved, so no leakage).
//!
//! A missing category (None or empty) is a level of its own.

use crate::rng::Rng;
use crate::schema::{Row, Schema};
use serde::{Deserialize, Serialize};
use std::collections::{BTreeMap, HashMap};
use std::hash::{BuildHasherDefault, Hasher};

/// FNV-1a: category keys are short strings from the training data, hashed on the scoring path; SipHash's
/// flooding resistance buys nothing there (an attacker can only send keys to look up, not insert).
#[derive(Clone, Copy, Debug)]
pub(crate) struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Self {
        Self(0xcbf2_9ce4_8422_2325)
    }
}

impl Hasher for Fnv {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0 ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3);
        }
    }
}

type FnvMap<K, V> = HashMap<K, V, BuildHasherDefault<Fnv>>;

/// Features per categorical column.
pub(crate) const PER_CATEGORY: usize = 2;

/// Label statistics of the values of one categorical column. Serialised sorted, so model bytes are deterministic.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
#[serde(from = "BTreeMap<String, [f64; 2]>", into = "BTreeMap<String, [f64; 2]>")]
pub(crate) struct ColumnStats {
    /// value → (count, positives).
    values: FnvMap<String, [f64; 2]>,
}

impl From<BTreeMap<String, [f64; 2]>> for ColumnStats {
    fn from(map: BTreeMap<String, [f64; 2]>) -> Self {
        Self { values: map.into_iter().collect() }
    }
}

impl From<ColumnStats> for BTreeMap<String, [f64; 2]> {
    fn from(stats: ColumnStats) -> Self {
        stats.values.into_iter().collect()
    }
}

/// The fitted encoders of a model.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Encoder {
    /// The positive rate of the training set.
    pub prior: f64,
    /// The pseudo-count `m` pulling rare values towards the prior.
    pub smoothing: f64,
    /// One per categorical column.
    pub columns: Vec<ColumnStats>,
}

fn key(value: Option<&str>) -> &str {
    value.unwrap_or("")
}

impl Encoder {
    /// Feature names, in feature order.
    pub(crate) fn feature_names(schema: &Schema) -> Vec<String> {
        let mut names: Vec<String> = schema.numeric.clone();
        for column in &schema.categorical {
            names.push(format!("{column}:rate"));
            names.push(format!("{column}:count"));
        }
        names
    }

    fn rate(&self, count: f64, positives: f64) -> f64 {
        (positives + self.smoothing * self.prior) / (count + self.smoothing)
    }

    /// Fits on the training rows and returns the encoder and the out-of-fold encoded training matrix, column-major.
    pub(crate) fn fit(
        schema: &Schema,
        rows: &[Row],
        labels: &[bool],
        smoothing: f64,
        folds: usize,
        seed: u64,
        time_ordered: bool,
    ) -> (Self, Vec<Vec<f64>>) {
        let n = rows.len();
        let positives = labels.iter().filter(|&&l| l).count();
        let prior = positives as f64 / n.max(1) as f64;
        let folds = folds.max(2);
        let mut rng = Rng::new(seed ^ 0xF01D);
        let fold: Vec<usize> = (0..n).map(|_| rng.below(folds)).collect();
        let mut encoder = Self { prior, smoothing, columns: Vec::with_capacity(schema.categorical.len()) };
        let mut matrix: Vec<Vec<f64>> =
            Vec::with_capacity(schema.numeric.len() + PER_CATEGORY * schema.categorical.len());
        for c in 0..schema.numeric.len() {
            matrix.push(rows.iter().map(|r| r.numbers[c].unwrap_or(f64::NAN)).collect());
        }
        for c in 0..schema.categorical.len() {
            let mut all: HashMap<&str, [f64; 2]> = HashMap::new();
            let mut per_fold: Vec<HashMap<&str, [f64; 2]>> = vec![HashMap::new(); folds];
            for (i, row) in rows.iter().enumerate() {
                let k = key(row.categories[c].as_deref());
                let y = if labels[i] { 1.0 } else { 0.0 };
                let a = all.entry(k).or_default();
                a[0] += 1.0;
                a[1] += y;
                let f = per_fold[fold[i]].entry(k).or_default();
                f[0] += 1.0;
                f[1] += y;
            }
            let mut rate = Vec::with_capacity(n);
            let mut count = Vec::with_capacity(n);
            let mut earlier: HashMap<&str, [f64; 2]> = HashMap::new();
            for (i, row) in rows.iter().enumerate() {
                let k = key(row.categories[c].as_deref());
                let a = all.get(k).copied().unwrap_or_default();
                if time_ordered {
                    // Only the rows before this one (rows in time order).
                    let e = earlier.entry(k).or_default();
                    rate.push(encoder.rate(e[0], e[1]));
                    e[0] += 1.0;
                    e[1] += if labels[i] { 1.0 } else { 0.0 };
                } else {
                    let f = per_fold[fold[i]].get(k).copied().unwrap_or_default();
                    rate.push(encoder.rate(a[0] - f[0], a[1] - f[1]));
                }
                count.push(a[0].ln_1p());
            }
            matrix.push(rate);
            matrix.push(count);
            encoder.columns.push(ColumnStats { values: all.into_iter().map(|(k, v)| (k.to_owned(), v)).collect() });
        }
        (encoder, matrix)
    }

    /// Encodes one row with the full training statistics into `out` (cleared first).
    pub(crate) fn encode_into(&self, categories: &[Option<&str>], numbers: &[Option<f64>], out: &mut Vec<f64>) {
        out.clear();
        out.extend(numbers.iter().map(|x| x.unwrap_or(f64::NAN)));
        for (stats, value) in self.columns.iter().zip(categories) {
            match stats.values.get(key(*value)) {
                Some(&[count, positives]) => {
                    out.push(self.rate(count, positives));
                    out.push(count.ln_1p());
                }
                None => {
                    out.push(self.prior);
                    out.push(0.0);
                }
            }
        }
    }
}
