//! The `seamscan` command line: parses arguments, builds the pipeline config (preset, then
//! flags), runs the pipeline and maps the outcome to an exit code. Nothing else lives here.

#![deny(missing_docs)]

use std::io::IsTerminal;
use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::AtomicUsize;

use clap::{Args, Parser, Subcommand, ValueEnum};
use seamscan_pipeline::progress::LogWriter;
use seamscan_pipeline::{
    DeviceChoice, InputPlan, PipelineConfig, ScanOptions, Shard, load_manifest, plan_inputs,
};

/// Exit code: every input analysed.
pub const EXIT_OK: i32 = 0;
/// Exit code: the run finished but at least one input could not be analysed.
pub const EXIT_SOME_FAILED: i32 = 1;
/// Exit code: bad command line or pipeline config; nothing was scanned.
pub const EXIT_USAGE: i32 = 2;
/// Exit code: the output could not be written (disk full, permissions) or an internal error.
pub const EXIT_FATAL: i32 = 3;

/// Finds face-swap manipulation in video evidence and writes per-frame features to Parquet.
#[derive(Parser, Debug)]
#[command(name = "seamscan", version, about, long_about = None)]
struct Cli {
    #[command(subcommand)]
    command: Command,
    /// Log format on stderr: `text` (human) or `json` (one object per line, for schedulers).
    #[arg(long, value_enum, default_value_t = LogFormat::Text, global = true)]
    log_format: LogFormat,
    /// Log level: error, warn, info, debug or trace (RUST_LOG overrides).
    #[arg(long, default_value = "info", global = true)]
    log_level: String,
    /// Never draw a progress bar, even on a terminal.
    #[arg(long, global = true)]
    no_progress: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum LogFormat {
    Text,
    Json,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Scan video files and directories into a Parquet dataset (OUT/videos, OUT/frames, OUT/runs).
    Scan(ScanArgs),
    /// Measure decode-only, CPU-path and GPU-path throughput on the same files (`--device cpu`:
    /// no GPU passes; SIGINT/SIGTERM stop it at once, exit 130/143).
    Bench(BenchArgs),
    /// Plan a sharded run: write a Parquet manifest of the inputs with a shard per file.
    Plan(PlanArgs),
    /// Make labelled forgeries (self-blended faces, cross-identity swaps) from real face
    /// videos, re-encoded like the real ones, with ground-truth masks and labels.csv.
    Synth(SynthArgs),
    /// Train the classifier on scanned datasets of labelled clips (labels join on SHA-256).
    Train(TrainArgs),
    /// Measure a scanned dataset's scores against labels: AUC, EER, AP, detection rate at 1 %
    /// false alarms, confusion matrix, ROC.
    Eval(EvalArgs),
    /// Write a static HTML report of a dataset: provenance, videos by score, score-over-time
    /// plots, evidence overlays and reasons for the flagged videos.
    Report(ReportArgs),
}

#[derive(Args, Debug)]
struct ReportArgs {
    /// The scanned dataset.
    out: PathBuf,
    /// Where the report goes (index.html and img/).
    #[arg(long, short = 'o', value_name = "REPORT_DIR")]
    report: PathBuf,
    /// Evidence images per flagged video (its highest-scoring faces).
    #[arg(long, value_name = "N", default_value_t = 3)]
    top: usize,
    /// The model whose thresholds the plots draw, if not the shipped one.
    #[arg(long, value_name = "JSON")]
    model: Option<PathBuf>,
}

#[derive(Args, Debug)]
struct SynthArgs {
    /// Real face videos.
    #[arg(required = true)]
    real: Vec<PathBuf>,
    /// Output directory (clips/, masks/, labels.csv, synth.json).
    #[arg(long, short = 'o', value_name = "DIR")]
    out: PathBuf,
    /// Seed of every random choice (same seed, same inputs: same clips).
    #[arg(long, default_value_t = 0)]
    seed: u64,
    /// Frames per clip, from the first frame with a face.
    #[arg(long, value_name = "N", default_value_t = 48)]
    max_frames: usize,
    /// Keep every N-th decoded frame of the real clips.
    #[arg(long, value_name = "N", default_value_t = 1)]
    every: u64,
    /// x264 CRF values (comma-separated): real clips at each, forgeries at one of them.
    #[arg(long, value_delimiter = ',', default_values_t = [18u32, 23, 28, 35])]
    crf: Vec<u32>,
    /// Self-blended forgeries per real clip.
    #[arg(long, value_name = "N", default_value_t = 4)]
    self_blends: usize,
    /// Cross-identity swaps per real clip (donors: the other inputs).
    #[arg(long, value_name = "N", default_value_t = 3)]
    swaps: usize,
    /// Chance (0–1) that a clip, real or forged, is degraded as a whole before forging
    /// (resampled, blurred, sharpened, noised or re-toned: other cameras), so that a model
    /// trained on the clips cannot score a face by its overall quality. 0: none.
    #[arg(long, value_name = "P", default_value_t = 0.0)]
    degrade: f64,
    /// How forged faces are put into the frames: `alpha` (through the soft mask), `poisson`
    /// (gradient-domain "seamless cloning") or `multiband` (band by band, Burt & Adelson). The
    /// random draws are the same, so a seed gives the same forgeries blended each way
    /// (docs/model.md says which the shipped model trained on).
    #[arg(long, value_enum, default_value = "alpha")]
    blending: BlendingArg,
    /// Make each forgery of a black-and-white frame black and white too, so that colour from
    /// the perturbation or a donor cannot give it away (its label's detail says "kept grey").
    /// Colour frames and every random draw are the same with or without it.
    #[arg(long)]
    keep_grey: bool,
}

/// `--blending` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum BlendingArg {
    Alpha,
    Poisson,
    Multiband,
}

