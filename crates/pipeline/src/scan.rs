//! `seamscan scan`: workers hash, decode and analyse one file at a time; one writer thread
//! (the caller's) streams every row into the Parquet dataset.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::bounded;
use seamscan_decode::{DecodeOptions, ErrorKind, VideoReader};
use seamscan_features::Analyzer;
use seamscan_sink::{Dataset, PartWriter, RunRow, SinkError, Table, VideoRow};

use crate::analysis::{
    FrameMeta, GpuEngines, GpuMsg, GpuReport, Msg, Route, RouteError, gpu_stage,
};
use crate::commit::Groups;
use crate::config::{ConfigError, DeviceChoice, PipelineConfig, ScoreKind};
use crate::faces::{FaceEngine, FileFaces, PendingFrame, Temporal};
use crate::hash::{sha256_bytes, sha256_file};
use crate::inputs::InputPlan;
use crate::isolation::{DecoderProcess, FrameSource, ProcessSource};
use crate::progress::Progress;
use crate::scoring::{GlimpseRule, Scorer};
use crate::system::{available_cores, hostname, peak_rss_bytes};

/// Everything a scan needs besides its inputs.
#[derive(Debug, Clone)]
pub struct ScanOptions {
    /// Dataset directory (`-o OUT`).
    pub out: PathBuf,
    /// Effective configuration.
    pub config: PipelineConfig,
    /// The command line, recorded in `runs.argv`.
    pub argv: Vec<String>,
    /// seamscan version.
    pub tool_version: String,
    /// Git commit of the build.
    pub git_commit: String,
    /// Draw a progress bar (on a terminal).
    pub show_progress: bool,
    /// Analyse files again even if the dataset already holds them.
    pub force: bool,
    /// Set to a signal number (SIGINT, SIGTERM) to stop the run cleanly.
    pub interrupt: Arc<AtomicUsize>,
}

/// What a finished scan reports.
#[derive(Debug, Clone)]
pub struct ScanSummary {
    /// The run's id.
    pub run_id: String,
    /// Files scanned.
    pub inputs: u64,
    /// Files with status `ok`.
    pub files_ok: u64,
    /// Files with another status.
    pub files_failed: u64,
    /// Files skipped because the dataset already holds them unchanged.
    pub files_already_done: u64,
    /// Frames analysed.
    pub frames_analyzed: u64,
    /// 0 if every file is `ok`, 1 if any is not, 128 + the signal if interrupted.
    pub exit_code: i32,
    /// Part files written.
    pub parts: Vec<PathBuf>,
    /// Where the analysis ran (as in `runs.device`).
    pub device: String,
    /// What the GPU stage did, when the GPU was used.
    pub gpu: Option<GpuReport>,
}

/// A scan that could not run or could not write its output.
#[derive(Debug, thiserror::Error)]
pub enum ScanError {
    /// The configuration is unusable.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The dataset could not be written.
    #[error("cannot write output: {0}")]
    Output(#[from] SinkError),
}

/// The analysis engine chosen for a run.
enum Engine {
    Cpu,
    Gpu(seamscan_gpu::GpuContext),
}

/// Picks the device: `cpu`; `gpu` (any adapter, software ones included, or an error); `auto`
/// (a hardware GPU if there is one, else the CPU path).
fn choose_engine(choice: DeviceChoice) -> Result<Engine, ConfigError> {
    if choice == DeviceChoice::Cpu {
        return Ok(Engine::Cpu);
    }
    // A broken driver must not take the run down: a panic in set-up counts as no adapter.
    let allow_software = choice == DeviceChoice::Gpu;
    let ctx = std::panic::catch_unwind(|| seamscan_gpu::GpuContext::new(allow_software))
        .unwrap_or_else(|_| {
            Err(seamscan_gpu::GpuError::NoAdapter(
                "the GPU driver panicked".into(),
            ))
        });
    match (choice, ctx) {
        (_, Ok(ctx)) => Ok(Engine::Gpu(ctx)),
        (DeviceChoice::Gpu, Err(e)) => Err(ConfigError::Invalid(format!("--device gpu: {e}"))),
        (_, Err(e)) => {
            tracing::info!(reason = %e, "device auto: no hardware GPU, using the CPU path");
            Ok(Engine::Cpu)
        }
    }
}

/// `videos.status` of an analysed file in which no face was found.
pub const NO_FACE: &str = "no_face";

/// The face detector for a run: on the GPU path burn's wgpu backend (else, logged, the CPU),
/// on the CPU path burn's flex backend.
fn face_engine(config: &PipelineConfig, gpu: bool) -> FaceEngine {
    let detector_config = config.faces.detector();
    let detector = if gpu {
        let allow_software = config.run.device == DeviceChoice::Gpu;
        match seamscan_faces::Detector::gpu(detector_config.clone(), allow_software) {
            Ok(d) => d,
            Err(e) => {
                tracing::warn!(reason = %e, "face detector: no GPU for burn, using its CPU backend");
                seamscan_faces::Detector::cpu(detector_config)
            }
        }
    } else {
        seamscan_faces::Detector::cpu(detector_config)
    };
    let mut engine = FaceEngine::new(detector, config.faces.clone());
    engine.evidence = config.evidence.enabled && config.model.enabled;
    engine
}

fn now_us() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_micros() as i64)
}

