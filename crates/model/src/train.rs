//! Training: the network on face rows (their aligned crops and features) of real and
//! synthesised clips, split by source video (never by frame), seeded, AdamW with early
//! stopping on the validation loss, crops mirrored at random; then thresholds calibrated on
//! the validation rows of real clips.

use std::collections::{BTreeMap, BTreeSet};

use burn::module::Module;
use burn::optim::{AdamWConfig, GradientsParams};
use burn::tensor::{Device, Tensor, TensorData};
use burn_store::{ModuleSnapshot, SafetensorsStore};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::metrics::{Confusion, auc, average_precision, eer, quantile};
use crate::net::{Ensemble, Net};
use crate::{ModelCard, ModelError, Thresholds, aggregate, crop_tensor, features, sha256_hex};

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
    /// The face's [`crate::crop_input`] at [`TrainConfig::crop_size`] (needed when that is
    /// not 0).
    pub crop: Option<Vec<u8>>,
    /// The ground-truth blending mask over the crop ([`crate::mask_target`], side
    /// [`crate::mask_side`] of the crop size): all zero for a real clip's face, `None` where
    /// it is not known. Read only when [`TrainConfig::mask_weight`] is above 0.
    pub mask: Option<Vec<u8>>,
}

/// Hyper-parameters.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct TrainConfig {
    /// Seed of initialisation, shuffling and the automatic split.
    pub seed: u64,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Side of the crop the trunk reads; 0: no trunk, features only.
    pub crop_size: usize,
    /// Widths of the trunk's convolutions.
    pub conv: Vec<usize>,
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
    /// The features the model uses (names from [`features`]); `None`: all of them.
    pub features: Option<Vec<String>>,
    /// Train also, every epoch, on a fresh pair made from each real training face: the face
    /// augmented and a fresh self-blended forgery of it (the caller makes them: see
    /// [`train_with`] and [`FreshPair`]).
    pub fresh_self_blends: bool,
    /// With more than 1: split the sources into this many seeded groups and train one member
    /// per group, validated (early stopping) on that group and trained on the others; the
    /// model is their ensemble (mean logit), calibrated on every source's out-of-fold
    /// scores. 0 or 1: one network, validated on `validation_sources`.
    #[serde(default)]
    pub folds: usize,
    /// Above 0: the trunk gets a mask head, trained to draw each face's ground-truth blending
    /// mask ([`TrainingRow::mask`]), its per-pixel cross-entropy weighted by this beside the
    /// label's loss (Face X-ray style supervision: where the blend is, not only whether).
    #[serde(default)]
    pub mask_weight: f64,
    /// What the mask head draws (the caller cuts [`TrainingRow::mask`] to match).
    #[serde(default)]
    pub mask_target: crate::MaskTarget,
    /// Above 0: adds this times the variance of the real rows' logits in each batch to the
    /// loss, so that real faces of every training person score alike.
    #[serde(default)]
    pub real_spread: f64,
    /// With a trunk: the crop input has the context channel ([`crate::context_input`]); the
    /// caller cuts [`TrainingRow::crop`] to match ([`crate::with_context`]).
    #[serde(default)]
    pub context: bool,
    /// Members trained at once, each on a thread of its own (0: one per core). Only where every
    /// member's random draws are known before it trains (folds, no fresh forgeries, and no
    /// early stop before the last epoch: `epochs` ≤ `patience` + 1); otherwise one after
    /// another. The weights are the same either way, so it is not part of the model card.
    #[serde(skip)]
    pub jobs: usize,
}

impl Default for TrainConfig {
    fn default() -> Self {
        TrainConfig {
            seed: 1,
            hidden: vec![32, 16],
            crop_size: 0,
            conv: Vec::new(),
            epochs: 300,
            batch: 256,
            learning_rate: 2e-3,
            weight_decay: 1e-4,
            patience: 30,
            validation_sources: Vec::new(),
            video_top_fraction: 0.25,
            manipulated_fpr: 0.01,
            suspicious_fpr: 0.05,
            features: None,
            fresh_self_blends: false,
            folds: 1,
            mask_weight: 0.0,
            mask_target: crate::MaskTarget::Region,
            real_spread: 0.0,
            context: false,
            jobs: 0,
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

/// The variance of the real rows' logits (`y` = 0) in a batch; 0 without real rows. Added
/// to the loss, it pulls every real face to one score whoever it is, against the per-person
/// offset that ranks one person's real faces above another's forgeries.
fn real_spread(logits: Tensor<2>, y: Tensor<2>) -> Tensor<1> {
    let real = y.neg().add_scalar(1.0);
    let count = real.clone().sum().clamp_min(1.0);
    let mean = (logits.clone() * real.clone()).sum() / count.clone();
    let dev = logits - mean.unsqueeze::<2>();
    (dev.clone() * dev * real).sum() / count
}

/// The network's inputs for `rows` (indices into `x` / `crops`): normalised features and,
/// with a trunk, crop tensors (mirrored where `mirror` says so).
struct Inputs<'a> {
    x: &'a [f32],
    d: usize,
    crops: Option<(&'a [&'a [u8]], usize)>,
    /// Ground-truth masks (side [`crate::mask_side`] of the crop size), one per row: `None`
    /// where unknown. Empty when the model has no mask head.
    masks: &'a [Option<&'a [u8]>],
}

impl Inputs<'_> {
    fn batch(
        &self,
        rows: &[usize],
        mirror: &[bool],
        device: &Device,
    ) -> (Option<Tensor<2>>, Option<Tensor<4>>) {
        let n = rows.len();
        let d = self.d;
        let x = (d > 0).then(|| {
            let mut v = Vec::with_capacity(n * d);
            for &i in rows {
                v.extend_from_slice(&self.x[i * d..(i + 1) * d]);
            }
            Tensor::<2>::from_data(TensorData::new(v, [n, d]), device)
        });
        let c = self.crops.map(|(crops, s)| {
            let channels = crops.first().map_or(0, |c| c.len() / (s * s).max(1));
            let mut v = Vec::with_capacity(n * channels * s * s);
            for (k, &i) in rows.iter().enumerate() {
                v.extend(crop_tensor(
                    crops[i],
                    s,
                    mirror.get(k).copied().unwrap_or(false),
                ));
            }
            Tensor::<4>::from_data(TensorData::new(v, [n, channels, s, s]), device)
        });
        (x, c)
    }

    /// The mask head's targets of `rows` (`[n, 1, m, m]`, 0–1, mirrored like the crops) and
    /// whether each is known (`[n, 1, 1, 1]`, 1 or 0); `None` without masks.
    fn mask_batch(
        &self,
        rows: &[usize],
        mirror: &[bool],
        device: &Device,
    ) -> Option<(Tensor<4>, Tensor<4>)> {
        let (_, s) = self.crops?;
        if self.masks.is_empty() {
            return None;
        }
        let m = crate::mask_side(s);
        let n = rows.len();
        let mut target = Vec::with_capacity(n * m * m);
        let mut known = Vec::with_capacity(n);
        for (k, &i) in rows.iter().enumerate() {
            match self
                .masks
                .get(i)
                .copied()
                .flatten()
                .filter(|v| v.len() == m * m)
            {
                Some(plane) => {
                    let flip = mirror.get(k).copied().unwrap_or(false);
                    for y in 0..m {
                        for x in 0..m {
                            let sx = if flip { m - 1 - x } else { x };
                            target.push(f32::from(plane[y * m + sx]) / 255.0);
                        }
                    }
                    known.push(1.0);
                }
                None => {
                    target.extend(std::iter::repeat_n(0.0, m * m));
                    known.push(0.0);
                }
            }
        }
        Some((
            Tensor::<4>::from_data(TensorData::new(target, [n, 1, m, m]), device),
            Tensor::<4>::from_data(TensorData::new(known, [n, 1, 1, 1]), device),
        ))
    }
}