#[derive(Args, Debug)]
struct TrainArgs {
    /// Scanned datasets (`seamscan scan` outputs) of the labelled clips.
    #[arg(required = true)]
    data: Vec<PathBuf>,
    /// Labels CSV files (`labels.csv` of `seamscan synth`, or any with `sha256,label`).
    #[arg(long, required = true, value_name = "CSV")]
    labels: Vec<PathBuf>,
    /// Where the model goes (classifier.json, classifier.safetensors, classifier.md).
    #[arg(long, short = 'o', value_name = "DIR", default_value = "models")]
    out: PathBuf,
    /// Seed of initialisation, shuffling and the automatic split.
    #[arg(long, default_value_t = 1)]
    seed: u64,
    /// Source clips held out for validation (early stopping, threshold calibration);
    /// default: a seeded quarter of them.
    #[arg(long = "validation-source", value_name = "NAME")]
    validation_sources: Vec<String>,
    /// Maximum epochs.
    #[arg(long, default_value_t = 300)]
    epochs: usize,
    /// Stop after this many epochs without a better validation loss.
    #[arg(long, default_value_t = 30)]
    patience: usize,
    /// Rows per training step.
    #[arg(long, default_value_t = 256)]
    batch: usize,
    /// Hidden layer widths (comma-separated).
    #[arg(long, value_delimiter = ',', default_values_t = [32usize, 16])]
    hidden: Vec<usize>,
    /// Side of the crop input a convolutional trunk reads (`seamscan_model::crop_input`:
    /// luma, residual energy and chroma maps of the aligned face); 0, the default: no trunk,
    /// features only. The shipped model uses 64 (`scripts/train-model.sh`, docs/model.md).
    #[arg(long, default_value_t = 0)]
    crop_size: usize,
    /// Widths of the trunk's 3×3 convolutions (comma-separated; the first at stride 1, the
    /// others at stride 2).
    #[arg(long, value_delimiter = ',', default_values_t = [16usize, 32, 64, 64, 96])]
    conv: Vec<usize>,
    /// A sentence on the data, for the model card.
    #[arg(long, default_value = "")]
    data_note: String,
    /// The features the model uses beside the crop: `all`, `none`, `scalar` (the scalar
    /// columns only) or comma-separated column names (`radial_noise[3]` for a list element).
    #[arg(long, value_delimiter = ',', default_value = "all")]
    features: Vec<String>,
    /// AdamW weight decay.
    #[arg(long, default_value_t = 1e-4)]
    weight_decay: f64,
    /// AdamW learning rate.
    #[arg(long, default_value_t = 2e-3)]
    learning_rate: f64,
    /// Train also on a fresh self-blended forgery of each real training face every epoch
    /// (needs `--features none`: the forged crops have no features).
    #[arg(long)]
    fresh_self_blends: bool,
    /// Train an ensemble of this many members: the sources are split into as many seeded
    /// groups, each member is validated on one group and trained on the rest, and the
    /// thresholds come from every source's out-of-fold scores (instead of
    /// `--validation-source`). 1, the default: one network.
    #[arg(long, default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=64))]
    folds: u16,
    /// Above 0: give the trunk a mask head trained to draw where each face was blended (the
    /// ground-truth masks `synth` writes beside the labels), its loss weighted by this beside
    /// the label's. Needs `--crop-size` and at least 3 convolutions.
    #[arg(long, default_value_t = 0.0)]
    mask_weight: f64,
    /// What the mask head draws: `region` (the blended area) or `boundary` (where the face is
    /// a mix of two images, `4m(1-m)`: the blending boundary, Face X-ray style).
    #[arg(long, value_enum, default_value = "region")]
    mask_target: MaskTargetArg,
    /// Above 0: add this times the variance of the real faces' logits in each batch to the
    /// loss, so that real faces of every training person score alike (against the
    /// per-person offset `eval` shows as `in-src` above `AUC`).
    #[arg(long, default_value_t = 0.0, value_name = "W")]
    real_spread: f64,
    /// Give the crop input a fifth channel: the residual energy of a crop 2.6 times the face
    /// box around the face (hair, neck, background), so the trunk can read the face's detail
    /// against the camera's (`seamscan_model::context_input`). Needs `--crop-size`.
    #[arg(long)]
    context: bool,
    /// Members of an ensemble trained at once, one per thread (default: one per core). Used
    /// where every member's random draws are known beforehand (no `--fresh-self-blends`, and
    /// `--epochs` at most `--patience` + 1, as the shipped recipe); the weights are the same
    /// for any value.
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
}

