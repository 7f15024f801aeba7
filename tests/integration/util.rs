//! Shared helpers: temp dirs, running the binary, generating clips, reading tables back.

#![allow(dead_code)]

use std::collections::BTreeMap;
use std::fs::File;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use arrow_array::{Array, RecordBatch, cast::AsArray, types::*};
use arrow_schema::DataType;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

/// The repository root.
pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

/// The real sample clips; the test fails (never skips) when they are missing.
pub fn samples() -> PathBuf {
    let dir = repo().join("samples");
    assert!(
        dir.join("carphone_pristine.mp4").exists(),
        "sample clips missing: run scripts/fetch-samples.sh (scripts/test.sh does)"
    );
    dir
}

/// Runs `seamscan ARGS`.
pub fn seamscan(args: &[&std::ffi::OsStr]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_seamscan"))
        .args(args)
        .env_remove("RUST_LOG")
        .output()
        .expect("the seamscan binary runs")
}

/// `OsStr` views of string arguments.
#[macro_export]
macro_rules! args {
    ($($a:expr),* $(,)?) => { &[$(std::ffi::OsStr::new(&$a)),*] };
}

/// Runs `seamscan` and asserts it exits 0 (showing its stderr if not).
pub fn seamscan_ok(args: &[&std::ffi::OsStr]) -> Output {
    let r = seamscan(args);
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    r
}

/// Runs a command that must succeed and returns its stdout.
pub fn run_ok(cmd: &mut Command) -> String {
    let out = cmd.output().unwrap_or_else(|e| panic!("{cmd:?}: {e}"));
    assert!(
        out.status.success(),
        "{cmd:?} failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// Generates a clip with the `ffmpeg` CLI from a lavfi source: `ffmpeg -f lavfi -i SRC ARGS.. out`.
pub fn ffmpeg_gen(out: &Path, source: &str, args: &[&str]) -> PathBuf {
    run_ok(
        Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-f", "lavfi", "-i", source])
            .args(args)
            .arg(out),
    );
    out.to_path_buf()
}

/// An H.264 (yuv420p) clip of `seconds` from a lavfi `source`, with `extra` output options.
pub fn h264_from(out: &Path, source: &str, seconds: u32, extra: &[&str]) -> PathBuf {
    let t = seconds.to_string();
    let mut args = vec![
        "-t",
        t.as_str(),
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
    ];
    args.extend_from_slice(extra);
    ffmpeg_gen(out, source, &args)
}

/// A short H.264 test-pattern clip in mp4.
pub fn h264_clip(dir: &Path, name: &str, seconds: u32) -> PathBuf {
    h264_from(
        &dir.join(name),
        "testsrc2=size=320x240:rate=25",
        seconds,
        &[],
    )
}

/// `ffprobe -v error -select_streams v:0 ARGS -of csv=p=0 PATH`, its stdout.
fn ffprobe(path: &Path, args: &[&str]) -> String {
    run_ok(
        Command::new("ffprobe")
            .args(["-v", "error", "-select_streams", "v:0"])
            .args(args)
            .args(["-of", "csv=p=0"])
            .arg(path),
    )
}

/// Frames `ffprobe -count_frames` reads from the first video stream.
pub fn ffprobe_frames(path: &Path) -> u64 {
    let s = ffprobe(
        path,
        &["-count_frames", "-show_entries", "stream=nb_read_frames"],
    );
    // Side data (a display matrix) adds empty fields after the count.
    let first = s
        .split(|c: char| c == ',' || c.is_whitespace())
        .next()
        .unwrap_or("");
    first
        .parse()
        .unwrap_or_else(|_| panic!("ffprobe said {s:?} for {}", path.display()))
}

/// Per-frame best-effort timestamps from ffprobe, in decode output order.
pub fn ffprobe_pts(path: &Path) -> Vec<i64> {
    let s = ffprobe(path, &["-show_entries", "frame=best_effort_timestamp"]);
    s.lines()
        .filter_map(|l| l.split(',').next())
        .filter(|l| !l.trim().is_empty())
        .map(|l| {
            l.trim()
                .parse()
                .unwrap_or_else(|_| panic!("ffprobe pts {l:?}"))
        })
        .collect()
}

/// `sha256sum FILE`.
pub fn sha256sum(path: &Path) -> String {
    let s = run_ok(Command::new("sha256sum").arg(path));
    s.split_whitespace().next().unwrap().to_string()
}

/// Bytes' digest and mtime of every file, to prove evidence is untouched.
pub fn fingerprint(paths: &[PathBuf]) -> Vec<(PathBuf, String, std::time::SystemTime)> {
    paths
        .iter()
        .filter(|p| p.is_file())
        .map(|p| {
            (
                p.clone(),
                sha256sum(p),
                std::fs::metadata(p).unwrap().modified().unwrap(),
            )
        })
        .collect()
}

/// A cell of a table read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Null,
    Str(String),
    Bytes(Vec<u8>),
    Int(i64),
    UInt(u64),
    Float(f64),
    Bool(bool),
    List(Vec<Value>),
}

impl Value {
    pub fn str(&self) -> Option<&str> {
        match self {
            Value::Str(s) => Some(s),
            _ => None,
        }
    }
    pub fn u64(&self) -> Option<u64> {
        match self {
            Value::UInt(v) => Some(*v),
            Value::Int(v) => u64::try_from(*v).ok(),
            _ => None,
        }
    }
    pub fn i64(&self) -> Option<i64> {
        match self {
            Value::Int(v) => Some(*v),
            Value::UInt(v) => i64::try_from(*v).ok(),
            _ => None,
        }
    }
    pub fn f64(&self) -> Option<f64> {
        match self {
            Value::Float(v) => Some(*v),
            _ => None,
        }
    }
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }
}

