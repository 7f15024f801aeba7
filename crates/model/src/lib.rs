//! The manipulation classifier: a small `burn` network over one face row — a convolutional
//! trunk over the face's aligned crop (downsampled to [`ModelCard::crop_size`]) joined with the
//! row's features (crop spectra, region comparisons, temporal jitter) — with the
//! normalisation, calibrated thresholds and aggregation that turn its output into `score`,
//! `verdict` and `reasons`. A card without a crop size is a plain feature MLP.
//!
//! The shipped model is `models/classifier.safetensors` (weights, written by burn-store) plus
//! `models/classifier.json` (features, normalisation, thresholds, training record); both are
//! embedded in the binary. burn's types stay inside this crate: callers pass `f64` features.

#![deny(missing_docs)]

pub mod metrics;
mod net;
mod stack;
pub mod train;

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use burn_store::{ModuleSnapshot, SafetensorsStore};

use net::{Ensemble, Net};
pub use stack::{Stack, StackCard};

/// The scalar `frames` columns the model reads, in input order, before the list elements of
/// [`LIST_FEATURES`]. Missing values (no jitter yet on a track's first row, a feature that
/// failed) are replaced by the training mean.
pub const SCALAR_FEATURES: &[&str] = &[
    "det_score",
    "face_hf_fraction",
    "face_spectral_slope",
    "face_peak_prominence",
    "face_noise_level",
    "hf_log_ratio",
    "noise_log_ratio",
    "boundary_log_ratio",
    "lab_delta_e",
    "jitter_boundary",
    "jitter_slope",
    "jitter_hf",
    "hf_fraction",
    "spectral_slope",
    "noise_level",
];

/// The list columns the model reads, element by element (`radial_noise[0]` …), with their
/// lengths.
pub const LIST_FEATURES: &[(&str, usize)] = &[
    ("radial_hf", 9),
    ("radial_noise", 9),
    ("radial_boundary", 9),
    ("radial_delta_e", 8),
];

/// Every input of the model, in order: the scalar columns, then `name[k]` for each element of
/// the list columns.
pub fn features() -> &'static [String] {
    static NAMES: std::sync::OnceLock<Vec<String>> = std::sync::OnceLock::new();
    NAMES.get_or_init(|| {
        let mut v: Vec<String> = SCALAR_FEATURES.iter().map(|s| s.to_string()).collect();
        for (name, n) in LIST_FEATURES {
            v.extend((0..*n).map(|k| format!("{name}[{k}]")));
        }
        v
    })
}

/// The shipped weights.
const EMBEDDED_WEIGHTS: &[u8] = include_bytes!("../../../models/classifier.safetensors");
/// The shipped model description.
const EMBEDDED_CARD: &str = include_str!("../../../models/classifier.json");

/// Why a model could not be loaded or trained.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(String, std::io::Error),
    /// The model description is not valid.
    #[error("model description: {0}")]
    Card(String),
    /// The weights do not fit the description.
    #[error("model weights: {0}")]
    Weights(String),
    /// Training could not run.
    #[error("training: {0}")]
    Training(String),
}

/// Score thresholds of the verdicts, calibrated on held-out real data.
#[derive(Debug, Clone, Copy, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Thresholds {
    /// A face row at or above this is `suspicious`.
    pub frame_suspicious: f64,
    /// A face row at or above this is `manipulated`.
    pub frame_manipulated: f64,
    /// A video score at or above this is `suspicious`.
    pub video_suspicious: f64,
    /// A video score at or above this is `manipulated`.
    pub video_manipulated: f64,
}

impl Thresholds {
    /// The verdict of a face row's score.
    pub fn frame_verdict(&self, score: f64) -> &'static str {
        band(score, self.frame_suspicious, self.frame_manipulated)
    }

    /// The verdict of a video score.
    pub fn video_verdict(&self, score: f64) -> &'static str {
        band(score, self.video_suspicious, self.video_manipulated)
    }
}

/// `manipulated` at or above `manipulated`, `suspicious` at or above `suspicious`, else
/// `authentic`.
fn band(score: f64, suspicious: f64, manipulated: f64) -> &'static str {
    if score >= manipulated {
        verdict::MANIPULATED
    } else if score >= suspicious {
        verdict::SUSPICIOUS
    } else {
        verdict::AUTHENTIC
    }
}

/// Everything about a trained model except its weights (`models/classifier.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelCard {
    /// Model name and version, e.g. `seamscan-cnn-1`.
    pub name: String,
    /// Input columns, in order.
    pub features: Vec<String>,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
    /// Side of the crop input the trunk reads ([`crop_input`]); 0: the model reads no pixels.
    #[serde(default)]
    pub crop_size: usize,
    /// Widths of the trunk's 3×3 convolutions (the first at stride 1, then stride 2).
    #[serde(default)]
    pub conv: Vec<usize>,
    /// Whether the crop input has the context channel ([`context_input`], `train --context`):
    /// the residual energy of a wider crop around the face, so the trunk can compare the
    /// face's detail with the camera's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub context: bool,
    /// Whether each network's trunk has a mask head (trained on ground-truth blending masks;
    /// it shapes the trunk, the score does not read it).
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub mask_head: bool,
    /// Networks whose mean logit is the score (an ensemble from `train --folds`); 1: one.
    #[serde(default = "one", skip_serializing_if = "is_one")]
    pub members: usize,
    /// Training mean of each feature (also the value a missing feature takes).
    pub mean: Vec<f64>,
    /// Training standard deviation of each feature.
    pub std: Vec<f64>,
    /// Verdict thresholds.
    pub thresholds: Thresholds,
    /// Fraction of a video's highest face scores whose mean is the video score.
    pub video_top_fraction: f64,
    /// SHA-256 of the weights file.
    pub weights_sha256: String,
    /// How it was trained and how it did (free-form record written by `seamscan train`).
    pub training: serde_json::Value,
}