/// `--mask-target` values.
#[derive(clap::ValueEnum, Clone, Copy, Debug)]
enum MaskTargetArg {
    Region,
    Boundary,
}

#[derive(Args, Debug)]
struct EvalArgs {
    /// Labels CSV (`sha256,label`, optional `source` and other columns).
    #[arg(long, required = true, value_name = "CSV")]
    labels: PathBuf,
    /// The scanned, scored dataset.
    out: PathBuf,
    /// Where metrics.parquet, roc.parquet, scores.parquet (every scored face row and video)
    /// and roc.svg go (default OUT/eval).
    #[arg(long, value_name = "DIR")]
    report: Option<PathBuf>,
    /// Also break the metrics down by these labels columns (e.g. `crf`, `method`).
    #[arg(long, value_delimiter = ',', value_name = "COLUMN")]
    by: Vec<String>,
    /// The model whose thresholds define the confusion matrix (default: the shipped one;
    /// with `--score stacked`, the stack's thresholds do, over this model's scores). Without
    /// `--rescore` it must be the model that scored the dataset (`runs.model_sha256`).
    #[arg(long, value_name = "JSON")]
    model: Option<PathBuf>,
    /// Score the dataset's face rows again with the model (from their stored features, and
    /// for a model that reads pixels from crops cut again from the clips, which must be where
    /// the scan found them) instead of using the scores the scan wrote: compares models on
    /// one scan.
    #[arg(long)]
    rescore: bool,
    /// Resamples of the labels' sources (people) for the 95 % interval of each AUC (fixed
    /// seed, so reruns print the same interval); 0 turns the interval off.
    #[arg(long, default_value_t = seamscan_pipeline::learn::EvalOptions::default().bootstrap, value_name = "N")]
    bootstrap: usize,
    /// Also score the face rows with this model (needs `--rescore`) and give, per AUC, its
    /// AUC and the gain over it with a paired 95 % interval over sources: whether the model
    /// beats the baseline on the same people.
    #[arg(long, value_name = "JSON", requires = "rescore")]
    baseline: Option<PathBuf>,
    /// Score each face row by the members of a `train --folds` ensemble that never trained
    /// on its source (needs `--rescore`; the baseline's rows too): the model measured on its
    /// own training people, as its card's validation figures are.
    #[arg(long, requires = "rescore")]
    out_of_fold: bool,
    /// What the score is: `classifier`, or `stacked` (the classifier and the appearance
    /// network through `models/stack.json`): the stack's thresholds define the confusion
    /// matrix, and with `--rescore` each face row's score is stacked from its stored
    /// `appearance_logit` (compare with `--baseline models/classifier.json`). Without
    /// `--rescore`, it must name what scored the dataset (`runs.model_sha256`). Default:
    /// what scored the dataset without `--rescore` (`stacked` when a run's
    /// `model_sha256` is the shipped stack card's), `classifier` with it.
    #[arg(long, value_enum, value_name = "SCORE")]
    score: Option<ScoreArg>,
}

/// `--score`: what a face row's score is (`[model] score`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum ScoreArg {
    Classifier,
    Stacked,
}

impl From<ScoreArg> for seamscan_pipeline::config::ScoreKind {
    fn from(s: ScoreArg) -> Self {
        match s {
            ScoreArg::Classifier => Self::Classifier,
            ScoreArg::Stacked => Self::Stacked,
        }
    }
}

/// The inputs of `scan`, `bench` and `plan`.
#[derive(Args, Debug)]
struct InputArgs {
    /// Video files and directories (walked recursively; non-video files skipped by content).
    paths: Vec<PathBuf>,
    /// A file listing the inputs: a Parquet manifest from `seamscan plan`, or text with one
    /// path per line (`#` starts a comment line).
    #[arg(long, value_name = "FILE")]
    manifest: Option<PathBuf>,
    /// Process only shard I of N (0-based): the files whose path hashes to I (as planned by
    /// `seamscan plan --shards N`). For Slurm arrays and Kubernetes Indexed Jobs.
    #[arg(long, value_name = "I/N")]
    shard: Option<Shard>,
}

