//! Detection metrics on scores with binary labels (1 = manipulated): ROC AUC, equal error
//! rate, average precision, ROC points, the detection rate at a false-alarm cap, the
//! confusion matrix at a threshold.

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
        while i < order.len() && scores[order[i]].total_cmp(&t).is_eq() {
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

/// ROC AUC of `scores` where item `i` counts `weights[i]` times (the Mann–Whitney statistic
/// over weighted pairs, ties one half), from `order`: the items sorted by ascending score.
/// `None` when either class weighs nothing.
fn weighted_auc(order: &[usize], scores: &[f64], labels: &[bool], weights: &[f64]) -> Option<f64> {
    let (mut neg_below, mut pairs, mut pos_total) = (0.0, 0.0, 0.0);
    let mut i = 0;
    while i < order.len() {
        let t = scores[order[i]];
        let (mut pos, mut neg) = (0.0, 0.0);
        while i < order.len() && scores[order[i]].total_cmp(&t).is_eq() {
            let k = order[i];
            if labels[k] {
                pos += weights[k];
            } else {
                neg += weights[k];
            }
            i += 1;
        }
        pairs += pos * (neg_below + 0.5 * neg);
        neg_below += neg;
        pos_total += pos;
    }
    (pos_total > 0.0 && neg_below > 0.0).then(|| pairs / (pos_total * neg_below))
}

/// How a cluster bootstrap resamples: `reps` resamples from a ChaCha8 stream seeded by
/// `seed` (so the interval is reproducible), and the interval's coverage `level` (e.g. 0.95).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Bootstrap {
    /// Resamples drawn.
    pub reps: usize,
    /// Seed of the random stream.
    pub seed: u64,
    /// Coverage of the percentile interval.
    pub level: f64,
}

/// A percentile bootstrap interval of the ROC AUC (`how.level`, e.g. 0.95) that resamples whole
/// clusters (`clusters[i]`: item `i`'s source), not items: faces of one person are not
/// independent, so only drawing people again says how much the figure owes to which people
/// were in the set. Resamples without both classes are skipped; `None` when fewer than half
/// of them had both, or with fewer than two clusters.
pub fn cluster_bootstrap_auc(
    scores: &[f64],
    labels: &[bool],
    clusters: &[usize],
    how: Bootstrap,
) -> Option<(f64, f64)> {
    if scores.len() != labels.len() || clusters.len() != labels.len() {
        return None;
    }
    let order = ascending(scores);
    cluster_bootstrap(clusters, how, |w| weighted_auc(&order, scores, labels, w))
}

/// A paired percentile bootstrap interval (`how.level`) of the AUC gain of `scores` over
/// `baseline`, two models' scores of the same items: each resample draws whole clusters
/// (as [`cluster_bootstrap_auc`]) and measures both models on it, so the person-to-person
/// variation both share cancels and the interval says whether one model beats the other on
/// people like these. `None` as for [`cluster_bootstrap_auc`], or when the lengths differ.
pub fn paired_cluster_bootstrap_auc_gain(
    scores: &[f64],
    baseline: &[f64],
    labels: &[bool],
    clusters: &[usize],
    how: Bootstrap,
) -> Option<(f64, f64)> {
    paired_cluster_bootstrap_gain(scores, baseline, labels, clusters, how, |o, s, w| {
        weighted_auc(o, s, labels, w)
    })
}

/// The paired interval of `metric`'s gain of `scores` over `baseline`: `metric(order,
/// scores, weights)` measures one model's scores (`order`: them ascending) with each item
/// weighted, and each cluster resample measures both models.
fn paired_cluster_bootstrap_gain(
    scores: &[f64],
    baseline: &[f64],
    labels: &[bool],
    clusters: &[usize],
    how: Bootstrap,
    metric: impl Fn(&[usize], &[f64], &[f64]) -> Option<f64>,
) -> Option<(f64, f64)> {
    if [scores.len(), baseline.len(), clusters.len()] != [labels.len(); 3] {
        return None;
    }
    let (order, base_order) = (ascending(scores), ascending(baseline));
    cluster_bootstrap(clusters, how, |w| {
        Some(metric(&order, scores, w)? - metric(&base_order, baseline, w)?)
    })
}

/// The detection rate when false alarms are capped: the fraction of manipulated items at or
/// above the lowest threshold at which at most `max_fpr` of the real items are (a step of the
/// ROC curve, tied scores taken together, no interpolation). The operating point a forensic
/// user runs at; two models with one AUC can differ widely here when one has a few real
/// people far up its tail. `None` without both classes.
pub fn tpr_at_fpr(scores: &[f64], labels: &[bool], max_fpr: f64) -> Option<f64> {
    if scores.len() != labels.len() {
        return None;
    }
    weighted_tpr_at_fpr(
        &ascending(scores),
        scores,
        labels,
        &vec![1.0; scores.len()],
        max_fpr,
    )
}