/// One row: column name to value.
pub type Row = BTreeMap<String, Value>;

fn cell(a: &dyn Array, i: usize) -> Value {
    if a.is_null(i) {
        return Value::Null;
    }
    match a.data_type() {
        DataType::Utf8 => Value::Str(a.as_string::<i32>().value(i).to_string()),
        DataType::Binary => Value::Bytes(a.as_binary::<i32>().value(i).to_vec()),
        DataType::UInt32 => Value::UInt(a.as_primitive::<UInt32Type>().value(i) as u64),
        DataType::UInt64 => Value::UInt(a.as_primitive::<UInt64Type>().value(i)),
        DataType::Int32 => Value::Int(a.as_primitive::<Int32Type>().value(i) as i64),
        DataType::Int64 => Value::Int(a.as_primitive::<Int64Type>().value(i)),
        DataType::Float32 => Value::Float(a.as_primitive::<Float32Type>().value(i) as f64),
        DataType::Float64 => Value::Float(a.as_primitive::<Float64Type>().value(i)),
        DataType::Boolean => Value::Bool(a.as_boolean().value(i)),
        DataType::Timestamp(_, _) => {
            Value::Int(a.as_primitive::<TimestampMicrosecondType>().value(i))
        }
        DataType::List(_) => {
            let l = a.as_list::<i32>().value(i);
            Value::List((0..l.len()).map(|j| cell(l.as_ref(), j)).collect())
        }
        t => panic!("no reader for {t}"),
    }
}

/// The part files of a table.
pub fn parts(out: &Path, table: &str) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(out.join(table))
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    v.sort();
    v
}

/// Record batches of one part file, with its key-value metadata.
pub fn read_part(path: &Path) -> (Vec<RecordBatch>, BTreeMap<String, String>) {
    let b = ParquetRecordBatchReaderBuilder::try_new(File::open(path).unwrap()).unwrap();
    let kv = b
        .metadata()
        .file_metadata()
        .key_value_metadata()
        .map(|kv| {
            kv.iter()
                .map(|k| (k.key.clone(), k.value.clone().unwrap_or_default()))
                .collect()
        })
        .unwrap_or_default();
    (b.build().unwrap().map(|r| r.unwrap()).collect(), kv)
}

