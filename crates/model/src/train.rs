//! Training: an MLP on face rows of real and synthesised clips, split by source video (never
//! by frame), seeded, AdamW with early stopping on the validation loss; then thresholds
//! calibrated on the validation rows of real clips.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use burn_store::{ModuleSnapshot, SafetensorsStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::{Confusion, auc, average_precision, eer, quantile};
use crate::net::Mlp;
use crate::{ModelCard, ModelError, Thresholds, aggregate, features, sha256_hex};

/// One face row with its label.
#[derive(Debug, Clone, PartialEq)]
pub struct TrainingRow {
    /// Feature values in [`crate::features`] order.
    pub values: Vec<Option<f64>>,
    /// True for a forged face.
    pub label: bool,
    /// The real clip the row derives from: rows of one source never straddle the split.
    pub source: String,
    /// The clip the row belongs to (for video-level metrics).
    pub video: String,
}

/// Hyper-parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Seed of initialisation, shuffling and the automatic split.
    pub seed: u64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Maximum epochs.
    pub epochs: usize,
    /// Rows per step.
    pub batch: usize,
    /// AdamW learning rate.
    pub learning_rate: f64,
    /// AdamW weight decay.
    pub weight_decay: f64,
    /// Stop after this many epochs without a better validation loss.
    pub patience: usize,
    /// Sources held out for validation; empty: a seeded quarter of them (at least one).
    pub validation_sources: Vec<String>,
    /// Video score = mean of this fraction of its highest face scores.
    pub video_top_fraction: f64,
    /// False-alarm rate on validation real rows at the `manipulated` thresholds.
    pub manipulated_fpr: f64,
    /// False-alarm rate on validation real rows at the `suspicious` thresholds.
    pub suspicious_fpr: f64,
    /// The features the model uses (names from [`features`]); empty: all of them.
    pub features: Vec<String>,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 1,
            hidden: vec![32, 16],
            epochs: 300,
            batch: 256,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            patience: 30,
            validation_sources: Vec::new(),
            video_top_fraction: 0.25,
            manipulated_fpr: 0.01,
            suspicious_fpr: 0.05,
            features: Vec::new(),
        }
    }
}

/// A trained model: its description and its weights (safetensors bytes).
#[derive(Debug, Clone)]
pub struct Trained {
    /// `models/classifier.json`.
    pub card: ModelCard,
    /// `models/classifier.safetensors`.
    pub weights: Vec<u8>,
}

fn normalise(rows: &[&TrainingRow], mean: &[f64], std: &[f64]) -> Vec<f32> {
    rows.iter()
        .flat_map(|r| {
            (0..mean.len()).map(move |i| {
                let v = r.values[i].filter(|v| v.is_finite()).unwrap_or(mean[i]);
                ((v - mean[i]) / std[i]).clamp(-20.0, 20.0) as f32
            })
        })
        .collect()
}

/// Weighted binary cross-entropy on logits: mean of `w (softplus(z) − y z)`.
fn loss(logits: Tensor<2>, y: Tensor<2>, w: Tensor<2>) -> Tensor<1> {
    let sp = burn::tensor::activation::softplus(logits.clone(), 1.0);
    ((sp - y * logits) * w).mean()
}

fn scores(net: &Mlp, x: &[f32], rows: usize, d: usize, device: &Device) -> Vec<f64> {
    if rows == 0 {
        return Vec::new();
    }
    let t = Tensor::<2>::from_data(TensorData::new(x.to_vec(), [rows, d]), device);
    let p = burn::tensor::activation::sigmoid(net.forward(t));
    p.into_data()
        .try_to_vec::<f32>()
        .unwrap_or_default()
        .into_iter()
        .map(|v| v as f64)
        .collect()
}

