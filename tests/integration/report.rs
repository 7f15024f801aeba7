//! `seamscan report` and `scan --evidence`, checked in a real browser: headless Chromium
//! (Debian's package) renders the report; the page must log no console error and show every
//! video; the screenshot is kept as a test artifact.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::args;
use crate::util::*;

fn chromium(profile: &Path, args: &[&str]) -> std::process::Output {
    let out = Command::new("chromium")
        .args([
            "--headless",
            "--no-sandbox",
            "--disable-gpu",
            "--disable-dev-shm-usage",
            "--no-first-run",
            "--disable-background-networking",
            "--disable-component-update",
            "--disable-sync",
            "--disable-quic",
            "--enable-logging=stderr",
            "--v=0",
        ])
        .arg(format!("--user-data-dir={}", profile.display()))
        .args(args)
        .output()
        .expect("chromium runs (scripts/setup.sh installs Debian's chromium)");
    assert!(
        out.status.success(),
        "chromium failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

#[test]
fn the_report_renders_in_chromium_with_evidence_and_failures() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let model = flag_everything_model(tmp.path());
    let out = tmp.path().join("out");
    let bad = tmp.path().join("truncated.mp4");
    let carphone = std::fs::read(s.join("carphone_pristine.mp4")).unwrap();
    std::fs::write(&bad, &carphone[..2000]).unwrap();
    let (face, cartoon) = (s.join("single_face.mp4"), s.join("no_face.mp4"));
    // Evidence during the scan for one video; the other face video's overlays are drawn by
    // the report from the source.
    let r = seamscan(args!(
        "scan",
        face,
        cartoon,
        bad,
        "-o",
        out,
        "--max-frames",
        "5",
        "--model",
        model,
        "--score",
        "classifier",
        "--evidence"
    ));
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let carphone_clip = s.join("carphone_pristine.mp4");
    seamscan_ok(args!(
        "scan",
        carphone_clip,
        "-o",
        out,
        "--max-frames",
        "5",
        "--model",
        model,
        "--score",
        "classifier"
    ));

    // scan --evidence: one PNG per flagged face, named in its row, under OUT/evidence.
    let frames = read_table(&out, "frames");
    let face_rows = rows_of(&frames, &face);
    assert_eq!(face_rows.len(), 5);
    for r in &face_rows {
        let rel = r["evidence"].str().expect("a flagged face has an overlay");
        let png = out.join(rel);
        let img = image::open(&png).unwrap_or_else(|e| panic!("{}: {e}", png.display()));
        assert_eq!((img.width(), img.height()), (512, 264));
    }
    assert!(
        rows_of(&frames, &carphone_clip)
            .iter()
            .all(|r| r["evidence"].is_null())
    );

    let report = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("report-test");
    let _ = std::fs::remove_dir_all(&report);
    let said = seamscan_ok(args!("report", out, "-o", report, "--model", model));
    let said = String::from_utf8_lossy(&said.stdout);
    assert!(
        said.contains("4 videos (2 suspicious or manipulated), 6 evidence images"),
        "{said}"
    );
    let index = report.join("index.html");
    let html = std::fs::read_to_string(&index).unwrap();
    // Self-contained: no remote URL anywhere, every image a file beside the page.
    assert!(!html.contains("http://") && !html.contains("https://"));
    for src in html.split("src=\"").skip(1) {
        let name = &src[..src.find('"').unwrap()];
        assert!(report.join(name).is_file(), "{name}");
    }
    for needle in [
        "truncated.mp4",
        "no_face.mp4",
        "single_face.mp4",
        "carphone_pristine.mp4",
        "model SHA-256",
        "frames with a face",
        "faces in 5 of 5 analysed frames",
        "class=\"timeline\"",
        "class=\"threshold\"",
    ] {
        assert!(html.contains(needle), "{needle}");
    }
    // The top faces show the appearance network's logit beside the score (signed).
    assert!(html.contains("appearance logit</th>"));
    assert!(
        html.match_indices("<td>").any(|(i, _)| {
            let cell = &html[i + 4..];
            cell.starts_with(['+', '-']) && cell[1..].starts_with(|c: char| c.is_ascii_digit())
        }),
        "a signed appearance logit in a top-faces row"
    );

    // In the browser: the DOM after scripts ran, the console, a screenshot.
    let profile = tempfile::tempdir().unwrap();
    let url = format!("file://{}", index.display());
    let dom = chromium(profile.path(), &["--dump-dom", &url]);
    let dom_text = String::from_utf8_lossy(&dom.stdout);
    assert!(
        dom_text.contains("data-ready=\"4\""),
        "the page's script did not run"
    );
    assert_eq!(dom_text.matches("<tr class=\"video\"").count(), 4);
    let console = String::from_utf8_lossy(&dom.stderr);
    let messages: Vec<&str> = console
        .lines()
        .filter(|l| l.contains("CONSOLE") || l.contains("Uncaught"))
        .collect();
    assert!(messages.is_empty(), "console messages: {messages:#?}");
    let shot = report.join("screenshot.png");
    chromium(
        profile.path(),
        &[
            &format!("--screenshot={}", shot.display()),
            "--window-size=1280,1800",
            &url,
        ],
    );
    let img = image::open(&shot).expect("a screenshot");
    assert_eq!((img.width(), img.height()), (1280, 1800));
    eprintln!("report screenshot kept at {}", shot.display());
}
