//! Faces in the scan: batched detection per file (every k-th frame, boxes carried in between),
//! tracking, aligned crops; the crop features (CPU twins here, GPU in the GPU stage); and the
//! temporal jitter of each track, computed where rows reach the writer in frame order.

use std::collections::{HashMap, VecDeque};
use std::sync::{Mutex, OnceLock};

use seamscan_faces::{
    AlignedCrop, CropSpec, Detector, DetectorBackend, Face, RgbView, Tracker, TrackerConfig,
};
use seamscan_features::boundary_map::boundary_map;
use seamscan_features::local_std::{BlockMap, local_std};
use seamscan_features::{AnalysisConfig, Analyzer, Features, LumaView};
use seamscan_sink::{FaceFields, FrameRow};

use crate::analysis::FrameMeta;
use crate::config::FacesConfig;
use crate::evidence::EvidenceParts;
use crate::scoring::FaceExtras;

/// Block side of the noise maps the face regions are compared on.
pub(crate) const MAP_BLOCK: usize = 8;

/// The detector of a run, shared by all workers; falls back to the CPU backend if the GPU
/// backend fails.
pub(crate) struct FaceEngine {
    primary: Detector,
    fallback: OnceLock<Detector>,
    fell_back: Mutex<Option<String>>,
    pub(crate) config: FacesConfig,
    pub(crate) crop: CropSpec,
    /// Keep what an evidence overlay needs with each face (`scan --evidence`).
    pub(crate) evidence: bool,
    /// What pixels the classifier reads of each face, when it reads any.
    pub(crate) model_crop: Option<seamscan_model::PixelInput>,
    /// The appearance network, run on every face with `[model] appearance` on.
    pub(crate) appearance: Option<seamscan_appearance::AppearanceNet>,
}

impl FaceEngine {
    /// The engine with `detector`.
    pub(crate) fn new(primary: Detector, config: FacesConfig) -> Self {
        let crop = CropSpec {
            size: config.crop_size,
            enlarge: 1.3,
        };
        FaceEngine {
            primary,
            fallback: OnceLock::new(),
            fell_back: Mutex::new(None),
            config,
            crop,
            evidence: false,
            model_crop: None,
            appearance: None,
        }
    }

    /// Where the detector runs, for `runs.device`.
    pub(crate) fn describe(&self) -> String {
        let backend = match self.primary.backend() {
            DetectorBackend::Cpu => "burn flex (cpu)",
            DetectorBackend::Gpu => "burn wgpu",
        };
        match self.fell_back.lock().ok().and_then(|f| f.clone()) {
            Some(why) => format!("detector {backend}, fell back to cpu: {why}"),
            None => format!("detector {backend}"),
        }
    }

    /// The analysis config of face crops: one tile, the crop itself.
    pub(crate) fn crop_analysis(&self, analysis: &AnalysisConfig) -> AnalysisConfig {
        AnalysisConfig {
            tile_size: analysis.tile_size.min(self.config.crop_size),
            max_tiles: 1,
            ..analysis.clone()
        }
    }

    fn detect(&self, frames: &[RgbView<'_>]) -> Result<Vec<Vec<Face>>, String> {
        if self.fell_back.lock().map(|f| f.is_none()).unwrap_or(false) {
            match self.primary.detect(frames) {
                Ok(v) => return Ok(v),
                Err(e) if self.primary.backend() == DetectorBackend::Gpu => {
                    tracing::error!(error = %e, "face detector failed on the GPU; using the CPU from now on");
                    if let Ok(mut f) = self.fell_back.lock() {
                        f.get_or_insert_with(|| e.to_string());
                    }
                }
                Err(e) => return Err(e.to_string()),
            }
        }
        let cpu = self
            .fallback
            .get_or_init(|| Detector::cpu(self.primary.config().clone()));
        cpu.detect(frames).map_err(|e| e.to_string())
    }
}

/// A face of a frame, ready for the crop features.
pub(crate) struct FaceInput {
    pub face: Face,
    pub index: u32,
    pub track_id: u32,
    pub detected: bool,
    pub crop: AlignedCrop,
    /// The classifier's crop and the overlay's parts, when the run needs them.
    pub extras: Option<Box<FaceExtras>>,
    /// The appearance network's logit, when it runs and the landmarks fix an alignment.
    pub appearance_logit: Option<f32>,
}

/// A decoded frame on its way through detection.
pub(crate) struct PendingFrame {
    pub meta: FrameMeta,
    pub luma: Vec<u8>,
    pub rgb: Vec<u8>,
}

/// One file's face state: its detector batch, tracker and counts.
pub(crate) struct FileFaces<'a> {
    engine: &'a FaceEngine,
    tracker: Tracker,
    pending: Vec<PendingFrame>,
    seq: u64,
    last: Vec<Face>,
    /// Analysed frames with at least one face.
    pub frames_with_face: u64,
}