impl ModelCard {
    /// Channels of this model's crop input ([`crop_channels`]).
    pub fn crop_channels(&self) -> usize {
        crop_channels(self.context)
    }
}

fn one() -> usize {
    1
}

fn is_one(n: &usize) -> bool {
    *n == 1
}

/// A verdict word, as written to the `verdict` columns.
pub mod verdict {
    /// Below the suspicious threshold.
    pub const AUTHENTIC: &str = "authentic";
    /// Between the thresholds.
    pub const SUSPICIOUS: &str = "suspicious";
    /// At or above the manipulated threshold.
    pub const MANIPULATED: &str = "manipulated";
    /// No face was found to score.
    pub const NO_FACE: &str = "no_face";
    /// The input could not be analysed.
    pub const ERROR: &str = "error";
}

/// A loaded classifier, ready to score face rows on the CPU (burn's `flex` backend).
pub struct Classifier {
    /// The networks (one, or an ensemble's members).
    nets: Vec<Net>,
    card: ModelCard,
    device: Device,
    weights_sha256: String,
}

impl std::fmt::Debug for Classifier {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Classifier")
            .field("name", &self.card.name)
            .field("weights_sha256", &self.weights_sha256)
            .finish()
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest;
    sha2::Sha256::digest(bytes)
        .iter()
        .map(|b| format!("{b:02x}"))
        .collect()
}

/// The first 12 hex digits of a SHA-256, for messages; the whole string when shorter (or
/// not cut at a character boundary there), so that text read from a dataset cannot panic it.
pub fn short_sha256(sha: &str) -> &str {
    sha.get(..12).unwrap_or(sha)
}

impl Classifier {
    /// The model shipped in `models/` (embedded in the binary).
    pub fn embedded() -> Result<Self, ModelError> {
        Self::from_parts(EMBEDDED_CARD, EMBEDDED_WEIGHTS.to_vec())
    }

    /// A model from a description file (`.json`) with its weights beside it
    /// (same stem, `.safetensors`).
    pub fn load(card_path: &Path) -> Result<Self, ModelError> {
        let io = |p: &Path, e| ModelError::Io(p.display().to_string(), e);
        let card = std::fs::read_to_string(card_path).map_err(|e| io(card_path, e))?;
        let weights_path = card_path.with_extension("safetensors");
        let weights = std::fs::read(&weights_path).map_err(|e| io(&weights_path, e))?;
        Self::from_parts(&card, weights)
    }

    /// A model from its description (JSON) and weights (safetensors bytes).
    pub fn from_parts(card: &str, weights: Vec<u8>) -> Result<Self, ModelError> {
        let card: ModelCard =
            serde_json::from_str(card).map_err(|e| ModelError::Card(e.to_string()))?;
        let n = card.features.len();
        let pixels = card.crop_size > 0;
        if (n == 0 && !pixels)
            || card.mean.len() != n
            || card.std.len() != n
            || card.hidden.is_empty()
            || pixels == card.conv.is_empty()
            || (card.mask_head && card.conv.len() <= net::MASK_LAYER)
            || card.crop_size > 512
            || !(1..=64).contains(&card.members)
        {
            return Err(ModelError::Card(
                "features, mean, std, crop size, convolutions, hidden and members do not fit together"
                    .into(),
            ));
        }
        if let Some(f) = card.features.iter().find(|f| !features().contains(f)) {
            return Err(ModelError::Card(format!(
                "unknown feature column {f:?} (this seamscan knows {:?})",
                features()
            )));
        }
        let weights_sha256 = sha256_hex(&weights);
        if !card.weights_sha256.is_empty() && card.weights_sha256 != weights_sha256 {
            return Err(ModelError::Weights(format!(
                "SHA-256 {weights_sha256} does not match the description's {}",
                card.weights_sha256
            )));
        }
        let device = Device::flex();
        let channels = card.crop_channels();
        let fresh = || {
            Net::new(
                n,
                channels,
                &card.conv,
                &card.hidden,
                card.mask_head,
                &device,
            )
        };
        let mut store = SafetensorsStore::from_bytes(Some(weights));
        let weights_error =
            |e: burn_store::SafetensorsStoreError| ModelError::Weights(e.to_string());
        // One network is stored as itself (the layout of models trained before ensembles),
        // several as an `Ensemble` (`members.k.*`).
        let (nets, loaded) = if card.members == 1 {
            let mut net = fresh();
            let result = net.load_from(&mut store).map_err(weights_error)?;
            (vec![net], result)
        } else {
            let mut ensemble = Ensemble {
                members: (0..card.members).map(|_| fresh()).collect(),
            };
            let result = ensemble.load_from(&mut store).map_err(weights_error)?;
            (ensemble.members, result)
        };
        if !loaded.missing.is_empty() || !loaded.unused.is_empty() {
            return Err(ModelError::Weights(format!(
                "the weights do not fit the description: tensors missing {:?}, unused {:?}",
                loaded.missing, loaded.unused
            )));
        }
        Ok(Classifier {
            nets,
            card,
            device,
            weights_sha256,
        })
    }

    /// The model's description.
    pub fn card(&self) -> &ModelCard {
        &self.card
    }

