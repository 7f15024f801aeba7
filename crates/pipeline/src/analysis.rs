//! Where frames are analysed: inline on the worker's thread with the CPU twins, or batched
//! across all workers on the GPU by one stage thread that falls back to the CPU twins if the
//! device fails. Either way every analysed frame becomes exactly one `frames` row.

use std::sync::Arc;
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, Sender};
use seamscan_features::{AnalysisConfig, Analyzer, Features, LumaView};
use seamscan_gpu::{GpuAnalyzer, GpuContext, NoiseMaps};
use seamscan_sink::{FaceFields, FrameRow, VideoRow};

use crate::faces::{FaceInput, face_fields, face_fields_cpu, rows_for};
use crate::scoring::FaceExtras;

/// A row on its way to the writer.
pub(crate) enum Msg {
    /// A frame row of file `.0` (the file's index in the run).
    Frame(u64, Box<FrameRow>, Option<Box<FaceExtras>>),
    /// The row of finished file `.0`.
    Video(u64, Box<VideoRow>),
}

/// Everything about a frame except its pixels and features.
pub(crate) struct FrameMeta {
    pub file: u64,
    pub run_id: Arc<str>,
    pub path: Arc<str>,
    pub sha256: Arc<str>,
    pub index: u64,
    pub pts: Option<i64>,
    pub time_s: Option<f64>,
    pub width: usize,
    pub height: usize,
}

/// The `frames` row of an analysed frame.
pub(crate) fn frame_row(m: &FrameMeta, f: Features) -> FrameRow {
    FrameRow {
        run_id: m.run_id.to_string(),
        path: m.path.to_string(),
        sha256: m.sha256.to_string(),
        frame_index: m.index,
        pts: m.pts,
        time_s: m.time_s,
        width: m.width as u32,
        height: m.height as u32,
        tile_size: f.tile_size,
        tiles: f.tiles,
        hf_fraction: Some(f.hf_fraction),
        spectral_slope: Some(f.spectral_slope),
        peak_prominence: Some(f.peak_prominence),
        peak_fx: Some(f.peak_fx),
        peak_fy: Some(f.peak_fy),
        noise_level: Some(f.noise_level),
        spectrum: Some(f.spectrum),
        face: None,
        score: None,
        verdict: None,
        reasons: None,
        evidence: None,
    }
}

/// A message to the GPU stage.
pub(crate) enum GpuMsg {
    /// A frame to analyse: its metadata, luma and faces.
    Frame(Box<GpuFrame>),
    /// A file is finished: forward its row once its frames are written.
    Done(u64, Box<VideoRow>),
}

/// A frame queued for the GPU stage.
pub(crate) struct GpuFrame {
    pub meta: FrameMeta,
    pub luma: Vec<u8>,
    pub faces: Vec<FaceInput>,
}

/// Why a frame could not be handed on.
pub(crate) enum RouteError {
    /// The frame cannot be analysed (too small).
    Analysis(String),
    /// The run is stopping (the writer or the GPU stage is gone).
    Closed,
}

/// How a worker hands on its frames and its file's row.
#[derive(Clone)]
pub(crate) enum Route {
    /// Analyse inline with the CPU twins; rows go straight to the writer.
    Cpu {
        analyzer: Arc<Analyzer>,
        crops: Arc<Analyzer>,
        tx: Sender<Msg>,
    },
    /// Queue for the GPU stage.
    Gpu {
        config: AnalysisConfig,
        tx: Sender<GpuMsg>,
    },
}

impl Route {
    /// Analyses (or queues) one frame and its faces.
    pub(crate) fn frame(
        &self,
        meta: FrameMeta,
        luma: Vec<u8>,
        faces: Vec<FaceInput>,
    ) -> Result<(), RouteError> {
        let view = LumaView::new(&luma, meta.width, meta.height)
            .ok_or_else(|| RouteError::Analysis("frame has an inconsistent size".into()))?;
        match self {
            Route::Cpu {
                analyzer,
                crops,
                tx,
            } => {
                let f = analyzer
                    .analyze(&view)
                    .map_err(|e| RouteError::Analysis(e.to_string()))?;
                let fields: Vec<FaceFields> =
                    faces.iter().map(|i| face_fields_cpu(i, crops)).collect();
                let mut extras = faces.into_iter().map(|i| i.extras);
                for row in rows_for(frame_row(&meta, f), fields) {
                    let parts = extras.next().flatten();
                    tx.send(Msg::Frame(meta.file, Box::new(row), parts))
                        .map_err(|_| RouteError::Closed)?;
                }
                Ok(())
            }
            Route::Gpu { config, tx } => {
                // Refuse here what the batch could not take, so one frame never fails a batch.
                seamscan_features::power_spectrum::tile_grid(
                    &view,
                    config.tile_size,
                    config.max_tiles,
                )
                .map_err(|e| RouteError::Analysis(e.to_string()))?;
                tx.send(GpuMsg::Frame(Box::new(GpuFrame { meta, luma, faces })))
                    .map_err(|_| RouteError::Closed)
            }
        }
    }