/// Per-pixel cross-entropy of mask logits against soft targets, averaged over the pixels of
/// the rows whose mask is known.
fn mask_loss(logits: Tensor<4>, target: Tensor<4>, known: Tensor<4>) -> Tensor<1> {
    let [_, _, h, w] = logits.dims();
    let count = known.clone().sum().into_scalar::<f32>();
    let sp = burn::tensor::activation::softplus(logits.clone(), 1.0);
    let per = (sp - target * logits) * known;
    per.sum() / (count.max(1.0) * (h * w) as f32)
}

/// Probabilities of every row of `inputs` (`rows` of them), in chunks.
fn scores(net: &Net, inputs: &Inputs<'_>, rows: usize, device: &Device) -> Vec<f64> {
    let all: Vec<usize> = (0..rows).collect();
    let mut out = Vec::with_capacity(rows);
    for chunk in all.chunks(256) {
        let (x, c) = inputs.batch(chunk, &[], device);
        let p = burn::tensor::activation::sigmoid(net.forward(x, c));
        out.extend(
            p.into_data()
                .try_to_vec::<f32>()
                .unwrap_or_default()
                .into_iter()
                .map(|v| v as f64),
        );
    }
    out
}

/// With a mask head, each row's mask score: the mean of the highest tenth of the mask
/// probabilities it draws (how strongly the head sees a blend anywhere); `None` without one.
fn mask_scores(net: &Net, inputs: &Inputs<'_>, rows: usize, device: &Device) -> Option<Vec<f64>> {
    let all: Vec<usize> = (0..rows).collect();
    let mut out = Vec::with_capacity(rows);
    for chunk in all.chunks(256) {
        let (x, c) = inputs.batch(chunk, &[], device);
        let (_, mask) = net.forward_with_mask(x, c);
        let mask = burn::tensor::activation::sigmoid(mask?);
        let [n, _, h, w] = mask.dims();
        let v = mask.into_data().try_to_vec::<f32>().ok()?;
        for k in 0..n {
            let row: Vec<f64> = v[k * h * w..(k + 1) * h * w]
                .iter()
                .map(|p| f64::from(*p))
                .collect();
            out.push(aggregate(&row, 0.1).unwrap_or(0.0));
        }
    }
    Some(out)
}

/// Mean weighted loss of every row of `inputs`, in chunks.
fn mean_loss(net: &Net, inputs: &Inputs<'_>, y: &[f32], w: &[f32], device: &Device) -> f64 {
    let all: Vec<usize> = (0..y.len()).collect();
    let mut total = 0.0;
    for chunk in all.chunks(256) {
        let (x, c) = inputs.batch(chunk, &[], device);
        let n = chunk.len();
        let yt = Tensor::<2>::from_data(
            TensorData::new(y[chunk[0]..chunk[0] + n].to_vec(), [n, 1]),
            device,
        );
        let wt = Tensor::<2>::from_data(
            TensorData::new(w[chunk[0]..chunk[0] + n].to_vec(), [n, 1]),
            device,
        );
        total += loss(net.forward(x, c), yt, wt).into_scalar::<f32>() as f64 * n as f64;
    }
    total / y.len().max(1) as f64
}

/// Video scores and labels: a video is forged when any of its face rows is (the other faces
/// of a forged group photo are real rows).
fn video_scores(rows: &[&TrainingRow], s: &[f64], top: f64) -> (Vec<f64>, Vec<bool>) {
    let mut by: BTreeMap<&str, (Vec<f64>, bool)> = BTreeMap::new();
    for (r, s) in rows.iter().zip(s) {
        let e = by.entry(r.video.as_str()).or_insert((Vec::new(), false));
        e.0.push(*s);
        e.1 |= r.label;
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

/// One member's training run: its rows and inputs.
struct Fold<'a> {
    /// 1-based, for progress logs.
    number: usize,
    /// Seed of the member's initialisation.
    seed: u64,
    /// All rows (for fresh forgeries, which index them).
    rows: &'a [TrainingRow],
    train_idx: &'a [usize],
    train_rows: &'a [&'a TrainingRow],
    train_inputs: &'a Inputs<'a>,
    val_rows: &'a [&'a TrainingRow],
    val_inputs: &'a Inputs<'a>,
}

/// What one member's training run kept: the network of the epoch with the lowest
/// validation loss.
struct FoldFit {
    net: Net,
    best_loss: f64,
    best_epoch: usize,
    epochs_run: usize,
    history: Vec<(f64, f64)>,
}

/// Classes weighted to count equally.
fn class_weights(y: &[f32]) -> Vec<f32> {
    let pos = y.iter().filter(|v| **v > 0.5).count() as f32;
    let (wp, wn) = (
        y.len() as f32 / (2.0 * pos),
        y.len() as f32 / (2.0 * (y.len() as f32 - pos)),
    );
    y.iter().map(|v| if *v > 0.5 { wp } else { wn }).collect()
}

/// The random draws of one epoch: the order its rows are visited in and, with crops, whether
/// each visited row is mirrored (in visiting order).
#[derive(Debug, Clone, PartialEq)]
struct EpochDraws {
    order: Vec<usize>,
    mirror: Vec<bool>,
}

/// One member's stream of [`EpochDraws`]: one permutation shuffled on from epoch to epoch (a
/// fresh one when the number of rows changes), then one mirror draw per row for crops; a
/// features-only model draws no mirrors, so it sees the random stream it saw before the
/// trunk existed and its weights stay reproducible.
#[derive(Debug, Default)]
struct Shuffler {
    order: Vec<usize>,
}

impl Shuffler {
    /// The next epoch's draws for `rows` rows, taken from `rng`.
    fn next(&mut self, rng: &mut ChaCha8Rng, rows: usize, crops: bool) -> EpochDraws {
        if self.order.len() != rows {
            self.order = (0..rows).collect();
        }
        for i in (1..self.order.len()).rev() {
            self.order.swap(i, rng.random_range(0..=i));
        }
        let mirror = if crops {
            (0..rows).map(|_| rng.random_bool(0.5)).collect()
        } else {
            Vec::new()
        };
        EpochDraws {
            order: self.order.clone(),
            mirror,
        }
    }
}

/// One member's rows and the inputs made of them.
struct MemberData<'a> {
    train_rows: Vec<&'a TrainingRow>,
    val_rows: Vec<&'a TrainingRow>,
    train_crops: Vec<&'a [u8]>,
    val_crops: Vec<&'a [u8]>,
    train_masks: Vec<Option<&'a [u8]>>,
    xt: Vec<f32>,
    xv: Vec<f32>,
}

/// A member waiting for a thread: its network and its epochs' draws.
type Member = (Net, Vec<EpochDraws>);