/// Inputs and pipeline settings shared by `scan` and `bench`.
#[derive(Args, Debug)]
struct Common {
    #[command(flatten)]
    inputs: InputArgs,
    /// Pipeline preset (TOML, see pipelines/); the flags below override it.
    #[arg(long, value_name = "FILE")]
    pipeline: Option<PathBuf>,
    /// Analyse every N-th decoded frame.
    #[arg(long, value_name = "N", conflicts_with = "fps")]
    every: Option<u64>,
    /// Analyse about F frames per second of video (works on variable frame rate).
    #[arg(long, value_name = "F")]
    fps: Option<f64>,
    /// Analyse at most N frames per file.
    #[arg(long, value_name = "N")]
    max_frames: Option<u64>,
    /// Files processed at once (default: one per core).
    #[arg(long, short = 'j', value_name = "N")]
    jobs: Option<usize>,
    /// Where the analysis runs: `auto` (a hardware GPU if present, else the CPU), `gpu` (any
    /// wgpu adapter, software ones included; an error if none), or `cpu`.
    #[arg(long, value_enum, value_name = "DEVICE")]
    device: Option<DeviceArg>,
    /// Frames gathered from all files into one GPU dispatch per shader.
    #[arg(long, value_name = "N")]
    batch: Option<usize>,
    /// Seconds between commits of finished files (at most this much work is redone after a
    /// kill).
    #[arg(long, value_name = "SECS")]
    commit_seconds: Option<f64>,
    /// Kill a file's decoder process after this many seconds without progress and mark the
    /// file `error` (decoding runs in worker processes, so a crash costs one file).
    #[arg(long, value_name = "SECS")]
    file_timeout: Option<f64>,
    /// Classifier description (`.json`, weights beside it as `.safetensors`) instead of the
    /// model shipped in the binary (other weights than the shipped ones need `--score
    /// classifier`: the stack was fitted on the shipped classifier).
    #[arg(long, value_name = "JSON")]
    model: Option<PathBuf>,
    /// What `score` is: `stacked` (the default), the classifier and the appearance network
    /// combined by `models/stack.json` with its own thresholds, or `classifier`, the
    /// classifier's probability alone (`[model] score`; docs/model.md measures both).
    #[arg(long, value_enum, value_name = "SCORE")]
    score: Option<ScoreArg>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
enum DeviceArg {
    Auto,
    Gpu,
    Cpu,
}

impl From<DeviceArg> for DeviceChoice {
    fn from(d: DeviceArg) -> Self {
        match d {
            DeviceArg::Auto => DeviceChoice::Auto,
            DeviceArg::Gpu => DeviceChoice::Gpu,
            DeviceArg::Cpu => DeviceChoice::Cpu,
        }
    }
}

#[derive(Args, Debug)]
struct ScanArgs {
    #[command(flatten)]
    common: Common,
    /// Output dataset directory (created if missing; runs add part files to it). Files the
    /// dataset already holds unchanged (same path, size and mtime, or same SHA-256) are
    /// skipped, so a killed or nightly run with the same OUT does only what is left.
    #[arg(long, short = 'o', value_name = "OUT")]
    out: PathBuf,
    /// Analyse every file again, even those the dataset already holds.
    #[arg(long)]
    force: bool,
    /// Write an evidence overlay PNG (frame with the face box, aligned crop with the
    /// blending-boundary heat map) for every face scoring at least the model's `suspicious`
    /// threshold, to OUT/evidence/; `frames.evidence` names it.
    #[arg(long)]
    evidence: bool,
    /// With --evidence: the score threshold instead of the model's.
    #[arg(long, value_name = "SCORE", requires = "evidence")]
    evidence_min_score: Option<f64>,
}

#[derive(Args, Debug)]
struct PlanArgs {
    #[command(flatten)]
    inputs: InputArgs,
    /// Where to write the manifest (Parquet).
    #[arg(long, short = 'o', value_name = "MANIFEST")]
    out: PathBuf,
    /// Number of shards.
    #[arg(long, value_name = "N", default_value_t = 1)]
    shards: u32,
}

#[derive(Args, Debug)]
struct BenchArgs {
    #[command(flatten)]
    common: Common,
    /// Where the full-pipeline pass writes its dataset (default: a temporary directory, removed).
    #[arg(long, short = 'o', value_name = "OUT")]
    out: Option<PathBuf>,
    /// Print the report as JSON on stdout.
    #[arg(long)]
    json: bool,
}

/// Runs the command line and returns the process exit code.
pub fn main() -> i32 {
    // A decode worker process started by a scan (crash isolation): no CLI, no logging.
    if std::env::args_os().nth(1).as_deref()
        == Some(std::ffi::OsStr::new(
            seamscan_pipeline::isolation::WORKER_ARG,
        ))
    {
        return seamscan_pipeline::isolation::worker_main();
    }
    private_runtime_dir();
    seamscan_pipeline::system::return_large_buffers_to_the_os();
    let cli = match Cli::try_parse() {
        Ok(c) => c,
        Err(e) => {
            let code = if e.use_stderr() { EXIT_USAGE } else { EXIT_OK };
            let _ = e.print();
            return code;
        }
    };
    init_logging(cli.log_format, &cli.log_level);
    let show_bar =
        !cli.no_progress && cli.log_format == LogFormat::Text && std::io::stderr().is_terminal();
    let argv: Vec<String> = std::env::args_os()
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    match cli.command {
        Command::Scan(args) => run_scan(args, argv, show_bar, cli.log_format),
        Command::Bench(args) => run_bench(args, argv, show_bar),
        Command::Plan(args) => run_plan(args),
        Command::Synth(args) => run_synth(args),
        Command::Train(args) => run_train(args),
        Command::Eval(args) => run_eval(args),
        Command::Report(args) => run_report(args),
    }
    .unwrap_or_else(|(code, e)| {
        tracing::error!("{e:#}");
        code
    })
}

/// Mesa's Vulkan drivers complain on stderr when `XDG_RUNTIME_DIR` is unset (cron, Slurm,
/// containers); give them a private one.
fn private_runtime_dir() {
    if std::env::var_os("XDG_RUNTIME_DIR").is_some() {
        return;
    }
    use std::os::unix::fs::{DirBuilderExt, MetadataExt};
    let uid = std::fs::metadata("/proc/self")
        .map(|m| m.uid())
        .unwrap_or(0);
    let dir = std::env::temp_dir().join(format!("seamscan-runtime-{uid}"));
    let _ = std::fs::DirBuilder::new().mode(0o700).create(&dir);
    if std::fs::metadata(&dir).is_ok_and(|m| m.is_dir() && m.uid() == uid) {
        // SAFETY: called first thing in `main`, before any other thread exists.
        unsafe { std::env::set_var("XDG_RUNTIME_DIR", &dir) };
    }
}

type Failure = (i32, anyhow::Error);

fn usage(e: impl Into<anyhow::Error>) -> Failure {
    (EXIT_USAGE, e.into())
}

fn init_logging(format: LogFormat, level: &str) {
    // wgpu and naga log adapter probing as errors on machines without a GPU: keep them out of
    // an operator's log unless RUST_LOG asks for them.
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .or_else(|_| {
            tracing_subscriber::EnvFilter::try_new(format!(
                "{level},wgpu=off,wgpu_core=off,wgpu_hal=off,naga=off"
            ))
        })
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_target(false);
    let _ = match format {
        LogFormat::Json => builder.json().with_writer(std::io::stderr).try_init(),
        LogFormat::Text => builder
            .with_ansi(std::io::stderr().is_terminal())
            .with_writer(|| LogWriter)
            .try_init(),
    };
}

/// The preset (or defaults) with the flags applied on top.
fn build_config(c: &Common) -> Result<PipelineConfig, Failure> {
    let mut config = match &c.pipeline {
        Some(p) => PipelineConfig::from_file(p).map_err(usage)?,
        None => PipelineConfig::default(),
    };
    if let Some(n) = c.every {
        config.sampling.every = n;
        config.sampling.fps = 0.0;
    }
    if let Some(f) = c.fps {
        config.sampling.fps = f;
    }
    if let Some(n) = c.max_frames {
        config.sampling.max_frames = n;
    }
    if let Some(j) = c.jobs {
        config.run.jobs = j;
    }
    if let Some(d) = c.device {
        config.run.device = d.into();
    }
    if let Some(b) = c.batch {
        config.run.batch_frames = b;
    }
    if let Some(t) = c.commit_seconds {
        config.run.commit_seconds = t;
    }
    if let Some(t) = c.file_timeout {
        config.run.file_timeout_seconds = t;
    }
    if let Some(m) = &c.model {
        config.model.path = m.to_string_lossy().into_owned();
    }
    if let Some(s) = c.score {
        config.model.score = s.into();
    }
    config.validate().map_err(usage)?;
    Ok(config)
}

fn plan(c: &InputArgs) -> Result<InputPlan, Failure> {
    let mut paths = c.paths.clone();
    if let Some(m) = &c.manifest {
        let (listed, shards) = load_manifest(m)
            .map_err(|e| usage(anyhow::anyhow!("cannot read manifest {}: {e}", m.display())))?;
        if let (Some(planned), Some(shard)) = (shards, c.shard)
            && planned != shard.count
        {
            return Err(usage(anyhow::anyhow!(
                "--shard {}/{}: the manifest {} was planned for {planned} shards",
                shard.index,
                shard.count,
                m.display()
            )));
        }
        paths.extend(listed);
    }
    if paths.is_empty() {
        return Err(usage(anyhow::anyhow!(
            "no inputs: give files, directories or --manifest FILE"
        )));
    }
    let mut plan = plan_inputs(&paths);
    if let Some(shard) = c.shard {
        plan.retain_shard(shard);
    }
    Ok(plan)
}

fn run_plan(args: PlanArgs) -> Result<i32, Failure> {
    if args.shards == 0 {
        return Err(usage(anyhow::anyhow!("--shards must be at least 1")));
    }
    let plan = plan(&args.inputs)?;
    for w in &plan.warnings {
        tracing::warn!("{w}");
    }
    let rows = plan.manifest(args.shards);
    seamscan_sink::write_manifest(&args.out, &rows).map_err(|e| (EXIT_FATAL, e.into()))?;
    let mut per_shard = vec![0u64; args.shards as usize];
    for r in &rows {
        per_shard[r.shard as usize] += 1;
    }
    println!(
        "{} files in {} shards {:?} -> {}",
        rows.len(),
        args.shards,
        per_shard,
        args.out.display()
    );
    Ok(EXIT_OK)
}

fn options(
    out: PathBuf,
    config: PipelineConfig,
    argv: Vec<String>,
    show_progress: bool,
    force: bool,
) -> Result<ScanOptions, Failure> {
    // SIGINT and SIGTERM stop the run cleanly: finished files are committed, exit 130 / 143.
    let interrupt = Arc::new(AtomicUsize::new(0));
    for signal in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register_usize(signal, interrupt.clone(), signal as usize).map_err(
            |e| {
                (
                    EXIT_FATAL,
                    anyhow::anyhow!("cannot handle signal {signal}: {e}"),
                )
            },
        )?;
    }
    Ok(ScanOptions {
        out,
        config,
        argv,
        tool_version: env!("CARGO_PKG_VERSION").to_string(),
        git_commit: env!("SEAMSCAN_GIT_COMMIT").to_string(),
        show_progress,
        force,
        interrupt,
    })
}