/// [`tpr_at_fpr`] where item `i` counts `weights[i]` times, from `order` (ascending scores).
fn weighted_tpr_at_fpr(
    order: &[usize],
    scores: &[f64],
    labels: &[bool],
    weights: &[f64],
    max_fpr: f64,
) -> Option<f64> {
    let (mut pos_total, mut neg_total) = (0.0, 0.0);
    for (l, w) in labels.iter().zip(weights) {
        if *l {
            pos_total += w;
        } else {
            neg_total += w;
        }
    }
    if pos_total <= 0.0 || neg_total <= 0.0 {
        return None;
    }
    let (mut pos_above, mut neg_above) = (0.0, 0.0);
    let mut i = order.len();
    while i > 0 {
        let t = scores[order[i - 1]];
        let (mut pos, mut neg) = (0.0, 0.0);
        while i > 0 && scores[order[i - 1]].total_cmp(&t).is_eq() {
            let k = order[i - 1];
            if labels[k] {
                pos += weights[k];
            } else {
                neg += weights[k];
            }
            i -= 1;
        }
        if (neg_above + neg) / neg_total > max_fpr {
            break;
        }
        pos_above += pos;
        neg_above += neg;
    }
    Some(pos_above / pos_total)
}

/// A paired percentile bootstrap interval (`how.level`) of the gain in [`tpr_at_fpr`] of
/// `scores` over `baseline` at `max_fpr`, resampling whole clusters as
/// [`paired_cluster_bootstrap_auc_gain`] does. `None` as for that.
pub fn paired_cluster_bootstrap_tpr_gain(
    scores: &[f64],
    baseline: &[f64],
    labels: &[bool],
    clusters: &[usize],
    max_fpr: f64,
    how: Bootstrap,
) -> Option<(f64, f64)> {
    paired_cluster_bootstrap_gain(scores, baseline, labels, clusters, how, |o, s, w| {
        weighted_tpr_at_fpr(o, s, labels, w, max_fpr)
    })
}

/// Item indices sorted by ascending score.
fn ascending(scores: &[f64]) -> Vec<usize> {
    let mut order: Vec<usize> = (0..scores.len()).collect();
    order.sort_by(|&a, &b| scores[a].total_cmp(&scores[b]));
    order
}

/// The percentile interval (`how.level`) of `statistic` over `how.reps` cluster resamples: each
/// draws as many clusters as there are, with replacement, and weighs every item by how often
/// its cluster was drawn.
fn cluster_bootstrap(
    clusters: &[usize],
    how: Bootstrap,
    statistic: impl Fn(&[f64]) -> Option<f64>,
) -> Option<(f64, f64)> {
    use rand::{Rng, SeedableRng};
    let Bootstrap { reps, seed, level } = how;
    let k = clusters.iter().max().map_or(0, |m| m + 1);
    if k < 2 || reps == 0 {
        return None;
    }
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(seed);
    let (mut draws, mut weights) = (vec![0.0; k], vec![0.0; clusters.len()]);
    let mut values = Vec::with_capacity(reps);
    for _ in 0..reps {
        draws.fill(0.0);
        for _ in 0..k {
            draws[rng.random_range(0..k)] += 1.0;
        }
        for (w, c) in weights.iter_mut().zip(clusters) {
            *w = draws[*c];
        }
        if let Some(v) = statistic(&weights) {
            values.push(v);
        }
    }
    if values.len() * 2 < reps {
        return None;
    }
    let tail = (1.0 - level.clamp(0.0, 1.0)) / 2.0;
    Some((quantile(&values, tail)?, quantile(&values, 1.0 - tail)?))
}

