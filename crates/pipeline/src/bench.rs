//! `seamscan bench`: on the same files in one run, decode-only throughput against the full
//! pipeline on the CPU path and on the GPU path (when an adapter exists), with the same
//! parallelism, plus the GPU's bytes moved and time per shader.
//!
//! `--device cpu` leaves the GPU passes out. A signal (SIGINT, SIGTERM) ends the bench
//! between frames, in whichever pass it is, with [`BenchError::Interrupted`].

use std::path::PathBuf;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Instant;

use crate::config::DeviceChoice;
use crate::inputs::InputPlan;
use crate::scan::{ScanError, ScanOptions, scan};
use crate::system::{available_cores, peak_rss_bytes};

/// One full-pipeline pass.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct PathReport {
    /// Where the analysis ran.
    pub device: String,
    /// Frames analysed.
    pub frames: u64,
    /// Seconds.
    pub seconds: f64,
    /// Frames per second.
    pub fps: f64,
    /// `fps` over decode-only frames per second.
    pub ratio_to_decode: f64,
}

/// GPU specifics of the GPU pass.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct GpuFigures {
    /// Batches dispatched.
    pub batches: u64,
    /// Bytes uploaded per analysed frame.
    pub bytes_up_per_frame: f64,
    /// Bytes read back per analysed frame.
    pub bytes_down_per_frame: f64,
    /// GPU time per frame for each shader, microseconds (timestamp queries), if supported.
    pub shader_us_per_frame: Option<Vec<(String, f64)>>,
    /// GPU pass frames/s over CPU pass frames/s.
    pub speedup_over_cpu: f64,
}

/// The face detector alone on the bench's frames (decoding not counted).
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct DetectorReport {
    /// Backend, e.g. `burn flex (cpu)`.
    pub backend: String,
    /// Frames detected on.
    pub frames: u64,
    /// Seconds spent in the detector.
    pub seconds: f64,
    /// Frames per second.
    pub fps: f64,
    /// Frames per detector call.
    pub batch: usize,
}

/// The signal that interrupted the run, or 0.
fn signal(options: &ScanOptions) -> usize {
    options.interrupt.load(Ordering::Relaxed)
}

/// Why a bench did not finish.
#[derive(Debug, thiserror::Error)]
pub enum BenchError {
    /// A full-pipeline pass failed.
    #[error(transparent)]
    Scan(#[from] ScanError),
    /// A signal stopped the bench; the number is the signal's.
    #[error("interrupted by signal {0}")]
    Interrupted(usize),
}

/// Runs the detector over every sampled frame of `files`, one file at a time, in batches;
/// only detector time is counted. Stops early (the caller checks the interrupt) on a signal.
fn detector_pass(
    files: &[crate::inputs::InputFile],
    options: &ScanOptions,
    detector: &seamscan_faces::Detector,
    backend: &str,
) -> DetectorReport {
    let batch = options.config.faces.batch;
    let decode = seamscan_decode::DecodeOptions {
        sampling: options.config.sampling(),
        rgb: true,
        threads: 0,
    };
    let (mut frames, mut seconds) = (0u64, 0f64);
    let interrupted = || signal(options) != 0;
    for f in files {
        if interrupted() {
            break;
        }
        let Ok(mut reader) = seamscan_decode::VideoReader::open(&f.path, decode.clone()) else {
            continue;
        };
        let mut pending = Vec::new();
        loop {
            let next = reader.next_frame().ok().flatten();
            let end = next.is_none();
            if let Some(fr) = next {
                pending.push(fr);
            }
            if pending.len() >= batch || (end && !pending.is_empty()) {
                let views: Vec<seamscan_faces::RgbView<'_>> = pending
                    .iter()
                    .filter_map(|fr| {
                        seamscan_faces::RgbView::new(fr.rgb.as_deref()?, fr.width, fr.height)
                    })
                    .collect();
                let t = Instant::now();
                if detector.detect(&views).is_ok() {
                    seconds += t.elapsed().as_secs_f64();
                    frames += views.len() as u64;
                }
                pending.clear();
            }
            if end || interrupted() {
                break;
            }
        }
    }
    DetectorReport {
        backend: backend.into(),
        frames,
        seconds,
        fps: frames as f64 / seconds.max(1e-9),
        batch,
    }
}

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
    /// The full pipeline on the CPU path.
    pub cpu: PathReport,
    /// The full pipeline on the GPU path, if an adapter exists.
    pub gpu: Option<PathReport>,
    /// GPU figures, if the GPU pass ran.
    pub gpu_figures: Option<GpuFigures>,
    /// Why there is no GPU pass.
    pub gpu_unavailable: Option<String>,
    /// The face detector alone on burn's CPU backend (when faces are on).
    pub detector_cpu: Option<DetectorReport>,
    /// The face detector alone on burn's wgpu backend (when faces are on and a GPU exists).
    pub detector_gpu: Option<DetectorReport>,
    /// Peak resident memory of the process after all passes, bytes.
    pub peak_rss_bytes: Option<u64>,
}