fn video_scores(rows: &[&TrainingRow], s: &[f64], top: f64) -> (Vec<f64>, Vec<bool>) {
    let mut by: BTreeMap<&str, (Vec<f64>, bool)> = BTreeMap::new();
    for (r, s) in rows.iter().zip(s) {
        let e = by.entry(r.video.as_str()).or_insert((Vec::new(), r.label));
        e.0.push(*s);
    }
    by.into_values()
        .filter_map(|(v, l)| aggregate(&v, top).map(|s| (s, l)))
        .unzip()
}

/// Metrics of scores at the frame and video level, for the training record.
pub fn summary(
    rows: &[&TrainingRow],
    s: &[f64],
    thresholds: &Thresholds,
    top: f64,
) -> serde_json::Value {
    let labels: Vec<bool> = rows.iter().map(|r| r.label).collect();
    let (vs, vl) = video_scores(rows, s, top);
    let fc = Confusion::at(s, &labels, thresholds.frame_manipulated);
    let vc = Confusion::at(&vs, &vl, thresholds.video_manipulated);
    serde_json::json!({
        "face_rows": rows.len(),
        "videos": vs.len(),
        "frame_auc": auc(s, &labels),
        "frame_eer": eer(s, &labels),
        "frame_ap": average_precision(s, &labels),
        "video_auc": auc(&vs, &vl),
        "video_eer": eer(&vs, &vl),
        "video_ap": average_precision(&vs, &vl),
        "frame_confusion_at_manipulated": fc,
        "video_confusion_at_manipulated": vc,
        "frame_false_alarm_rate": fc.false_positive_rate(),
        "video_false_alarm_rate": vc.false_positive_rate(),
    })
}

/// The safetensors bytes with the header's keys sorted: burn-store writes its metadata from a
/// `HashMap`, so the same weights could otherwise give different files (and SHA-256s).
fn canonical_safetensors(bytes: Vec<u8>) -> Result<Vec<u8>, ModelError> {
    let bad = || ModelError::Weights("malformed safetensors header".into());
    let n = u64::from_le_bytes(
        bytes
            .get(..8)
            .ok_or_else(bad)?
            .try_into()
            .map_err(|_| bad())?,
    ) as usize;
    let header = bytes.get(8..8 + n).ok_or_else(bad)?;
    let parsed: BTreeMap<String, serde_json::Value> =
        serde_json::from_slice(header).map_err(|_| bad())?;
    let sorted: BTreeMap<String, BTreeMap<String, serde_json::Value>> = parsed
        .into_iter()
        .map(|(k, v)| {
            let inner = match v {
                serde_json::Value::Object(m) => m.into_iter().collect(),
                _ => BTreeMap::new(),
            };
            (k, inner)
        })
        .collect();
    let mut json = serde_json::to_vec(&sorted).map_err(|_| bad())?;
    while json.len() % 8 != 0 {
        json.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + json.len() + bytes.len() - 8 - n);
    out.extend_from_slice(&(json.len() as u64).to_le_bytes());
    out.extend_from_slice(&json);
    out.extend_from_slice(&bytes[8 + n..]);
    Ok(out)
}

