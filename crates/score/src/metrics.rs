//! Ranking metrics for a risk score: AUC and precision/recall when inspecting the top of the ranking.

/// The area under the ROC curve: the probability that a random positive scores above a random negative, ties
/// counting one half (average ranks). `None` when there are no positives or no negatives, or lengths differ.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    let positives = labels.iter().filter(|&&l| l).count();
    let negatives = labels.len() - positives;
    if positives == 0 || negatives == 0 {
        return None;
    }
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    let mut positive_rank_sum = 0.0;
    let mut i = 0;
    while i < order.len() {
        let mut j = i;
        while j + 1 < order.len() && scores[order[j + 1]] == scores[order[i]] {
            j += 1;
        }
        // Ranks i+1 ..= j+1 share their average.
        let rank = (i + j) as f64 / 2.0 + 1.0;
        positive_rank_sum += rank * order[i..=j].iter().filter(|&&k| labels[k]).count() as f64;
        i = j + 1;
    }
    let p = positives as f64;
    Some((positive_rank_sum - p * (p + 1.0) / 2.0) / (p * negatives as f64))
}

/// The outcome of inspecting the top `inspected` rows of a ranking.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct AtRate {
    /// The inspection rate asked for (0.05 = 5 %).
    pub rate: f64,
    /// Rows inspected: `ceil(rate × n)`.
    pub inspected: usize,
    /// Positives among them.
    pub hits: usize,
    /// `hits / inspected` (0 when nothing is inspected).
    pub precision: f64,
    /// `hits / all positives` (0 when there are none).
    pub recall: f64,
}

/// Precision and recall when the top `k = ceil(rate × n)` rows by score are inspected (highest score first, ties
/// broken by input order). `rate` is clamped to 0..=1.
pub fn at_rate(scores: &[f64], labels: &[bool], rate: f64) -> AtRate {
    let n = scores.len().min(labels.len());
    let rate = rate.clamp(0.0, 1.0);
    // The small epsilon keeps e.g. 0.05 × 8134 from rounding up because of binary fractions.
    let inspected = ((rate * n as f64 - 1e-9).ceil().max(0.0) as usize).min(n);
    let mut order: Vec<usize> = (0..n).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]).then(a.cmp(&b)));
    let hits = order[..inspected].iter().filter(|&&i| labels[i]).count();
    let positives = labels[..n].iter().filter(|&&l| l).count();
    AtRate {
        rate,
        inspected,
        hits,
        precision: if inspected == 0 { 0.0 } else { hits as f64 / inspected as f64 },
        recall: if positives == 0 { 0.0 } else { hits as f64 / positives as f64 },
    }
}

/// The inspection rates reported by `zonegate risk evaluate`: 1, 2, 5 and 10 %.
pub const REPORT_RATES: [f64; 4] = [0.01, 0.02, 0.05, 0.10];

/// The evaluation table printed by `zonegate risk evaluate` (and, in the same format, by the XGBoost comparison).
pub fn report(scores: &[f64], labels: &[bool]) -> String {
    let mut out = format!("{:>6} {:>9} {:>9} {:>7}\n", "rate", "inspected", "precision", "recall");
    for rate in REPORT_RATES {
        let r = at_rate(scores, labels, rate);
        out.push_str(&format!("{:>5.0}% {:>9} {:>9.4} {:>7.4}\n", rate * 100.0, r.inspected, r.precision, r.recall));
    }
    let positives = labels.iter().filter(|&&l| l).count();
    match auc(scores, labels) {
        Some(a) => out.push_str(&format!("AUC {a:.4}  ({} rows, {positives} positive)\n", scores.len())),
        None => out.push_str(&format!("AUC undefined  ({} rows, {positives} positive)\n", scores.len())),
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn auc_of_known_cases() {
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &[false, false, true, true]), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &[false, false, true, true]), Some(0.0));
        // One inversion out of four pairs.
        assert_eq!(auc(&[0.1, 0.5, 0.4, 0.9], &[false, false, true, true]), Some(0.75));
        // All tied: one half.
        assert_eq!(auc(&[0.3; 4], &[false, true, false, true]), Some(0.5));
        // A tie between one positive and one negative counts one half: pairs (p=0.5 vs n=0.5) 0.5, (p=0.5 vs n=0.1) 1.
        assert_eq!(auc(&[0.5, 0.5, 0.1], &[true, false, false]), Some(0.75));
        assert_eq!(auc(&[0.5, 0.6], &[true, true]), None);
    }

    #[test]
    fn precision_and_recall_at_rate() {
        let scores: Vec<f64> = (0..100).map(|i| f64::from(100 - i)).collect();
        // Positives at ranks 0, 1, 5 and 50.
        let labels: Vec<bool> = (0..100).map(|i| matches!(i, 0 | 1 | 5 | 50)).collect();
        let r = at_rate(&scores, &labels, 0.02);
        assert_eq!((r.inspected, r.hits), (2, 2));
        assert_eq!((r.precision, r.recall), (1.0, 0.5));
        let r = at_rate(&scores, &labels, 0.05);
        assert_eq!((r.inspected, r.hits), (5, 2));
        assert!((r.precision - 0.4).abs() < 1e-12);
        let r = at_rate(&scores, &labels, 0.10);
        assert_eq!((r.inspected, r.hits, r.recall), (10, 3, 0.75));
        // ceil: 1 % of 101 rows is 2 rows.
        let r = at_rate(&[1.0; 101], &[false; 101], 0.01);
        assert_eq!(r.inspected, 2);
        // Ties are broken by input order.
        let r = at_rate(&[1.0, 1.0, 1.0, 1.0], &[false, true, false, false], 0.25);
        assert_eq!(r.hits, 0);
    }
}