    /// SHA-256 of the weights in use.
    pub fn weights_sha256(&self) -> &str {
        &self.weights_sha256
    }

    /// The validation sources of each member of an ensemble trained with folds, from the
    /// card (member k never trained on group k); empty for a model without folds.
    pub fn fold_sources(&self) -> Vec<std::collections::BTreeSet<String>> {
        let groups: Vec<std::collections::BTreeSet<String>> = self
            .card
            .training
            .get("folds")
            .and_then(|f| f.as_array())
            .map(|folds| {
                folds
                    .iter()
                    .map(|f| {
                        f["validation_sources"]
                            .as_array()
                            .map(|v| {
                                v.iter()
                                    .filter_map(|s| s.as_str().map(str::to_string))
                                    .collect()
                            })
                            .unwrap_or_default()
                    })
                    .collect()
            })
            .unwrap_or_default();
        if groups.len() == self.nets.len() && groups.len() > 1 {
            groups
        } else {
            Vec::new()
        }
    }

    /// Member `k` of an ensemble alone, with the ensemble's card (normalisation, thresholds)
    /// and weights SHA-256; `None` past the last member.
    pub fn member(&self, k: usize) -> Option<Classifier> {
        Some(Classifier {
            nets: vec![self.nets.get(k)?.clone()],
            card: ModelCard {
                members: 1,
                ..self.card.clone()
            },
            device: self.device.clone(),
            weights_sha256: self.weights_sha256.clone(),
        })
    }

    /// The normalised input of one row (`values` in `card().features` order).
    fn normalise(&self, values: &[Option<f64>]) -> Vec<f32> {
        self.card
            .features
            .iter()
            .enumerate()
            .map(|(i, _)| {
                let v = values
                    .get(i)
                    .copied()
                    .flatten()
                    .filter(|v| v.is_finite())
                    .unwrap_or(self.card.mean[i]);
                let z = (v - self.card.mean[i]) / self.card.std[i].max(1e-12);
                z.clamp(-20.0, 20.0) as f32
            })
            .collect()
    }

    /// Side of the crop the model reads ([`crop_input`]), if it reads pixels.
    pub fn crop_size(&self) -> Option<usize> {
        (self.card.crop_size > 0).then_some(self.card.crop_size)
    }

    /// What pixels the model reads of each face, if any.
    pub fn pixel_input(&self) -> Option<PixelInput> {
        self.crop_size().map(|size| PixelInput {
            size,
            context: self.card.context,
        })
    }

    /// Probabilities of `rows` rows: `inputs` normalised features, row after row, and (for a
    /// model that reads pixels) `crops` as [`crop_tensor`] lays them out.
    fn forward(&self, inputs: Vec<f32>, crops: Option<Vec<f32>>, rows: usize) -> Vec<f64> {
        self.run(inputs, crops, rows, true)
    }

    /// The network's outputs: probabilities if `probability`, else logits (log-odds).
    fn run(
        &self,
        inputs: Vec<f32>,
        crops: Option<Vec<f32>>,
        rows: usize,
        probability: bool,
    ) -> Vec<f64> {
        let d = self.card.features.len();
        let s = self.card.crop_size;
        let x = (d > 0)
            .then(|| Tensor::<2>::from_data(TensorData::new(inputs, [rows, d]), &self.device));
        let ch = self.card.crop_channels();
        let c = match (s > 0, crops) {
            (true, Some(c)) if c.len() == rows * ch * s * s => Some(Tensor::<4>::from_data(
                TensorData::new(c, [rows, ch, s, s]),
                &self.device,
            )),
            (true, _) => return vec![f64::NAN; rows],
            (false, _) => None,
        };
        let Some(logits) = self.mean_logits(|net| net.forward(x.clone(), c.clone())) else {
            return vec![f64::NAN; rows];
        };
        let p = if probability {
            burn::tensor::activation::sigmoid(logits)
        } else {
            logits
        };
        to_f64(p, rows)
    }

    /// The members' mean of `logits_of` each member (one member: its own); `None` without
    /// members.
    fn mean_logits(&self, logits_of: impl Fn(&Net) -> Tensor<2>) -> Option<Tensor<2>> {
        match &self.nets[..] {
            [] => None,
            [net] => Some(logits_of(net)),
            [first, rest @ ..] => {
                let sum = rest
                    .iter()
                    .fold(logits_of(first), |sum, net| sum + logits_of(net));
                Some(sum / self.nets.len() as f32)
            }
        }
    }

    /// The crop tensor of one row, or `None` if the model reads none or the crop is missing
    /// or of the wrong size.
    fn crop_of(&self, crop: Option<&[u8]>) -> Option<Vec<f32>> {
        let s = self.card.crop_size;
        (s > 0)
            .then_some(crop)
            .flatten()
            .filter(|c| c.len() == self.card.crop_channels() * s * s)
            .map(|c| crop_tensor(c, s, false))
    }

    /// Probability of manipulation of one face row: `values` in `card().features` order and,
    /// for a model that reads pixels, the face's [`crop_input`] (NaN without it).
    pub fn score(&self, values: &[Option<f64>], crop: Option<&[u8]>) -> f64 {
        self.forward(self.normalise(values), self.crop_of(crop), 1)[0]
    }

