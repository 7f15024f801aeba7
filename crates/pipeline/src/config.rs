//! Pipeline configuration: a TOML preset (see `pipelines/`), then command-line overrides.
//! The effective config is recorded, as TOML with its SHA-256, in every run's `runs` row.

use std::path::Path;

use seamscan_features::AnalysisConfig;
use serde::{Deserialize, Serialize};

/// Which frames are analysed.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct SamplingConfig {
    /// Analyse every N-th decoded frame (1 = all). Ignored when `fps` is set.
    pub every: u64,
    /// Analyse about this many frames per second of video (VFR-safe); 0 = off.
    pub fps: f64,
    /// Analyse at most this many frames per file; 0 = no limit.
    pub max_frames: u64,
}

impl Default for SamplingConfig {
    fn default() -> Self {
        SamplingConfig {
            every: 1,
            fps: 0.0,
            max_frames: 0,
        }
    }
}

/// Where the analysis runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum DeviceChoice {
    /// A hardware GPU if there is one, else the CPU path.
    #[default]
    Auto,
    /// The GPU path on any wgpu adapter (a software one such as lavapipe included).
    Gpu,
    /// The CPU path (the shaders' CPU twins).
    Cpu,
}

/// How the work is spread.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct RunConfig {
    /// Files decoded at once (one worker each); 0 = one per core.
    pub jobs: usize,
    /// `auto`, `gpu` or `cpu`.
    pub device: DeviceChoice,
    /// Frames gathered from all workers into one GPU dispatch per shader.
    pub batch_frames: usize,
    /// `frames` rows per Parquet row group batch.
    pub frame_batch_rows: usize,
    /// Rows per `frames` part file before a new one is started.
    pub rows_per_part: usize,
    /// Seconds between commit groups: at most this much finished work is redone after a
    /// kill.
    pub commit_seconds: f64,
    /// Decode each file in a worker process, so that a crash or hang in FFmpeg costs one file.
    pub isolate: bool,
    /// A worker process that makes no progress (no frame) for this many seconds is killed
    /// and its file marked `error`.
    pub file_timeout_seconds: f64,
}

impl Default for RunConfig {
    fn default() -> Self {
        RunConfig {
            jobs: 0,
            device: DeviceChoice::Auto,
            batch_frames: 32,
            frame_batch_rows: 4096,
            rows_per_part: 1_000_000,
            commit_seconds: 30.0,
            isolate: true,
            file_timeout_seconds: 300.0,
        }
    }
}

/// Face detection, tracking and the face features.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct FacesConfig {
    /// Detect faces and analyse them (off: whole-frame features only, no face columns).
    pub enabled: bool,
    /// Run the detector on every k-th analysed frame; boxes are carried to the frames in
    /// between (`face_detected = false`).
    pub detect_every: u64,
    /// Frames per detector batch (per file).
    pub batch: usize,
    /// Minimum detector confidence (0–1).
    pub threshold: f32,
    /// NMS overlap (IoU) above which the weaker box is dropped.
    pub nms_iou: f32,
    /// Smallest face kept, pixels (shorter box side, displayed frame).
    pub min_face: f32,
    /// Frames are scaled down to this longer side for the detector (never up).
    pub max_side: u32,
    /// Side of the aligned face crop, pixels (a power of two, 32..=1024).
    pub crop_size: usize,
    /// Rows of a track the temporal jitter is computed over.
    pub jitter_window: usize,
}

impl Default for FacesConfig {
    fn default() -> Self {
        let d = seamscan_faces::DetectorConfig::default();
        FacesConfig {
            enabled: true,
            detect_every: 1,
            batch: 8,
            threshold: d.threshold,
            nms_iou: d.nms_iou,
            min_face: d.min_face,
            max_side: d.max_side,
            crop_size: 256,
            jitter_window: 8,
        }
    }
}