/// Every row of a table, across its part files.
pub fn read_table(out: &Path, table: &str) -> Vec<Row> {
    let mut rows = Vec::new();
    for p in parts(out, table) {
        assert!(
            p.extension().is_some_and(|e| e == "parquet"),
            "stray file {}",
            p.display()
        );
        rows.extend(read_rows(&p));
    }
    rows
}

/// Every row of one Parquet file.
pub fn read_rows(path: &Path) -> Vec<Row> {
    let mut rows = Vec::new();
    for batch in read_part(path).0 {
        let schema = batch.schema();
        for i in 0..batch.num_rows() {
            rows.push(
                schema
                    .fields()
                    .iter()
                    .zip(batch.columns())
                    .map(|(f, c)| (f.name().clone(), cell(c.as_ref(), i)))
                    .collect(),
            );
        }
    }
    rows
}

/// The one `videos` row for `path`.
pub fn video<'a>(rows: &'a [Row], path: &Path) -> &'a Row {
    let p = path.to_string_lossy();
    let found: Vec<&Row> = rows
        .iter()
        .filter(|r| r["path"].str() == Some(&p))
        .collect();
    assert_eq!(found.len(), 1, "rows for {p}: {found:?}");
    found[0]
}

/// One `frames` row per analysed frame of `path` (its first face's, or its face-less row), by
/// frame index.
pub fn frames_of<'a>(rows: &'a [Row], path: &Path) -> Vec<&'a Row> {
    rows_of(rows, path)
        .into_iter()
        .filter(|r| r["face_index"].is_null() || r["face_index"].u64() == Some(0))
        .collect()
}

/// Every `frames` row of a file (one per face, or one per frame without a face), in frame
/// then face order.
pub fn rows_of<'a>(rows: &'a [Row], path: &Path) -> Vec<&'a Row> {
    let p = path.to_string_lossy();
    let mut v: Vec<&Row> = rows
        .iter()
        .filter(|r| r["path"].str() == Some(&p))
        .collect();
    v.sort_by_key(|r| (r["frame_index"].u64(), r["face_index"].u64()));
    v
}

/// Rows without the columns that differ between runs (ids, timing), sorted by path and frame.
pub fn comparable(out: &Path, table: &str) -> Vec<Row> {
    let mut rows: Vec<Row> = read_table(out, table)
        .into_iter()
        .map(|mut r| {
            r.remove("run_id");
            r.remove("elapsed_s");
            r
        })
        .collect();
    rows.sort_by_key(|r| format!("{:?}", (r.get("path"), r.get("frame_index"))));
    rows
}

/// The shipped model with every threshold at zero: every face and video scores `manipulated`,
/// so a test exercises what follows a flag whatever the model thinks of the sample clips.
pub fn flag_everything_model(dir: &Path) -> PathBuf {
    let mut card: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("models/classifier.json")).unwrap(),
    )
    .unwrap();
    for k in [
        "frame_suspicious",
        "frame_manipulated",
        "video_suspicious",
        "video_manipulated",
    ] {
        card["thresholds"][k] = serde_json::json!(0.0);
    }
    let json = dir.join("flag-all.json");
    std::fs::write(&json, card.to_string()).unwrap();
    std::fs::copy(
        repo().join("models/classifier.safetensors"),
        dir.join("flag-all.safetensors"),
    )
    .unwrap();
    json
}

/// A pipeline preset (in `dir`) with face analysis off, for tests on generated test patterns,
/// which show no face: there the detector would only cost time (most of it on lavapipe) and
/// assert nothing.
pub fn faces_off_preset(dir: &Path) -> PathBuf {
    let preset = dir.join("faces-off.toml");
    std::fs::write(&preset, "[faces]\nenabled = false\n").unwrap();
    preset
}