fn run_scan(
    args: ScanArgs,
    argv: Vec<String>,
    show_bar: bool,
    format: LogFormat,
) -> Result<i32, Failure> {
    let mut config = build_config(&args.common)?;
    if args.evidence {
        config.evidence.enabled = true;
    }
    if let Some(t) = args.evidence_min_score {
        config.evidence.min_score = t;
    }
    let plan = plan(&args.common.inputs)?;
    let summary = seamscan_pipeline::scan(
        &plan,
        &options(args.out.clone(), config, argv, show_bar, args.force)?,
    )
    .map_err(|e| match e {
        seamscan_pipeline::scan::ScanError::Config(c) => usage(c),
        other => (EXIT_FATAL, other.into()),
    })?;
    let line = serde_json::json!({
        "run_id": summary.run_id,
        "inputs": summary.inputs,
        "ok": summary.files_ok,
        "failed": summary.files_failed,
        "frames": summary.frames_analyzed,
        "out": args.out.display().to_string(),
        "exit_code": summary.exit_code,
    });
    if format == LogFormat::Json {
        println!("{line}");
    } else {
        println!(
            "run {}: {} files ({} ok, {} not analysed), {} frames -> {}",
            summary.run_id,
            summary.inputs,
            summary.files_ok,
            summary.files_failed,
            summary.frames_analyzed,
            args.out.display()
        );
    }
    Ok(summary.exit_code)
}

