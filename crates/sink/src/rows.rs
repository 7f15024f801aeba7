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
    /// Face tracks found (null when face analysis is off or nothing was analysed).
    pub faces: Option<u32>,
    /// Analysed frames with at least one face.
    pub frames_with_face: Option<u64>,
    /// Probability of manipulation: the aggregate of its face scores (see `docs/schema.md`);
    /// null when no face was scored.
    pub score: Option<f64>,
    /// `authentic`, `suspicious`, `manipulated`, `no_face` or `error`.
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
    /// The face this row describes; `None` for an analysed frame without a face.
    pub face: Option<FaceFields>,
    /// Probability of manipulation of this face (null on a row without a face).
    pub score: Option<f64>,
    /// `authentic`, `suspicious` or `manipulated` on a face row, `no_face` otherwise.
    pub verdict: Option<String>,
    /// For a `suspicious` or `manipulated` face: the features that drove its score.
    pub reasons: Option<Vec<String>>,
    /// Evidence overlay of this face (PNG, path relative to the dataset root), when written.
    pub evidence: Option<String>,
}

impl FrameRow {
    /// The value of a numeric scalar `frames` column of this row, by column name; `None` for
    /// null, or for a column that is not a numeric scalar.
    pub fn numeric(&self, column: &str) -> Option<f64> {
        let f = self.face.as_ref();
        match column {
            "frame_index" => Some(self.frame_index as f64),
            "time_s" => self.time_s,
            "width" => Some(self.width as f64),
            "height" => Some(self.height as f64),
            "hf_fraction" => self.hf_fraction,
            "spectral_slope" => self.spectral_slope,
            "peak_prominence" => self.peak_prominence,
            "peak_fx" => self.peak_fx,
            "peak_fy" => self.peak_fy,
            "noise_level" => self.noise_level,
            "face_index" => f.map(|f| f.face_index as f64),
            "track_id" => f.map(|f| f.track_id as f64),
            "det_score" => f.map(|f| f.det_score),
            "box_x" => f.map(|f| f.box_x),
            "box_y" => f.map(|f| f.box_y),
            "box_w" => f.map(|f| f.box_w),
            "box_h" => f.map(|f| f.box_h),
            "align_angle" => f.map(|f| f.align_angle),
            "crop_outside" => f.map(|f| f.crop_outside),
            "face_hf_fraction" => f.and_then(|f| f.hf_fraction),
            "face_spectral_slope" => f.and_then(|f| f.spectral_slope),
            "face_peak_prominence" => f.and_then(|f| f.peak_prominence),
            "face_noise_level" => f.and_then(|f| f.noise_level),
            "hf_face" => f.and_then(|f| f.hf_face),
            "hf_context" => f.and_then(|f| f.hf_context),
            "hf_log_ratio" => f.and_then(|f| f.hf_log_ratio),
            "noise_face" => f.and_then(|f| f.noise_face),
            "noise_context" => f.and_then(|f| f.noise_context),
            "noise_log_ratio" => f.and_then(|f| f.noise_log_ratio),
            "boundary_ring" => f.and_then(|f| f.boundary_ring),
            "boundary_elsewhere" => f.and_then(|f| f.boundary_elsewhere),
            "boundary_log_ratio" => f.and_then(|f| f.boundary_log_ratio),
            "lab_delta_e" => f.and_then(|f| f.lab_delta_e),
            "jitter_boundary" => f.and_then(|f| f.jitter_boundary),
            "jitter_slope" => f.and_then(|f| f.jitter_slope),
            "jitter_hf" => f.and_then(|f| f.jitter_hf),
            "jitter_frames" => f.map(|f| f.jitter_frames as f64),
            "appearance_logit" => f.and_then(|f| f.appearance_logit),
            "score" => self.score,
            _ => {
                // An element of a list column: `radial_noise[3]`.
                let (base, rest) = column.split_once('[')?;
                let k: usize = rest.strip_suffix(']')?.parse().ok()?;
                let list = match base {
                    "radial_hf" => f?.radial_hf.as_ref(),
                    "radial_noise" => f?.radial_noise.as_ref(),
                    "radial_boundary" => f?.radial_boundary.as_ref(),
                    "radial_delta_e" => f?.radial_delta_e.as_ref(),
                    _ => None,
                }?;
                list.get(k).map(|v| *v as f64)
            }
        }
    }
}