impl<'a> FileFaces<'a> {
    /// State for a new file.
    pub(crate) fn new(engine: &'a FaceEngine) -> Self {
        FileFaces {
            engine,
            tracker: Tracker::new(TrackerConfig::default()),
            pending: Vec::new(),
            seq: 0,
            last: Vec::new(),
            frames_with_face: 0,
        }
    }

    /// Tracks started in this file.
    pub(crate) fn tracks(&self) -> u32 {
        self.tracker.tracks_started()
    }

    /// Queues a frame; returns the frames whose faces are known once a batch is full.
    pub(crate) fn push(
        &mut self,
        frame: PendingFrame,
    ) -> Result<Vec<(PendingFrame, Vec<FaceInput>)>, String> {
        let size = (frame.meta.width, frame.meta.height);
        let mixed = self
            .pending
            .first()
            .is_some_and(|p| (p.meta.width, p.meta.height) != size);
        let mut out = if mixed { self.flush()? } else { Vec::new() };
        self.pending.push(frame);
        if self.pending.len() >= self.engine.config.batch {
            out.extend(self.flush()?);
        }
        Ok(out)
    }

    /// Detects, tracks and aligns the queued frames.
    pub(crate) fn flush(&mut self) -> Result<Vec<(PendingFrame, Vec<FaceInput>)>, String> {
        let frames = std::mem::take(&mut self.pending);
        if frames.is_empty() {
            return Ok(Vec::new());
        }
        let every = self.engine.config.detect_every;
        let first_seq = self.seq;
        let detect_at: Vec<usize> = (0..frames.len())
            .filter(|i| (first_seq + *i as u64).is_multiple_of(every))
            .collect();
        let views: Vec<RgbView<'_>> = detect_at
            .iter()
            .map(|&i| {
                let f = &frames[i];
                RgbView::new(&f.rgb, f.meta.width, f.meta.height)
                    .ok_or_else(|| "frame has an inconsistent RGB size".to_string())
            })
            .collect::<Result<_, _>>()?;
        let mut detected = if views.is_empty() {
            Vec::new()
        } else {
            self.engine.detect(&views)?
        }
        .into_iter();
        let mut out = Vec::with_capacity(frames.len());
        for (i, frame) in frames.into_iter().enumerate() {
            let seq = self.seq;
            self.seq += 1;
            let is_detected = detect_at.contains(&i);
            if is_detected {
                self.last = detected.next().unwrap_or_default();
            }
            let faces = self.last.clone();
            let ids = self.tracker.update(seq, &faces);
            if !faces.is_empty() {
                self.frames_with_face += 1;
            }
            let (w, h) = (frame.meta.width, frame.meta.height);
            let inputs = faces
                .iter()
                .zip(ids)
                .enumerate()
                .map(|(k, (face, track_id))| {
                    let crop = seamscan_faces::align(
                        face,
                        &frame.luma,
                        &frame.rgb,
                        w,
                        h,
                        self.engine.crop,
                    );
                    let evidence = self
                        .engine
                        .evidence
                        .then(|| EvidenceParts::new(face, &frame.rgb, w, h, &crop));
                    let model_crop = self.engine.model_crop.map(|pixels| {
                        model_input(face, &frame.luma, &frame.rgb, w, h, &crop, pixels)
                    });
                    let extras = (evidence.is_some() || model_crop.is_some()).then(|| {
                        Box::new(FaceExtras {
                            model_crop,
                            evidence,
                        })
                    });
                    FaceInput {
                        face: *face,
                        index: k as u32,
                        track_id,
                        detected: is_detected,
                        crop,
                        extras,
                        appearance_logit: None,
                    }
                })
                .collect();
            out.push((frame, inputs));
        }
        if let Some(net) = &self.engine.appearance {
            appearance_logits(net, &mut out)?;
        }
        Ok(out)
    }
}