fn run_bench(args: BenchArgs, argv: Vec<String>, show_bar: bool) -> Result<i32, Failure> {
    let config = build_config(&args.common)?;
    let plan = plan(&args.common.inputs)?;
    if plan.files.is_empty() {
        return Err(usage(anyhow::anyhow!("no video files to benchmark")));
    }
    let (out, temporary) = match args.out {
        Some(o) => (o, false),
        None => (seamscan_pipeline::bench::default_bench_out(), true),
    };
    let report = seamscan_pipeline::bench::bench(
        &plan,
        &options(out.clone(), config, argv, show_bar, true)?,
    );
    if temporary {
        let _ = std::fs::remove_dir_all(&out);
    }
    let report = match report {
        Ok(r) => r,
        Err(seamscan_pipeline::bench::BenchError::Interrupted(signal)) => {
            tracing::warn!(signal, "bench interrupted: no figures");
            return Ok(128 + signal as i32);
        }
        Err(e) => return Err((EXIT_FATAL, e.into())),
    };
    if args.json {
        println!(
            "{}",
            serde_json::to_string_pretty(&report).map_err(|e| (EXIT_FATAL, e.into()))?
        );
    } else {
        println!("files            {}", report.files);
        println!("jobs             {}", report.jobs);
        println!(
            "decode-only      {} frames in {:.2} s = {:.1} frames/s",
            report.decode_frames, report.decode_seconds, report.decode_fps
        );
        let path = |name: &str, p: &seamscan_pipeline::bench::PathReport| {
            println!(
                "{name:<16} {} frames in {:.2} s = {:.1} frames/s, {:.3}x decode-only  [{}]",
                p.frames, p.seconds, p.fps, p.ratio_to_decode, p.device
            );
        };
        path("cpu path", &report.cpu);
        match (&report.gpu, &report.gpu_unavailable) {
            (Some(g), _) => path("gpu path", g),
            (None, Some(why)) => println!("gpu path         not run: {why}"),
            (None, None) => {}
        }
        if let Some(g) = &report.gpu_figures {
            println!("gpu vs cpu       {:.3}x", g.speedup_over_cpu);
            println!(
                "gpu transfers    {:.0} B up, {:.0} B down per frame ({} batches)",
                g.bytes_up_per_frame, g.bytes_down_per_frame, g.batches
            );
            match &g.shader_us_per_frame {
                Some(shaders) => {
                    for (name, us) in shaders {
                        println!("gpu time         {name:<16} {us:>10.1} µs/frame");
                    }
                }
                None => println!("gpu time         adapter has no timestamp queries"),
            }
        }
        for d in [&report.detector_cpu, &report.detector_gpu]
            .into_iter()
            .flatten()
        {
            println!(
                "face detector    {} frames in {:.2} s = {:.1} frames/s, batches of {}  [{}]",
                d.frames, d.seconds, d.fps, d.batch, d.backend
            );
        }
        if let Some(rss) = report.peak_rss_bytes {
            println!("peak RSS         {:.1} MiB", rss as f64 / (1024.0 * 1024.0));
        }
    }
    Ok(EXIT_OK)
}

