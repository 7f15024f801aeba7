//! Detection metrics on scores with binary labels (1 = manipulated): ROC AUC, equal error
//! rate, average precision, ROC points, the confusion matrix at a threshold.

/// The ROC curve: (false positive rate, true positive rate, threshold) from the highest
/// threshold down; tied scores make one point.
pub fn roc(scores: &[f64], labels: &[bool]) -> Vec<(f64, f64, f64)> {
    let pos = labels.iter().filter(|l| **l).count() as f64;
    let neg = labels.len() as f64 - pos;
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[b].total_cmp(&scores[a]));
    let mut points = vec![(0.0, 0.0, f64::INFINITY)];
    let (mut tp, mut fp) = (0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        while i < order.len() && scores[order[i]] == t {
            if labels[order[i]] {
                tp += 1.0;
            } else {
                fp += 1.0;
            }
            i += 1;
        }
        points.push((
            if neg > 0.0 { fp / neg } else { 0.0 },
            if pos > 0.0 { tp / pos } else { 0.0 },
            t,
        ));
    }
    points
}

/// Area under the ROC curve (ties count one half); `None` without both classes.
pub fn auc(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|l| **l).count();
    if pos == 0 || pos == labels.len() {
        return None;
    }
    let r = roc(scores, labels);
    Some(
        r.windows(2)
            .map(|w| (w[1].0 - w[0].0) * (w[1].1 + w[0].1) / 2.0)
            .sum(),
    )
}

/// Equal error rate: where the false positive rate meets the false negative rate
/// (interpolated on the ROC curve); `None` without both classes.
pub fn eer(scores: &[f64], labels: &[bool]) -> Option<f64> {
    auc(scores, labels)?;
    let r = roc(scores, labels);
    for w in r.windows(2) {
        let (f0, t0) = (w[0].0, 1.0 - w[0].1);
        let (f1, t1) = (w[1].0, 1.0 - w[1].1);
        if f1 >= t1 {
            // fpr − fnr changes sign between the two points.
            let d0 = f0 - t0;
            let d1 = f1 - t1;
            let a = if (d1 - d0).abs() > 0.0 {
                -d0 / (d1 - d0)
            } else {
                0.0
            };
            return Some(f0 + a * (f1 - f0));
        }
    }
    Some(1.0)
}

/// Average precision (area under the precision–recall curve, step-wise); `None` without
/// positives.
pub fn average_precision(scores: &[f64], labels: &[bool]) -> Option<f64> {
    let pos = labels.iter().filter(|l| **l).count() as f64;
    if pos == 0.0 {
        return None;
    }
    let neg = labels.len() as f64 - pos;
    // Each ROC point (tied scores grouped) is one step of the precision–recall curve.
    let r = roc(scores, labels);
    Some(
        r.windows(2)
            .map(|w| {
                let (fp, tp) = (w[1].0 * neg, w[1].1 * pos);
                (w[1].1 - w[0].1) * tp / (tp + fp)
            })
            .sum(),
    )
}

/// Counts at a threshold (score ≥ threshold is called manipulated).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Confusion {
    /// Manipulated, called manipulated.
    pub true_positive: u64,
    /// Real, called manipulated (false alarms).
    pub false_positive: u64,
    /// Real, called real.
    pub true_negative: u64,
    /// Manipulated, called real (misses).
    pub false_negative: u64,
}

impl Confusion {
    /// The counts of `scores` against `labels` at `threshold`.
    pub fn at(scores: &[f64], labels: &[bool], threshold: f64) -> Self {
        let mut c = Confusion::default();
        for (s, l) in scores.iter().zip(labels) {
            match (*s >= threshold, *l) {
                (true, true) => c.true_positive += 1,
                (true, false) => c.false_positive += 1,
                (false, false) => c.true_negative += 1,
                (false, true) => c.false_negative += 1,
            }
        }
        c
    }

    /// False alarms among the real items.
    pub fn false_positive_rate(&self) -> Option<f64> {
        let n = self.false_positive + self.true_negative;
        (n > 0).then(|| self.false_positive as f64 / n as f64)
    }

    /// Manipulated items found.
    pub fn true_positive_rate(&self) -> Option<f64> {
        let n = self.true_positive + self.false_negative;
        (n > 0).then(|| self.true_positive as f64 / n as f64)
    }
}

/// The `q` quantile (0–1) of `values` (linear interpolation); `None` if empty.
pub fn quantile(values: &[f64], q: f64) -> Option<f64> {
    if values.is_empty() {
        return None;
    }
    let mut v = values.to_vec();
    v.sort_by(f64::total_cmp);
    let pos = q.clamp(0.0, 1.0) * (v.len() - 1) as f64;
    let lo = pos.floor() as usize;
    let hi = pos.ceil() as usize;
    Some(v[lo] + (v[hi] - v[lo]) * (pos - lo as f64))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn perfect_random_and_inverted_scores() {
        let labels = [false, false, true, true];
        assert_eq!(auc(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(auc(&[0.9, 0.8, 0.2, 0.1], &labels), Some(0.0));
        assert_eq!(auc(&[0.5; 4], &labels), Some(0.5));
        assert_eq!(eer(&[0.1, 0.2, 0.8, 0.9], &labels), Some(0.0));
        assert_eq!(average_precision(&[0.1, 0.2, 0.8, 0.9], &labels), Some(1.0));
        assert_eq!(auc(&[0.1, 0.2], &[true, true]), None);
    }

    #[test]
    fn auc_is_the_mann_whitney_statistic() {
        // Pairs (pos, neg): 0.7>0.6 yes, 0.7>0.8 no, 0.9>0.6, 0.9>0.8 → 3/4.
        let auc = auc(&[0.6, 0.8, 0.7, 0.9], &[false, false, true, true]).unwrap();
        assert!((auc - 0.75).abs() < 1e-12, "{auc}");
        // One error each way at the middle threshold: EER 0.5.
        let e = eer(&[0.6, 0.8, 0.7, 0.9], &[false, false, true, true]).unwrap();
        assert!((e - 0.5).abs() < 1e-12, "{e}");
    }

    #[test]
    fn average_precision_steps_through_the_ranking() {
        // Ranked: pos, neg, pos, neg → precision 1 at recall 0.5, 2/3 at recall 1.
        let ap = average_precision(&[0.9, 0.8, 0.7, 0.6], &[true, false, true, false]).unwrap();
        assert!((ap - (0.5 + 0.5 * 2.0 / 3.0)).abs() < 1e-12, "{ap}");
        // A tie of one positive and one negative at the top: one step at precision 1/2.
        let ap = average_precision(&[0.9, 0.9], &[true, false]).unwrap();
        assert!((ap - 0.5).abs() < 1e-12, "{ap}");
    }

    #[test]
    fn confusion_counts_and_quantiles() {
        let c = Confusion::at(&[0.1, 0.6, 0.4, 0.9], &[false, false, true, true], 0.5);
        assert_eq!(
            (
                c.true_positive,
                c.false_positive,
                c.true_negative,
                c.false_negative
            ),
            (1, 1, 1, 1)
        );
        assert_eq!(c.false_positive_rate(), Some(0.5));
        assert_eq!(quantile(&[3.0, 1.0, 2.0], 0.5), Some(2.0));
        assert_eq!(quantile(&[0.0, 10.0], 0.25), Some(2.5));
    }
}