    /// Hands on the row of finished file `file`.
    pub(crate) fn video(&self, file: u64, row: VideoRow) -> Result<(), RouteError> {
        match self {
            Route::Cpu { tx, .. } => tx
                .send(Msg::Video(file, Box::new(row)))
                .map_err(|_| RouteError::Closed),
            Route::Gpu { tx, .. } => tx
                .send(GpuMsg::Done(file, Box::new(row)))
                .map_err(|_| RouteError::Closed),
        }
    }
}

/// What the GPU stage did, for the `runs` row and the bench.
#[derive(Debug, Clone, Default)]
pub struct GpuReport {
    /// Batches run on the GPU.
    pub batches: u64,
    /// Frames analysed on the GPU.
    pub gpu_frames: u64,
    /// Frames analysed by the CPU fallback after a GPU failure.
    pub cpu_frames: u64,
    /// Bytes uploaded to the device.
    pub bytes_up: u64,
    /// Bytes read back from the device.
    pub bytes_down: u64,
    /// The failure that switched the rest of the run to the CPU, if any.
    pub fell_back: Option<String>,
    /// GPU time per shader, nanoseconds summed over batches (order of
    /// `seamscan_gpu::SHADERS`), where the adapter supports timestamp queries.
    pub shader_ns: Option<[f64; 5]>,
}

/// The GPU stage: owns the device, gathers frames from all workers into batches of up to
/// `batch` frames, analyses each batch with one dispatch per shader, and forwards rows to the
/// writer. A file's row is forwarded only after all of its frames. If the device fails, the
/// failed batch and everything after it are analysed by the CPU twins instead: no frame is
/// lost or analysed twice. `fail_after` simulates a failure after that many batches (tests).
pub(crate) fn gpu_stage(
    ctx: GpuContext,
    mut engines: GpuEngines,
    rx: Receiver<GpuMsg>,
    tx: Sender<Msg>,
    batch: usize,
    fail_after: Option<u64>,
) -> GpuReport {
    let mut report = GpuReport::default();
    let mut frames: Vec<GpuFrame> = Vec::with_capacity(batch);
    let mut done: Vec<(u64, VideoRow)> = Vec::new();
    while let Ok(first) = rx.recv() {
        let mut closed = false;
        let take = |m: GpuMsg, frames: &mut Vec<_>, done: &mut Vec<_>| match m {
            GpuMsg::Frame(f) => frames.push(*f),
            GpuMsg::Done(file, v) => done.push((file, *v)),
        };
        take(first, &mut frames, &mut done);
        while frames.len() < batch {
            match rx.recv_timeout(Duration::from_millis(5)) {
                Ok(m) => take(m, &mut frames, &mut done),
                Err(RecvTimeoutError::Timeout) => break,
                Err(RecvTimeoutError::Disconnected) => {
                    closed = true;
                    break;
                }
            }
        }
        let rows = analyse_batch(&ctx, &mut engines, &frames, fail_after, &mut report);
        frames.clear();
        for (file, r, parts) in rows {
            if tx.send(Msg::Frame(file, Box::new(r), parts)).is_err() {
                return report;
            }
        }
        for (file, v) in done.drain(..) {
            if tx.send(Msg::Video(file, Box::new(v))).is_err() {
                return report;
            }
        }
        if closed {
            break;
        }
    }
    report
}

/// The GPU stage's analysers: GPU engines for frames and face crops, and the CPU twins for
/// the fallback.
pub(crate) struct GpuEngines {
    /// Whole frames.
    pub frames: GpuAnalyzer,
    /// Face crops (one tile each).
    pub crops: GpuAnalyzer,
    /// Noise maps of face crops.
    pub maps: NoiseMaps,
    /// CPU twin for frames.
    pub cpu: Arc<Analyzer>,
    /// CPU twin for crops.
    pub cpu_crops: Arc<Analyzer>,
}

