//! Scores, verdicts and reasons: each face row is scored by the stack of the classifier and
//! the appearance network (`[model] score = "stacked"`, the default) or by the classifier
//! alone (`score = "classifier"`)
//! where rows reach the writer (after their temporal jitter is known); a video's score
//! aggregates its face scores once all its rows have passed.

use std::collections::{HashMap, HashSet};
use std::path::PathBuf;

use seamscan_model::{Classifier, Stack, Thresholds, aggregate, format_reasons, verdict};
use seamscan_sink::{FrameRow, VideoRow};

use crate::evidence::{EvidenceParts, render, write_png};
use crate::scan::NO_FACE;

/// What the scorer needs of a face beyond its row, carried beside it to the writer.
#[derive(Clone, Default)]
pub(crate) struct FaceExtras {
    /// The classifier's crop ([`seamscan_model::crop_input`]), when the model reads pixels.
    pub model_crop: Option<Vec<u8>>,
    /// The overlay's parts, when evidence is on.
    pub evidence: Option<EvidenceParts>,
}

/// The classifier of a run and the face scores of the files in flight.
pub(crate) struct Scorer {
    model: Classifier,
    /// The stack over the classifier and the appearance network, when it scores
    /// (`[model] score = "stacked"`, the default): every face gets the stacked score and the stack's
    /// thresholds ([`Stack::score`]).
    stack: Option<Stack>,
    reasons: usize,
    glimpse: GlimpseRule,
    scores: HashMap<u64, Vec<f64>>,
    /// Per file in flight: frames where the detector itself found a face (not a box carried
    /// between detections), up to `glimpse.min_face_frames` of them.
    detected: HashMap<u64, HashSet<u64>>,
    /// Dataset root and score threshold of evidence overlays, when they are written.
    evidence: Option<(PathBuf, f64)>,
}

impl Scorer {
    /// A scorer with `model`, naming at most `reasons` features per flagged row, and capping
    /// the verdicts of videos by `glimpse`.
    pub(crate) fn new(model: Classifier, reasons: usize, glimpse: GlimpseRule) -> Self {
        Scorer {
            model,
            stack: None,
            reasons,
            glimpse,
            scores: HashMap::new(),
            detected: HashMap::new(),
            evidence: None,
        }
    }

    /// Scores with `stack` over the classifier (it must have been fitted on it:
    /// [`Stack::check`]).
    pub(crate) fn stacked(mut self, stack: Stack) -> Self {
        self.stack = Some(stack);
        self
    }

    /// The thresholds of the stacked score, else the classifier's.
    fn thresholds(&self) -> Thresholds {
        self.stack
            .as_ref()
            .map_or(self.model.card().thresholds, |s| s.card().thresholds)
    }

    /// The video aggregate's fraction of the stacked score, else the classifier's.
    fn video_top_fraction(&self) -> f64 {
        self.stack
            .as_ref()
            .map_or(self.model.card().video_top_fraction, |s| {
                s.card().video_top_fraction
            })
    }

    /// Writes an overlay for every face scoring at least `min_score` (0: the model's
    /// `suspicious` face threshold) under `root/evidence/`.
    pub(crate) fn write_evidence(&mut self, root: PathBuf, min_score: f64) {
        let t = if min_score > 0.0 {
            min_score
        } else {
            self.thresholds().frame_suspicious
        };
        self.evidence = Some((root, t));
    }

    /// The model's name, for `runs.model`: the stack's when it scores.
    pub(crate) fn model_name(&self) -> String {
        match &self.stack {
            Some(s) => s.card().name.clone(),
            None => self.model.card().name.clone(),
        }
    }

    /// SHA-256 of the model's weights, for `runs.model_sha256`: of the stack's card (which
    /// names both networks' SHA-256) when it scores.
    pub(crate) fn model_sha256(&self) -> String {
        match &self.stack {
            Some(s) => s.sha256().to_string(),
            None => self.model.weights_sha256().to_string(),
        }
    }

    /// What pixels the model reads of each face, if any.
    pub(crate) fn pixel_input(&self) -> Option<seamscan_model::PixelInput> {
        self.model.pixel_input()
    }

    /// Scores a `frames` row of file `file`.
    pub(crate) fn frame(&mut self, file: u64, row: &mut FrameRow, extras: Option<&FaceExtras>) {
        if row.face.is_none() {
            row.verdict = Some(verdict::NO_FACE.into());
            return;
        }
        let values: Vec<Option<f64>> = self
            .model
            .card()
            .features
            .iter()
            .map(|f| row.numeric(f))
            .collect();
        if row.face.as_ref().is_some_and(|f| f.detected) {
            let seen = self.detected.entry(file).or_default();
            if (seen.len() as u64) < self.glimpse.min_face_frames {
                seen.insert(row.frame_index);
            }
        }
        let crop = extras.and_then(|e| e.model_crop.as_deref());
        let classifier = self.model.score(&values, crop);
        if !classifier.is_finite() {
            return;
        }
        let appearance = row.face.as_ref().and_then(|f| f.appearance_logit);
        let score = match &self.stack {
            Some(s) => s.score(classifier, appearance),
            None => classifier,
        };
        let v = self.thresholds().frame_verdict(score);
        row.score = Some(score);
        row.verdict = Some(v.into());
        if v != verdict::AUTHENTIC && self.reasons > 0 {
            let effects = self.model.reason_effects(&values, crop);
            let effects = match &self.stack {
                Some(s) => s.reasons(effects, appearance),
                None => effects,
            };
            row.reasons = Some(format_reasons(effects, self.reasons));
        }
        self.scores.entry(file).or_default().push(score);
        let parts = extras.and_then(|e| e.evidence.as_ref());
        if let (Some((root, t)), Some(parts), Some(face)) = (&self.evidence, parts, &row.face)
            && score >= *t
        {
            let rel = format!(
                "evidence/{}/f{:08}-{}.png",
                row.sha256, row.frame_index, face.face_index
            );
            match write_png(&render(parts, v), &root.join(&rel)) {
                Ok(()) => row.evidence = Some(rel),
                Err(e) => {
                    tracing::error!(path = %row.path, frame = row.frame_index, error = %e, "cannot write an evidence overlay")
                }
            }
        }
    }