/// Runs the appearance network on every face of `frames` (the network batches them by
/// [`seamscan_appearance::BATCH`]).
fn appearance_logits(
    net: &seamscan_appearance::AppearanceNet,
    frames: &mut [(PendingFrame, Vec<FaceInput>)],
) -> Result<(), String> {
    let mut inputs = Vec::new();
    let mut at = Vec::new();
    for (i, (frame, faces)) in frames.iter().enumerate() {
        for (k, input) in faces.iter().enumerate() {
            let (w, h) = (frame.meta.width, frame.meta.height);
            if let Some(x) =
                seamscan_appearance::face_input(&frame.rgb, w, h, &input.face.landmarks)
            {
                inputs.push(x);
                at.push((i, k));
            }
        }
    }
    let refs: Vec<&[u8]> = inputs.iter().map(Vec::as_slice).collect();
    let logits = net
        .logits(&refs)
        .map_err(|e| format!("appearance network failed: {e}"))?;
    for ((i, k), logit) in at.into_iter().zip(logits) {
        frames[i].1[k].appearance_logit = Some(logit);
    }
    Ok(())
}

/// The classifier's crop input of `face` in a `width`×`height` frame: the maps of its aligned
/// `crop` ([`seamscan_model::crop_input`]) and, when the model reads it, the context channel
/// of a wider crop cut the same way at [`seamscan_model::CONTEXT_ENLARGE`]. `scan`, `train`
/// and `eval --rescore` all cut through this.
pub(crate) fn model_input(
    face: &Face,
    luma: &[u8],
    rgb: &[u8],
    width: usize,
    height: usize,
    crop: &AlignedCrop,
    pixels: seamscan_model::PixelInput,
) -> Vec<u8> {
    let maps = seamscan_model::crop_input(&crop.rgb, crop.size, pixels.size);
    if !pixels.context {
        return maps;
    }
    let spec = CropSpec {
        size: crop.size,
        enlarge: seamscan_model::CONTEXT_ENLARGE,
    };
    let wide = seamscan_faces::align(face, luma, rgb, width, height, spec);
    let context = seamscan_model::context_input(&wide.rgb, wide.size, pixels.size);
    seamscan_model::with_context(&maps, &context)
}

/// The face columns from the crop's spectral features and noise maps.
pub(crate) fn face_fields(
    input: &FaceInput,
    features: Option<&Features>,
    local: &BlockMap,
    boundary: &BlockMap,
) -> FaceFields {
    let f = &input.face;
    let stats = seamscan_faces::region_stats(&input.crop, local, boundary);
    let lab = |v: Option<[f64; 3]>| v.map(|v| v.iter().map(|x| *x as f32).collect());
    FaceFields {
        face_index: input.index,
        track_id: input.track_id,
        detected: input.detected,
        det_score: f.score as f64,
        box_x: f.x as f64,
        box_y: f.y as f64,
        box_w: f.w as f64,
        box_h: f.h as f64,
        landmarks: f.landmarks.to_vec(),
        align_angle: (input.crop.angle as f64).to_degrees(),
        crop_outside: input.crop.outside as f64,
        hf_fraction: features.map(|x| x.hf_fraction),
        spectral_slope: features.map(|x| x.spectral_slope),
        peak_prominence: features.map(|x| x.peak_prominence),
        noise_level: features.map(|x| x.noise_level),
        hf_face: stats.hf_face,
        hf_context: stats.hf_context,
        hf_log_ratio: stats.hf_log_ratio,
        noise_face: stats.noise_face,
        noise_context: stats.noise_context,
        noise_log_ratio: stats.noise_log_ratio,
        boundary_ring: stats.boundary_ring,
        boundary_elsewhere: stats.boundary_elsewhere,
        boundary_log_ratio: stats.boundary_log_ratio,
        lab_inner: lab(stats.lab_inner),
        lab_outer: lab(stats.lab_outer),
        lab_delta_e: stats.lab_delta_e,
        radial_hf: (!stats.radial_hf.is_empty()).then_some(stats.radial_hf),
        radial_noise: (!stats.radial_noise.is_empty()).then_some(stats.radial_noise),
        radial_boundary: (!stats.radial_boundary.is_empty()).then_some(stats.radial_boundary),
        radial_delta_e: (!stats.radial_delta_e.is_empty()).then_some(stats.radial_delta_e),
        appearance_logit: input.appearance_logit.map(f64::from),
        ..FaceFields::default()
    }
}