impl FacesConfig {
    /// The detector's part of the config.
    pub fn detector(&self) -> seamscan_faces::DetectorConfig {
        seamscan_faces::DetectorConfig {
            threshold: self.threshold,
            nms_iou: self.nms_iou,
            min_face: self.min_face,
            max_side: self.max_side,
        }
    }

    fn validate(&self) -> Result<(), ConfigError> {
        self.detector().validate().map_err(ConfigError::Invalid)?;
        if self.detect_every == 0 || self.batch == 0 || self.jitter_window == 0 {
            return Err(ConfigError::Invalid(
                "faces.detect_every, faces.batch and faces.jitter_window must be at least 1".into(),
            ));
        }
        if !self.crop_size.is_power_of_two() || !(32..=1024).contains(&self.crop_size) {
            return Err(ConfigError::Invalid(format!(
                "faces.crop_size must be a power of two in 32..=1024, got {}",
                self.crop_size
            )));
        }
        Ok(())
    }
}

/// The manipulation classifier.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct ModelConfig {
    /// Score faces and videos (needs `faces.enabled`).
    pub enabled: bool,
    /// A model description (`.json`, weights beside it as `.safetensors`); empty: the model
    /// shipped in the binary (`models/classifier.json`).
    pub path: String,
    /// Features named in `reasons` of a suspicious or manipulated face, at most.
    pub reasons: usize,
    /// A video whose faces the detector found in fewer than this many frames, of at least
    /// this many it ran on, is at most `suspicious`: a glimpse (one detection in a cartoon)
    /// does not make a video `manipulated`. Boxes carried between detections
    /// (`faces.detect_every` > 1) do not count. 0 or 1 = off.
    pub min_face_frames: u64,
    /// Run the appearance network (`models/appearance.onnx`) on every face and write its
    /// logit to `frames.appearance_logit` (with `faces.enabled`, whether or not the model
    /// scores).
    pub appearance: bool,
    /// What `score` is: `stacked` (the default), the classifier's and the appearance
    /// network's logits combined by `models/stack.json` with its own thresholds (needs
    /// `appearance` and the shipped classifier's weights), or `classifier`, the classifier's
    /// probability alone (any `path`; docs/model.md measures both).
    pub score: ScoreKind,
}

/// What a face row's `score` is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum ScoreKind {
    /// The classifier's probability (`models/classifier.json`, or `model.path`).
    Classifier,
    /// The stack of the classifier and the appearance network (`models/stack.json`).
    #[default]
    Stacked,
}

impl ModelConfig {
    fn validate(&self) -> Result<(), ConfigError> {
        if self.score == ScoreKind::Stacked && self.enabled && !self.appearance {
            return Err(ConfigError::Invalid(
                "model.score = \"stacked\" (the default score) needs model.appearance = true, since the stack reads the appearance network's logit; set model.score = \"classifier\" to score with the classifier alone".into(),
            ));
        }
        Ok(())
    }
}

impl Default for ModelConfig {
    fn default() -> Self {
        ModelConfig {
            enabled: true,
            path: String::new(),
            reasons: 3,
            min_face_frames: 3,
            appearance: true,
            score: ScoreKind::Stacked,
        }
    }
}

/// Evidence overlays written during a scan.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EvidenceConfig {
    /// Write an overlay PNG for every face row at or above `min_score` (`scan --evidence`).
    pub enabled: bool,
    /// Score threshold; 0 means the model's `suspicious` face threshold.
    pub min_score: f64,
}

impl Default for EvidenceConfig {
    fn default() -> Self {
        EvidenceConfig {
            enabled: false,
            min_score: 0.0,
        }
    }
}

/// The whole pipeline configuration.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct PipelineConfig {
    /// Frame sampling.
    pub sampling: SamplingConfig,
    /// Feature parameters.
    pub analysis: AnalysisConfig,
    /// Parallelism and output batching.
    pub run: RunConfig,
    /// Faces.
    pub faces: FacesConfig,
    /// The classifier.
    pub model: ModelConfig,
    /// Evidence overlays.
    pub evidence: EvidenceConfig,
}