fn run_synth(args: SynthArgs) -> Result<i32, Failure> {
    let options = seamscan_synth::SynthOptions {
        seed: args.seed,
        max_frames: args.max_frames.max(1),
        every: args.every.max(1),
        crfs: args.crf.clone(),
        self_blends: args.self_blends,
        swaps: args.swaps,
        degrade: args.degrade,
        blending: match args.blending {
            BlendingArg::Alpha => seamscan_synth::forge::Blending::Alpha,
            BlendingArg::Poisson => seamscan_synth::forge::Blending::Poisson,
            BlendingArg::Multiband => seamscan_synth::forge::Blending::Multiband,
        },
        keep_grey: args.keep_grey,
        ..seamscan_synth::SynthOptions::default()
    };
    if options.crfs.is_empty() || options.crfs.iter().any(|c| *c > 51) {
        return Err(usage(anyhow::anyhow!("--crf values must be 0..=51")));
    }
    if !(0.0..=1.0).contains(&options.degrade) {
        return Err(usage(anyhow::anyhow!("--degrade must be between 0 and 1")));
    }
    let rows =
        seamscan_synth::synthesize(&args.real, &args.out, &options).map_err(|e| match e {
            seamscan_synth::SynthError::Input(_) => usage(e),
            other => (EXIT_FATAL, other.into()),
        })?;
    let forged = rows.iter().filter(|r| r.label == 1).count();
    println!(
        "{} clips ({} real, {} forged) -> {}",
        rows.len(),
        rows.len() - forged,
        forged,
        args.out.join("labels.csv").display()
    );
    Ok(EXIT_OK)
}

fn run_train(args: TrainArgs) -> Result<i32, Failure> {
    use seamscan_pipeline::learn;
    // Flag combinations are checked before hours of reading clips.
    if !(args.mask_weight.is_finite() && args.mask_weight >= 0.0) {
        return Err(usage(anyhow::anyhow!("--mask-weight must be 0 or more")));
    }
    if !(args.real_spread.is_finite() && args.real_spread >= 0.0) {
        return Err(usage(anyhow::anyhow!("--real-spread must be 0 or more")));
    }
    if args.context && args.crop_size == 0 {
        return Err(usage(anyhow::anyhow!("--context needs --crop-size")));
    }
    if args.context && args.fresh_self_blends {
        return Err(usage(anyhow::anyhow!(
            "--context cannot be used with --fresh-self-blends (fresh forgeries have no context crop)"
        )));
    }
    if args.mask_weight > 0.0 && (args.crop_size == 0 || args.conv.len() < 3) {
        return Err(usage(anyhow::anyhow!(
            "--mask-weight needs --crop-size and at least 3 --conv widths"
        )));
    }
    if args.fresh_self_blends && (args.crop_size == 0 || args.features != ["none"]) {
        return Err(usage(anyhow::anyhow!(
            "--fresh-self-blends needs --crop-size and --features none (fresh crops have no features)"
        )));
    }
    let mut labels = learn::Labels::new();
    for l in &args.labels {
        labels.extend(learn::read_labels(l).map_err(usage)?);
    }
    let config = seamscan_model::train::TrainConfig {
        seed: args.seed,
        hidden: args.hidden.clone(),
        crop_size: args.crop_size,
        conv: if args.crop_size > 0 {
            args.conv.clone()
        } else {
            Vec::new()
        },
        epochs: args.epochs,
        patience: args.patience,
        batch: args.batch,
        fresh_self_blends: args.fresh_self_blends,
        folds: args.folds.into(),
        mask_weight: args.mask_weight,
        real_spread: args.real_spread,
        context: args.context,
        jobs: args.jobs.unwrap_or(0),
        mask_target: match args.mask_target {
            MaskTargetArg::Region => seamscan_model::MaskTarget::Region,
            MaskTargetArg::Boundary => seamscan_model::MaskTarget::Boundary,
        },
        validation_sources: args.validation_sources.clone(),
        weight_decay: args.weight_decay,
        learning_rate: args.learning_rate,
        features: match args.features.iter().map(String::as_str).collect::<Vec<_>>()[..] {
            ["all"] => None,
            ["none"] => Some(Vec::new()),
            ["scalar"] => Some(
                seamscan_model::SCALAR_FEATURES
                    .iter()
                    .map(|s| s.to_string())
                    .collect(),
            ),
            _ => Some(args.features.clone()),
        },
        ..Default::default()
    };
    let trained = learn::train(&args.data, &labels, &config, &args.out, &args.data_note)
        .map_err(|e| (EXIT_FATAL, e.into()))?;
    let v = &trained.card.training["validation"];
    println!(
        "validation: frame AUC {} video AUC {}; thresholds {:?}",
        v["frame_auc"], v["video_auc"], trained.card.thresholds
    );
    println!(
        "weights SHA-256 {} -> {}",
        trained.card.weights_sha256,
        args.out.display()
    );
    Ok(EXIT_OK)
}