/// Runs the passes over `plan`; the full-pipeline passes write into `options.out/cpu` and
/// `options.out/gpu`. With the device set to `cpu` (`--device cpu` or the preset), the GPU
/// passes are not run and `gpu_unavailable` says so.
pub fn bench(plan: &InputPlan, options: &ScanOptions) -> Result<BenchReport, BenchError> {
    let interrupted = || match signal(options) {
        0 => Ok(()),
        signal => Err(BenchError::Interrupted(signal)),
    };
    let cpu_only = options.config.run.device == DeviceChoice::Cpu;
    let files = &plan.files;
    let cores = available_cores();
    let jobs = if options.config.run.jobs == 0 {
        cores
    } else {
        options.config.run.jobs
    };
    let jobs = jobs.min(files.len()).max(1);
    let threads = (cores / jobs).max(1);

    // With `max_frames`, decode only as far as the pipeline will (frame-step sampling).
    let sampling = options.config.sampling();
    let limit = match (sampling.max_frames, sampling.fps) {
        (Some(n), None) => Some(n * sampling.every),
        _ => None,
    };
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
                    let stop = || signal(options) != 0;
                    match seamscan_decode::decode_only(&f.path, threads, limit, &stop) {
                        Ok(k) => n += k,
                        Err(e) => tracing::warn!(path = %f.path.display(), error = %e, "decode-only failed"),
                    }
                }
                *total.lock().unwrap_or_else(|p| p.into_inner()) += n;
            });
        }
    });
    interrupted()?;
    let decode_seconds = t0.elapsed().as_secs_f64();
    let decode_frames = *total.lock().unwrap_or_else(|p| p.into_inner());
    let decode_fps = decode_frames as f64 / decode_seconds.max(1e-9);

    let pass = |device: DeviceChoice, dir: &str| {
        let mut o = options.clone();
        o.out = options.out.join(dir);
        o.config.run.device = device;
        let t = Instant::now();
        let summary = scan(plan, &o)?;
        let seconds = t.elapsed().as_secs_f64();
        let fps = summary.frames_analyzed as f64 / seconds.max(1e-9);
        let report = PathReport {
            device: summary.device.clone(),
            frames: summary.frames_analyzed,
            seconds,
            fps,
            ratio_to_decode: fps / decode_fps.max(1e-9),
        };
        Ok::<_, ScanError>((report, summary))
    };
    let (cpu, _) = pass(DeviceChoice::Cpu, "cpu")?;
    interrupted()?;
    let gpu_pass = if cpu_only {
        None
    } else {
        Some(pass(DeviceChoice::Gpu, "gpu"))
    };
    interrupted()?;
    let (gpu, gpu_figures, gpu_unavailable) = match gpu_pass {
        None => (
            None,
            None,
            Some("the device is cpu (--device or the preset)".to_string()),
        ),
        Some(Ok((report, summary))) => {
            let figures = summary.gpu.map(|g| {
                let frames = g.gpu_frames.max(1) as f64;
                GpuFigures {
                    batches: g.batches,
                    bytes_up_per_frame: g.bytes_up as f64 / frames,
                    bytes_down_per_frame: g.bytes_down as f64 / frames,
                    shader_us_per_frame: g.shader_ns.map(|ns| {
                        seamscan_gpu::SHADERS
                            .iter()
                            .zip(ns)
                            .map(|(name, t)| (name.to_string(), t / frames / 1000.0))
                            .collect()
                    }),
                    speedup_over_cpu: report.fps / cpu.fps.max(1e-9),
                }
            });
            (Some(report), figures, None)
        }
        Some(Err(ScanError::Config(e))) => (None, None, Some(e.to_string())),
        Some(Err(e)) => return Err(e.into()),
    };
    let (mut detector_cpu, mut detector_gpu) = (None, None);
    if options.config.faces.enabled {
        let config = options.config.faces.detector();
        let cpu = seamscan_faces::Detector::cpu(config.clone());
        detector_cpu = Some(detector_pass(files, options, &cpu, "burn flex (cpu)"));
        interrupted()?;
        if !cpu_only {
            match seamscan_faces::Detector::gpu(config, true) {
                Ok(gpu) => detector_gpu = Some(detector_pass(files, options, &gpu, "burn wgpu")),
                Err(e) => tracing::info!(reason = %e, "bench: no GPU for the face detector"),
            }
            interrupted()?;
        }
    }
    Ok(BenchReport {
        detector_cpu,
        detector_gpu,
        files: files.len(),
        jobs,
        decode_frames,
        decode_seconds,
        decode_fps,
        cpu,
        gpu,
        gpu_figures,
        gpu_unavailable,
        peak_rss_bytes: peak_rss_bytes(),
    })
}

/// Where `bench` writes its throw-away datasets when no `-o` is given.
pub fn default_bench_out() -> PathBuf {
    std::env::temp_dir().join(format!("seamscan-bench-{}", std::process::id()))
}