/// The face columns of a batch's faces on the GPU, in frame then face order.
fn gpu_faces(
    ctx: &GpuContext,
    engines: &mut GpuEngines,
    frames: &[GpuFrame],
    report: &mut GpuReport,
) -> Result<Vec<FaceFields>, seamscan_gpu::GpuError> {
    let inputs: Vec<&FaceInput> = frames.iter().flat_map(|f| f.faces.iter()).collect();
    if inputs.is_empty() {
        return Ok(Vec::new());
    }
    let views: Vec<LumaView<'_>> = inputs
        .iter()
        .map(|i| LumaView::new(&i.crop.luma, i.crop.size, i.crop.size).expect("square crop"))
        .collect();
    let out = engines.crops.run(ctx, &views)?;
    report.bytes_up += out.bytes_up;
    report.bytes_down += out.bytes_down;
    let maps = engines.maps.run(ctx, &views)?;
    Ok(inputs
        .iter()
        .zip(out.features.iter())
        .zip(maps.iter())
        .map(|((i, f), (local, boundary))| face_fields(i, Some(f), local, boundary))
        .collect())
}

fn analyse_batch(
    ctx: &GpuContext,
    engines: &mut GpuEngines,
    frames: &[GpuFrame],
    fail_after: Option<u64>,
    report: &mut GpuReport,
) -> Vec<(u64, FrameRow, Option<Box<FaceExtras>>)> {
    if frames.is_empty() {
        return Vec::new();
    }
    let views: Vec<LumaView<'_>> = frames
        .iter()
        .map(|f| {
            LumaView::new(&f.luma, f.meta.width, f.meta.height).expect("checked by the worker")
        })
        .collect();
    if report.fell_back.is_none() {
        let result = if fail_after.is_some_and(|n| report.batches >= n) {
            Err(seamscan_gpu::GpuError::Dispatch(
                "simulated device loss (SEAMSCAN_GPU_FAIL_AFTER)".into(),
            ))
        } else {
            engines.frames.run(ctx, &views).and_then(|out| {
                let faces = gpu_faces(ctx, engines, frames, report)?;
                Ok((out, faces))
            })
        };
        match result {
            Ok((out, faces)) => {
                report.batches += 1;
                report.gpu_frames += frames.len() as u64;
                report.bytes_up += out.bytes_up;
                report.bytes_down += out.bytes_down;
                if let Some(ns) = out.shader_ns {
                    let total = report.shader_ns.get_or_insert([0.0; 5]);
                    total.iter_mut().zip(ns).for_each(|(a, b)| *a += b);
                }
                let mut faces = faces.into_iter();
                return frames
                    .iter()
                    .zip(out.features)
                    .flat_map(|(fr, f)| {
                        let fields: Vec<FaceFields> = faces.by_ref().take(fr.faces.len()).collect();
                        with_extras(fr, rows_for(frame_row(&fr.meta, f), fields))
                    })
                    .collect();
            }
            Err(e) => {
                tracing::error!(error = %e, batch = report.batches, "GPU failed; the rest of the run uses the CPU path");
                report.fell_back = Some(format!("after {} batches: {e}", report.batches));
            }
        }
    }
    use rayon::prelude::*;
    report.cpu_frames += frames.len() as u64;
    let (cpu, cpu_crops) = (&engines.cpu, &engines.cpu_crops);
    frames
        .par_iter()
        .zip(views.par_iter())
        .flat_map_iter(|(fr, v)| {
            let f = cpu
                .analyze(v)
                .expect("frame sizes are checked by the worker");
            let fields: Vec<FaceFields> = fr
                .faces
                .iter()
                .map(|i| face_fields_cpu(i, cpu_crops))
                .collect();
            with_extras(fr, rows_for(frame_row(&fr.meta, f), fields))
        })
        .collect()
}

/// The rows of a frame with the extras of their faces (copied: the frame is shared).
#[allow(clippy::type_complexity)]
fn with_extras(
    fr: &GpuFrame,
    rows: Vec<FrameRow>,
) -> std::vec::IntoIter<(u64, FrameRow, Option<Box<FaceExtras>>)> {
    let mut parts = fr.faces.iter().map(|i| i.extras.clone());
    rows.into_iter()
        .map(|r| (fr.meta.file, r, parts.next().flatten()))
        .collect::<Vec<_>>()
        .into_iter()
}
