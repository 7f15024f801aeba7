//! `seamscan bench`: on the same files in one run, decode-only throughput against the full
//! pipeline (hash + decode + convert + analyse + write Parquet), with the same parallelism.

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::inputs::InputPlan;
use crate::scan::{ScanError, ScanOptions, scan};
use crate::system::{available_cores, peak_rss_bytes};

/// Throughput figures of one benchmark run.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct BenchReport {
    /// Files benchmarked.
    pub files: usize,
    /// Worker threads (files decoded at once).
    pub jobs: usize,
    /// Frames decoded by the decode-only pass.
    pub decode_frames: u64,
    /// Seconds of the decode-only pass.
    pub decode_seconds: f64,
    /// Decode-only frames per second.
    pub decode_fps: f64,
    /// Frames analysed by the full pipeline.
    pub pipeline_frames: u64,
    /// Seconds of the full pipeline.
    pub pipeline_seconds: f64,
    /// Full-pipeline frames per second.
    pub pipeline_fps: f64,
    /// `pipeline_fps / decode_fps`.
    pub ratio: f64,
    /// Peak resident memory of the process after both passes, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Runs both passes over `plan` (the full pipeline writes into `options.out`).
pub fn bench(plan: &InputPlan, options: &ScanOptions) -> Result<BenchReport, ScanError> {
    let files = &plan.files;
    let cores = available_cores();
    let jobs = if options.config.run.jobs == 0 {
        cores
    } else {
        options.config.run.jobs
    };
    let jobs = jobs.min(files.len()).max(1);
    let threads = (cores / jobs).max(1);

    let next = AtomicUsize::new(0);
    let total = Mutex::new(0u64);
    let t0 = Instant::now();
    std::thread::scope(|s| {
        for _ in 0..jobs {
            s.spawn(|| {
                let mut n = 0u64;
                loop {
                    let i = next.fetch_add(1, Ordering::Relaxed);
                    let Some(f) = files.get(i) else { break };
                    match seamscan_decode::decode_only(&f.path, threads) {
                        Ok(k) => n += k,
                        Err(e) => tracing::warn!(path = %f.path.display(), error = %e, "decode-only failed"),
                    }
                }
                *total.lock().unwrap_or_else(|p| p.into_inner()) += n;
            });
        }
    });
    let decode_seconds = t0.elapsed().as_secs_f64();
    let decode_frames = *total.lock().unwrap_or_else(|p| p.into_inner());

    let t1 = Instant::now();
    let summary = scan(plan, options)?;
    let pipeline_seconds = t1.elapsed().as_secs_f64();
    let decode_fps = decode_frames as f64 / decode_seconds.max(1e-9);
    let pipeline_fps = summary.frames_analyzed as f64 / pipeline_seconds.max(1e-9);
    Ok(BenchReport {
        files: files.len(),
        jobs,
        decode_frames,
        decode_seconds,
        decode_fps,
        pipeline_frames: summary.frames_analyzed,
        pipeline_seconds,
        pipeline_fps,
        ratio: pipeline_fps / decode_fps.max(1e-9),
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Where `bench` writes its throw-away dataset when no `-o` is given.
pub fn default_bench_out() -> PathBuf {
    std::env::temp_dir().join(format!("seamscan-bench-{}", std::process::id()))
}