/// The face columns of a `frames` row (see `docs/schema.md` for units and definitions).
#[derive(Debug, Clone, Default, PartialEq)]
pub struct FaceFields {
    /// 0-based index of the face in its frame, best detection first.
    pub face_index: u32,
    /// Track of the face within the video (0-based, in order of first appearance).
    pub track_id: u32,
    /// Whether the box comes from the detector on this frame (false: carried from the last
    /// detected frame when a preset detects every k-th frame).
    pub detected: bool,
    /// Detector confidence.
    pub det_score: f64,
    /// Box left, pixels of the displayed frame.
    pub box_x: f64,
    /// Box top.
    pub box_y: f64,
    /// Box width.
    pub box_w: f64,
    /// Box height.
    pub box_h: f64,
    /// Five landmarks, x, y pairs (10 values).
    pub landmarks: Vec<f32>,
    /// Eye-line angle the crop was levelled by, degrees.
    pub align_angle: f64,
    /// Fraction of the crop outside the frame (edge-replicated).
    pub crop_outside: f64,
    /// Spectral features of the aligned crop: high-frequency fraction.
    pub hf_fraction: Option<f64>,
    /// Spectral decay slope of the crop.
    pub spectral_slope: Option<f64>,
    /// Strongest off-axis peak prominence of the crop.
    pub peak_prominence: Option<f64>,
    /// Noise residual level of the crop.
    pub noise_level: Option<f64>,
    /// Mean squared residual inside the face.
    pub hf_face: Option<f64>,
    /// Mean squared residual in the context ring.
    pub hf_context: Option<f64>,
    /// ln((hf_face + 1) / (hf_context + 1)).
    pub hf_log_ratio: Option<f64>,
    /// Median local noise std inside the face.
    pub noise_face: Option<f64>,
    /// Median local noise std in the context ring.
    pub noise_context: Option<f64>,
    /// ln((noise_face + 0.5) / (noise_context + 0.5)).
    pub noise_log_ratio: Option<f64>,
    /// Mean boundary-map value on the face boundary band.
    pub boundary_ring: Option<f64>,
    /// Mean boundary-map value elsewhere in the crop.
    pub boundary_elsewhere: Option<f64>,
    /// ln((boundary_ring + 0.05) / (boundary_elsewhere + 0.05)).
    pub boundary_log_ratio: Option<f64>,
    /// Mean Lab just inside the boundary (3 values).
    pub lab_inner: Option<Vec<f32>>,
    /// Mean Lab just outside the boundary (3 values).
    pub lab_outer: Option<Vec<f32>>,
    /// CIE76 difference of the two.
    pub lab_delta_e: Option<f64>,
    /// Radial profile of the squared noise residual, 9 rings (see `docs/features.md`).
    pub radial_hf: Option<Vec<f32>>,
    /// Radial profile of the local noise std, 9 rings.
    pub radial_noise: Option<Vec<f32>>,
    /// Radial profile of the blending-boundary map, 9 rings.
    pub radial_boundary: Option<Vec<f32>>,
    /// Colour difference between consecutive rings, 8 values.
    pub radial_delta_e: Option<Vec<f32>>,
    /// Std of `boundary_log_ratio` over the track's last frames (the temporal window).
    pub jitter_boundary: Option<f64>,
    /// Std of the crop's `spectral_slope` over the window.
    pub jitter_slope: Option<f64>,
    /// Std of `hf_log_ratio` over the window.
    pub jitter_hf: Option<f64>,
    /// Rows of this track in the window (including this one).
    pub jitter_frames: u32,
    /// The appearance network's value for this face (higher: more likely manipulated; not
    /// centred at even odds); `None` with the network off or when the landmarks fix no alignment.
    pub appearance_logit: Option<f64>,
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
    /// Classifier name (empty when faces are off and nothing is scored).
    pub model: String,
    /// SHA-256 of the classifier's weights file.
    pub model_sha256: String,
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
        c.opt_u32("faces", r.iter().map(|x| x.faces));
        c.opt_u64("frames_with_face", r.iter().map(|x| x.frames_with_face));
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
        face_columns(&mut c, r);
        c.opt_f64("score", r.iter().map(|x| x.score));
        c.opt_utf8("verdict", r.iter().map(|x| x.verdict.as_deref()));
        c.opt_list_utf8("reasons", r.iter().map(|x| x.reasons.as_deref()));
        c.opt_utf8("evidence", r.iter().map(|x| x.evidence.as_deref()));
        c.finish()
    }
}