/// Trains the members `nets` with their planned draws on up to `jobs` threads at once (each
/// member on one thread, so its arithmetic is that of one after another), passing their epoch
/// reports to `on_epoch` on this thread; the fits in member order.
fn fit_at_once<'a>(
    nets: Vec<Net>,
    plans: Vec<Vec<EpochDraws>>,
    jobs: usize,
    fold_of: &(dyn Fn(usize) -> Fold<'a> + Sync),
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(EpochReport),
) -> Result<Vec<FoldFit>, ModelError> {
    use std::sync::Mutex;
    use std::sync::atomic::{AtomicUsize, Ordering};
    let count = nets.len();
    let work: Vec<Mutex<Option<Member>>> = nets
        .into_iter()
        .zip(plans)
        .map(|w| Mutex::new(Some(w)))
        .collect();
    let done: Vec<Mutex<Option<Result<FoldFit, ModelError>>>> =
        (0..count).map(|_| Mutex::new(None)).collect();
    let next = AtomicUsize::new(0);
    let panicked = std::thread::scope(|scope| {
        let (tx, rx) = std::sync::mpsc::channel::<EpochReport>();
        let handles: Vec<_> = (0..jobs.min(count))
            .map(|_| {
                let tx = tx.clone();
                let (work, done, next) = (&work, &done, &next);
                scope.spawn(move || {
                    loop {
                        let k = next.fetch_add(1, Ordering::Relaxed);
                        if k >= count {
                            break;
                        }
                        let taken = work[k].lock().ok().and_then(|mut w| w.take());
                        let result = match taken {
                            Some((net, plan)) => {
                                let mut plan = plan.into_iter();
                                fit(
                                    fold_of(k),
                                    net,
                                    config,
                                    &mut |_| plan.next(),
                                    &mut |e| {
                                        let _ = tx.send(e);
                                    },
                                    None,
                                )
                            }
                            None => Err(ModelError::Training(format!("member {} lost", k + 1))),
                        };
                        if let Ok(mut slot) = done[k].lock() {
                            *slot = Some(result);
                        }
                    }
                })
            })
            .collect();
        drop(tx);
        for report in rx {
            on_epoch(report);
        }
        handles.into_iter().any(|h| h.join().is_err())
    });
    if panicked {
        return Err(ModelError::Training("a training thread panicked".into()));
    }
    done.into_iter()
        .enumerate()
        .map(|(k, slot)| {
            slot.into_inner().ok().flatten().unwrap_or_else(|| {
                Err(ModelError::Training(format!(
                    "member {} did not train",
                    k + 1
                )))
            })
        })
        .collect()
}

/// A member's freshly initialised network, from burn's seeded RNG. That RNG is global, so
/// members are initialised one after another, in order, whether or not they train at once,
/// and every parameter is drawn here rather than lazily at first use ([`Net::materialise`]).
fn init_net(seed: u64, d: usize, config: &TrainConfig) -> Net {
    let device = Device::flex().autodiff();
    device.seed(seed);
    let net = Net::new(
        d,
        crate::crop_channels(config.context),
        &config.conv,
        &config.hidden,
        config.mask_weight > 0.0,
        &device,
    );
    net.materialise();
    net
}

/// Trains `net` on `fold`'s training rows with early stopping on its validation rows, taking
/// each epoch's draws from `draws` (given the epoch's number of rows).
fn fit(
    fold: Fold<'_>,
    mut net: Net,
    config: &TrainConfig,
    draws: &mut dyn FnMut(usize) -> Option<EpochDraws>,
    on_epoch: &mut dyn FnMut(EpochReport),
    forge: Option<&Forge<'_>>,
) -> Result<FoldFit, ModelError> {
    let s = config.crop_size;
    let yt: Vec<f32> = fold
        .train_rows
        .iter()
        .map(|r| r.label as u8 as f32)
        .collect();
    let yv: Vec<f32> = fold.val_rows.iter().map(|r| r.label as u8 as f32).collect();
    let (wt, wv) = (class_weights(&yt), class_weights(&yv));
    let train_crops: Vec<&[u8]> = fold
        .train_inputs
        .crops
        .map(|(c, _)| c.to_vec())
        .unwrap_or_default();
    let d = fold.train_inputs.d;

    let device = Device::flex().autodiff();
    let plain = Device::flex();
    let mut optim = AdamWConfig::new()
        .with_weight_decay(config.weight_decay as f32)
        .init();

    let untouched = vec![0u8; crate::mask_side(s).pow(2)];
    let mut best: Option<(f64, usize, Net)> = None;
    let mut history = Vec::new();
    let mut epochs_run = 0;
    for epoch in 0..config.epochs {
        let started = std::time::Instant::now();
        epochs_run = epoch + 1;
        let fresh: Vec<FreshPair> = match forge {
            Some(f) => {
                let wanted: Vec<(usize, u64)> = fold
                    .train_idx
                    .iter()
                    .filter(|&&i| !fold.rows[i].label)
                    .map(|&i| {
                        (
                            i,
                            fold.seed ^ ((epoch as u64 + 1) << 40) ^ ((i as u64) * 0x9E37_79B9),
                        )
                    })
                    .collect();
                f(&wanted)
                    .into_iter()
                    .flatten()
                    .filter(|p| {
                        p.real.len() == crate::CROP_CHANNELS * s * s
                            && p.forged.len() == crate::CROP_CHANNELS * s * s
                    })
                    .collect()
            }
            None => Vec::new(),
        };
        // The epoch's rows: the training rows, then each fresh pair's real face (label 0,
        // nothing blended) and forgery (label 1, its mask).
        let mut epoch_crops = train_crops.clone();
        epoch_crops.extend(fresh.iter().map(|p| p.real.as_slice()));
        epoch_crops.extend(fresh.iter().map(|p| p.forged.as_slice()));
        let mut ye = yt.clone();
        ye.extend(std::iter::repeat_n(0.0, fresh.len()));
        ye.extend(std::iter::repeat_n(1.0, fresh.len()));
        let we = if fresh.is_empty() {
            wt.clone()
        } else {
            class_weights(&ye)
        };
        let mut epoch_masks = fold.train_inputs.masks.to_vec();
        if !epoch_masks.is_empty() {
            epoch_masks.extend(std::iter::repeat_n(Some(untouched.as_slice()), fresh.len()));
            epoch_masks.extend(fresh.iter().map(|p| p.mask.as_deref()));
        }
        let epoch_inputs = Inputs {
            x: fold.train_inputs.x,
            d,
            crops: (s > 0).then_some((&epoch_crops[..], s)),
            masks: &epoch_masks,
        };
        let drawn = draws(ye.len())
            .filter(|d| d.order.len() == ye.len())
            .ok_or_else(|| {
                ModelError::Training(format!(
                    "member {}: no random draws for epoch {} of {} rows",
                    fold.number,
                    epoch + 1,
                    ye.len()
                ))
            })?;
        let mut train_loss = 0.0;
        let mut steps = 0;
        let batch = config.batch.max(1);
        for (b, chunk) in drawn.order.chunks(batch).enumerate() {
            let n = chunk.len();
            let mirror = drawn
                .mirror
                .get(b * batch..b * batch + n)
                .unwrap_or_default();
            let (x, c) = epoch_inputs.batch(chunk, mirror, &device);
            let masks = epoch_inputs.mask_batch(chunk, mirror, &device);
            let y: Vec<f32> = chunk.iter().map(|&i| ye[i]).collect();
            let w: Vec<f32> = chunk.iter().map(|&i| we[i]).collect();
            let y = Tensor::<2>::from_data(TensorData::new(y, [n, 1]), &device);
            let w = Tensor::<2>::from_data(TensorData::new(w, [n, 1]), &device);
            let (logits, mask_logits) = net.forward_with_mask(x, c);
            let mut l = loss(logits.clone(), y.clone(), w);
            if config.real_spread > 0.0 {
                l = l + real_spread(logits, y) * config.real_spread as f32;
            }
            if let (Some(m), Some((target, known))) = (mask_logits, masks) {
                l = l + mask_loss(m, target, known) * config.mask_weight as f32;
            }
            train_loss += l.clone().into_scalar::<f32>() as f64;
            steps += 1;
            let grads = GradientsParams::from_grads(l.backward(), &net);
            net = optim.step(config.learning_rate, net, grads);
        }
        let valid = net.valid();
        let vl = mean_loss(&valid, fold.val_inputs, &yv, &wv, &plain);
        let tl = train_loss / steps.max(1) as f64;
        history.push((tl, vl));
        on_epoch(EpochReport {
            fold: fold.number,
            epoch: epoch + 1,
            train_loss: tl,
            validation_loss: vl,
            seconds: started.elapsed().as_secs_f64(),
        });
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
    Ok(FoldFit {
        net,
        best_loss,
        best_epoch,
        epochs_run,
        history,
    })
}

/// The members' weights as one canonical safetensors file: a lone network as itself (the
/// layout of models trained before ensembles), several as an [`Ensemble`].
fn save_members(mut nets: Vec<Net>) -> Result<Vec<u8>, ModelError> {
    let mut store = SafetensorsStore::from_bytes(None);
    let saved = if nets.len() == 1 {
        nets.remove(0).save_into(&mut store)
    } else {
        Ensemble { members: nets }.save_into(&mut store)
    };
    saved.map_err(|e| ModelError::Weights(e.to_string()))?;
    canonical_safetensors(
        store
            .get_bytes()
            .map_err(|e| ModelError::Weights(e.to_string()))?,
    )
}

/// What one epoch did, for progress logs.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct EpochReport {
    /// The member being trained, from 1 (1 of 1 without folds).
    pub fold: usize,
    /// Epoch number, from 1.
    pub epoch: usize,
    /// Mean training loss.
    pub train_loss: f64,
    /// Validation loss.
    pub validation_loss: f64,
    /// Seconds the epoch took.
    pub seconds: f64,
}

