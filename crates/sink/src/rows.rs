//! One struct per table row, and its conversion to an Arrow record batch.

use arrow_array::RecordBatch;

use crate::columns::Columns;

/// One row of `videos`: one input file of one run, whatever happened to it.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct VideoRow {
    /// Run that wrote the row.
    pub run_id: String,
    /// Input path as given or found, as UTF-8 (invalid bytes replaced by U+FFFD).
    pub path: String,
    /// The exact path bytes (for paths that are not valid UTF-8).
    pub path_bytes: Vec<u8>,
    /// SHA-256 of the file's bytes, lowercase hex; null if the file could not be read.
    pub sha256: Option<String>,
    /// File size in bytes.
    pub size_bytes: Option<u64>,
    /// Modification time, microseconds since the Unix epoch (UTC).
    pub modified_at_us: Option<i64>,
    /// FFmpeg container format name.
    pub container: Option<String>,
    /// FFmpeg video codec name.
    pub codec: Option<String>,
    /// Decoded pixel format.
    pub pixel_format: Option<String>,
    /// Displayed width in pixels (after rotation).
    pub width: Option<u32>,
    /// Displayed height in pixels (after rotation).
    pub height: Option<u32>,
    /// Display rotation applied, degrees clockwise.
    pub rotation: Option<u32>,
    /// Declared average frame rate.
    pub fps: Option<f64>,
    /// Declared duration in seconds.
    pub duration_s: Option<f64>,
    /// Frame count the container declares.
    pub frames_declared: Option<u64>,
    /// Frames the decoder produced.
    pub frames_decoded: u64,
    /// Frames analysed (written to `frames`).
    pub frames_analyzed: u64,
    /// Packets or frames the decoder rejected.
    pub decode_errors: u64,
    /// `ok`, `no_video`, `unreadable`, `unsupported` or `error`.
    pub status: String,
    /// What went wrong, when status is not `ok` (or a warning when it is).
    pub error: Option<String>,
    /// Probability of manipulation (null until a model scores it).
    pub score: Option<f64>,
    /// Verdict (null until a model scores it).
    pub verdict: Option<String>,
    /// Wall-clock seconds spent on the file.
    pub elapsed_s: f64,
}

/// One row of `frames`: one analysed frame.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FrameRow {
    /// Run that wrote the row.
    pub run_id: String,
    /// Input path, as in `videos.path`.
    pub path: String,
    /// SHA-256 of the input file.
    pub sha256: String,
    /// 0-based index among the decoded frames, presentation order.
    pub frame_index: u64,
    /// Presentation timestamp in stream time-base units.
    pub pts: Option<i64>,
    /// Presentation time in seconds.
    pub time_s: Option<f64>,
    /// Analysed width in pixels.
    pub width: u32,
    /// Analysed height in pixels.
    pub height: u32,
    /// Side of the spectral tiles.
    pub tile_size: u32,
    /// Number of tiles averaged.
    pub tiles: u32,
    /// High-frequency energy fraction.
    pub hf_fraction: Option<f64>,
    /// Spectral decay slope.
    pub spectral_slope: Option<f64>,
    /// Strongest off-axis peak prominence (log10).
    pub peak_prominence: Option<f64>,
    /// Peak horizontal frequency, cycles/pixel.
    pub peak_fx: Option<f64>,
    /// Peak vertical frequency, cycles/pixel.
    pub peak_fy: Option<f64>,
    /// Noise residual standard deviation.
    pub noise_level: Option<f64>,
    /// Azimuthally averaged log10 power spectrum.
    pub spectrum: Option<Vec<f32>>,
    /// Probability of manipulation (null until a model scores it).
    pub score: Option<f64>,
    /// Verdict (null until a model scores it).
    pub verdict: Option<String>,
}

