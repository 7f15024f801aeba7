//! The command line: help, presets and overrides, exit codes, machine-readable output.

use crate::args;
use crate::util::*;

#[test]
fn help_explains_every_flag() {
    let r = seamscan(args!("scan", "--help"));
    assert_eq!(r.status.code(), Some(0));
    let help = String::from_utf8_lossy(&r.stdout);
    for flag in [
        "--manifest",
        "--pipeline",
        "--every",
        "--fps",
        "--max-frames",
        "--jobs",
        "--out",
        "--log-format",
        "--log-level",
        "--no-progress",
        "--device",
        "--batch",
    ] {
        assert!(help.contains(flag), "scan --help lacks {flag}:\n{help}");
    }
    let r = seamscan(args!("--help"));
    let help = String::from_utf8_lossy(&r.stdout);
    assert!(help.contains("scan") && help.contains("bench"));
}

#[test]
fn usage_and_config_errors_exit_2_and_scan_nothing() {
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let code = |r: std::process::Output| {
        (
            r.status.code(),
            String::from_utf8_lossy(&r.stderr).into_owned(),
        )
    };
    assert_eq!(code(seamscan(args!("scan", "-o", out))).0, Some(2));
    assert_eq!(
        code(seamscan(args!("scan", "x.mp4", "-o", out, "--bogus"))).0,
        Some(2)
    );
    assert_eq!(
        code(seamscan(args!("scan", "x.mp4", "-o", out, "--every", "0"))).0,
        Some(2)
    );
    assert_eq!(
        code(seamscan(args!(
            "scan", "x.mp4", "-o", out, "--every", "2", "--fps", "3"
        )))
        .0,
        Some(2)
    );
    let bad = tmp.path().join("bad.toml");
    std::fs::write(&bad, "[sampling]\nevry = 3\n").unwrap();
    let (c, err) = code(seamscan(args!(
        "scan",
        "x.mp4",
        "-o",
        out,
        "--pipeline",
        bad
    )));
    assert_eq!(c, Some(2));
    assert!(err.contains("evry"), "{err}");
    let (c, err) = code(seamscan(args!(
        "scan",
        "--manifest",
        tmp.path().join("none.txt"),
        "-o",
        out
    )));
    assert_eq!(c, Some(2));
    assert!(err.contains("cannot read manifest"), "{err}");
    assert!(!out.exists(), "nothing may be written on a usage error");
}

#[test]
fn an_unwritable_output_exits_3() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 1);
    let file = tmp.path().join("file");
    std::fs::write(&file, b"x").unwrap();
    let r = seamscan(args!("scan", clip, "-o", file.join("out")));
    assert_eq!(
        r.status.code(),
        Some(3),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
}

#[test]
fn presets_then_flags_make_the_recorded_config() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 2);
    let out = tmp.path().join("out");
    let preset = repo().join("pipelines/triage.toml");
    let r = seamscan(args!(
        "scan",
        clip,
        "-o",
        out,
        "--pipeline",
        preset,
        "--max-frames",
        "3",
        "--log-format",
        "json"
    ));
    assert_eq!(r.status.code(), Some(0));
    // JSON mode: a JSON summary on stdout, JSON lines on stderr.
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(summary["frames"], 3);
    assert_eq!(summary["exit_code"], 0);
    for line in String::from_utf8_lossy(&r.stderr).lines() {
        serde_json::from_str::<serde_json::Value>(line).unwrap_or_else(|e| panic!("{line}: {e}"));
    }
    let runs = read_table(&out, "runs");
    let config = runs[0]["config_toml"].str().unwrap();
    assert!(config.contains("fps = 2.0"), "{config}");
    assert!(config.contains("max_frames = 3"), "{config}");
    // 2 frames per second over 2 s, capped at 3.
    let frames = read_table(&out, "frames");
    let mut idx: Vec<u64> = frames
        .iter()
        .map(|r| r["frame_index"].u64().unwrap())
        .collect();
    idx.sort();
    assert_eq!(idx, vec![0, 13, 25]);
    // The recorded config, fed back as a preset, is the same config.
    let again = tmp.path().join("again.toml");
    std::fs::write(&again, config).unwrap();
    let out2 = tmp.path().join("out2");
    assert_eq!(
        seamscan(args!("scan", clip, "-o", out2, "--pipeline", again))
            .status
            .code(),
        Some(0)
    );
    assert_eq!(
        read_table(&out2, "runs")[0]["config_sha256"],
        runs[0]["config_sha256"]
    );
    assert_eq!(read_table(&out2, "frames").len(), 3);
}

#[test]
fn the_default_preset_file_is_the_built_in_default() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 1);
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    seamscan(args!("scan", clip, "-o", a));
    seamscan(args!(
        "scan",
        clip,
        "-o",
        b,
        "--pipeline",
        repo().join("pipelines/default.toml")
    ));
    assert_eq!(
        read_table(&a, "runs")[0]["config_sha256"],
        read_table(&b, "runs")[0]["config_sha256"]
    );
    // Same input, same config: identical features.
    let strip = |rows: Vec<Row>| {
        rows.into_iter()
            .map(|mut r| {
                r.remove("run_id");
                r
            })
            .collect::<Vec<_>>()
    };
    assert_eq!(
        strip(read_table(&a, "frames")),
        strip(read_table(&b, "frames"))
    );
}