/// A configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The preset file could not be read.
    #[error("cannot read pipeline preset {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// Why.
        source: std::io::Error,
    },
    /// The preset is not valid TOML for this schema.
    #[error("invalid pipeline preset {path}: {message}")]
    Parse {
        /// The file.
        path: String,
        /// The TOML error.
        message: String,
    },
    /// A value is out of range.
    #[error("invalid pipeline config: {0}")]
    Invalid(String),
}

impl PipelineConfig {
    /// Reads a TOML preset.
    pub fn from_file(path: &Path) -> Result<Self, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.display().to_string(),
            source,
        })?;
        Self::from_toml(&text).map_err(|e| match e {
            ConfigError::Parse { message, .. } => ConfigError::Parse {
                path: path.display().to_string(),
                message,
            },
            other => other,
        })
    }

    /// Parses TOML text.
    pub fn from_toml(text: &str) -> Result<Self, ConfigError> {
        toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: "<text>".into(),
            message: e.to_string(),
        })
    }

    /// The config as TOML, exactly as recorded in the `runs` table.
    pub fn to_toml(&self) -> String {
        toml::to_string(self).expect("the config is plain data and always serialises")
    }

    /// Checks every range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if self.sampling.every == 0 {
            return Err(ConfigError::Invalid(
                "sampling.every must be at least 1".into(),
            ));
        }
        if !self.sampling.fps.is_finite() || self.sampling.fps < 0.0 {
            return Err(ConfigError::Invalid(
                "sampling.fps must be 0 (off) or positive".into(),
            ));
        }
        if !self.run.commit_seconds.is_finite() || self.run.commit_seconds < 0.0 {
            return Err(ConfigError::Invalid(
                "run.commit_seconds must be 0 or positive".into(),
            ));
        }
        if !(self.run.file_timeout_seconds.is_finite() && self.run.file_timeout_seconds > 0.0) {
            return Err(ConfigError::Invalid(
                "run.file_timeout_seconds must be positive".into(),
            ));
        }
        if self.run.batch_frames == 0 {
            return Err(ConfigError::Invalid(
                "run.batch_frames must be at least 1".into(),
            ));
        }
        if self.run.frame_batch_rows == 0 || self.run.rows_per_part == 0 {
            return Err(ConfigError::Invalid(
                "run.frame_batch_rows and run.rows_per_part must be positive".into(),
            ));
        }
        self.faces.validate()?;
        self.model.validate()?;
        self.analysis
            .validate()
            .map_err(|e| ConfigError::Invalid(e.to_string()))
    }

    /// The decoder's sampling settings.
    pub fn sampling(&self) -> seamscan_decode::Sampling {
        seamscan_decode::Sampling {
            every: self.sampling.every,
            fps: (self.sampling.fps > 0.0).then_some(self.sampling.fps),
            max_frames: (self.sampling.max_frames > 0).then_some(self.sampling.max_frames),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_round_trips_and_defaults_fill_gaps() {
        let c = PipelineConfig::from_toml("[sampling]\nevery = 5\n").unwrap();
        assert_eq!(c.sampling.every, 5);
        assert_eq!(c.analysis, AnalysisConfig::default());
        let back = PipelineConfig::from_toml(&c.to_toml()).unwrap();
        assert_eq!(back, c);
    }

    #[test]
    fn unknown_keys_and_bad_ranges_are_errors() {
        assert!(PipelineConfig::from_toml("[sampling]\nevry = 5\n").is_err());
        let c = PipelineConfig::from_toml("[sampling]\nevery = 0\n").unwrap();
        assert!(c.validate().is_err());
    }

    #[test]
    fn shipped_presets_parse() {
        let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../pipelines");
        let mut n = 0;
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.extension().is_some_and(|x| x == "toml") {
                let c = PipelineConfig::from_file(&p).unwrap();
                c.validate().unwrap();
                n += 1;
            }
        }
        assert!(n >= 1);
    }
}