/// One row of `runs`: one invocation.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RunRow {
    /// Unique id of the run (UUID v4); also in every part file name it wrote.
    pub run_id: String,
    /// Start, microseconds since the Unix epoch (UTC).
    pub started_at_us: i64,
    /// End, microseconds since the Unix epoch (UTC).
    pub finished_at_us: i64,
    /// seamscan version.
    pub tool_version: String,
    /// Git commit the binary was built from (`unknown` outside a checkout).
    pub git_commit: String,
    /// FFmpeg library version used.
    pub ffmpeg_version: String,
    /// Host name.
    pub hostname: String,
    /// The full command line.
    pub argv: Vec<String>,
    /// Effective pipeline config (preset + flags), TOML.
    pub config_toml: String,
    /// SHA-256 of `config_toml`.
    pub config_sha256: String,
    /// Analysis device, e.g. `cpu (2 threads)`.
    pub device: String,
    /// Input files in the run.
    pub inputs: u64,
    /// Files with status `ok`.
    pub files_ok: u64,
    /// Files with any other status.
    pub files_failed: u64,
    /// Directory entries skipped as not video (by content).
    pub files_skipped: u64,
    /// Planned files skipped because the dataset already held them unchanged.
    pub files_already_done: u64,
    /// Frames analysed in the run.
    pub frames_analyzed: u64,
    /// Peak resident memory of the process, bytes.
    pub peak_rss_bytes: Option<u64>,
    /// Exit code of the run.
    pub exit_code: i32,
}

/// A table's row type.
pub trait Row: Sized {
    /// Converts rows to a record batch.
    fn batch(rows: &[Self]) -> RecordBatch;
}

impl Row for VideoRow {
    fn batch(rows: &[Self]) -> RecordBatch {
        let r = rows;
        let mut c = Columns::default();
        c.utf8("run_id", r.iter().map(|x| x.run_id.as_str()));
        c.utf8("path", r.iter().map(|x| x.path.as_str()));
        c.binary("path_bytes", r.iter().map(|x| x.path_bytes.as_slice()));
        c.opt_utf8("sha256", r.iter().map(|x| x.sha256.as_deref()));
        c.opt_u64("size_bytes", r.iter().map(|x| x.size_bytes));
        c.opt_timestamp("modified_at", r.iter().map(|x| x.modified_at_us));
        c.opt_utf8("container", r.iter().map(|x| x.container.as_deref()));
        c.opt_utf8("codec", r.iter().map(|x| x.codec.as_deref()));
        c.opt_utf8("pixel_format", r.iter().map(|x| x.pixel_format.as_deref()));
        c.opt_u32("width", r.iter().map(|x| x.width));
        c.opt_u32("height", r.iter().map(|x| x.height));
        c.opt_u32("rotation", r.iter().map(|x| x.rotation));
        c.opt_f64("fps", r.iter().map(|x| x.fps));
        c.opt_f64("duration_s", r.iter().map(|x| x.duration_s));
        c.opt_u64("frames_declared", r.iter().map(|x| x.frames_declared));
        c.u64("frames_decoded", r.iter().map(|x| x.frames_decoded));
        c.u64("frames_analyzed", r.iter().map(|x| x.frames_analyzed));
        c.u64("decode_errors", r.iter().map(|x| x.decode_errors));
        c.utf8("status", r.iter().map(|x| x.status.as_str()));
        c.opt_utf8("error", r.iter().map(|x| x.error.as_deref()));
        c.opt_f64("score", r.iter().map(|x| x.score));
        c.opt_utf8("verdict", r.iter().map(|x| x.verdict.as_deref()));
        c.f64("elapsed_s", r.iter().map(|x| x.elapsed_s));
        c.finish()
    }
}