/// The mean of the ROC AUCs within each cluster (source) that has both classes, and how many
/// such clusters there were: how well scores rank faces of one person, with each person's
/// offset taken out. `None` when no cluster has both classes.
pub fn within_cluster_auc(
    scores: &[f64],
    labels: &[bool],
    clusters: &[usize],
) -> Option<(f64, usize)> {
    let mut by: std::collections::BTreeMap<usize, (Vec<f64>, Vec<bool>)> = Default::default();
    for ((s, l), c) in scores.iter().zip(labels).zip(clusters) {
        let e = by.entry(*c).or_default();
        e.0.push(*s);
        e.1.push(*l);
    }
    let aucs: Vec<f64> = by.values().filter_map(|(s, l)| auc(s, l)).collect();
    (!aucs.is_empty()).then(|| (aucs.iter().sum::<f64>() / aucs.len() as f64, aucs.len()))
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

    fn bs(reps: usize, seed: u64) -> Bootstrap {
        Bootstrap {
            reps,
            seed,
            level: 0.95,
        }
    }

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

    #[test]
    fn tpr_at_fpr_stops_where_the_real_tail_begins() {
        // 100 real at 0.00..0.99, one real outlier at 2.0; forged at 0.505..1.495 (100).
        let mut s: Vec<f64> = (0..100).map(|i| i as f64 / 100.0).collect();
        let mut l = vec![false; 100];
        s.push(2.0);
        l.push(false);
        s.extend((0..100).map(|i| 0.505 + i as f64 / 100.0));
        l.extend([true; 100]);
        // 1 of 101 real is 0.0099 ≤ 1 %: the outlier alone may be above the threshold, so
        // every forged item above the next real one (0.99) counts: 0.995..1.495, 51 items.
        let t = tpr_at_fpr(&s, &l, 0.01).unwrap();
        assert!((t - 0.51).abs() < 1e-12, "{t}");
        // At 0 % nothing above the outlier: no forged item.
        assert_eq!(tpr_at_fpr(&s, &l, 0.0), Some(0.0));
        // Everything at 100 %.
        assert_eq!(tpr_at_fpr(&s, &l, 1.0), Some(1.0));
        // A tie of a real and a forged item is taken whole or not at all.
        assert_eq!(
            tpr_at_fpr(&[0.9, 0.9, 0.1], &[true, false, false], 0.4),
            Some(0.0)
        );
        assert_eq!(
            tpr_at_fpr(&[0.9, 0.9, 0.1], &[true, false, false], 0.5),
            Some(1.0)
        );
        assert_eq!(tpr_at_fpr(&[0.1, 0.2], &[true, true], 0.01), None);
        // Weighted: the outlier counted twice is 2 of 102 real, over 1 %.
        let order = ascending(&s);
        let mut w = vec![1.0; s.len()];
        w[100] = 2.0;
        assert_eq!(weighted_tpr_at_fpr(&order, &s, &l, &w, 0.01), Some(0.0));
    }

    #[test]
    fn a_paired_tpr_interval_sees_a_model_whose_real_tail_is_longer() {
        // Eight people, 30 real and 30 forged faces each; model b is model a with one
        // person's real faces pushed above every forged face.
        let (mut a, mut b, mut l, mut c) = (vec![], vec![], vec![], vec![]);
        for p in 0..8 {
            for i in 0..60 {
                let forged = i % 2 == 1;
                let s = (i as f64) / 100.0 + if forged { 0.5 } else { 0.0 };
                a.push(s);
                b.push(if p == 3 && !forged { 5.0 } else { s });
                l.push(forged);
                c.push(p);
            }
        }
        let (ta, tb) = (
            tpr_at_fpr(&a, &l, 0.01).unwrap(),
            tpr_at_fpr(&b, &l, 0.01).unwrap(),
        );
        assert!(tb < ta, "{ta} {tb}");
        // Resamples that leave person 3 out let b catch as much as a, so the interval
        // reaches 0, and none lets b do better.
        let (lo, hi) = paired_cluster_bootstrap_tpr_gain(&b, &a, &l, &c, 0.01, bs(300, 5)).unwrap();
        assert!(lo < 0.0 && lo <= tb - ta && hi <= 1e-12, "{lo} {hi}");
        assert_eq!(
            paired_cluster_bootstrap_tpr_gain(&a, &a, &l, &c, 0.01, bs(50, 5)),
            Some((0.0, 0.0))
        );
    }

    #[test]
    fn a_nan_score_ends_every_metric() {
        // NaN sorts above every number (total order) and ties only with itself; before, a
        // NaN never equalled its own group's score and the walk over the ranking never moved.
        let (s, l) = ([0.2, f64::NAN, 0.7, 0.1], [false, false, true, true]);
        assert_eq!(roc(&s, &l).len(), 5);
        assert!(auc(&s, &l).is_some());
        assert!(tpr_at_fpr(&s, &l, 0.01).is_some());
        assert!(cluster_bootstrap_auc(&s, &l, &[0, 1, 0, 1], bs(20, 1)).is_some());
    }

    #[test]
    fn weighted_auc_counts_each_item_its_weight_times() {
        let (s, l) = ([0.6f64, 0.8, 0.7, 0.9], [false, false, true, true]);
        let order = ascending(&s);
        let unit = weighted_auc(&order, &s, &l, &[1.0; 4]).unwrap();
        assert!((unit - auc(&s, &l).unwrap()).abs() < 1e-12);
        // Weight 2 on the negative 0.8 is the same as that item listed twice.
        let w = weighted_auc(&order, &s, &l, &[1.0, 2.0, 1.0, 1.0]).unwrap();
        let twice = auc(
            &[0.6, 0.8, 0.8, 0.7, 0.9],
            &[false, false, false, true, true],
        )
        .unwrap();
        assert!((w - twice).abs() < 1e-12, "{w} {twice}");
        assert_eq!(weighted_auc(&order, &s, &l, &[1.0, 1.0, 0.0, 0.0]), None);
    }

    #[test]
    fn bootstrapping_people_widens_the_interval_when_people_disagree() {
        // Four sources, each 50 real and 50 forged faces. Within each, forged faces score
        // higher; in the "offset" set each person's scores are shifted by a per-person
        // constant larger than the separation.
        let make = |offset: f64| {
            let (mut s, mut l, mut c) = (vec![], vec![], vec![]);
            for p in 0..4 {
                for i in 0..100 {
                    let forged = i % 2 == 1;
                    s.push(
                        p as f64 * offset + (i as f64) / 1000.0 + if forged { 0.2 } else { 0.0 },
                    );
                    l.push(forged);
                    c.push(p);
                }
            }
            (s, l, c)
        };
        let (s, l, c) = make(0.0);
        let (lo, hi) = cluster_bootstrap_auc(&s, &l, &c, bs(200, 7)).unwrap();
        assert!(lo > 0.99 && hi <= 1.0, "{lo} {hi}");
        let (s2, l2, c2) = make(0.5);
        let pooled = auc(&s2, &l2).unwrap();
        let (lo2, hi2) = cluster_bootstrap_auc(&s2, &l2, &c2, bs(200, 7)).unwrap();
        assert!(
            lo2 < pooled && pooled < hi2 && hi2 - lo2 > 0.1,
            "{lo2} {pooled} {hi2}"
        );
        // Reproducible for a seed.
        assert_eq!(
            cluster_bootstrap_auc(&s2, &l2, &c2, bs(200, 7)),
            Some((lo2, hi2))
        );
        // Within each person the ranking is perfect, whatever the offsets.
        assert_eq!(within_cluster_auc(&s2, &l2, &c2), Some((1.0, 4)));
        assert!(pooled < 0.9, "{pooled}");
        // One cluster: no interval.
        assert_eq!(
            cluster_bootstrap_auc(&s, &l, &vec![0; 400], bs(50, 1)),
            None
        );
    }

    #[test]
    fn a_paired_bootstrap_sees_a_small_gain_that_separate_intervals_hide() {
        // Six people whose offsets (up to 0.3) exceed the separation of their real and
        // forged faces (0.1); the second model adds 0.05 to every forged face, a small gain
        // over the same people.
        let offsets = [0.0, 0.18, 0.06, 0.24, 0.12, 0.3];
        let (mut a, mut b, mut l, mut c) = (vec![], vec![], vec![], vec![]);
        for (p, off) in offsets.iter().enumerate() {
            for i in 0..40 {
                let forged = i % 2 == 1;
                let s = off + (i as f64) / 400.0 + if forged { 0.1 } else { 0.0 };
                a.push(s);
                b.push(s + if forged { 0.05 } else { 0.0 });
                l.push(forged);
                c.push(p);
            }
        }
        let (a_lo, a_hi) = cluster_bootstrap_auc(&a, &l, &c, bs(500, 3)).unwrap();
        let (b_lo, b_hi) = cluster_bootstrap_auc(&b, &l, &c, bs(500, 3)).unwrap();
        let gain = auc(&b, &l).unwrap() - auc(&a, &l).unwrap();
        assert!(gain > 0.0 && gain < 0.1, "{gain}");
        // Separately, the intervals overlap: they do not say that b is better ...
        assert!(b_lo < a_hi, "a [{a_lo}, {a_hi}] b [{b_lo}, {b_hi}]");
        // ... but paired, every resample has b ahead.
        let (lo, hi) = paired_cluster_bootstrap_auc_gain(&b, &a, &l, &c, bs(500, 3)).unwrap();
        assert!(0.0 < lo && lo <= gain && gain <= hi, "{lo} {gain} {hi}");
        let (lo, hi) = paired_cluster_bootstrap_auc_gain(&a, &b, &l, &c, bs(500, 3)).unwrap();
        assert!(hi < 0.0, "{lo} {hi}");
        // A model against itself gains exactly nothing; mismatched lengths give no interval.
        assert_eq!(
            paired_cluster_bootstrap_auc_gain(&a, &a, &l, &c, bs(100, 3)),
            Some((0.0, 0.0))
        );
        assert_eq!(
            paired_cluster_bootstrap_auc_gain(&a, &b[1..], &l, &c, bs(100, 3)),
            None
        );
    }
}