    /// Probabilities of many rows at once (for evaluation); `crops` one per row for a model
    /// that reads pixels.
    pub fn score_many(&self, rows: &[Vec<Option<f64>>], crops: Option<&[Vec<u8>]>) -> Vec<f64> {
        let chunk_rows = if self.card.crop_size > 0 { 256 } else { 4096 };
        let mut out = Vec::with_capacity(rows.len());
        for (k, chunk) in rows.chunks(chunk_rows).enumerate() {
            let flat: Vec<f32> = chunk.iter().flat_map(|r| self.normalise(r)).collect();
            let pixels = crops.and_then(|c| {
                let part = c.get(k * chunk_rows..k * chunk_rows + chunk.len())?;
                part.iter()
                    .map(|c| self.crop_of(Some(c)))
                    .collect::<Option<Vec<_>>>()
                    .map(|v| v.concat())
            });
            out.extend(self.forward(flat, pixels, chunk.len()));
        }
        out
    }

    /// The video score: the mean of the highest `video_top_fraction` of its face scores
    /// (at least one); `None` without face scores.
    pub fn video_score(&self, face_scores: &[f64]) -> Option<f64> {
        aggregate(face_scores, self.card.video_top_fraction)
    }

    /// The log-odds of a row and of its reason variants, in order: the row itself, the row
    /// with each feature in turn at its training mean, and (with pixels) the row with each
    /// [`CROP_REGIONS`] cell flattened. Empty for a model that reads pixels when `crop` is
    /// missing or of the wrong size. The trunk runs once per distinct crop (1 + 9), not once
    /// per variant (60): the feature variants share the row's crop.
    fn reason_logits(&self, values: &[Option<f64>], crop: Option<&[u8]>) -> Vec<f64> {
        let d = self.card.features.len();
        let s = self.card.crop_size;
        let pixels = self.crop_of(crop);
        if s > 0 && pixels.is_none() {
            return Vec::new();
        }
        let base = self.normalise(values);
        let regions = if pixels.is_some() {
            CROP_REGIONS.len()
        } else {
            0
        };
        let variants = 1 + d + regions;
        let mut flat = base.clone();
        for i in 0..d {
            let mut row = base.clone();
            row[i] = 0.0;
            flat.extend(row);
        }
        for _ in 0..regions {
            flat.extend_from_slice(&base);
        }
        let x = (d > 0)
            .then(|| Tensor::<2>::from_data(TensorData::new(flat, [variants, d]), &self.device));
        // The distinct crops: the row's own, then each flattened cell.
        let crops = pixels.map(|p| {
            let mut all = p.clone();
            for r in 0..regions {
                all.extend(flatten_region(&p, s, r / 3, r % 3));
            }
            Tensor::<4>::from_data(
                TensorData::new(all, [1 + regions, self.card.crop_channels(), s, s]),
                &self.device,
            )
        });
        let logits = self.mean_logits(|net| {
            // Variant rows 0..=d read the row's own crop, the rest one flattened cell each.
            let pooled = crops.clone().and_then(|c| net.pooled(c)).map(|p| {
                let own = p.clone().narrow(0, 0, 1).repeat_dim(0, 1 + d);
                Tensor::cat(vec![own, p.narrow(0, 1, regions)], 0)
            });
            net.head(pooled, x.clone())
        });
        logits.map_or_else(Vec::new, |l| to_f64(l, variants))
    }

    /// What pushed this row's score up most. Each feature is set in turn to its training
    /// mean, and each ninth of the crop input (3×3 grid over the aligned face) is flattened to
    /// its own mean; those whose removal lowers the score's log-odds by at least 0.05 are
    /// named, largest effect first, at most `k`: `name=value (+effect)` for a feature,
    /// `crop[top-left] (+effect)` for a crop region. Log-odds, not probability: a score near
    /// 1 still shows what holds it there.
    pub fn reasons(&self, values: &[Option<f64>], crop: Option<&[u8]>, k: usize) -> Vec<String> {
        format_reasons(self.reason_effects(values, crop), k)
    }

    /// Every candidate reason of a row with its effect on the log-odds (what
    /// [`Classifier::reasons`] chooses from), features first, then crop regions.
    pub fn reason_effects(&self, values: &[Option<f64>], crop: Option<&[u8]>) -> Vec<Reason> {
        let d = self.card.features.len();
        let scores = self.reason_logits(values, crop);
        (1..scores.len())
            .map(|i| {
                let i0 = i - 1;
                let name = if i0 < d {
                    let v = values.get(i0).copied().flatten();
                    let shown = v.map_or("missing".to_string(), |v| format!("{v:.4}"));
                    format!("{}={shown}", self.card.features[i0])
                } else {
                    format!("crop[{}]", CROP_REGIONS[i0 - d])
                };
                Reason {
                    name,
                    effect: scores[0] - scores[i],
                }
            })
            .collect()
    }
}

/// One candidate reason of a score: what it names and how much the log-odds drop without it.
#[derive(Debug, Clone, PartialEq)]
pub struct Reason {
    /// `feature=value`, `crop[REGION]` or `appearance_logit=value`.
    pub name: String,
    /// Drop of the score's log-odds when it is removed.
    pub effect: f64,
}

/// The reasons written to `frames.reasons`: those of `effects` with an effect of at least
/// 0.05, largest first (ties in their given order), at most `k`, as `name (+effect)`.
pub fn format_reasons(effects: Vec<Reason>, k: usize) -> Vec<String> {
    let mut kept: Vec<Reason> = effects.into_iter().filter(|r| r.effect >= 0.05).collect();
    kept.sort_by(|a, b| b.effect.total_cmp(&a.effect));
    kept.into_iter()
        .take(k)
        .map(|r| format!("{} (+{:.2})", r.name, r.effect))
        .collect()
}

