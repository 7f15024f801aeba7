//! `seamscan scan`: workers hash, decode and analyse one file at a time; one writer thread
//! (the caller's) streams every row into the Parquet dataset.

use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

use crossbeam_channel::{Sender, bounded};
use seamscan_decode::{DecodeOptions, ErrorKind, VideoReader};
use seamscan_features::{Analyzer, LumaView};
use seamscan_sink::{Dataset, FrameRow, PartWriter, RunRow, SinkError, Table, VideoRow};

use crate::config::{ConfigError, PipelineConfig};
use crate::hash::{sha256_bytes, sha256_file};
use crate::inputs::InputPlan;
use crate::progress::Progress;
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
}

/// What a finished scan reports.
#[derive(Debug, Clone, PartialEq)]
pub struct ScanSummary {
    /// The run's id.
    pub run_id: String,
    /// Files scanned.
    pub inputs: u64,
    /// Files with status `ok`.
    pub files_ok: u64,
    /// Files with another status.
    pub files_failed: u64,
    /// Frames analysed.
    pub frames_analyzed: u64,
    /// 0 if every file is `ok`, 1 if any is not.
    pub exit_code: i32,
    /// Part files written.
    pub parts: Vec<PathBuf>,
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

/// A row on its way to the writer.
enum Msg {
    Frame(Box<FrameRow>),
    Video(Box<VideoRow>),
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
    let dataset = Dataset::create(&options.out)?;
    let run_id = uuid::Uuid::new_v4().to_string();
    let started_at_us = now_us();
    let files = &plan.files;
    let cores = available_cores();
    let jobs = if config.run.jobs == 0 {
        cores
    } else {
        config.run.jobs
    };
    let jobs = jobs.min(files.len()).max(1);
    let decode = DecodeOptions {
        sampling: config.sampling(),
        rgb: false,
        threads: (cores / jobs).max(1),
    };
    let threads = jobs.max(cores);
    let device = format!("cpu ({threads} threads)");
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
    let mut videos: PartWriter<VideoRow> =
        dataset.writer(Table::Videos, &run_id, 256, config.run.rows_per_part);
    let mut frames: PartWriter<FrameRow> = dataset.writer(
        Table::Frames,
        &run_id,
        config.run.frame_batch_rows,
        config.run.rows_per_part,
    );
    let (mut ok, mut failed) = (0u64, 0u64);
    let analyzer = Arc::new(analyzer);

    // Workers are tasks of one rayon pool, so that the features' own parallel loops run on the
    // same threads: an idle worker steals a busy one's tiles instead of the pool being
    // oversubscribed or a worker sleeping while its frame is analysed.
    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(threads)
        .thread_name(|i| format!("seamscan-worker-{i}"))
        .build()
        .map_err(|e| ConfigError::Invalid(format!("cannot start worker threads: {e}")))?;
    let written: Result<(), SinkError> = std::thread::scope(|s| {
        let workers_tx = tx.clone();
        let (next, abort, progress, run_id, pool) =
            (&next, &abort, &progress, run_id.as_str(), &pool);
        let (analyzer, decode) = (&analyzer, &decode);
        s.spawn(move || {
            pool.scope(|scope| {
                for _ in 0..jobs {
                    let tx = workers_tx.clone();
                    scope.spawn(move |_| {
                        let worker = Worker {
                            tx,
                            analyzer: analyzer.clone(),
                            decode: decode.clone(),
                            run_id,
                            progress,
                            abort,
                        };
                        loop {
                            let i = next.fetch_add(1, Ordering::Relaxed);
                            if i >= files.len() || abort.load(Ordering::Relaxed) {
                                break;
                            }
                            let path = &files[i].path;
                            // A panic is a bug, but it must cost one file, not the run.
                            let row =
                                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                                    worker.process(path)
                                }))
                                .unwrap_or_else(|panic| worker.panicked(path, panic));
                            if worker.tx.send(Msg::Video(Box::new(row))).is_err() {
                                break;
                            }
                        }
                    });
                }
            });
            drop(workers_tx);
        });
        drop(tx);
        for msg in rx.iter() {
            let result = match msg {
                Msg::Frame(f) => frames.push(*f),
                Msg::Video(v) => {
                    report(&v);
                    if v.status == "ok" {
                        ok += 1;
                    } else {
                        failed += 1;
                    }
                    progress.file_done();
                    videos.push(*v)
                }
            };
            if let Err(e) = result {
                abort.store(true, Ordering::Relaxed);
                // Dropping the receiver unblocks the workers' sends.
                drop(rx);
                return Err(e);
            }
        }
        Ok(())
    });
    progress.finish();
    written?;

    let mut parts = frames.finish()?;
    parts.extend(videos.finish()?);
    let exit_code = if failed > 0 { 1 } else { 0 };
    let frames_analyzed = progress.frames();
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
        device,
        inputs: files.len() as u64,
        files_ok: ok,
        files_failed: failed,
        files_skipped: plan.skipped,
        frames_analyzed,
        peak_rss_bytes: peak_rss_bytes(),
        exit_code,
    };
    let mut runs: PartWriter<RunRow> = dataset.writer(Table::Runs, &run_id, 1, usize::MAX);
    runs.push(run)?;
    parts.extend(runs.finish()?);
    tracing::info!(run_id = %run_id, files = files.len(), ok, failed, skipped = plan.skipped, frames = frames_analyzed, "scan finished");
    Ok(ScanSummary {
        run_id,
        inputs: files.len() as u64,
        files_ok: ok,
        files_failed: failed,
        frames_analyzed,
        exit_code,
        parts,
    })
}

