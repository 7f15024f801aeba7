//! The manipulation classifier: a small `burn` MLP over the features of one face row (its
//! crop, region comparisons and temporal jitter), with the normalisation, calibrated
//! thresholds and aggregation that turn its output into `score`, `verdict` and `reasons`.
//!
//! The shipped model is `models/classifier.safetensors` (weights, written by burn-store) plus
//! `models/classifier.json` (features, normalisation, thresholds, training record); both are
//! embedded in the binary. burn's types stay inside this crate: callers pass `f64` features.

#![deny(missing_docs)]

pub mod metrics;
mod net;
pub mod train;

use std::path::Path;

use burn::tensor::{Device, Tensor, TensorData};
use burn_store::{ModuleSnapshot, SafetensorsStore};

use net::Mlp;

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

/// Everything about a trained model except its weights (`models/classifier.json`).
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct ModelCard {
    /// Model name and version, e.g. `seamscan-mlp-1`.
    pub name: String,
    /// Input columns, in order.
    pub features: Vec<String>,
    /// Hidden layer widths.
    pub hidden: Vec<usize>,
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
    net: Mlp,
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
        if n == 0 || card.mean.len() != n || card.std.len() != n || card.hidden.is_empty() {
            return Err(ModelError::Card(
                "features, mean, std and hidden do not fit together".into(),
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
        let mut net = Mlp::new(n, &card.hidden, &device);
        let mut store = SafetensorsStore::from_bytes(Some(weights));
        let result = net
            .load_from(&mut store)
            .map_err(|e| ModelError::Weights(e.to_string()))?;
        if !result.missing.is_empty() {
            return Err(ModelError::Weights(format!(
                "tensors missing: {:?}",
                result.missing
            )));
        }
        Ok(Classifier {
            net,
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

    fn forward(&self, inputs: Vec<f32>, rows: usize) -> Vec<f64> {
        let d = self.card.features.len();
        let x = Tensor::<2>::from_data(TensorData::new(inputs, [rows, d]), &self.device);
        let p = burn::tensor::activation::sigmoid(self.net.forward(x));
        match p.into_data().try_to_vec::<f32>() {
            Ok(v) => v.into_iter().map(|x| x as f64).collect(),
            Err(_) => vec![f64::NAN; rows],
        }
    }

    /// Probability of manipulation of one face row (`values` in `card().features` order).
    pub fn score(&self, values: &[Option<f64>]) -> f64 {
        self.forward(self.normalise(values), 1)[0]
    }

    /// Probabilities of many rows at once (for evaluation and training reports).
    pub fn score_many(&self, rows: &[Vec<Option<f64>>]) -> Vec<f64> {
        let mut out = Vec::with_capacity(rows.len());
        for chunk in rows.chunks(4096) {
            let flat: Vec<f32> = chunk.iter().flat_map(|r| self.normalise(r)).collect();
            out.extend(self.forward(flat, chunk.len()));
        }
        out
    }

    /// The verdict of a face row's score.
    pub fn frame_verdict(&self, score: f64) -> &'static str {
        let t = &self.card.thresholds;
        if score >= t.frame_manipulated {
            verdict::MANIPULATED
        } else if score >= t.frame_suspicious {
            verdict::SUSPICIOUS
        } else {
            verdict::AUTHENTIC
        }
    }

    /// The verdict of a video score.
    pub fn video_verdict(&self, score: f64) -> &'static str {
        let t = &self.card.thresholds;
        if score >= t.video_manipulated {
            verdict::MANIPULATED
        } else if score >= t.video_suspicious {
            verdict::SUSPICIOUS
        } else {
            verdict::AUTHENTIC
        }
    }

    /// The video score: the mean of the highest `video_top_fraction` of its face scores
    /// (at least one); `None` without face scores.
    pub fn video_score(&self, face_scores: &[f64]) -> Option<f64> {
        aggregate(face_scores, self.card.video_top_fraction)
    }

    /// The features that pushed this row's score up most: each feature is set in turn to its
    /// training mean, and those whose removal lowers the score by at least 0.01 are named,
    /// largest effect first, at most `k`, as `name=value (+effect)`.
    pub fn reasons(&self, values: &[Option<f64>], k: usize) -> Vec<String> {
        let d = self.card.features.len();
        let base = self.normalise(values);
        let mut flat = base.clone();
        for i in 0..d {
            let mut row = base.clone();
            row[i] = 0.0;
            flat.extend(row);
        }
        let scores = self.forward(flat, d + 1);
        let mut effects: Vec<(usize, f64)> = (0..d)
            .map(|i| (i, scores[0] - scores[i + 1]))
            .filter(|(_, e)| *e >= 0.01)
            .collect();
        effects.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        effects
            .into_iter()
            .take(k)
            .map(|(i, e)| {
                let v = values.get(i).copied().flatten();
                let shown = v.map_or("missing".to_string(), |v| format!("{v:.4}"));
                format!("{}={shown} (+{e:.2})", self.card.features[i])
            })
            .collect()
    }
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
        let s = c.score(&mean);
        assert!((0.0..=1.0).contains(&s), "{s}");
        // Missing values are the mean: same score.
        assert_eq!(c.score(&vec![None; features().len()]), s);
        // Deterministic, and batch scoring agrees with single scoring.
        assert_eq!(c.score(&mean), s);
        let many = c.score_many(&[mean.clone(), mean.clone()]);
        assert!((many[0] - s).abs() < 1e-6 && (many[1] - s).abs() < 1e-6);
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
}