fn run_eval(args: EvalArgs) -> Result<i32, Failure> {
    use seamscan_pipeline::learn;
    let labels = learn::read_labels(&args.labels).map_err(usage)?;
    let model = match &args.model {
        Some(p) => seamscan_model::Classifier::load(p),
        None => seamscan_model::Classifier::embedded(),
    }
    .map_err(usage)?;
    let baseline = args
        .baseline
        .as_ref()
        .map(|p| seamscan_model::Classifier::load(p))
        .transpose()
        .map_err(usage)?;
    for m in std::iter::once(&model).chain(&baseline) {
        if args.out_of_fold && m.fold_sources().is_empty() {
            return Err(usage(anyhow::anyhow!(
                "--out-of-fold needs a model trained with --folds; {} has no folds",
                m.card().name
            )));
        }
    }
    let score = match args.score {
        Some(s) => s,
        None if args.rescore => ScoreArg::Classifier,
        None if learn::scored_by_shipped_stack(&args.out)
            .map_err(|e| (EXIT_FATAL, e.into()))? =>
        {
            ScoreArg::Stacked
        }
        None => ScoreArg::Classifier,
    };
    let stack = match score {
        ScoreArg::Classifier => None,
        ScoreArg::Stacked => {
            Some(seamscan_model::Stack::embedded().map_err(|e| (EXIT_FATAL, e.into()))?)
        }
    };
    let dir = args.report.clone().unwrap_or_else(|| args.out.join("eval"));
    let options = learn::EvalOptions {
        breakdown: args.by.clone(),
        rescore: args.rescore,
        bootstrap: args.bootstrap,
        baseline: baseline.as_ref(),
        out_of_fold: args.out_of_fold,
        stack: stack.as_ref(),
    };
    let report = learn::eval(&args.out, &labels, &model, &options, &dir).map_err(|e| match e {
        learn::LearnError::Options(_) => usage(e),
        e => (EXIT_FATAL, e.into()),
    })?;
    let f = |v: Option<f64>| v.map_or("  n/a".to_string(), |v| format!("{v:.3}"));
    let interval = |v: Option<(f64, f64)>| {
        v.map_or("      n/a    ".to_string(), |(a, b)| {
            format!("[{a:.3}, {b:.3}]")
        })
    };
    println!(
        "{:<6} {:<24} {:>6} {:>5} {:>4} {:>6} {:>14} {:>7} {:>6} {:>6} {:>7}  confusion at threshold (tp fp tn fn)",
        "level",
        "subset",
        "n",
        "pos",
        "src",
        "AUC",
        "95% (sources)",
        "in-src",
        "EER",
        "AP",
        "TPR@1%"
    );
    for m in &report.metrics {
        let c = &m.confusion;
        // "{lead}baseline B, gain G [lo, hi]" of one metric, when there is a baseline.
        let versus =
            |lead: &str, ours: Option<f64>, base: Option<f64>, interval: Option<(f64, f64)>| {
                let (Some(a), Some(b)) = (ours, base) else {
                    return String::new();
                };
                let interval = interval.map_or("".into(), |(l, h)| format!(" [{l:+.3}, {h:+.3}]"));
                format!("{lead}baseline {b:.3}, gain {:+.3}{interval}", a - b)
            };
        let gain = versus("  ", m.auc, m.auc_baseline, m.auc_gain_interval);
        let tpr_gain = versus(
            "; TPR@1% ",
            m.tpr_at_low_fpr,
            m.tpr_at_low_fpr_baseline,
            m.tpr_at_low_fpr_gain_interval,
        );
        println!(
            "{:<6} {:<24} {:>6} {:>5} {:>4} {:>6} {:>14} {:>7} {:>6} {:>6} {:>7}  {:.3}: {} {} {} {}{gain}{tpr_gain}",
            m.level,
            m.subset,
            m.n,
            m.positives,
            m.sources,
            f(m.auc),
            interval(m.auc_interval),
            f(m.auc_within_source),
            f(m.eer),
            f(m.ap),
            f(m.tpr_at_low_fpr),
            m.threshold,
            c.true_positive,
            c.false_positive,
            c.true_negative,
            c.false_negative
        );
    }
    for (status, n) in &report.unscored_videos {
        println!("unscored videos: {n} with status {status}");
    }
    for p in &report.written {
        println!("wrote {}", p.display());
    }
    Ok(EXIT_OK)
}

fn run_report(args: ReportArgs) -> Result<i32, Failure> {
    let model = match &args.model {
        Some(p) => seamscan_model::Classifier::load(p),
        None => seamscan_model::Classifier::embedded(),
    }
    .map_err(usage)?;
    let summary =
        seamscan_pipeline::report::report(&args.out, &args.report, &model, args.top.max(1))
            .map_err(|e| match e {
                seamscan_pipeline::report::ReportError::Dataset(..) => usage(e),
                other => (EXIT_FATAL, other.into()),
            })?;
    for m in &summary.missing_images {
        tracing::warn!("no evidence image: {m}");
    }
    println!(
        "{} videos ({} suspicious or manipulated), {} evidence images -> {}",
        summary.videos,
        summary.flagged,
        summary.images,
        summary.index.display()
    );
    Ok(EXIT_OK)
}