/// One log line per file: info when analysed, warning otherwise.
fn report(v: &VideoRow) {
    if v.status == "ok" {
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
    tx: Sender<Msg>,
    analyzer: Arc<Analyzer>,
    decode: DecodeOptions,
    run_id: &'a str,
    progress: &'a Progress,
    abort: &'a AtomicBool,
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
    /// Hashes, decodes and analyses one file; always returns its `videos` row.
    fn process(&self, path: &Path) -> VideoRow {
        let start = Instant::now();
        let mut row = VideoRow {
            run_id: self.run_id.to_string(),
            path: path.to_string_lossy().into_owned(),
            path_bytes: path.as_os_str().as_bytes().to_vec(),
            status: "ok".into(),
            ..VideoRow::default()
        };
        if let Err((kind, message)) = self.analyse(path, &mut row) {
            row.status = kind.status().to_string();
            row.error = Some(message);
        }
        row.elapsed_s = start.elapsed().as_secs_f64();
        row
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

    fn analyse(&self, path: &Path, row: &mut VideoRow) -> Result<(), (ErrorKind, String)> {
        let unreadable = |m: String| (ErrorKind::Unreadable, m);
        let meta = std::fs::metadata(path).map_err(|e| unreadable(format!("cannot open: {e}")))?;
        if !meta.is_file() {
            return Err(unreadable("not a regular file".into()));
        }
        let before = stamp(&meta);
        row.size_bytes = Some(before.0);
        row.modified_at_us = before.1;
        let (sha256, hashed_len) =
            sha256_file(path).map_err(|e| unreadable(format!("cannot read: {e}")))?;
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
        result
    }

    fn decode_and_analyse(
        &self,
        path: &Path,
        sha256: &str,
        row: &mut VideoRow,
    ) -> Result<(), (ErrorKind, String)> {
        let mut reader =
            VideoReader::open(path, self.decode.clone()).map_err(|e| (e.kind, e.message))?;
        let info = reader.info().clone();
        row.container = Some(info.container);
        row.codec = Some(info.codec);
        row.pixel_format = Some(info.pixel_format);
        row.width = Some(info.width);
        row.height = Some(info.height);
        row.rotation = Some(info.rotation);
        row.fps = info.fps;
        row.duration_s = info.duration_s;
        row.frames_declared = info.declared_frames;
        let outcome = self.frames(&mut reader, path, sha256, row);
        let summary = reader.summary();
        row.frames_decoded = summary.frames_decoded;
        row.decode_errors = summary.decode_errors;
        outcome?;
        if let Some(why) = summary.stopped_early {
            return Err((ErrorKind::Error, format!("incomplete: {why}")));
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
        reader: &mut VideoReader,
        path: &Path,
        sha256: &str,
        row: &mut VideoRow,
    ) -> Result<(), (ErrorKind, String)> {
        let path_text = row.path.clone();
        loop {
            if self.abort.load(Ordering::Relaxed) {
                return Err((ErrorKind::Error, "run aborted".into()));
            }
            let frame = match reader.next_frame() {
                Ok(Some(f)) => f,
                Ok(None) => return Ok(()),
                Err(e) => return Err((e.kind, e.message)),
            };
            let view = LumaView::new(&frame.luma, frame.width, frame.height).ok_or_else(|| {
                (
                    ErrorKind::Error,
                    format!("frame {} has an inconsistent size", frame.index),
                )
            })?;
            let f = self.analyzer.analyze(&view).map_err(|e| {
                (
                    ErrorKind::Error,
                    format!("{}: frame {}: {e}", path.display(), frame.index),
                )
            })?;
            let frame_row = FrameRow {
                run_id: self.run_id.to_string(),
                path: path_text.clone(),
                sha256: sha256.to_string(),
                frame_index: frame.index,
                pts: frame.pts,
                time_s: frame.time_s,
                width: frame.width as u32,
                height: frame.height as u32,
                tile_size: f.tile_size,
                tiles: f.tiles,
                hf_fraction: Some(f.hf_fraction),
                spectral_slope: Some(f.spectral_slope),
                peak_prominence: Some(f.peak_prominence),
                peak_fx: Some(f.peak_fx),
                peak_fy: Some(f.peak_fy),
                noise_level: Some(f.noise_level),
                spectrum: Some(f.spectrum),
                score: None,
                verdict: None,
            };
            if self.tx.send(Msg::Frame(Box::new(frame_row))).is_err() {
                return Err((ErrorKind::Error, "run aborted".into()));
            }
            row.frames_analyzed += 1;
            self.progress.frame();
        }
    }
}