/// The face columns, null on rows without a face.
fn face_columns(c: &mut Columns, r: &[FrameRow]) {
    fn f(x: &FrameRow) -> Option<&FaceFields> {
        x.face.as_ref()
    }
    c.opt_u32("face_index", r.iter().map(|x| f(x).map(|f| f.face_index)));
    c.opt_u32("track_id", r.iter().map(|x| f(x).map(|f| f.track_id)));
    c.opt_bool("face_detected", r.iter().map(|x| f(x).map(|f| f.detected)));
    c.opt_f64("det_score", r.iter().map(|x| f(x).map(|f| f.det_score)));
    c.opt_f64("box_x", r.iter().map(|x| f(x).map(|f| f.box_x)));
    c.opt_f64("box_y", r.iter().map(|x| f(x).map(|f| f.box_y)));
    c.opt_f64("box_w", r.iter().map(|x| f(x).map(|f| f.box_w)));
    c.opt_f64("box_h", r.iter().map(|x| f(x).map(|f| f.box_h)));
    c.list_f32(
        "landmarks",
        r.iter().map(|x| f(x).map(|f| f.landmarks.as_slice())),
    );
    c.opt_f64("align_angle", r.iter().map(|x| f(x).map(|f| f.align_angle)));
    c.opt_f64(
        "crop_outside",
        r.iter().map(|x| f(x).map(|f| f.crop_outside)),
    );
    let opt = |c: &mut Columns, name: &str, get: fn(&FaceFields) -> Option<f64>| {
        c.opt_f64(name, r.iter().map(|x| f(x).and_then(get)));
    };
    opt(c, "face_hf_fraction", |f| f.hf_fraction);
    opt(c, "face_spectral_slope", |f| f.spectral_slope);
    opt(c, "face_peak_prominence", |f| f.peak_prominence);
    opt(c, "face_noise_level", |f| f.noise_level);
    opt(c, "hf_face", |f| f.hf_face);
    opt(c, "hf_context", |f| f.hf_context);
    opt(c, "hf_log_ratio", |f| f.hf_log_ratio);
    opt(c, "noise_face", |f| f.noise_face);
    opt(c, "noise_context", |f| f.noise_context);
    opt(c, "noise_log_ratio", |f| f.noise_log_ratio);
    opt(c, "boundary_ring", |f| f.boundary_ring);
    opt(c, "boundary_elsewhere", |f| f.boundary_elsewhere);
    opt(c, "boundary_log_ratio", |f| f.boundary_log_ratio);
    c.list_f32(
        "lab_inner",
        r.iter().map(|x| f(x).and_then(|f| f.lab_inner.as_deref())),
    );
    c.list_f32(
        "lab_outer",
        r.iter().map(|x| f(x).and_then(|f| f.lab_outer.as_deref())),
    );
    opt(c, "lab_delta_e", |f| f.lab_delta_e);
    for (name, get) in [
        (
            "radial_hf",
            (|f: &FaceFields| f.radial_hf.as_deref()) as fn(&FaceFields) -> Option<&[f32]>,
        ),
        ("radial_noise", |f| f.radial_noise.as_deref()),
        ("radial_boundary", |f| f.radial_boundary.as_deref()),
        ("radial_delta_e", |f| f.radial_delta_e.as_deref()),
    ] {
        c.list_f32(name, r.iter().map(|x| f(x).and_then(get)));
    }
    opt(c, "jitter_boundary", |f| f.jitter_boundary);
    opt(c, "jitter_slope", |f| f.jitter_slope);
    opt(c, "jitter_hf", |f| f.jitter_hf);
    c.opt_u32(
        "jitter_frames",
        r.iter().map(|x| f(x).map(|f| f.jitter_frames)),
    );
    opt(c, "appearance_logit", |f| f.appearance_logit);
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
        c.utf8("model", r.iter().map(|x| x.model.as_str()));
        c.utf8("model_sha256", r.iter().map(|x| x.model_sha256.as_str()));
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