/// Trains a model on `rows` (values in [`features`] order; the model uses
/// `config.features` of them, or all).
pub fn train(rows: &[TrainingRow], config: &TrainConfig) -> Result<Trained, ModelError> {
    if rows.iter().any(|r| r.values.len() != features().len()) {
        return Err(ModelError::Training(
            "rows do not have one value per feature".into(),
        ));
    }
    let names: Vec<String> = if config.features.is_empty() {
        features().to_vec()
    } else {
        config.features.clone()
    };
    let pick: Vec<usize> = names
        .iter()
        .map(|n| {
            features()
                .iter()
                .position(|f| f == n)
                .ok_or_else(|| ModelError::Training(format!("unknown feature {n:?}")))
        })
        .collect::<Result<_, _>>()?;
    let projected: Vec<TrainingRow> = rows
        .iter()
        .map(|r| TrainingRow {
            values: pick.iter().map(|&i| r.values[i]).collect(),
            ..r.clone()
        })
        .collect();
    let rows = &projected[..];
    let d = names.len();
    let sources: BTreeSet<&str> = rows.iter().map(|r| r.source.as_str()).collect();
    if sources.len() < 2 {
        return Err(ModelError::Training(format!(
            "need rows from at least two source videos to split by source, got {}",
            sources.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    let val: BTreeSet<String> = if config.validation_sources.is_empty() {
        let mut s: Vec<&str> = sources.iter().copied().collect();
        for i in (1..s.len()).rev() {
            s.swap(i, rng.random_range(0..=i));
        }
        let k = s.len().div_ceil(4).max(1);
        s[..k].iter().map(|x| x.to_string()).collect()
    } else {
        config.validation_sources.iter().cloned().collect()
    };
    if let Some(v) = val.iter().find(|v| !sources.contains(v.as_str())) {
        return Err(ModelError::Training(format!(
            "validation source {v:?} has no rows"
        )));
    }
    let (val_rows, train_rows): (Vec<&TrainingRow>, Vec<&TrainingRow>) =
        rows.iter().partition(|r| val.contains(&r.source));
    for (name, part) in [("training", &train_rows), ("validation", &val_rows)] {
        let pos = part.iter().filter(|r| r.label).count();
        if pos == 0 || pos == part.len() {
            return Err(ModelError::Training(format!(
                "the {name} rows need both real and forged faces ({pos} forged of {})",
                part.len()
            )));
        }
    }
    // Normalisation from the training rows.
    let mut mean = vec![0.0; d];
    let mut std = vec![1.0; d];
    for i in 0..d {
        let v: Vec<f64> = train_rows
            .iter()
            .filter_map(|r| r.values[i])
            .filter(|v| v.is_finite())
            .collect();
        if !v.is_empty() {
            let m = v.iter().sum::<f64>() / v.len() as f64;
            let s = (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt();
            mean[i] = m;
            std[i] = if s > 1e-9 { s } else { 1.0 };
        }
    }
    let xt = normalise(&train_rows, &mean, &std);
    let yt: Vec<f32> = train_rows.iter().map(|r| r.label as u8 as f32).collect();
    let xv = normalise(&val_rows, &mean, &std);
    let yv: Vec<f32> = val_rows.iter().map(|r| r.label as u8 as f32).collect();
    let pos = yt.iter().filter(|y| **y > 0.5).count() as f32;
    let neg = yt.len() as f32 - pos;
    // Classes weighted to count equally.
    let (wp, wn) = (yt.len() as f32 / (2.0 * pos), yt.len() as f32 / (2.0 * neg));
    let vpos = yv.iter().filter(|y| **y > 0.5).count() as f32;
    let (vwp, vwn) = (
        yv.len() as f32 / (2.0 * vpos),
        yv.len() as f32 / (2.0 * (yv.len() as f32 - vpos)),
    );

    let device = Device::flex().autodiff();
    device.seed(config.seed);
    let plain = Device::flex();
    let mut net = Mlp::new(d, &config.hidden, &device);
    let mut optim = AdamWConfig::new()
        .with_weight_decay(config.weight_decay as f32)
        .init();
    let nv = val_rows.len();
    let xv_t = Tensor::<2>::from_data(TensorData::new(xv.clone(), [nv, d]), &plain);
    let yv_t = Tensor::<2>::from_data(TensorData::new(yv.clone(), [nv, 1]), &plain);
    let wv: Vec<f32> = yv
        .iter()
        .map(|y| if *y > 0.5 { vwp } else { vwn })
        .collect();
    let wv_t = Tensor::<2>::from_data(TensorData::new(wv, [nv, 1]), &plain);

    let mut order: Vec<usize> = (0..train_rows.len()).collect();
    let mut best: Option<(f64, usize, Mlp)> = None;
    let mut history = Vec::new();
    let mut epochs_run = 0;
    for epoch in 0..config.epochs {
        epochs_run = epoch + 1;
        for i in (1..order.len()).rev() {
            order.swap(i, rng.random_range(0..=i));
        }
        let mut train_loss = 0.0;
        let mut steps = 0;
        for chunk in order.chunks(config.batch.max(1)) {
            let n = chunk.len();
            let mut x = Vec::with_capacity(n * d);
            let mut y = Vec::with_capacity(n);
            let mut w = Vec::with_capacity(n);
            for &i in chunk {
                x.extend_from_slice(&xt[i * d..(i + 1) * d]);
                y.push(yt[i]);
                w.push(if yt[i] > 0.5 { wp } else { wn });
            }
            let x = Tensor::<2>::from_data(TensorData::new(x, [n, d]), &device);
            let y = Tensor::<2>::from_data(TensorData::new(y, [n, 1]), &device);
            let w = Tensor::<2>::from_data(TensorData::new(w, [n, 1]), &device);
            let l = loss(net.forward(x), y, w);
            train_loss += l.clone().into_scalar::<f32>() as f64;
            steps += 1;
            let grads = GradientsParams::from_grads(l.backward(), &net);
            net = optim.step(config.learning_rate, net, grads);
        }
        let valid = net.valid();
        let vl = loss(valid.forward(xv_t.clone()), yv_t.clone(), wv_t.clone()).into_scalar::<f32>()
            as f64;
        history.push((train_loss / steps.max(1) as f64, vl));
        if best.as_ref().is_none_or(|b| vl < b.0 - 1e-6) {
            best = Some((vl, epoch, valid));
        } else if best
            .as_ref()
            .is_some_and(|b| epoch - b.1 >= config.patience)
        {
            break;
        }
    }
    let (best_loss, best_epoch, net) =
        best.ok_or_else(|| ModelError::Training("no epoch ran".into()))?;

    // Calibration on the validation rows of real clips.
    let sv = scores(&net, &xv, nv, d, &plain);
    let real_rows: Vec<f64> = sv
        .iter()
        .zip(&val_rows)
        .filter(|(_, r)| !r.label)
        .map(|(s, _)| *s)
        .collect();
    let (vs, vl) = video_scores(&val_rows, &sv, config.video_top_fraction);
    let real_videos: Vec<f64> = vs
        .iter()
        .zip(&vl)
        .filter(|(_, l)| !**l)
        .map(|(s, _)| *s)
        .collect();
    let q = |v: &[f64], fpr: f64| quantile(v, 1.0 - fpr).unwrap_or(0.5);
    let frame_manipulated = q(&real_rows, config.manipulated_fpr);
    let frame_suspicious = q(&real_rows, config.suspicious_fpr).min(frame_manipulated);
    let video_manipulated = q(&real_videos, config.manipulated_fpr).max(frame_manipulated);
    let video_suspicious = q(&real_videos, config.suspicious_fpr)
        .max(frame_suspicious)
        .min(video_manipulated);
    let thresholds = Thresholds {
        frame_suspicious,
        frame_manipulated,
        video_suspicious,
        video_manipulated,
    };
    let st = scores(&net, &xt, train_rows.len(), d, &plain);

    let mut store = SafetensorsStore::from_bytes(None);
    net.save_into(&mut store)
        .map_err(|e| ModelError::Weights(e.to_string()))?;
    let weights = canonical_safetensors(
        store
            .get_bytes()
            .map_err(|e| ModelError::Weights(e.to_string()))?,
    )?;
    let train_sources: BTreeSet<&str> = train_rows.iter().map(|r| r.source.as_str()).collect();
    let card = ModelCard {
        name: "seamscan-mlp-1".into(),
        features: names,
        hidden: config.hidden.clone(),
        mean,
        std,
        thresholds,
        video_top_fraction: config.video_top_fraction,
        weights_sha256: sha256_hex(&weights),
        training: serde_json::json!({
            "config": config,
            "train_sources": train_sources,
            "validation_sources": val,
            "epochs_run": epochs_run,
            "best_epoch": best_epoch + 1,
            "best_validation_loss": best_loss,
            "loss_history": history.iter().map(|(a, b)| [*a, *b]).collect::<Vec<_>>(),
            "train": summary(&train_rows, &st, &thresholds, config.video_top_fraction),
            "validation": summary(&val_rows, &sv, &thresholds, config.video_top_fraction),
        }),
    };
    Ok(Trained { card, weights })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose label is visible in two features, from six sources.
    fn rows(seed: u64) -> Vec<TrainingRow> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        for s in 0..6 {
            for v in 0..4 {
                let label = v % 2 == 1;
                for _ in 0..20 {
                    let mut values: Vec<Option<f64>> = (0..features().len())
                        .map(|_| Some(rng.random_range(-1.0..1.0)))
                        .collect();
                    let shift = if label { 1.5 } else { -1.5 };
                    values[7] = Some(shift + rng.random_range(-1.0..1.0));
                    values[8] = Some(10.0 * shift + rng.random_range(-5.0..5.0));
                    values[9] = None;
                    out.push(TrainingRow {
                        values,
                        label,
                        source: format!("s{s}"),
                        video: format!("s{s}v{v}"),
                    });
                }
            }
        }
        out
    }

    fn config() -> TrainConfig {
        TrainConfig {
            epochs: 40,
            batch: 64,
            validation_sources: vec!["s4".into(), "s5".into()],
            ..TrainConfig::default()
        }
    }

    #[test]
    fn learns_a_separable_signal_and_calibrates_on_held_out_sources() {
        let t = train(&rows(1), &config()).unwrap();
        let v = &t.card.training["validation"];
        assert!(v["frame_auc"].as_f64().unwrap() > 0.99, "{v}");
        assert_eq!(v["face_rows"], 160);
        let th = t.card.thresholds;
        assert!(th.frame_suspicious <= th.frame_manipulated);
        assert!(th.video_suspicious <= th.video_manipulated);
        assert!(th.frame_manipulated <= th.video_manipulated);
        // The weights load back into a classifier that scores like training measured.
        let json = serde_json::to_string(&t.card).unwrap();
        let c = crate::Classifier::from_parts(&json, t.weights.clone()).unwrap();
        let good: Vec<Option<f64>> = (0..features().len())
            .map(|i| match i {
                7 => Some(1.5),
                8 => Some(15.0),
                _ => Some(0.0),
            })
            .collect();
        assert!(c.score(&good) > 0.9, "{}", c.score(&good));
        let reasons = c.reasons(&good, 3);
        assert!(
            reasons[0].starts_with("boundary_log_ratio=") || reasons[0].starts_with("lab_delta_e="),
            "{reasons:?}"
        );
    }

    #[test]
    fn the_same_seed_gives_the_same_weights() {
        let a = train(&rows(1), &config()).unwrap();
        let b = train(&rows(1), &config()).unwrap();
        assert_eq!(a.weights, b.weights);
        let c = train(
            &rows(1),
            &TrainConfig {
                seed: 2,
                ..config()
            },
        )
        .unwrap();
        assert_ne!(a.weights, c.weights);
    }

    #[test]
    fn a_split_needs_both_classes_and_two_sources() {
        let one_source: Vec<TrainingRow> = rows(1)
            .into_iter()
            .map(|r| TrainingRow {
                source: "x".into(),
                ..r
            })
            .collect();
        assert!(train(&one_source, &config()).is_err());
        let mut c = config();
        c.validation_sources = vec!["nope".into()];
        assert!(
            train(&rows(1), &c)
                .unwrap_err()
                .to_string()
                .contains("nope")
        );
    }
}
