//! Unattended runs: killed at random points and resumed, stopped by SIGTERM, and nightly
//! incremental runs over a growing folder — the dataset always ends equal to one
//! uninterrupted run, row for row.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::Duration;

use crate::args;
use crate::util::*;

/// `n` clips in `dir`: four different sources, copied under different names.
fn clips(dir: &Path, n: usize) -> Vec<PathBuf> {
    std::fs::create_dir_all(dir).unwrap();
    let sources = ["testsrc2", "smptebars", "rgbtestsrc", "mandelbrot"];
    let bases: Vec<PathBuf> = sources
        .iter()
        .map(|s| {
            h264_from(
                &dir.join(format!("base-{s}.mp4")),
                &format!("{s}=size=320x240:rate=25"),
                1,
                &[],
            )
        })
        .collect();
    let mut all: Vec<PathBuf> = (0..n)
        .map(|i| {
            let p = dir.join(format!("clip-{i:02}.mp4"));
            std::fs::copy(&bases[i % bases.len()], &p).unwrap();
            p
        })
        .collect();
    all.extend(bases);
    all
}

fn spawn(inputs: &Path, out: &Path) -> Child {
    Command::new(env!("CARGO_BIN_EXE_seamscan"))
        .args([
            std::ffi::OsStr::new("scan"),
            inputs.as_os_str(),
            std::ffi::OsStr::new("-o"),
            out.as_os_str(),
        ])
        .args([
            "--commit-seconds",
            "0",
            "--jobs",
            "2",
            "--log-format",
            "json",
        ])
        .stderr(Stdio::null())
        .stdout(Stdio::null())
        .spawn()
        .unwrap()
}

fn no_temporary_parts(out: &Path) {
    for t in ["videos", "frames", "runs"] {
        for p in parts(out, t) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(!name.starts_with('.'), "left over: {name}");
        }
    }
}

fn assert_same(out: &Path, reference: &Path) {
    for table in ["videos", "frames"] {
        let (a, b) = (comparable(out, table), comparable(reference, table));
        assert_eq!(a.len(), b.len(), "{table} rows");
        assert!(a == b, "{table}: differs from the uninterrupted run");
    }
    no_temporary_parts(out);
}

#[test]
fn killed_at_random_points_and_resumed_equals_an_uninterrupted_run() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    let all = clips(&inputs, 20);
    let before = fingerprint(&all);
    let reference = tmp.path().join("reference");
    let started = std::time::Instant::now();
    let r = seamscan(args!(
        "scan",
        inputs,
        "-o",
        reference,
        "--commit-seconds",
        "0"
    ));
    let whole = started.elapsed();
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_eq!(read_table(&reference, "videos").len(), all.len());

    let out = tmp.path().join("out");
    // Fixed "random" points, so that a failure can be replayed.
    let mut state = 0x2545_f491_4f6c_dd1du64;
    let mut killed = 0;
    for _ in 0..4 {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        // Somewhere in the first 10-80 % of what a whole run takes on this machine.
        let after = whole.mul_f64(0.1 + (state % 700) as f64 / 1000.0);
        let mut child = spawn(&inputs, &out);
        std::thread::sleep(after);
        if child.try_wait().unwrap().is_none() {
            child.kill().unwrap(); // SIGKILL
            killed += 1;
        }
        child.wait().unwrap();
    }
    assert!(
        killed >= 1,
        "no run was killed mid-way: the clips are too short for this machine"
    );
    let r = seamscan(args!("scan", inputs, "-o", out, "--commit-seconds", "0"));
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_same(&out, &reference);
    // Nothing is redone once finished: a further run finds every file already done.
    let r = seamscan(args!("scan", inputs, "-o", out, "--log-format", "json"));
    assert_eq!(r.status.code(), Some(0));
    let summary: serde_json::Value = serde_json::from_slice(&r.stdout).unwrap();
    assert_eq!(summary["frames"], 0);
    assert_same(&out, &reference);
    // Killed or not, the evidence is untouched.
    assert_eq!(fingerprint(&all), before);
}

#[test]
fn sigterm_stops_cleanly_and_the_next_run_finishes() {
    stop_with_signal_and_resume("TERM", 143);
}

#[test]
fn sigint_stops_cleanly_and_the_next_run_finishes() {
    stop_with_signal_and_resume("INT", 130);
}

fn stop_with_signal_and_resume(signal: &str, code: i32) {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    clips(&inputs, 16);
    let reference = tmp.path().join("reference");
    let started = std::time::Instant::now();
    assert_eq!(
        seamscan(args!("scan", inputs, "-o", reference))
            .status
            .code(),
        Some(0)
    );
    let whole = started.elapsed();
    let out = tmp.path().join("out");
    let child = spawn(&inputs, &out);
    // A third of the way into what a whole run takes on this machine.
    std::thread::sleep(whole / 3);
    run_ok(Command::new("kill").args([&format!("-{signal}"), &child.id().to_string()]));
    let status = child.wait_with_output().unwrap().status;
    assert_eq!(status.code(), Some(code));
    let runs = read_table(&out, "runs");
    assert_eq!(runs.len(), 1);
    assert_eq!(runs[0]["exit_code"].i64(), Some(code as i64));
    let r = seamscan(args!("scan", inputs, "-o", out));
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    assert_same(&out, &reference);
}

#[test]
fn nightly_runs_do_only_new_or_changed_files_and_force_redoes_all() {
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    let first = clips(&inputs, 2); // 2 copies + 4 bases
    let out = tmp.path().join("out");
    let run = |extra: &[&str]| -> serde_json::Value {
        let mut a: Vec<&std::ffi::OsStr> = vec![
            "scan".as_ref(),
            inputs.as_os_str(),
            "-o".as_ref(),
            out.as_os_str(),
            "--log-format".as_ref(),
            "json".as_ref(),
        ];
        a.extend(extra.iter().map(std::ffi::OsStr::new));
        let r = seamscan(&a);
        assert_eq!(
            r.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&r.stderr)
        );
        serde_json::from_slice(&r.stdout).unwrap()
    };
    let last_run = || {
        let runs = read_table(&out, "runs");
        runs.into_iter()
            .max_by_key(|r| r["started_at"].i64())
            .unwrap()
    };
    assert_eq!(run(&[])["inputs"], 6);
    assert_eq!(read_table(&out, "videos").len(), 6);
    // Two new files: only they are analysed.
    std::fs::copy(&first[0], inputs.join("new-a.mp4")).unwrap();
    std::fs::copy(&first[1], inputs.join("new-b.mp4")).unwrap();
    run(&[]);
    assert_eq!(last_run()["files_already_done"].u64(), Some(6));
    assert_eq!(read_table(&out, "videos").len(), 8);
    // A file touched but not changed is recognised by its SHA-256; one whose bytes changed
    // is analysed again.
    let touched = std::fs::File::options()
        .write(true)
        .open(&first[2])
        .unwrap();
    touched
        .set_modified(std::time::SystemTime::now() + Duration::from_secs(60))
        .unwrap();
    let mut bytes = std::fs::read(&first[3]).unwrap();
    bytes.extend_from_slice(b"appended");
    std::fs::write(&first[3], bytes).unwrap();
    run(&[]);
    assert_eq!(last_run()["files_already_done"].u64(), Some(7));
    assert_eq!(read_table(&out, "videos").len(), 9);
    // --force analyses everything again.
    run(&["--force"]);
    assert_eq!(last_run()["files_already_done"].u64(), Some(0));
    assert_eq!(read_table(&out, "videos").len(), 17);
}