    /// Sets a finished file's score and verdict.
    pub(crate) fn video(&mut self, file: u64, row: &mut VideoRow) {
        let scores = self.scores.remove(&file).unwrap_or_default();
        let detected = self.detected.remove(&file).map_or(0, |s| s.len() as u64);
        row.score = aggregate(&scores, self.video_top_fraction());
        row.verdict = Some(
            match (row.status.as_str(), row.score) {
                ("ok", Some(s)) => self.glimpse.cap(
                    self.thresholds().video_verdict(s),
                    detected,
                    row.frames_analyzed,
                ),
                ("ok", None) | (NO_FACE, _) => verdict::NO_FACE,
                _ => verdict::ERROR,
            }
            .into(),
        );
    }
}

/// The glimpse rule: a video whose faces the detector found in fewer than `min_face_frames`
/// frames, of at least that many frames it ran on, is at most `suspicious`. One detection in a
/// cartoon, or a face passing the camera, is too little to call a whole video manipulated; the
/// face rows keep their own verdicts and the video its score. A still image (one frame) is
/// never capped.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct GlimpseRule {
    /// Frames with a detected face a `manipulated` video needs (0 or 1: the rule is off).
    pub min_face_frames: u64,
    /// The detector runs on every `detect_every`-th analysed frame; boxes carried to the
    /// frames between do not count as detections.
    pub detect_every: u64,
}

impl GlimpseRule {
    /// The verdict of a video whose score's verdict is `v`, with a face detected in
    /// `detected` of its `analysed` frames.
    pub(crate) fn cap(&self, v: &'static str, detected: u64, analysed: u64) -> &'static str {
        let detector_runs = analysed.div_ceil(self.detect_every.max(1));
        if v == verdict::MANIPULATED
            && detected < self.min_face_frames
            && detector_runs >= self.min_face_frames
        {
            verdict::SUSPICIOUS
        } else {
            v
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_shipped_stack_was_fitted_on_the_shipped_networks() {
        // The appearance crate names the SHA-256 of the ONNX file it was built from.
        let onnx = concat!(env!("CARGO_MANIFEST_DIR"), "/../../models/appearance.onnx");
        let bytes = std::fs::read(onnx).unwrap();
        assert_eq!(
            seamscan_model::sha256_hex(&bytes),
            seamscan_appearance::WEIGHTS_SHA256
        );
        let stack = Stack::embedded().unwrap();
        let classifier = Classifier::embedded().unwrap();
        stack
            .check(
                classifier.weights_sha256(),
                seamscan_appearance::WEIGHTS_SHA256,
            )
            .expect("models/stack.json names the SHA-256 of the shipped networks");
    }

    /// Checks `rule` on (score's verdict, frames with a detected face, analysed frames,
    /// expected verdict) cases.
    fn check(min_face_frames: u64, detect_every: u64, cases: &[(&'static str, u64, u64, &str)]) {
        let rule = GlimpseRule {
            min_face_frames,
            detect_every,
        };
        for &(v, detected, analysed, expected) in cases {
            assert_eq!(
                rule.cap(v, detected, analysed),
                expected,
                "{rule:?}: {v}, {detected} of {analysed}"
            );
        }
    }

    #[test]
    fn a_glimpse_of_a_face_makes_a_video_at_most_suspicious() {
        let (m, s, a) = (
            verdict::MANIPULATED,
            verdict::SUSPICIOUS,
            verdict::AUTHENTIC,
        );
        check(
            3,
            1,
            &[
                // One face frame of 132 (the cartoon sample's rabbit): capped.
                (m, 1, 132, s),
                (m, 2, 3, s),
                // Enough face frames, or too few frames to tell (a photo): unchanged.
                (m, 3, 132, m),
                (m, 1, 1, m),
                (m, 2, 2, m),
                // The other verdicts: unchanged.
                (s, 1, 132, s),
                (a, 1, 132, a),
            ],
        );
        // Off.
        check(0, 1, &[(m, 1, 132, m)]);
        check(1, 1, &[(m, 1, 132, m)]);
    }

    #[test]
    fn the_glimpse_rule_counts_detector_runs_not_frames() {
        let (m, s) = (verdict::MANIPULATED, verdict::SUSPICIOUS);
        // With the detector on every 3rd frame, 9 frames are 3 runs: one detection of three
        // is a glimpse; 6 frames are 2 runs: too few to tell.
        check(
            3,
            3,
            &[(m, 1, 9, s), (m, 1, 6, m), (m, 1, 7, s), (m, 3, 9, m)],
        );
    }
}
