//! Crash isolation: decoding runs in worker processes, so a crash or a hang on one hostile file
//! costs that file (marked `error` with the signal or the timeout) and the run goes on. The
//! crash and the hang are injected with the worker's test hooks; the rest of the hostile
//! corpus is real.

use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::util::*;

fn scan_with(
    env: &[(&str, &str)],
    inputs: &[&Path],
    out: &Path,
    extra: &[&str],
) -> (Option<i32>, String) {
    let mut c = Command::new(env!("CARGO_BIN_EXE_seamscan"));
    c.arg("scan")
        .args(inputs)
        .arg("-o")
        .arg(out)
        .args(["--jobs", "1"])
        .args(extra);
    for (k, v) in env {
        c.env(k, v);
    }
    let r = c.output().unwrap();
    (
        r.status.code(),
        String::from_utf8_lossy(&r.stderr).into_owned(),
    )
}

#[test]
fn a_crashing_decoder_costs_one_file() {
    let tmp = tempfile::tempdir().unwrap();
    let a = h264_clip(tmp.path(), "a.mp4", 1);
    let crash = h264_clip(tmp.path(), "crash-me.mp4", 1);
    let b = h264_clip(tmp.path(), "b.mp4", 1);
    let out = tmp.path().join("out");
    let (code, stderr) = scan_with(
        &[("SEAMSCAN_TEST_CRASH_ON", "crash-me")],
        &[&a, &crash, &b],
        &out,
        &[],
    );
    assert_eq!(code, Some(1), "{stderr}");
    let videos = read_table(&out, "videos");
    let c = video(&videos, &crash);
    assert_eq!(c["status"].str(), Some("error"));
    assert!(c["error"].str().unwrap().contains("SIGABRT"), "{c:?}");
    // The same worker goes on with a fresh process.
    for p in [&a, &b] {
        assert_eq!(video(&videos, p)["status"].str(), Some("no_face")); // analysed, no face
        assert_eq!(frames_of(&read_table(&out, "frames"), p).len(), 25);
    }
}

#[test]
fn a_hanging_decoder_is_killed_after_the_timeout() {
    let tmp = tempfile::tempdir().unwrap();
    let hang = h264_clip(tmp.path(), "hang-me.mp4", 1);
    let b = h264_clip(tmp.path(), "b.mp4", 1);
    let out = tmp.path().join("out");
    let started = Instant::now();
    let (code, stderr) = scan_with(
        &[("SEAMSCAN_TEST_HANG_ON", "hang-me")],
        &[&hang, &b],
        &out,
        &["--file-timeout", "1"],
    );
    assert!(
        started.elapsed() < Duration::from_secs(60),
        "the hang was not cut short"
    );
    assert_eq!(code, Some(1), "{stderr}");
    let videos = read_table(&out, "videos");
    let h = video(&videos, &hang);
    assert_eq!(h["status"].str(), Some("error"));
    assert!(
        h["error"].str().unwrap().contains("no progress for 1 s"),
        "{h:?}"
    );
    assert_eq!(video(&videos, &b)["status"].str(), Some("no_face")); // analysed, no face
}

#[test]
fn a_hostile_corpus_is_reported_file_by_file() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("corpus");
    std::fs::create_dir(&d).unwrap();
    let good = h264_clip(&d, "good.mp4", 1);
    // Absurd declared dimensions: a YUV4MPEG2 header promising 60000x60000 frames.
    std::fs::write(
        d.join("huge.y4m"),
        b"YUV4MPEG2 W60000 H60000 F25:1 Ip A1:1 C420jpeg\nFRAME\n\x10\x10\x10",
    )
    .unwrap();
    // Corrupted packets mid-stream, truncation, zero bytes, random bytes.
    let bytes = std::fs::read(&good).unwrap();
    let mut corrupt = bytes.clone();
    let mid = corrupt.len() / 2;
    corrupt[mid..mid + 3000]
        .iter_mut()
        .enumerate()
        .for_each(|(i, b)| *b = (i * 7919 % 251) as u8);
    std::fs::write(d.join("corrupt.mp4"), corrupt).unwrap();
    std::fs::write(d.join("truncated.mp4"), &bytes[..bytes.len() / 3]).unwrap();
    std::fs::write(d.join("zero.mp4"), b"").unwrap();
    std::fs::write(
        d.join("random.mp4"),
        (0..40_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    // A symbolic link loop inside the folder.
    std::os::unix::fs::symlink(&d, d.join("loop")).unwrap();
    let out = tmp.path().join("out");
    let (code, stderr) = scan_with(&[], &[&d], &out, &[]);
    assert_eq!(code, Some(1), "{stderr}");
    assert!(
        stderr.contains("loop"),
        "the symlink loop is reported: {stderr}"
    );
    let videos = read_table(&out, "videos");
    assert_eq!(videos.len(), 6, "{videos:?}");
    let status = |name: &str| {
        video(&videos, &d.join(name))["status"]
            .str()
            .unwrap()
            .to_string()
    };
    assert_eq!(status("good.mp4"), "no_face"); // analysed; a test pattern has no face
    assert!(!["ok", "no_face"].contains(&status("huge.y4m").as_str()));
    assert!(video(&videos, &d.join("huge.y4m"))["error"].str().is_some());
    assert_eq!(status("truncated.mp4"), "unreadable");
    assert_eq!(status("zero.mp4"), "unreadable");
    assert_eq!(status("random.mp4"), "unreadable");
    assert!(["ok", "no_face", "error"].contains(&status("corrupt.mp4").as_str()));
}