/// The values of an `[rows, 1]` output as `f64` (NaN if they cannot be read).
fn to_f64(t: Tensor<2>, rows: usize) -> Vec<f64> {
    match t.into_data().try_to_vec::<f32>() {
        Ok(v) => v.into_iter().map(|x| x as f64).collect(),
        Err(_) => vec![f64::NAN; rows],
    }
}

/// The crop regions named in reasons: a 3×3 grid over the aligned face crop, row by row.
pub const CROP_REGIONS: [&str; 9] = [
    "top-left",
    "top",
    "top-right",
    "left",
    "centre",
    "right",
    "bottom-left",
    "bottom",
    "bottom-right",
];

/// `tensor` (one crop laid out by [`crop_tensor`], side `s`) with grid cell (`row`, `col`)
/// of the 3×3 grid set to its own mean, channel by channel.
fn flatten_region(tensor: &[f32], s: usize, row: usize, col: usize) -> Vec<f32> {
    let mut out = tensor.to_vec();
    let (y0, y1) = (row * s / 3, (row + 1) * s / 3);
    let (x0, x1) = (col * s / 3, (col + 1) * s / 3);
    let n = ((y1 - y0) * (x1 - x0)).max(1) as f32;
    for c in 0..tensor.len() / (s * s).max(1) {
        let plane = &mut out[c * s * s..(c + 1) * s * s];
        let mut sum = 0.0;
        for y in y0..y1 {
            sum += plane[y * s + x0..y * s + x1].iter().sum::<f32>();
        }
        let mean = sum / n;
        for y in y0..y1 {
            plane[y * s + x0..y * s + x1].fill(mean);
        }
    }
    out
}

/// What pixels a model reads of each face: the side of its crop input and whether the context
/// channel joins the face maps.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct PixelInput {
    /// Side of the crop input ([`crop_input`]); 0: no pixels.
    pub size: usize,
    /// Whether the context channel ([`context_input`]) joins the face maps.
    pub context: bool,
}

/// Channels of the face maps of the model's crop input ([`crop_input`]).
pub const CROP_CHANNELS: usize = 4;

/// Channels of a crop input: the face maps, and the context channel if `context`
/// ([`with_context`]).
pub fn crop_channels(context: bool) -> usize {
    CROP_CHANNELS + usize::from(context)
}

/// The context crop's side is this many times the longer side of the face box (the face crop's
/// is 1.3): the face fills its middle half, the rest is hair, neck and background, which show
/// the camera's own detail and noise.
pub const CONTEXT_ENLARGE: f32 = 2.6;

/// The noise residual's energy of a luma plane of side `size`: `(luma − mean of its 3×3
/// neighbourhood)²` per pixel, edges clamped.
fn residual_energy(y: &[f32], size: usize) -> Vec<f32> {
    let mut energy = vec![0f32; size * size];
    for row in 0..size {
        for col in 0..size {
            let mut sum = 0.0;
            for dy in [-1i64, 0, 1] {
                for dx in [-1i64, 0, 1] {
                    let yy = (row as i64 + dy).clamp(0, size as i64 - 1) as usize;
                    let xx = (col as i64 + dx).clamp(0, size as i64 - 1) as usize;
                    sum += y[yy * size + xx];
                }
            }
            let r = y[row * size + col] - sum / 9.0;
            energy[row * size + col] = r * r;
        }
    }
    energy
}

/// The byte of a mean residual energy `e`, as in [`crop_input`]'s channel 1.
fn energy_byte(e: f32) -> u8 {
    (48.0 * (1.0 + (e as f64).sqrt()).log2())
        .round()
        .clamp(0.0, 255.0) as u8
}

/// The context channel from a square packed-RGB24 crop of side `size` around the face, cut at
/// [`CONTEXT_ENLARGE`]: the noise residual's energy at side `target`, encoded like
/// [`crop_input`]'s channel 1. It is not standardised: its level is the camera's, so the
/// trunk can read the face's detail against it rather than against other people's cameras.
pub fn context_input(rgb: &[u8], size: usize, target: usize) -> Vec<u8> {
    assert_eq!(rgb.len(), 3 * size * size, "crop is not size×size RGB");
    assert!(target > 0 && size > 0);
    let y: Vec<f32> = rgb
        .chunks_exact(3)
        .map(|p| 0.299 * p[0] as f32 + 0.587 * p[1] as f32 + 0.114 * p[2] as f32)
        .collect();
    area_resample(&residual_energy(&y, size), size, target)
        .into_iter()
        .map(energy_byte)
        .collect()
}

/// A crop input with the context channel: each pixel's [`CROP_CHANNELS`] bytes of `face`
/// ([`crop_input`]) followed by its byte of `context` ([`context_input`], the same side).
pub fn with_context(face: &[u8], context: &[u8]) -> Vec<u8> {
    assert_eq!(face.len(), CROP_CHANNELS * context.len(), "sides differ");
    face.chunks_exact(CROP_CHANNELS)
        .zip(context)
        .flat_map(|(f, c)| f.iter().chain(std::iter::once(c)).copied())
        .collect()
}