impl Row for FrameRow {
    fn batch(rows: &[Self]) -> RecordBatch {
        let r = rows;
        let mut c = Columns::default();
        c.utf8("run_id", r.iter().map(|x| x.run_id.as_str()));
        c.utf8("path", r.iter().map(|x| x.path.as_str()));
        c.utf8("sha256", r.iter().map(|x| x.sha256.as_str()));
        c.u64("frame_index", r.iter().map(|x| x.frame_index));
        c.opt_i64("pts", r.iter().map(|x| x.pts));
        c.opt_f64("time_s", r.iter().map(|x| x.time_s));
        c.u32("width", r.iter().map(|x| x.width));
        c.u32("height", r.iter().map(|x| x.height));
        c.u32("tile_size", r.iter().map(|x| x.tile_size));
        c.u32("tiles", r.iter().map(|x| x.tiles));
        c.opt_f64("hf_fraction", r.iter().map(|x| x.hf_fraction));
        c.opt_f64("spectral_slope", r.iter().map(|x| x.spectral_slope));
        c.opt_f64("peak_prominence", r.iter().map(|x| x.peak_prominence));
        c.opt_f64("peak_fx", r.iter().map(|x| x.peak_fx));
        c.opt_f64("peak_fy", r.iter().map(|x| x.peak_fy));
        c.opt_f64("noise_level", r.iter().map(|x| x.noise_level));
        c.list_f32("spectrum", r.iter().map(|x| x.spectrum.as_deref()));
        c.opt_f64("score", r.iter().map(|x| x.score));
        c.opt_utf8("verdict", r.iter().map(|x| x.verdict.as_deref()));
        c.finish()
    }
}

impl Row for RunRow {
    fn batch(rows: &[Self]) -> RecordBatch {
        let r = rows;
        let mut c = Columns::default();
        c.utf8("run_id", r.iter().map(|x| x.run_id.as_str()));
        c.timestamp("started_at", r.iter().map(|x| x.started_at_us));
        c.timestamp("finished_at", r.iter().map(|x| x.finished_at_us));
        c.utf8("tool_version", r.iter().map(|x| x.tool_version.as_str()));
        c.utf8("git_commit", r.iter().map(|x| x.git_commit.as_str()));
        c.utf8(
            "ffmpeg_version",
            r.iter().map(|x| x.ffmpeg_version.as_str()),
        );
        c.utf8("hostname", r.iter().map(|x| x.hostname.as_str()));
        c.list_utf8("argv", r.iter().map(|x| x.argv.as_slice()));
        c.utf8("config_toml", r.iter().map(|x| x.config_toml.as_str()));
        c.utf8("config_sha256", r.iter().map(|x| x.config_sha256.as_str()));
        c.utf8("device", r.iter().map(|x| x.device.as_str()));
        c.u64("inputs", r.iter().map(|x| x.inputs));
        c.u64("files_ok", r.iter().map(|x| x.files_ok));
        c.u64("files_failed", r.iter().map(|x| x.files_failed));
        c.u64("files_skipped", r.iter().map(|x| x.files_skipped));
        c.u64("files_already_done", r.iter().map(|x| x.files_already_done));
        c.u64("frames_analyzed", r.iter().map(|x| x.frames_analyzed));
        c.opt_u64("peak_rss_bytes", r.iter().map(|x| x.peak_rss_bytes));
        c.i32("exit_code", r.iter().map(|x| x.exit_code));
        c.finish()
    }
}

/// A column's name, Arrow type (as Arrow prints it, e.g. `List(Float32)`) and nullability.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ColumnInfo {
    /// Column name.
    pub name: String,
    /// Arrow data type.
    pub data_type: String,
    /// Whether the column may be null.
    pub nullable: bool,
}

fn describe(batch: RecordBatch) -> Vec<ColumnInfo> {
    batch
        .schema()
        .fields()
        .iter()
        .map(|f| ColumnInfo {
            name: f.name().clone(),
            data_type: f.data_type().to_string(),
            nullable: f.is_nullable(),
        })
        .collect()
}

/// The columns of `table`, in file order.
pub fn columns(table: crate::Table) -> Vec<ColumnInfo> {
    match table {
        crate::Table::Videos => describe(VideoRow::batch(&[])),
        crate::Table::Frames => describe(FrameRow::batch(&[])),
        crate::Table::Runs => describe(RunRow::batch(&[])),
    }
}