/// The face columns computed with the CPU twins.
pub(crate) fn face_fields_cpu(input: &FaceInput, crop_analyzer: &Analyzer) -> FaceFields {
    let n = input.crop.size;
    let view = LumaView::new(&input.crop.luma, n, n).expect("crop is square");
    let features = crop_analyzer.analyze(&view).ok();
    let local = local_std(&view, MAP_BLOCK);
    let boundary = boundary_map(&local);
    face_fields(input, features.as_ref(), &local, &boundary)
}

/// The rows of one analysed frame: one per face, or one with null face columns. The frame's
/// columns are cloned once per extra face only (the common single face costs no copy).
pub(crate) fn rows_for(base: FrameRow, faces: Vec<FaceFields>) -> Vec<FrameRow> {
    let mut rows = vec![base; faces.len().max(1)];
    for (row, face) in rows.iter_mut().zip(faces) {
        row.face = Some(face);
    }
    rows
}

/// Per-track sliding windows of the features whose jitter is reported.
pub(crate) struct Temporal {
    window: usize,
    tracks: HashMap<(u64, u32), VecDeque<[Option<f64>; 3]>>,
}

impl Temporal {
    /// Windows of `window` rows.
    pub(crate) fn new(window: usize) -> Self {
        Temporal {
            window: window.max(1),
            tracks: HashMap::new(),
        }
    }

    /// Adds a row of file `file` (rows of a file arrive in frame order) and fills its jitter.
    pub(crate) fn apply(&mut self, file: u64, row: &mut FrameRow) {
        let Some(face) = row.face.as_mut() else {
            return;
        };
        let w = self.tracks.entry((file, face.track_id)).or_default();
        w.push_back([
            face.boundary_log_ratio,
            face.spectral_slope,
            face.hf_log_ratio,
        ]);
        while w.len() > self.window {
            w.pop_front();
        }
        let std = |k: usize| {
            let v: Vec<f64> = w
                .iter()
                .filter_map(|x| x[k])
                .filter(|x| x.is_finite())
                .collect();
            (v.len() >= 2).then(|| {
                let m = v.iter().sum::<f64>() / v.len() as f64;
                (v.iter().map(|x| (x - m).powi(2)).sum::<f64>() / v.len() as f64).sqrt()
            })
        };
        face.jitter_boundary = std(0);
        face.jitter_slope = std(1);
        face.jitter_hf = std(2);
        face.jitter_frames = w.len() as u32;
    }

    /// Drops the windows of a finished file.
    pub(crate) fn forget(&mut self, file: u64) {
        self.tracks.retain(|(f, _), _| *f != file);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn jitter_is_the_std_over_the_track_window() {
        let mut t = Temporal::new(3);
        let row = |track: u32, b: f64| FrameRow {
            face: Some(FaceFields {
                track_id: track,
                boundary_log_ratio: Some(b),
                ..FaceFields::default()
            }),
            ..FrameRow::default()
        };
        let mut out = Vec::new();
        for (i, b) in [1.0, 3.0, 1.0, 3.0, 3.0].into_iter().enumerate() {
            let mut r = row(0, b);
            t.apply(7, &mut r);
            out.push(r.face.unwrap());
            // Another track of the same file does not disturb track 0.
            let mut other = row(1, 100.0 * i as f64);
            t.apply(7, &mut other);
        }
        assert_eq!(out[0].jitter_boundary, None);
        assert_eq!(out[0].jitter_frames, 1);
        assert_eq!(out[1].jitter_boundary, Some(1.0));
        // Window of 3: [3, 3, 1]... last: [1, 3, 3] -> std = sqrt(8/9).
        let last = out[4].jitter_boundary.unwrap();
        assert!((last - (8.0f64 / 9.0).sqrt()).abs() < 1e-12, "{last}");
        assert_eq!(out[4].jitter_frames, 3);
        t.forget(7);
        assert!(t.tracks.is_empty());
    }
}