/// Mean of `plane` (side `size`) over the source pixels each pixel of a `target`-side grid
/// covers (area resampling).
fn area_resample(plane: &[f32], size: usize, target: usize) -> Vec<f32> {
    let mut out = vec![0f32; target * target];
    let scale = size as f64 / target as f64;
    for v in 0..target {
        let (ya, yb) = (v as f64 * scale, (v + 1) as f64 * scale);
        for u in 0..target {
            let (xa, xb) = (u as f64 * scale, (u + 1) as f64 * scale);
            let (mut acc, mut area) = (0.0f64, 0.0f64);
            let mut y = ya.floor() as usize;
            while (y as f64) < yb && y < size {
                let wy = (yb.min(y as f64 + 1.0) - ya.max(y as f64)).max(0.0);
                let mut x = xa.floor() as usize;
                while (x as f64) < xb && x < size {
                    let w = wy * (xb.min(x as f64 + 1.0) - xa.max(x as f64)).max(0.0);
                    acc += w * plane[y * size + x] as f64;
                    area += w;
                    x += 1;
                }
                y += 1;
            }
            out[v * target + u] = (acc / area.max(1e-12)) as f32;
        }
    }
    out
}

/// The model's input from a square packed-RGB24 aligned face crop of side `size`: four maps
/// of side `target`, interleaved per pixel, each a byte, each computed at the crop's full
/// resolution and then averaged over the source pixels an output pixel covers:
///
/// 0. luma (BT.601), standardised over the crop (`128 + 32·z`): shape, not the skin tone;
/// 1. the noise residual's energy, `48·log2(1 + rms)` of `luma − mean of its 3×3
///    neighbourhood`: detail lost to resampling or blur inside a blend, not the face;
/// 2. and 3. the chroma Cb and Cr, as offsets from the crop's mean (`128 + 4·Δ`): colour
///    mismatches across the blending boundary, not the colour itself.
///
/// What identifies a person (tone, colour) is removed; what a blend changes is kept. `scan`,
/// `train` and `eval` all go through this.
pub fn crop_input(rgb: &[u8], size: usize, target: usize) -> Vec<u8> {
    assert_eq!(rgb.len(), 3 * size * size, "crop is not size×size RGB");
    assert!(target > 0 && size > 0);
    let n = size * size;
    let (mut y, mut cb, mut cr) = (vec![0f32; n], vec![0f32; n], vec![0f32; n]);
    for i in 0..n {
        let (r, g, b) = (
            rgb[3 * i] as f32,
            rgb[3 * i + 1] as f32,
            rgb[3 * i + 2] as f32,
        );
        y[i] = 0.299 * r + 0.587 * g + 0.114 * b;
        cb[i] = -0.168_736 * r - 0.331_264 * g + 0.5 * b;
        cr[i] = 0.5 * r - 0.418_688 * g - 0.081_312 * b;
    }
    let energy = residual_energy(&y, size);
    let mean = |p: &[f32]| p.iter().map(|v| *v as f64).sum::<f64>() / p.len() as f64;
    let (my, mcb, mcr) = (mean(&y), mean(&cb), mean(&cr));
    let sy = (y.iter().map(|v| (*v as f64 - my).powi(2)).sum::<f64>() / n as f64)
        .sqrt()
        .max(1.0);
    let maps = [
        area_resample(&y, size, target),
        area_resample(&energy, size, target),
        area_resample(&cb, size, target),
        area_resample(&cr, size, target),
    ];
    let byte = |v: f64| v.round().clamp(0.0, 255.0) as u8;
    let mut out = Vec::with_capacity(CROP_CHANNELS * target * target);
    let [luma, energy, cb, cr] = &maps;
    for (((l, e), b), r) in luma.iter().zip(energy).zip(cb).zip(cr) {
        out.push(byte(128.0 + 32.0 * (*l as f64 - my) / sy));
        out.push(energy_byte(*e));
        out.push(byte(128.0 + 4.0 * (*b as f64 - mcb)));
        out.push(byte(128.0 + 4.0 * (*r as f64 - mcr)));
    }
    out
}

/// Side of the mask a trunk's mask head draws for a crop input of side `crop_size`.
pub fn mask_side(crop_size: usize) -> usize {
    crop_size.div_ceil(4)
}

/// What a mask head learns to draw from a ground-truth blending mask `m` (0–1).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskTarget {
    /// The blended region itself, `m`.
    #[default]
    Region,
    /// Where the face is a mix of two images, `4·m·(1 − m)`: the blending boundary (Face
    /// X-ray), and all of a partial blend's area.
    Boundary,
}