#[test]
fn bench_reports_every_path_on_the_same_files() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 1);
    let out = tmp.path().join("bench");
    let preset = faces_off_preset(tmp.path());
    let r = seamscan_ok(args!(
        "bench",
        clip,
        "-o",
        out,
        "--json",
        "--pipeline",
        preset
    ));
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(report["decode_frames"], 25);
    assert_eq!(report["cpu"]["frames"], 25);
    // lavapipe (or a real GPU) is always there where the tests run.
    assert_eq!(report["gpu"]["frames"], 25, "{report}");
    let figures = &report["gpu_figures"];
    assert!(figures["bytes_up_per_frame"].as_f64().unwrap() >= 320.0 * 240.0);
    for key in ["decode_fps", "peak_rss_bytes"] {
        assert!(report[key].as_f64().unwrap() > 0.0, "{key}");
    }
    // Both passes wrote real datasets.
    assert_eq!(read_table(&out.join("cpu"), "frames").len(), 25);
    assert_eq!(read_table(&out.join("gpu"), "frames").len(), 25);
}

#[test]
fn bench_with_device_cpu_runs_no_gpu_pass() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 1);
    let out = tmp.path().join("bench");
    let r = seamscan_ok(args!("bench", clip, "-o", out, "--json", "--device", "cpu"));
    let report: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(report["cpu"]["frames"], 25);
    assert!(report["gpu"].is_null(), "{report}");
    assert!(report["detector_gpu"].is_null(), "{report}");
    assert_eq!(report["detector_cpu"]["frames"], 25, "{report}");
    let why = report["gpu_unavailable"].as_str().unwrap();
    assert!(why.contains("cpu"), "{why}");
    assert!(!out.join("gpu").exists());
}

/// SIGTERM stops a bench in its first full-pipeline pass: no GPU pass or detector pass runs
/// after it, the exit code is 143, and the temporary dataset is removed.
#[test]
fn sigterm_stops_a_bench_at_once() {
    use std::time::{Duration, Instant};
    let tmp = tempfile::tempdir().unwrap();
    // 500 frames with the face detector on: minutes of CPU pass in a debug build, and more
    // in the detector passes after it.
    let clip = h264_clip(tmp.path(), "long.mp4", 20);
    let scratch = tmp.path().join("tmp");
    std::fs::create_dir(&scratch).unwrap();
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_seamscan"))
        .args([std::ffi::OsStr::new("bench"), clip.as_os_str()])
        .env("TMPDIR", &scratch)
        .stdout(std::process::Stdio::null())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let dataset = scratch.join(format!("seamscan-bench-{}", child.id()));
    // Signal once the CPU pass has begun writing (the handlers are in place by then).
    let deadline = Instant::now() + Duration::from_secs(120);
    while !dataset.join("cpu").exists() {
        assert!(Instant::now() < deadline, "the CPU pass never started");
        assert!(child.try_wait().unwrap().is_none(), "bench ended early");
        std::thread::sleep(Duration::from_millis(100));
    }
    std::thread::sleep(Duration::from_secs(2));
    run_ok(std::process::Command::new("kill").args(["-TERM", &child.id().to_string()]));
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("bench still running 60 s after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(100));
    };
    assert_eq!(status.code(), Some(143));
    assert!(!dataset.exists(), "the temporary dataset was left behind");
}

#[test]
fn shards_split_the_inputs_without_overlap() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    // Twelve files: the split hashes the (temporary) paths, and with six both landed in one
    // shard once in 32 runs.
    for i in 0..12 {
        std::fs::write(dir.join(format!("{i:02}.mp4")), b"not a video").unwrap();
    }
    let manifest = tmp.path().join("m.parquet");
    assert_eq!(
        seamscan(args!("plan", dir, "-o", manifest, "--shards", "2"))
            .status
            .code(),
        Some(0)
    );
    // A shard count other than the plan's is refused.
    let r = seamscan(args!(
        "scan",
        "--manifest",
        manifest,
        "--shard",
        "0/3",
        "-o",
        tmp.path().join("x")
    ));
    assert_eq!(r.status.code(), Some(2));
    let mut all = Vec::new();
    let mut first_shard = Vec::new();
    for i in 0..2 {
        let out = tmp.path().join(format!("s{i}"));
        let shard = format!("{i}/2");
        seamscan(args!(
            "scan",
            "--manifest",
            manifest,
            "--shard",
            shard,
            "-o",
            out
        ));
        let paths: Vec<String> = read_table(&out, "videos")
            .into_iter()
            .map(|r| r["path"].str().unwrap().to_string())
            .collect();
        if i == 0 {
            first_shard = paths.clone();
        }
        all.extend(paths);
    }
    // Directories shard the same way without a manifest.
    let out = tmp.path().join("dir0");
    seamscan(args!("scan", dir, "--shard", "0/2", "-o", out));
    let mut from_dir: Vec<String> = read_table(&out, "videos")
        .into_iter()
        .map(|r| r["path"].str().unwrap().to_string())
        .collect();
    all.sort();
    let expected: Vec<String> = (0..12)
        .map(|i| dir.join(format!("{i:02}.mp4")).display().to_string())
        .collect();
    assert_eq!(all, expected);
    from_dir.sort();
    first_shard.sort();
    assert!(!from_dir.is_empty() && from_dir.len() < 12, "{from_dir:?}");
    assert_eq!(from_dir, first_shard);
}