/// Trains a model on `rows` (values in [`features`] order; the model uses
/// `config.features` of them, or all).
pub fn train(rows: &[TrainingRow], config: &TrainConfig) -> Result<Trained, ModelError> {
    train_with(rows, config, &mut |_| {}, None)
}

/// One fresh training pair made from a real row's face (the Self-Blended Images recipe): the
/// face augmented, and a fresh forgery of that same augmented face, both as crop inputs of
/// the model's size, and the forgery's ground-truth mask for a mask head.
#[derive(Debug, Clone, PartialEq)]
pub struct FreshPair {
    /// The real face, augmented ([`crate::crop_input`]).
    pub real: Vec<u8>,
    /// Its fresh forgery ([`crate::crop_input`]).
    pub forged: Vec<u8>,
    /// The forgery's mask as the mask head's target ([`crate::mask_target`]).
    pub mask: Option<Vec<u8>>,
}

/// Makes fresh training pairs: given `(row, seed)` pairs (indices of real rows of the slice
/// passed to [`train_with`]), one [`FreshPair`] per pair (or `None` where it could not),
/// each a function of its pair only.
pub type Forge<'a> = dyn Fn(&[(usize, u64)]) -> Vec<Option<FreshPair>> + 'a;

/// [`train`], calling `on_epoch` after each epoch; with `forge`, every epoch also trains on one
/// fresh pair of each real training row (a model of crops only: fresh crops have no
/// features).
pub fn train_with(
    rows: &[TrainingRow],
    config: &TrainConfig,
    on_epoch: &mut dyn FnMut(EpochReport),
    forge: Option<&Forge<'_>>,
) -> Result<Trained, ModelError> {
    if rows.iter().any(|r| r.values.len() != features().len()) {
        return Err(ModelError::Training(
            "rows do not have one value per feature".into(),
        ));
    }
    let s = config.crop_size;
    if (s > 0) == config.conv.is_empty() {
        return Err(ModelError::Training(
            "a crop size needs convolutions and convolutions a crop size".into(),
        ));
    }
    if s > 0
        && rows.iter().any(|r| {
            r.crop
                .as_ref()
                .is_none_or(|c| c.len() != crate::crop_channels(config.context) * s * s)
        })
    {
        return Err(ModelError::Training(format!(
            "every row needs its {s}×{s} crop"
        )));
    }
    let names: Vec<String> = match &config.features {
        None => features().to_vec(),
        Some(f) => f.clone(),
    };
    if forge.is_some() && (s == 0 || !names.is_empty()) {
        return Err(ModelError::Training(
            "fresh forgeries need a model of crops only (no features)".into(),
        ));
    }
    if forge.is_some() && config.context {
        return Err(ModelError::Training(
            "fresh forgeries have no context crop: they cannot train a context channel".into(),
        ));
    }
    if config.mask_weight > 0.0 && config.conv.len() <= crate::net::MASK_LAYER {
        return Err(ModelError::Training(format!(
            "a mask head needs a trunk of at least {} convolutions",
            crate::net::MASK_LAYER + 1
        )));
    }
    let drawn = |r: &TrainingRow| r.mask.as_ref().is_some_and(|m| m.iter().any(|&v| v > 0));
    if config.mask_weight > 0.0 && forge.is_none() && !rows.iter().any(|r| r.label && drawn(r)) {
        // Only real rows' empty masks: the head would learn to draw nothing anywhere.
        return Err(ModelError::Training(
            "a mask head needs ground-truth masks of forged faces (synth's masks/ beside the labels, or --fresh-self-blends)".into(),
        ));
    }
    if names.is_empty() && s == 0 {
        return Err(ModelError::Training(
            "the model reads neither features nor pixels".into(),
        ));
    }
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
            crop: None,
            mask: None,
            ..r.clone()
        })
        .collect();
    let d = names.len();
    let sources: BTreeSet<&str> = projected.iter().map(|r| r.source.as_str()).collect();
    if sources.len() < 2 {
        return Err(ModelError::Training(format!(
            "need rows from at least two source videos to split by source, got {}",
            sources.len()
        )));
    }
    let mut rng = ChaCha8Rng::seed_from_u64(config.seed);
    // The validation groups: one (the given sources, or a seeded quarter of them), or with
    // `folds` > 1 every source in exactly one of `folds` seeded groups.
    let folds = config.folds.max(1);
    let groups: Vec<BTreeSet<String>> = if folds > 1 {
        if !config.validation_sources.is_empty() {
            return Err(ModelError::Training(
                "folds choose their own validation sources: give folds or validation sources"
                    .into(),
            ));
        }
        if sources.len() < folds {
            return Err(ModelError::Training(format!(
                "{folds} folds need at least {folds} source videos, got {}",
                sources.len()
            )));
        }
        let mut s: Vec<&str> = sources.iter().copied().collect();
        for i in (1..s.len()).rev() {
            s.swap(i, rng.random_range(0..=i));
        }
        (0..folds)
            .map(|k| {
                s.iter()
                    .skip(k)
                    .step_by(folds)
                    .map(|x| x.to_string())
                    .collect()
            })
            .collect()
    } else if config.validation_sources.is_empty() {
        let mut s: Vec<&str> = sources.iter().copied().collect();
        for i in (1..s.len()).rev() {
            s.swap(i, rng.random_range(0..=i));
        }
        let k = s.len().div_ceil(4).max(1);
        vec![s[..k].iter().map(|x| x.to_string()).collect()]
    } else {
        vec![config.validation_sources.iter().cloned().collect()]
    };
    if let Some(v) = groups
        .iter()
        .flatten()
        .find(|v| !sources.contains(v.as_str()))
    {
        return Err(ModelError::Training(format!(
            "validation source {v:?} has no rows"
        )));
    }
    let parts: Vec<(Vec<usize>, Vec<usize>)> = groups
        .iter()
        .map(|val| (0..projected.len()).partition(|&i| val.contains(&projected[i].source)))
        .collect();
    for (val_idx, train_idx) in &parts {
        for (name, idx) in [("training", train_idx), ("validation", val_idx)] {
            let pos = idx.iter().filter(|&&i| projected[i].label).count();
            if pos == 0 || pos == idx.len() {
                return Err(ModelError::Training(format!(
                    "the {name} rows need both real and forged faces ({pos} forged of {})",
                    idx.len()
                )));
            }
        }
    }
    // Normalisation from the training rows (with folds, from all rows: every member shares
    // it, and it uses no label).
    let stats_rows: Vec<&TrainingRow> = if folds > 1 {
        projected.iter().collect()
    } else {
        parts[0].1.iter().map(|&i| &projected[i]).collect()
    };
    let mut mean = vec![0.0; d];
    let mut std = vec![1.0; d];
    for i in 0..d {
        let v: Vec<f64> = stats_rows
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

    let plain = Device::flex();
    // Each member's rows and inputs.
    let members: Vec<MemberData<'_>> = parts
        .iter()
        .map(|(val_idx, train_idx)| {
            let train_rows: Vec<&TrainingRow> = train_idx.iter().map(|&i| &projected[i]).collect();
            let val_rows: Vec<&TrainingRow> = val_idx.iter().map(|&i| &projected[i]).collect();
            let crops_of = |idx: &[usize]| -> Vec<&[u8]> {
                idx.iter()
                    .map(|&i| rows[i].crop.as_deref().unwrap_or(&[]))
                    .collect()
            };
            let train_masks = if config.mask_weight > 0.0 {
                train_idx.iter().map(|&i| rows[i].mask.as_deref()).collect()
            } else {
                Vec::new()
            };
            MemberData {
                xt: normalise(&train_rows, &mean, &std),
                xv: normalise(&val_rows, &mean, &std),
                train_rows,
                val_rows,
                train_crops: crops_of(train_idx),
                val_crops: crops_of(val_idx),
                train_masks,
            }
        })
        .collect();
    let inputs: Vec<(Inputs<'_>, Inputs<'_>)> = members
        .iter()
        .map(|m| {
            (
                Inputs {
                    x: &m.xt,
                    d,
                    crops: (s > 0).then_some((&m.train_crops[..], s)),
                    masks: &m.train_masks,
                },
                Inputs {
                    x: &m.xv,
                    d,
                    crops: (s > 0).then_some((&m.val_crops[..], s)),
                    masks: &[],
                },
            )
        })
        .collect();
    let fold_of = |k: usize| Fold {
        number: k + 1,
        seed: config.seed + k as u64,
        rows,
        train_idx: &parts[k].1,
        train_rows: &members[k].train_rows,
        train_inputs: &inputs[k].0,
        val_rows: &members[k].val_rows,
        val_inputs: &inputs[k].1,
    };
    let jobs = match config.jobs {
        0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
        n => n,
    }
    .min(folds);
    let fits: Vec<FoldFit> = if jobs > 1 && forge.is_none() && config.epochs <= config.patience + 1
    {
        // Every member runs every epoch, so its draws can be taken from the one seeded stream
        // now, in member order, exactly as one after another would take them.
        let plans: Vec<Vec<EpochDraws>> = parts
            .iter()
            .map(|(_, train_idx)| {
                let mut shuffler = Shuffler::default();
                (0..config.epochs)
                    .map(|_| shuffler.next(&mut rng, train_idx.len(), s > 0))
                    .collect()
            })
            .collect();
        let nets: Vec<Net> = (0..folds)
            .map(|k| init_net(config.seed + k as u64, d, config))
            .collect();
        fit_at_once(nets, plans, jobs, &fold_of, config, on_epoch)?
    } else {
        let mut fits = Vec::with_capacity(folds);
        for k in 0..folds {
            let net = init_net(config.seed + k as u64, d, config);
            let mut shuffler = Shuffler::default();
            let mut draws = |n: usize| Some(shuffler.next(&mut rng, n, s > 0));
            fits.push(fit(fold_of(k), net, config, &mut draws, on_epoch, forge)?);
        }
        fits
    };
    let mut nets = Vec::with_capacity(folds);
    // Validation scores: each row scored by the member that did not train on it.
    let mut val_scores: Vec<(usize, f64)> = Vec::new();
    let mut val_mask_scores: Vec<(usize, f64)> = Vec::new();
    let mut train_scores: Option<(&[usize], Vec<f64>)> = None;
    for (k, fit) in fits.iter().enumerate() {
        let (val_idx, train_idx) = &parts[k];
        let (train_inputs, val_inputs) = &inputs[k];
        let n_val = members[k].val_rows.len();
        let sv = scores(&fit.net, val_inputs, n_val, &plain);
        val_scores.extend(val_idx.iter().copied().zip(sv));
        if let Some(m) = mask_scores(&fit.net, val_inputs, n_val, &plain) {
            val_mask_scores.extend(val_idx.iter().copied().zip(m));
        }
        if folds == 1 {
            let st = scores(&fit.net, train_inputs, members[k].train_rows.len(), &plain);
            train_scores = Some((train_idx, st));
        }
        nets.push(fit.net.clone());
    }

    // Calibration on the validation rows of real clips.
    val_scores.sort_by_key(|(i, _)| *i);
    let val_rows: Vec<&TrainingRow> = val_scores.iter().map(|(i, _)| &projected[*i]).collect();
    let sv: Vec<f64> = val_scores.iter().map(|(_, s)| *s).collect();
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
    // The training rows' scores (one model only: with folds every row trained some member).
    let train_summary = match train_scores {
        Some((idx, st)) => {
            let tr: Vec<&TrainingRow> = idx.iter().map(|&i| &projected[i]).collect();
            summary(&tr, &st, &thresholds, config.video_top_fraction)
        }
        None => serde_json::Value::Null,
    };

    let weights = save_members(nets)?;
    let val: BTreeSet<&String> = groups.iter().flatten().collect();
    let train_sources: BTreeSet<&str> = if folds > 1 {
        sources.clone()
    } else {
        parts[0]
            .1
            .iter()
            .map(|&i| projected[i].source.as_str())
            .collect()
    };
    let fold_record = |f: &FoldFit| {
        serde_json::json!({
            "epochs_run": f.epochs_run,
            "best_epoch": f.best_epoch + 1,
            "best_validation_loss": f.best_loss,
            "loss_history": f.history.iter().map(|(a, b)| [*a, *b]).collect::<Vec<_>>(),
        })
    };
    let mut training = serde_json::json!({
        "config": config,
        "train_sources": train_sources,
        "validation_sources": val,
        "train": train_summary,
        "validation": summary(&val_rows, &sv, &thresholds, config.video_top_fraction),
    });
    if !val_mask_scores.is_empty() {
        // The mask head's own verdict on the validation rows, for comparison with the score.
        val_mask_scores.sort_by_key(|(i, _)| *i);
        let ms: Vec<f64> = val_mask_scores.iter().map(|(_, s)| *s).collect();
        training["validation_mask_head"] =
            summary(&val_rows, &ms, &thresholds, config.video_top_fraction);
    }
    if let (serde_json::Value::Object(m), [only]) = (&mut training, &fits[..]) {
        if let serde_json::Value::Object(f) = fold_record(only) {
            m.extend(f);
        }
    } else if let serde_json::Value::Object(m) = &mut training {
        m.insert(
            "folds".into(),
            groups
                .iter()
                .zip(&fits)
                .map(|(g, f)| {
                    let mut r = fold_record(f);
                    r["validation_sources"] = serde_json::json!(g);
                    r
                })
                .collect::<Vec<_>>()
                .into(),
        );
    }
    let card = ModelCard {
        name: if s > 0 {
            "seamscan-cnn-1"
        } else {
            "seamscan-mlp-1"
        }
        .into(),
        features: names,
        hidden: config.hidden.clone(),
        crop_size: s,
        conv: config.conv.clone(),
        context: s > 0 && config.context,
        mask_head: config.mask_weight > 0.0,
        members: folds,
        mean,
        std,
        thresholds,
        video_top_fraction: config.video_top_fraction,
        weights_sha256: sha256_hex(&weights),
        training,
    };
    Ok(Trained { card, weights })
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Rows whose label is visible in two features, from six sources.
    fn rows(seed: u64) -> Vec<TrainingRow> {
        feature_rows(seed, |values, _, label, rng| {
            let shift = if label { 1.5 } else { -1.5 };
            values[7] = Some(shift + rng.random_range(-1.0..1.0));
            values[8] = Some(10.0 * shift + rng.random_range(-5.0..5.0));
            values[9] = None;
        })
    }

    /// Six sources of four videos (two real, two forged) of 20 feature rows each: noise in
    /// every feature, then `signal(values, source, label, rng)`.
    fn feature_rows(
        seed: u64,
        mut signal: impl FnMut(&mut Vec<Option<f64>>, usize, bool, &mut ChaCha8Rng),
    ) -> Vec<TrainingRow> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        for s in 0..6 {
            for v in 0..4 {
                let label = v % 2 == 1;
                for _ in 0..20 {
                    let mut values: Vec<Option<f64>> = (0..features().len())
                        .map(|_| Some(rng.random_range(-1.0..1.0)))
                        .collect();
                    signal(&mut values, s, label, &mut rng);
                    out.push(TrainingRow {
                        values,
                        label,
                        source: format!("s{s}"),
                        video: format!("s{s}v{v}"),
                        crop: None,
                        mask: None,
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
            learning_rate: 2e-3,
            patience: 30,
            hidden: vec![32, 16],
            crop_size: 0,
            conv: Vec::new(),
            validation_sources: vec!["s4".into(), "s5".into()],
            ..TrainConfig::default()
        }
    }

    /// Rows whose label is only in the pixels: forged crops carry a hard-edged patch of a
    /// slightly different colour (a blend boundary), real ones a smooth gradient; the
    /// features are noise.
    fn pixel_rows(seed: u64, s: usize) -> Vec<TrainingRow> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let mut out = Vec::new();
        for src in 0..6 {
            for v in 0..4 {
                let label = v % 2 == 1;
                for _ in 0..16 {
                    let base = rng.random_range(60.0..180.0f32);
                    let (x0, y0) = (rng.random_range(2..s / 2), rng.random_range(2..s / 2));
                    let mut rgb = vec![0u8; 3 * s * s];
                    let mut plane = vec![0u8; s * s];
                    for y in 0..s {
                        for x in 0..s {
                            let inside = x >= x0 && x < x0 + s / 3 && y >= y0 && y < y0 + s / 3;
                            if label && inside {
                                plane[y * s + x] = 255;
                            }
                            let step = if label && inside { 14.0 } else { 0.0 };
                            let v =
                                base + (x + y) as f32 * 0.8 + step + rng.random_range(-3.0..3.0);
                            for c in 0..3 {
                                rgb[(y * s + x) * 3 + c] =
                                    (v + c as f32 * 5.0).clamp(0.0, 255.0) as u8;
                            }
                        }
                    }
                    out.push(TrainingRow {
                        values: (0..features().len())
                            .map(|_| Some(rng.random_range(-1.0..1.0)))
                            .collect(),
                        label,
                        source: format!("s{src}"),
                        video: format!("s{src}v{v}"),
                        crop: Some(crate::crop_input(&rgb, s, s)),
                        mask: Some(crate::mask_target(
                            &plane,
                            s,
                            crate::mask_side(s),
                            crate::MaskTarget::Region,
                        )),
                    });
                }
            }
        }
        out
    }

    /// A crops-only trunk (no features) of side `s`, convolutions `conv` and `hidden` layers,
    /// trained for at most `epochs` (patience as long) in batches of 32 at lr 3e-3, validated
    /// on sources s4 and s5: the setting of the pixel tests below.
    fn crops_config(s: usize, conv: &[usize], hidden: &[usize], epochs: usize) -> TrainConfig {
        TrainConfig {
            crop_size: s,
            conv: conv.to_vec(),
            hidden: hidden.to_vec(),
            features: Some(Vec::new()),
            epochs,
            batch: 32,
            learning_rate: 3e-3,
            patience: epochs,
            validation_sources: vec!["s4".into(), "s5".into()],
            ..TrainConfig::default()
        }
    }

    #[test]
    fn the_crop_trunk_learns_a_signal_only_the_pixels_carry() {
        let s = 16;
        let config = crops_config(s, &[8, 16], &[16], 30);
        let rows = pixel_rows(3, s);
        let mut epochs = 0;
        let t = train_with(&rows, &config, &mut |_| epochs += 1, None).unwrap();
        assert_eq!(
            epochs,
            t.card.training["epochs_run"].as_u64().unwrap() as usize
        );
        let v = &t.card.training["validation"];
        assert!(v["frame_auc"].as_f64().unwrap() > 0.95, "{v}");
        assert_eq!(t.card.name, "seamscan-cnn-1");
        assert!(t.card.features.is_empty());
        // Loaded back, it scores like training measured and names a crop region.
        let c = crate::Classifier::from_parts(&serde_json::to_string(&t.card).unwrap(), t.weights)
            .unwrap();
        let forged = rows.iter().find(|r| r.label && r.source == "s5").unwrap();
        let real = rows.iter().find(|r| !r.label && r.source == "s5").unwrap();
        let (f, r) = (
            c.score(&[], forged.crop.as_deref()),
            c.score(&[], real.crop.as_deref()),
        );
        assert!(f > r, "forged {f} real {r}");
        // Reasons name crop regions (a model of crops only has nothing else to name); some
        // forged faces are explained by a region whose flattening lowers their score.
        let reasons: Vec<String> = rows
            .iter()
            .filter(|r| r.label && r.source == "s5")
            .flat_map(|r| c.reasons(&[], r.crop.as_deref(), 3))
            .collect();
        assert!(
            !reasons.is_empty() && reasons.iter().all(|r| r.starts_with("crop[")),
            "{reasons:?}"
        );
        // Rows without their crop are refused.
        let mut missing = rows.clone();
        missing[0].crop = None;
        assert!(train(&missing, &config).is_err());
    }

    #[test]
    fn members_trained_at_once_get_the_weights_of_one_after_another() {
        // Folds, two epochs, patience 1 (the shipped recipe's shape): every member's draws
        // are known beforehand, so they train on threads; a mask head makes the order in
        // which parameters are first drawn matter.
        let s = 16;
        let config = TrainConfig {
            folds: 3,
            patience: 1,
            mask_weight: 0.5,
            real_spread: 0.1,
            validation_sources: Vec::new(),
            ..crops_config(s, &[8, 8, 8], &[8], 2)
        };
        let rows = pixel_rows(4, s);
        let run = |jobs: usize| {
            let mut reports = Vec::new();
            let t = train_with(
                &rows,
                &TrainConfig {
                    jobs,
                    ..config.clone()
                },
                &mut |e| reports.push((e.fold, e.epoch, e.train_loss, e.validation_loss)),
                None,
            )
            .unwrap();
            reports.sort_by_key(|r| (r.0, r.1));
            (t, reports)
        };
        let (alone, alone_reports) = run(1);
        let (together, together_reports) = run(3);
        assert_eq!(alone_reports.len(), 6);
        assert_eq!(together_reports, alone_reports);
        assert_eq!(together.weights, alone.weights);
        assert_eq!(
            serde_json::to_string(&together.card).unwrap(),
            serde_json::to_string(&alone.card).unwrap()
        );
        // The number of jobs is not part of the card.
        assert!(alone.card.training["config"].get("jobs").is_none());
    }

    /// Rows where each source has its own camera noise level (2 to 24 grey levels) and a
    /// forged face is smoothed to half its source's level: alone, a face's detail says more
    /// about its camera than about the blend (a forged face of a noisy source is as noisy as
    /// a real face of a quiet one); against the context crop's noise it tells them apart.
    /// The crops carry the context channel (`with_context`).
    fn camera_rows(seed: u64, s: usize) -> Vec<TrainingRow> {
        let mut rng = ChaCha8Rng::seed_from_u64(seed);
        let levels = [4.0f32, 24.0, 8.0, 16.0, 6.0, 12.0];
        let mut out = Vec::new();
        for (src, level) in levels.iter().enumerate() {
            for v in 0..4 {
                let label = v % 2 == 1;
                for _ in 0..16 {
                    let base = rng.random_range(80.0..170.0f32);
                    let mut noisy = |a: f32| -> Vec<u8> {
                        (0..s * s)
                            .flat_map(|_| {
                                let g = (base + rng.random_range(-a..a)).clamp(0.0, 255.0) as u8;
                                [g, g, g]
                            })
                            .collect()
                    };
                    let face = noisy(if label { level / 2.0 } else { *level });
                    let context = noisy(*level);
                    out.push(TrainingRow {
                        values: vec![None; features().len()],
                        label,
                        source: format!("s{src}"),
                        video: format!("s{src}v{v}"),
                        crop: Some(crate::with_context(
                            &crate::crop_input(&face, s, s),
                            &crate::context_input(&context, s, s),
                        )),
                        mask: None,
                    });
                }
            }
        }
        out
    }

    #[test]
    fn the_context_channel_reads_a_face_against_its_camera() {
        let s = 8;
        // Validated on s4 and s5: a quiet source's real faces (6) are as noisy as a loud one's
        // forged faces (12/2).
        let config = TrainConfig {
            context: true,
            ..crops_config(s, &[8, 8], &[8], 30)
        };
        let rows = camera_rows(5, s);
        let with = train(&rows, &config).unwrap();
        assert!(with.card.context);
        let auc_with = with.card.training["validation"]["frame_auc"]
            .as_f64()
            .unwrap();
        // The same rows without the context channel: the face maps alone.
        let face_only: Vec<TrainingRow> = rows
            .iter()
            .map(|r| TrainingRow {
                crop: r.crop.as_ref().map(|c| {
                    c.chunks_exact(crate::crop_channels(true))
                        .flat_map(|p| p[..crate::CROP_CHANNELS].to_vec())
                        .collect()
                }),
                ..r.clone()
            })
            .collect();
        let without = train(
            &face_only,
            &TrainConfig {
                context: false,
                ..config.clone()
            },
        )
        .unwrap();
        assert!(!without.card.context);
        let auc_without = without.card.training["validation"]["frame_auc"]
            .as_f64()
            .unwrap();
        assert!(
            auc_with > 0.95 && auc_with > auc_without + 0.1,
            "with context {auc_with}, without {auc_without}"
        );
        // Loaded back, the card says so, and it reads five channels, not four.
        let json = serde_json::to_string(&with.card).unwrap();
        assert!(json.contains("\"context\":true"), "{json}");
        let c = crate::Classifier::from_parts(&json, with.weights).unwrap();
        assert_eq!(
            c.pixel_input(),
            Some(crate::PixelInput {
                size: s,
                context: true
            })
        );
        let row = &rows[0];
        assert!(c.score(&[], row.crop.as_deref()).is_finite());
        assert!(c.score(&[], face_only[0].crop.as_deref()).is_nan());
        // A card without the field (every model before it) reads four channels.
        let plain = serde_json::to_value(&without.card).unwrap();
        assert_eq!(plain.get("context"), None, "{plain}");
        // Rows cut without the context channel are refused by a context model.
        assert!(train(&face_only, &config).is_err());
    }

    #[test]
    fn a_mask_head_learns_where_the_blend_is() {
        let s = 16;
        let config = TrainConfig {
            mask_weight: 1.0,
            ..crops_config(s, &[8, 16, 16], &[16], 25)
        };
        let rows = pixel_rows(3, s);
        // The target is the patch, reduced to a quarter of the crop's side.
        let forged = rows.iter().find(|r| r.label).unwrap();
        let mask = forged.mask.as_ref().unwrap();
        assert_eq!(mask.len(), 16);
        assert!(mask.iter().any(|&v| v > 0));
        assert!(
            rows.iter()
                .filter(|r| !r.label)
                .all(|r| r.mask.as_ref().is_some_and(|m| m.iter().all(|&v| v == 0)))
        );
        let t = train(&rows, &config).unwrap();
        assert!(t.card.mask_head);
        // The head alone tells forged faces from real ones on the held-out sources.
        let head = &t.card.training["validation_mask_head"];
        assert!(head["frame_auc"].as_f64().unwrap() > 0.9, "{head}");
        let c = crate::Classifier::from_parts(
            &serde_json::to_string(&t.card).unwrap(),
            t.weights.clone(),
        )
        .unwrap();
        let real = rows.iter().find(|r| !r.label && r.source == "s5").unwrap();
        assert!((0.0..=1.0).contains(&c.score(&[], real.crop.as_deref())));
        // The same seed gives the same weights; a head needs three convolutions and masks
        // of forged faces.
        assert_eq!(train(&rows, &config).unwrap().weights, t.weights);
        let unmasked: Vec<TrainingRow> = rows
            .iter()
            .map(|r| TrainingRow {
                mask: if r.label { None } else { r.mask.clone() },
                ..r.clone()
            })
            .collect();
        assert!(
            train(&unmasked, &config)
                .unwrap_err()
                .to_string()
                .contains("ground-truth masks")
        );
        let short = TrainConfig {
            conv: vec![8, 16],
            ..config
        };
        assert!(
            train(&rows, &short)
                .unwrap_err()
                .to_string()
                .contains("mask head")
        );
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
        assert!(c.score(&good, None) > 0.9, "{}", c.score(&good, None));
        let reasons = c.reasons(&good, None, 3);
        assert!(
            reasons[0].starts_with("boundary_log_ratio=") || reasons[0].starts_with("lab_delta_e="),
            "{reasons:?}"
        );
    }

    #[test]
    fn the_real_spread_penalty_is_the_variance_of_real_logits() {
        let device = Device::flex();
        let t =
            |v: Vec<f32>| Tensor::<2>::from_data(TensorData::new(v.clone(), [v.len(), 1]), &device);
        // Real logits 1 and 3 (variance 1); the forged 10 does not count.
        let v = real_spread(t(vec![1.0, 10.0, 3.0]), t(vec![0.0, 1.0, 0.0]));
        assert!((v.into_scalar::<f32>() - 1.0).abs() < 1e-6);
        let none = real_spread(t(vec![1.0, 10.0]), t(vec![1.0, 1.0]));
        assert_eq!(none.into_scalar::<f32>(), 0.0);
    }

    #[test]
    fn the_real_spread_penalty_pulls_every_sources_real_faces_together() {
        // Each source shifts the label's feature by its own offset, which feature 3 also
        // shows (a camera that makes every face look more "forged"). Ranking within a source
        // needs only feature 7; scoring real faces alike across sources needs feature 3 too.
        let rows = feature_rows(5, |values, s, label, rng| {
            let offset = (s as f64 - 2.5) * 0.8;
            let shift = if label { 1.0 } else { -1.0 };
            values[7] = Some(shift + offset + rng.random_range(-0.5..0.5));
            values[3] = Some(offset + rng.random_range(-0.2..0.2));
        });
        // The spread of the sources' mean real logit.
        let spread = |weight: f64| {
            let t = train(
                &rows,
                &TrainConfig {
                    real_spread: weight,
                    ..config()
                },
            )
            .unwrap();
            assert_eq!(t.card.training["config"]["real_spread"], weight);
            // It still tells the classes apart on the validation sources.
            let v = &t.card.training["validation"];
            assert!(v["frame_auc"].as_f64().unwrap() > 0.9, "{weight}: {v}");
            let json = serde_json::to_string(&t.card).unwrap();
            let c = crate::Classifier::from_parts(&json, t.weights).unwrap();
            let means: Vec<f64> = (0..6)
                .map(|s| {
                    let real: Vec<f64> = rows
                        .iter()
                        .filter(|r| !r.label && r.source == format!("s{s}"))
                        .map(|r| {
                            let p = c.score(&r.values, None).clamp(1e-6, 1.0 - 1e-6);
                            (p / (1.0 - p)).ln()
                        })
                        .collect();
                    real.iter().sum::<f64>() / real.len() as f64
                })
                .collect();
            let m = means.iter().sum::<f64>() / 6.0;
            (means.iter().map(|v| (v - m).powi(2)).sum::<f64>() / 6.0).sqrt()
        };
        let (plain, pulled) = (spread(0.0), spread(1.0));
        assert!(pulled < plain * 0.7, "{pulled} vs {plain}");
    }

    #[test]
    fn a_video_with_one_forged_face_is_a_forged_video() {
        // A group photo's forged clip: its first face row is an untouched neighbour.
        let row = |video: &str, label: bool| TrainingRow {
            values: Vec::new(),
            label,
            source: "s".into(),
            video: video.into(),
            crop: None,
            mask: None,
        };
        let rows = [
            row("group", false),
            row("group", true),
            row("real", false),
            row("real", false),
        ];
        let refs: Vec<&TrainingRow> = rows.iter().collect();
        let (scores, labels) = video_scores(&refs, &[0.1, 0.9, 0.2, 0.3], 0.5);
        assert_eq!(labels, [true, false]);
        assert_eq!(scores, [0.9, 0.3]);
    }

    #[test]
    fn folds_train_an_ensemble_calibrated_on_every_source_out_of_fold() {
        let folds = TrainConfig {
            folds: 3,
            validation_sources: Vec::new(),
            epochs: 20,
            ..config()
        };
        let t = train(&rows(1), &folds).unwrap();
        assert_eq!(t.card.members, 3);
        // Every row was scored by the member that never trained on it.
        let v = &t.card.training["validation"];
        assert_eq!(v["face_rows"], 480, "{v}");
        assert!(v["frame_auc"].as_f64().unwrap() > 0.99, "{v}");
        let groups = t.card.training["folds"].as_array().unwrap();
        assert_eq!(groups.len(), 3);
        let mut seen: Vec<String> = groups
            .iter()
            .flat_map(|g| g["validation_sources"].as_array().unwrap().clone())
            .map(|s| s.as_str().unwrap().to_string())
            .collect();
        seen.sort();
        assert_eq!(seen, ["s0", "s1", "s2", "s3", "s4", "s5"]);
        // The ensemble loads back, scores, explains; a card claiming another count does not
        // load.
        let json = serde_json::to_string(&t.card).unwrap();
        let c = crate::Classifier::from_parts(&json, t.weights.clone()).unwrap();
        let row = |shift: f64| -> Vec<Option<f64>> {
            (0..features().len())
                .map(|i| match i {
                    7 => Some(shift),
                    8 => Some(10.0 * shift),
                    _ => Some(0.0),
                })
                .collect()
        };
        assert!(c.score(&row(1.5), None) > 0.9);
        assert!(c.score(&row(-1.5), None) < 0.1);
        assert!(!c.reasons(&row(1.5), None, 3).is_empty());
        // Each row scored by the member whose fold held its source gives the card's
        // out-of-fold figures again.
        let fold_sources = c.fold_sources();
        assert_eq!(fold_sources.len(), 3);
        let all = rows(1);
        let oof: Vec<f64> = all
            .iter()
            .map(|r| {
                let k = fold_sources
                    .iter()
                    .position(|g| g.contains(&r.source))
                    .unwrap();
                c.member(k).unwrap().score(&r.values, None)
            })
            .collect();
        let labels: Vec<bool> = all.iter().map(|r| r.label).collect();
        let card_auc = v["frame_auc"].as_f64().unwrap();
        assert!((auc(&oof, &labels).unwrap() - card_auc).abs() < 1e-9, "{v}");
        let real: Vec<f64> = oof
            .iter()
            .zip(&labels)
            .filter(|(_, l)| !**l)
            .map(|(s, _)| *s)
            .collect();
        let q = quantile(&real, 1.0 - folds.manipulated_fpr).unwrap();
        let threshold = c.card().thresholds.frame_manipulated;
        assert!((q - threshold).abs() < 1e-6, "{q} {threshold}");
        assert!(c.member(3).is_none());
        for members in [1, 2, 4] {
            let mut wrong = t.card.clone();
            wrong.members = members;
            let json = serde_json::to_string(&wrong).unwrap();
            let e = crate::Classifier::from_parts(&json, t.weights.clone()).unwrap_err();
            assert!(matches!(e, ModelError::Weights(_)), "{members}: {e}");
        }
        // Same seed, same ensemble.
        assert_eq!(train(&rows(1), &folds).unwrap().weights, t.weights);
        // Folds pick the validation sources themselves.
        assert!(
            train(
                &rows(1),
                &TrainConfig {
                    folds: 3,
                    ..config()
                }
            )
            .is_err()
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