/// A ground-truth blending mask cut like the crop (a `size`×`size` plane, 0–255) as the mask
/// head's target of `kind`: area-averaged to side `target` ([`mask_side`]), a byte per pixel.
pub fn mask_target(plane: &[u8], size: usize, target: usize, kind: MaskTarget) -> Vec<u8> {
    let p: Vec<f32> = plane
        .iter()
        .map(|&v| match kind {
            MaskTarget::Region => f32::from(v),
            MaskTarget::Boundary => {
                let m = f32::from(v) / 255.0;
                255.0 * 4.0 * m * (1.0 - m)
            }
        })
        .collect();
    area_resample(&p, size, target)
        .into_iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// One crop input (side `s`, its channels interleaved, a byte each: [`crop_channels`]) as
/// the network reads it: planar, `(v/255 − 0.5)/0.25`, mirrored left-right if `mirror`.
pub fn crop_tensor(input: &[u8], s: usize, mirror: bool) -> Vec<f32> {
    let c_count = input.len() / (s * s).max(1);
    let mut out = vec![0f32; c_count * s * s];
    for y in 0..s {
        for x in 0..s {
            let sx = if mirror { s - 1 - x } else { x };
            for c in 0..c_count {
                out[c * s * s + y * s + x] =
                    (input[(y * s + sx) * c_count + c] as f32 / 255.0 - 0.5) / 0.25;
            }
        }
    }
    out
}

/// The mean of the highest `fraction` of `scores` (at least one); `None` if empty.
pub fn aggregate(scores: &[f64], fraction: f64) -> Option<f64> {
    let mut v: Vec<f64> = scores.iter().copied().filter(|s| s.is_finite()).collect();
    if v.is_empty() {
        return None;
    }
    v.sort_by(|a, b| b.total_cmp(a));
    let k = ((v.len() as f64 * fraction).ceil() as usize).clamp(1, v.len());
    Some(v[..k].iter().sum::<f64>() / k as f64)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_embedded_model_loads_and_scores_in_range() {
        let c = Classifier::embedded().expect("shipped model loads");
        assert_eq!(c.card().features.len(), features().len());
        assert_eq!(c.weights_sha256(), c.card().weights_sha256);
        let mean: Vec<Option<f64>> = c.card().mean.iter().map(|m| Some(*m)).collect();
        let crop: Option<Vec<u8>> = c.crop_size().map(|s| vec![128u8; CROP_CHANNELS * s * s]);
        let s = c.score(&mean, crop.as_deref());
        assert!((0.0..=1.0).contains(&s), "{s}");
        // Missing values are the mean: same score.
        assert_eq!(c.score(&vec![None; features().len()], crop.as_deref()), s);
        // Deterministic, and batch scoring agrees with single scoring.
        assert_eq!(c.score(&mean, crop.as_deref()), s);
        let crops: Option<Vec<Vec<u8>>> = crop.clone().map(|c| vec![c.clone(), c]);
        let many = c.score_many(&[mean.clone(), mean.clone()], crops.as_deref());
        assert!((many[0] - s).abs() < 1e-6 && (many[1] - s).abs() < 1e-6);
        // A model that reads pixels gives no score without them.
        if c.crop_size().is_some() {
            assert!(c.score(&mean, None).is_nan());
        }
    }

    #[test]
    fn reason_variants_share_the_trunk_and_match_each_variant_scored_alone() {
        let c = Classifier::embedded().expect("shipped model loads");
        let s = c.crop_size().expect("the shipped model reads pixels");
        let d = c.card().features.len();
        let values: Vec<Option<f64>> = (0..d)
            .map(|i| Some(c.card().mean[i] + ((i % 7) as f64 - 3.0) * c.card().std[i]))
            .collect();
        let crop: Vec<u8> = (0..CROP_CHANNELS * s * s)
            .map(|i| ((i * 37 + i / 11) % 256) as u8)
            .collect();
        let shared = c.reason_logits(&values, Some(&crop));
        assert_eq!(shared.len(), 1 + d + CROP_REGIONS.len());
        // Each variant through the whole network on its own gives the same log-odds.
        let base = c.normalise(&values);
        let pixels = c.crop_of(Some(&crop)).unwrap();
        for (i, logit) in shared.iter().enumerate() {
            let mut row = base.clone();
            let mut px = pixels.clone();
            if (1..=d).contains(&i) {
                row[i - 1] = 0.0;
            } else if i > d {
                let r = i - d - 1;
                px = flatten_region(&pixels, s, r / 3, r % 3);
            }
            let alone = c.run(row, Some(px), 1, false)[0];
            assert!(
                (alone - logit).abs() < 1e-5,
                "variant {i}: {alone} vs {logit}"
            );
        }
        // The first is the row's own score, and the crop cells do move it.
        let p = c.score(&values, Some(&crop));
        assert!((1.0 / (1.0 + (-shared[0]).exp()) - p).abs() < 1e-6);
        assert!(shared[1 + d..].iter().any(|l| (l - shared[0]).abs() > 1e-3));
        // No crop, no reasons.
        assert!(c.reason_logits(&values, None).is_empty());
        assert!(c.reasons(&values, None, 3).is_empty());
    }

    #[test]
    fn crop_input_keeps_what_a_blend_changes_and_drops_tone_and_colour() {
        // Two 8×8 crops of one "face" in different skin tones give the same luma and chroma
        // maps: the tone is standardised away.
        let face = |tone: f32, tint: f32| -> Vec<u8> {
            (0..64)
                .flat_map(|i| {
                    let v = tone + ((i % 8) as f32 * 9.0) + ((i / 8) % 2) as f32 * 6.0;
                    [v + tint, v, v - tint].map(|c| c.clamp(0.0, 255.0) as u8)
                })
                .collect()
        };
        let (a, b) = (
            crop_input(&face(60.0, 10.0), 8, 4),
            crop_input(&face(140.0, 25.0), 8, 4),
        );
        assert_eq!(a.len(), 4 * 4 * CROP_CHANNELS);
        for i in 0..16 {
            for c in [0, 2, 3] {
                let (x, y) = (a[i * 4 + c] as i32, b[i * 4 + c] as i32);
                assert!((x - y).abs() <= 1, "pixel {i} channel {c}: {x} vs {y}");
            }
        }
        // Blurring the left half lowers the residual energy there and nowhere else.
        let sharp: Vec<u8> = (0..256)
            .flat_map(|i| {
                let v = if (i % 16 + i / 16) % 2 == 0 { 90 } else { 160 };
                [v, v, v]
            })
            .collect();
        let mut blurred = sharp.clone();
        for i in 0..256 {
            if i % 16 < 8 {
                blurred[3 * i..3 * i + 3].fill(125);
            }
        }
        let (s, t) = (crop_input(&sharp, 16, 4), crop_input(&blurred, 16, 4));
        let energy = |m: &[u8], u: usize, v: usize| m[(v * 4 + u) * 4 + 1];
        assert!(
            energy(&t, 0, 1) < energy(&s, 0, 1) / 2,
            "{} {}",
            energy(&t, 0, 1),
            energy(&s, 0, 1)
        );
        assert_eq!(energy(&t, 3, 1), energy(&s, 3, 1));
        // Planar layout, normalised, mirrored on request.
        let p = crop_tensor(&s, 4, false);
        assert_eq!(p.len(), CROP_CHANNELS * 16);
        assert!((p[16] - (s[1] as f32 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
        let m = crop_tensor(&s, 4, true);
        assert_eq!(m[0], p[3]);
        // Flattening a region sets it to its mean and leaves the rest alone.
        let six: Vec<u8> = (0..36 * CROP_CHANNELS)
            .map(|i| (i * 7 % 251) as u8)
            .collect();
        let t = crop_tensor(&six, 6, false);
        let f = flatten_region(&t, 6, 1, 1);
        let cell = [2 * 6 + 2, 2 * 6 + 3, 3 * 6 + 2, 3 * 6 + 3];
        for c in 0..CROP_CHANNELS {
            let plane = &t[c * 36..(c + 1) * 36];
            let mean = cell.iter().map(|&i| plane[i]).sum::<f32>() / 4.0;
            for i in 0..36 {
                let want = if cell.contains(&i) { mean } else { plane[i] };
                assert!((f[c * 36 + i] - want).abs() < 1e-5, "channel {c} pixel {i}");
            }
        }
    }

    #[test]
    fn the_context_channel_is_the_wide_crops_residual_energy_after_the_face_maps() {
        // A noisy (sharp) and a flat context crop of side 16, reduced to 4.
        let noisy: Vec<u8> = (0..256)
            .flat_map(|i| {
                let v = if (i * 37 % 11) % 2 == 0 { 80 } else { 170 };
                [v, v, v]
            })
            .collect();
        let flat = vec![120u8; 3 * 256];
        let (n, f) = (context_input(&noisy, 16, 4), context_input(&flat, 16, 4));
        assert_eq!((n.len(), f.len()), (16, 16));
        assert!(f.iter().all(|&v| v == 0), "{f:?}");
        assert!(n.iter().all(|&v| v > 100), "{n:?}");
        // Its encoding is the face maps' energy channel: the same crop gives the same bytes.
        let face = crop_input(&noisy, 16, 4);
        let energy: Vec<u8> = face.chunks_exact(CROP_CHANNELS).map(|p| p[1]).collect();
        assert_eq!(energy, n);
        // Joined: each pixel's four face bytes, then its context byte.
        let joined = with_context(&face, &f);
        assert_eq!(joined.len(), crop_channels(true) * 16);
        for (k, px) in joined.chunks_exact(5).enumerate() {
            assert_eq!(&px[..4], &face[4 * k..4 * k + 4]);
            assert_eq!(px[4], f[k]);
        }
        // The network reads it as a fifth plane.
        let t = crop_tensor(&joined, 4, false);
        assert_eq!(t.len(), 5 * 16);
        assert!((t[4 * 16] - (0.0 / 255.0 - 0.5) / 0.25).abs() < 1e-6);
    }

    #[test]
    fn a_tampered_weights_file_is_refused() {
        let mut w = EMBEDDED_WEIGHTS.to_vec();
        let last = w.len() - 1;
        w[last] ^= 1;
        let err = Classifier::from_parts(EMBEDDED_CARD, w).unwrap_err();
        assert!(err.to_string().contains("SHA-256"), "{err}");
    }

    #[test]
    fn video_score_is_the_mean_of_the_top_fraction() {
        assert_eq!(aggregate(&[0.1, 0.9, 0.5, 0.3], 0.25), Some(0.9));
        assert_eq!(aggregate(&[0.1, 0.9, 0.5, 0.3], 0.5), Some(0.7));
        assert_eq!(aggregate(&[0.2], 0.25), Some(0.2));
        assert_eq!(aggregate(&[], 0.25), None);
    }

    #[test]
    fn reasons_keep_effects_of_at_least_a_twentieth_largest_first_ties_in_order() {
        let r = |name: &str, effect: f64| Reason {
            name: name.into(),
            effect,
        };
        let effects = vec![
            r("a=1", 0.2),
            r("b=2", 0.049),
            r("crop[top]", 0.9),
            r("c=3", 0.2),
            r("d=4", -1.0),
        ];
        assert_eq!(
            format_reasons(effects.clone(), 3),
            ["crop[top] (+0.90)", "a=1 (+0.20)", "c=3 (+0.20)"]
        );
        assert_eq!(format_reasons(effects.clone(), 1), ["crop[top] (+0.90)"]);
        assert_eq!(format_reasons(effects, 9).len(), 3);
    }

    #[test]
    fn a_score_at_a_threshold_takes_the_higher_verdict() {
        let t = Thresholds {
            frame_suspicious: 0.5,
            frame_manipulated: 0.9,
            video_suspicious: 0.6,
            video_manipulated: 0.8,
        };
        assert_eq!(t.frame_verdict(0.4999), verdict::AUTHENTIC);
        assert_eq!(t.frame_verdict(0.5), verdict::SUSPICIOUS);
        assert_eq!(t.frame_verdict(0.9), verdict::MANIPULATED);
        assert_eq!(t.video_verdict(0.7), verdict::SUSPICIOUS);
        assert_eq!(t.video_verdict(0.8), verdict::MANIPULATED);
        assert_eq!(t.video_verdict(0.59), verdict::AUTHENTIC);
    }
}