/// Scans every planned file into the dataset at `options.out`.
pub fn scan(plan: &InputPlan, options: &ScanOptions) -> Result<ScanSummary, ScanError> {
    let config = &options.config;
    config.validate()?;
    let analyzer =
        Analyzer::new(config.analysis.clone()).map_err(|e| ConfigError::Invalid(e.to_string()))?;
    // A model that cannot be loaded, or a stack beside other weights, is a usage error
    // before anything is written.
    let mut scorer = load_model(config, &options.out)?;
    let dataset = Dataset::create(&options.out)?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let _lock = dataset.lock_run(&run_id)?;
    let recovered = dataset.recover()?;
    if recovered.temporary + recovered.uncommitted > 0 {
        tracing::info!(
            temporary = recovered.temporary,
            uncommitted = recovered.uncommitted,
            "removed the unfinished parts of interrupted runs; their files are redone"
        );
    }
    let started_at_us = now_us();
    let (work, already_done) = pending_files(plan, &dataset, options.force)?;
    let files = &work;
    let cores = available_cores();
    let jobs = if config.run.jobs == 0 {
        cores
    } else {
        config.run.jobs
    };
    let jobs = jobs.min(files.len()).max(1);
    let decode = DecodeOptions {
        sampling: config.sampling(),
        rgb: config.faces.enabled,
        threads: (cores / jobs).max(1),
    };
    let threads = jobs.max(cores);
    let analyzer = Arc::new(analyzer);
    let engine = choose_engine(config.run.device)?;
    let mut face_engine = config
        .faces
        .enabled
        .then(|| face_engine(config, matches!(engine, Engine::Gpu(_))));
    let crop_config = face_engine.as_ref().map_or(config.analysis.clone(), |f| {
        f.crop_analysis(&config.analysis)
    });
    let crop_analyzer = Arc::new(
        Analyzer::new(crop_config.clone()).map_err(|e| ConfigError::Invalid(e.to_string()))?,
    );
    let gpu_parts = match engine {
        Engine::Cpu => None,
        Engine::Gpu(ctx) => {
            let invalid = |e: seamscan_features::FeatureError| {
                ConfigError::Invalid(format!("GPU analysis: {e}"))
            };
            let engines = GpuEngines {
                frames: seamscan_gpu::GpuAnalyzer::new(&ctx, config.analysis.clone())
                    .map_err(invalid)?,
                crops: seamscan_gpu::GpuAnalyzer::new(&ctx, crop_config).map_err(invalid)?,
                maps: seamscan_gpu::NoiseMaps::new(&ctx),
                cpu: analyzer.clone(),
                cpu_crops: crop_analyzer.clone(),
            };
            Some((ctx, engines))
        }
    };
    let mut device = match &gpu_parts {
        None => format!("cpu ({threads} threads)"),
        Some((ctx, _)) => format!("gpu: {}", ctx.adapter()),
    };
    if let Some(f) = &face_engine {
        device = format!("{device}; {}", f.describe());
    }
    if let (Some(f), Some(s)) = (face_engine.as_mut(), scorer.as_ref()) {
        f.model_crop = s.pixel_input();
    }
    if let Some(f) = face_engine.as_mut().filter(|_| config.model.appearance) {
        f.appearance = Some(seamscan_appearance::AppearanceNet::cpu());
    }
    let (model_name, model_sha256) = scorer.as_ref().map_or((String::new(), String::new()), |s| {
        (s.model_name(), s.model_sha256())
    });
    tracing::info!(run_id = %run_id, files = files.len(), jobs, device = %device, out = %options.out.display(), "scan started");
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }

    let progress = Progress::new(
        files.len() as u64,
        options.show_progress,
        &format!("seamscan · {device}"),
    );
    let (tx, rx) = bounded::<Msg>(jobs * 64);
    let next = AtomicUsize::new(0);
    let abort = AtomicBool::new(false);
    let interrupt = &options.interrupt;
    let mut groups = Groups::new(&dataset, &run_id, &config.run);
    let (mut ok, mut failed) = (0u64, 0u64);
    let (gpu_tx, gpu_rx) = bounded::<GpuMsg>(config.run.batch_frames * 2);
    let route = match gpu_parts {
        None => Route::Cpu {
            analyzer: analyzer.clone(),
            crops: crop_analyzer.clone(),
            tx: tx.clone(),
        },
        Some(_) => Route::Gpu {
            config: config.analysis.clone(),
            tx: gpu_tx.clone(),
        },
    };
    drop(gpu_tx);
    let run_id_shared: Arc<str> = Arc::from(run_id.as_str());
    let fail_after = std::env::var("SEAMSCAN_GPU_FAIL_AFTER")
        .ok()
        .and_then(|v| v.parse().ok());
    let mut gpu_report = None;
    let unchanged = AtomicUsize::new(0);

    // Workers are tasks of one rayon pool, so that the features' own parallel loops run on the
    // same threads: an idle worker steals a busy one's tiles instead of the pool being
    // oversubscribed or a worker sleeping while its frame is analysed.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("seamscan-worker-{i}"))
        .build()
        .map_err(|e| ConfigError::Invalid(format!("cannot start worker threads: {e}")))?;
    let written: Result<(), SinkError> = std::thread::scope(|s| {
        let (next, abort, progress, pool) = (&next, &abort, &progress, &pool);
        let unchanged_count = &unchanged;
        let isolation = config
            .run
            .isolate
            .then(|| std::time::Duration::from_secs_f64(config.run.file_timeout_seconds));
        let (decode, run_id) = (&decode, &run_id_shared);
        let gpu_handle = gpu_parts.map(|(ctx, engines)| {
            let tx = tx.clone();
            let batch = config.run.batch_frames;
            s.spawn(move || gpu_stage(ctx, engines, gpu_rx, tx, batch, fail_after))
        });
        let faces = face_engine.as_ref();
        let workers_route = route;
        s.spawn(move || {
            pool.scope(|scope| {
                for _ in 0..jobs {
                    let route = workers_route.clone();
                    scope.spawn(move |_| {
                        let worker = Worker {
                            route,
                            decode: decode.clone(),
                            run_id: run_id.clone(),
                            progress,
                            abort,
                            interrupt,
                            unchanged: unchanged_count,
                            current: std::cell::Cell::new(0),
                            isolation,
                            decoder: std::cell::RefCell::new(None),
                            faces,
                        };
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= files.len() || worker.stopping() {
                                break;
                            }
                            let (path, known) = (&files[i].path, files[i].sha256.as_deref());
                            // A panic is a bug, but it must cost one file, not the run.
                            let row =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    worker.process(i as u64, path, known)
                                }))
                                .unwrap_or_else(|panic| Some(worker.panicked(path, panic)));
                            let Some(row) = row else {
                                worker.progress.file_done();
                                continue;
                            };
                            if worker.stopping() || worker.route.video(i as u64, row).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            drop(workers_route);
        });
        drop(tx);
        let mut temporal = Temporal::new(config.faces.jitter_window);
        for msg in rx.iter() {
            let result = match msg {
                Msg::Frame(file, mut f, parts) => {
                    temporal.apply(file, &mut f);
                    if let Some(s) = scorer.as_mut() {
                        s.frame(file, &mut f, parts.as_deref());
                    }
                    groups.frame(file, *f)
                }
                Msg::Video(file, mut v) => {
                    temporal.forget(file);
                    if let Some(s) = scorer.as_mut() {
                        s.video(file, &mut v);
                    }
                    report(&v);
                    if v.status == "ok" || v.status == NO_FACE {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                    progress.file_done();
                    groups.video(file, *v)
                }
            };
            if let Err(e) = result {
                abort.store(true, Ordering::Relaxed);
                // Dropping the receiver unblocks the workers' sends.
                drop(rx);
                return Err(e);
            }
        }
        if let Some(h) = gpu_handle {
            gpu_report = h.join().ok();
        }
        Ok(())
    });
    if let Some(fell) = gpu_report.as_ref().and_then(|r| r.fell_back.as_ref()) {
        device = format!("{device}; fell back to cpu {fell}");
    }
    if let Some(f) = &face_engine {
        // Names a detector fallback that happened during the run.
        let described = f.describe();
        if !device.contains(&described) {
            device = format!("{device}; now {described}");
        }
    }
    progress.finish();
    written?;

    let signal = interrupt.load(Ordering::Relaxed);
    let (mut parts, frames_analyzed) = groups.finish(signal != 0)?;
    let already_done = already_done + unchanged.load(Ordering::Relaxed) as u64;
    let exit_code = if signal != 0 {
        128 + signal as i32
    } else if failed > 0 {
        1
    } else {
        0
    };
    if signal != 0 {
        tracing::warn!(
            signal,
            "interrupted: finished files are committed; the others are redone by the next run"
        );
    }
    let config_toml = config.to_toml();
    let run = RunRow {
        run_id: run_id.clone(),
        started_at_us,
        finished_at_us: now_us(),
        tool_version: options.tool_version.clone(),
        git_commit: options.git_commit.clone(),
        ffmpeg_version: seamscan_decode::ffmpeg_version(),
        hostname: hostname(),
        argv: options.argv.clone(),
        config_sha256: sha256_bytes(config_toml.as_bytes()),
        config_toml,
        device: device.clone(),
        model: model_name,
        model_sha256,
        inputs: plan.files.len() as u64,
        files_ok: ok,
        files_failed: failed,
        files_skipped: plan.skipped,
        files_already_done: already_done,
        frames_analyzed,
        peak_rss_bytes: peak_rss_bytes(),
        exit_code,
    };
    let mut runs: PartWriter<RunRow> = dataset.writer(Table::Runs, &run_id, 0, 1, usize::MAX);
    runs.push(run)?;
    parts.extend(runs.finish(true)?.commit()?);
    tracing::info!(run_id = %run_id, files = files.len(), ok, failed, skipped = plan.skipped, frames = frames_analyzed, "scan finished");
    Ok(ScanSummary {
        run_id,
        inputs: plan.files.len() as u64,
        files_ok: ok,
        files_failed: failed,
        files_already_done: already_done,
        frames_analyzed,
        exit_code,
        parts,
        device,
        gpu: gpu_report,
    })
}

/// The run's classifier, when faces are analysed and the model is on.
fn load_model(config: &PipelineConfig, out: &Path) -> Result<Option<Scorer>, ConfigError> {
    if !(config.faces.enabled && config.model.enabled) {
        return Ok(None);
    }
    let model = if config.model.path.is_empty() {
        seamscan_model::Classifier::embedded()
    } else {
        seamscan_model::Classifier::load(Path::new(&config.model.path))
    }
    .map_err(|e| ConfigError::Invalid(format!("classifier: {e}")))?;
    tracing::info!(model = %model.card().name, weights_sha256 = %model.weights_sha256(), "classifier loaded");
    let stack = match config.model.score {
        ScoreKind::Classifier => None,
        ScoreKind::Stacked => {
            let stack = seamscan_model::Stack::embedded()
                .map_err(|e| ConfigError::Invalid(format!("model.score = \"stacked\": {e}")))?;
            stack
                .check(model.weights_sha256(), seamscan_appearance::WEIGHTS_SHA256)
                .map_err(|e| {
                    ConfigError::Invalid(format!(
                        "model.score = \"stacked\" (the default score): {e}; set model.score = \"classifier\" (scan --score classifier) to score with this classifier alone"
                    ))
                })?;
            tracing::info!(stack = %stack.card().name, card_sha256 = %stack.sha256(), "stacked score");
            Some(stack)
        }
    };
    let mut scorer = Scorer::new(
        model,
        config.model.reasons,
        GlimpseRule {
            min_face_frames: config.model.min_face_frames,
            detect_every: config.faces.detect_every,
        },
    );
    if let Some(stack) = stack {
        scorer = scorer.stacked(stack);
    }
    if config.evidence.enabled {
        scorer.write_evidence(out.to_path_buf(), config.evidence.min_score);
    }
    Ok(Some(scorer))
}

/// A file to scan, with the SHA-256 the dataset recorded for its path if its size or mtime
/// changed since (unchanged content is then skipped after hashing).
struct Work {
    path: PathBuf,
    sha256: Option<String>,
}

/// The planned files the dataset does not already hold unchanged (same path, size and mtime),
/// and how many were skipped; with `force`, every planned file.
fn pending_files(
    plan: &InputPlan,
    dataset: &Dataset,
    force: bool,
) -> Result<(Vec<Work>, u64), SinkError> {
    if force {
        let all = plan
            .files
            .iter()
            .map(|f| Work {
                path: f.path.clone(),
                sha256: None,
            })
            .collect();
        return Ok((all, 0));
    }
    let done = dataset.done_files()?;
    let mut work = Vec::with_capacity(plan.files.len());
    let mut skipped = 0u64;
    for f in &plan.files {
        let Some(d) = done.get(f.path.as_os_str().as_bytes()) else {
            work.push(Work {
                path: f.path.clone(),
                sha256: None,
            });
            continue;
        };
        let now = std::fs::metadata(&f.path).ok().map(|m| stamp(&m));
        if now.is_some_and(|(size, mtime)| Some(size) == d.size_bytes && mtime == d.modified_at_us)
        {
            skipped += 1;
        } else {
            work.push(Work {
                path: f.path.clone(),
                sha256: d.sha256.clone(),
            });
        }
    }
    Ok((work, skipped))
}

/// One log line per file: info when analysed, warning otherwise.
fn report(v: &VideoRow) {
    if v.status == NO_FACE {
        tracing::info!(path = %v.path, status = %v.status, frames = v.frames_analyzed, elapsed_s = format!("{:.2}", v.elapsed_s), "file done, no face found");
    } else if v.status == "ok" {
        tracing::info!(path = %v.path, status = %v.status, frames = v.frames_analyzed, elapsed_s = format!("{:.2}", v.elapsed_s), "file done");
    } else {
        tracing::warn!(
            path = %v.path,
            status = %v.status,
            error = v.error.as_deref().unwrap_or(""),
            "file not analysed"
        );
    }
}

struct Worker<'a> {
    route: Route,
    decode: DecodeOptions,
    run_id: Arc<str>,
    progress: &'a Progress,
    abort: &'a AtomicBool,
    interrupt: &'a AtomicUsize,
    /// Files found unchanged after hashing (same SHA-256 as the dataset's row).
    unchanged: &'a AtomicUsize,
    /// Index of the file being processed.
    current: std::cell::Cell<u64>,
    /// Decode in a worker process (crash isolation), with this no-progress timeout.
    isolation: Option<std::time::Duration>,
    /// This worker's decode process, started on first use and replaced after a crash.
    decoder: std::cell::RefCell<Option<DecoderProcess>>,
    /// The run's face detector, when faces are analysed.
    faces: Option<&'a FaceEngine>,
}

/// Size and modification time, to notice a file changing under us.
fn stamp(meta: &std::fs::Metadata) -> (u64, Option<i64>) {
    let mtime = meta
        .modified()
        .ok()
        .and_then(|t| t.duration_since(UNIX_EPOCH).ok())
        .map(|d| d.as_micros() as i64);
    (meta.len(), mtime)
}

impl Worker<'_> {
    /// Whether the run is stopping (an output error or a signal).
    fn stopping(&self) -> bool {
        self.abort.load(Ordering::Relaxed) || self.interrupt.load(Ordering::Relaxed) != 0
    }

    /// Hashes, decodes and analyses file `file`; returns its `videos` row, or `None` when
    /// its SHA-256 equals `known` (the dataset already holds this content under this path).
    fn process(&self, file: u64, path: &Path, known: Option<&str>) -> Option<VideoRow> {
        self.current.set(file);
        let start = Instant::now();
        let mut row = VideoRow {
            run_id: self.run_id.to_string(),
            path: path.to_string_lossy().into_owned(),
            path_bytes: path.as_os_str().as_bytes().to_vec(),
            status: "ok".into(),
            ..VideoRow::default()
        };
        match self.analyse(path, known, &mut row) {
            Ok(true) => {}
            Ok(false) => {
                self.unchanged.fetch_add(1, Ordering::Relaxed);
                return None;
            }
            Err((kind, message)) => {
                row.status = kind.status().to_string();
                row.error = Some(message);
            }
        }
        row.elapsed_s = start.elapsed().as_secs_f64();
        Some(row)
    }

    /// The row of a file whose processing panicked.
    fn panicked(&self, path: &Path, panic: Box<dyn std::any::Any + Send>) -> VideoRow {
        let what = panic
            .downcast_ref::<&str>()
            .map(|s| s.to_string())
            .or_else(|| panic.downcast_ref::<String>().cloned())
            .unwrap_or_else(|| "unknown panic".into());
        VideoRow {
            run_id: self.run_id.to_string(),
            path: path.to_string_lossy().into_owned(),
            path_bytes: path.as_os_str().as_bytes().to_vec(),
            status: ErrorKind::Error.status().into(),
            error: Some(format!("internal error (please report): {what}")),
            ..VideoRow::default()
        }
    }

    /// `Ok(false)`: unchanged since the dataset's row, nothing to do.
    fn analyse(
        &self,
        path: &Path,
        known: Option<&str>,
        row: &mut VideoRow,
    ) -> Result<bool, (ErrorKind, String)> {
        let unreadable = |m: String| (ErrorKind::Unreadable, m);
        let meta = std::fs::metadata(path).map_err(|e| unreadable(format!("cannot open: {e}")))?;
        if !meta.is_file() {
            return Err(unreadable("not a regular file".into()));
        }
        let before = stamp(&meta);
        // After the stamp that the end of the analysis compares with.
        tracing::debug!(path = %path.display(), size_bytes = before.0, "file started");
        row.size_bytes = Some(before.0);
        row.modified_at_us = before.1;
        let (sha256, hashed_len) =
            sha256_file(path).map_err(|e| unreadable(format!("cannot read: {e}")))?;
        if known == Some(sha256.as_str()) {
            return Ok(false);
        }
        row.sha256 = Some(sha256.clone());
        if hashed_len == 0 {
            return Err(unreadable("empty file (0 bytes)".into()));
        }
        let result = self.decode_and_analyse(path, &sha256, row);
        // Evidence must not change under analysis; if it did, the hash may not match what
        // was decoded.
        let after = std::fs::metadata(path).map(|m| stamp(&m));
        if after.as_ref().ok() != Some(&before) || hashed_len != before.0 {
            return Err((
                ErrorKind::Error,
                "file changed or vanished during analysis; results do not match its SHA-256".into(),
            ));
        }
        result.map(|()| true)
    }

    fn decode_and_analyse(
        &self,
        path: &Path,
        sha256: &str,
        row: &mut VideoRow,
    ) -> Result<(), (ErrorKind, String)> {
        let Some(timeout) = self.isolation else {
            let mut reader =
                VideoReader::open(path, self.decode.clone()).map_err(|e| (e.kind, e.message))?;
            return self.read_all(&mut reader, path, sha256, row);
        };
        let mut slot = self.decoder.borrow_mut();
        if slot.is_none() {
            let process = DecoderProcess::spawn().map_err(|e| {
                (
                    ErrorKind::Error,
                    format!("cannot start a decoder process: {e}"),
                )
            })?;
            *slot = Some(process);
        }
        let process = slot.as_mut().expect("just started");
        let (result, replace) =
            match ProcessSource::open(process, path, self.decode.clone(), timeout) {
                Ok(mut source) => {
                    let result = self.read_all(&mut source, path, sha256, row);
                    (result, source.needs_new_process())
                }
                Err((e, dead)) => (Err((e.kind, e.message)), dead),
            };
        if replace {
            *slot = None;
        }
        result
    }

    /// Reads every frame of `source` into the route and fills the file's row.
    fn read_all(
        &self,
        source: &mut impl FrameSource,
        path: &Path,
        sha256: &str,
        row: &mut VideoRow,
    ) -> Result<(), (ErrorKind, String)> {
        let info = source.info().clone();
        row.container = Some(info.container);
        row.codec = Some(info.codec);
        row.pixel_format = Some(info.pixel_format);
        row.width = Some(info.width);
        row.height = Some(info.height);
        row.rotation = Some(info.rotation);
        row.fps = info.fps;
        row.duration_s = info.duration_s;
        row.frames_declared = info.declared_frames;
        let outcome = self.frames(source, path, sha256, row);
        let summary = source.summary();
        row.frames_decoded = summary.frames_decoded;
        row.decode_errors = summary.decode_errors;
        outcome?;
        if let Some(why) = summary.stopped_early {
            return Err((ErrorKind::Error, format!("incomplete: {why}")));
        }
        if row.frames_with_face == Some(0) && row.frames_analyzed > 0 {
            row.status = NO_FACE.into();
        }
        if summary.decode_errors > 0 {
            row.error = Some(format!(
                "{} corrupt packets or frames skipped; the rest was analysed",
                summary.decode_errors
            ));
        }
        Ok(())
    }

    fn frames(
        &self,
        reader: &mut impl FrameSource,
        path: &Path,
        sha256: &str,
        row: &mut VideoRow,
    ) -> Result<(), (ErrorKind, String)> {
        let path_text: Arc<str> = Arc::from(row.path.as_str());
        let sha256: Arc<str> = Arc::from(sha256);
        let aborted = || (ErrorKind::Error, "run aborted".to_string());
        let mut faces = self.faces.map(FileFaces::new);
        let face_error = |at: String, e: String| {
            (
                ErrorKind::Error,
                format!("{}: {at}: face detection: {e}", path.display()),
            )
        };
        loop {
            if self.stopping() {
                return Err(aborted());
            }
            let frame = match reader.next_frame() {
                Ok(Some(f)) => Some(f),
                Ok(None) => None,
                Err(e) => return Err((e.kind, e.message)),
            };
            let at_end = frame.is_none();
            let ready = match (frame, faces.as_mut()) {
                (None, None) => Vec::new(),
                (None, Some(ff)) => ff
                    .flush()
                    .map_err(|e| face_error("last frames".into(), e))?,
                (Some(frame), ff) => {
                    let index = frame.index;
                    let meta = FrameMeta {
                        file: self.current.get(),
                        run_id: self.run_id.clone(),
                        path: path_text.clone(),
                        sha256: sha256.clone(),
                        index,
                        pts: frame.pts,
                        time_s: frame.time_s,
                        width: frame.width,
                        height: frame.height,
                    };
                    let (luma, rgb) = (frame.luma, frame.rgb);
                    match ff {
                        None => vec![(
                            PendingFrame {
                                meta,
                                luma,
                                rgb: Vec::new(),
                            },
                            Vec::new(),
                        )],
                        Some(ff) => {
                            let rgb = rgb.ok_or_else(|| {
                                face_error(
                                    format!("frame {index}"),
                                    "the decoder sent no colour".into(),
                                )
                            })?;
                            ff.push(PendingFrame { meta, luma, rgb })
                                .map_err(|e| face_error(format!("frame {index}"), e))?
                        }
                    }
                }
            };
            for (p, inputs) in ready {
                let index = p.meta.index;
                match self.route.frame(p.meta, p.luma, inputs) {
                    Ok(()) => {}
                    Err(RouteError::Analysis(e)) => {
                        return Err((
                            ErrorKind::Error,
                            format!("{}: frame {index}: {e}", path.display()),
                        ));
                    }
                    Err(RouteError::Closed) => return Err(aborted()),
                }
                row.frames_analyzed += 1;
                self.progress.frame();
            }
            if at_end {
                break;
            }
        }
        if let Some(ff) = faces {
            row.faces = Some(ff.tracks());
            row.frames_with_face = Some(ff.frames_with_face);
        }
        Ok(())
    }
}
