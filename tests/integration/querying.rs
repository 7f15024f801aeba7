//! The examples of `docs/querying.md`, run as written (DuckDB, pandas and Polars from PyPI in
//! the interop venv) on a real scan, and checked against what the Rust reader sees.

use std::process::Command;

use crate::args;
use crate::interop::python;
use crate::util::*;

/// The python block that follows `<!-- example: NAME -->` in docs/querying.md.
fn example(name: &str) -> String {
    let doc = std::fs::read_to_string(repo().join("docs/querying.md")).unwrap();
    let marker = format!("<!-- example: {name} -->");
    let start = doc.find(&marker).unwrap_or_else(|| panic!("no {marker}"));
    let rest = &doc[start..];
    let code = &rest[rest.find("```python\n").unwrap() + 10..];
    code[..code.find("```").unwrap()].to_string()
}

#[test]
fn the_documented_queries_run_and_agree_with_the_dataset() {
    let s = samples();
    let tmp = tempfile::tempdir().unwrap();
    let out = tmp.path().join("out");
    let bad = tmp.path().join("broken.mp4");
    std::fs::write(&bad, b"not a video").unwrap();
    let (face, cartoon) = (s.join("single_face.mp4"), s.join("no_face.mp4"));
    let r = seamscan(args!(
        "scan",
        face,
        cartoon,
        bad,
        "-o",
        out,
        "--max-frames",
        "6"
    ));
    assert_eq!(
        r.status.code(),
        Some(1),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let videos = read_table(&out, "videos");
    let top = video(&videos, &face);
    let top_score = format!(
        "{}",
        (top["score"].f64().unwrap() * 1000.0).round() / 1000.0
    );
    let top_verdict = top["verdict"].str().unwrap().to_string();

    let duck = run_ok(
        Command::new(python())
            .arg("-c")
            .arg(example("duckdb"))
            .arg(&out),
    );
    let lines: Vec<&str> = duck.lines().collect();
    assert_eq!(lines[0], "most suspicious videos", "{duck}");
    // The face video first (the only score), then the unscored ones.
    let first: Vec<&str> = lines[1].split('\t').collect();
    assert_eq!(first[0], face.to_str().unwrap(), "{duck}");
    assert_eq!(first[1], top_verdict);
    assert_eq!(first[2], top_score);
    let rest = format!("{}\n{}", lines[2], lines[3]);
    assert!(
        rest.contains("no_face.mp4") && rest.contains("broken.mp4"),
        "{duck}"
    );
    // The track curve: six frames of track 0, in order.
    let curve = lines
        .iter()
        .position(|l| l.starts_with("score curve of track 0"))
        .unwrap();
    for (k, l) in lines[curve + 1..curve + 7].iter().enumerate() {
        assert!(l.starts_with(&format!("{k}\t")), "{duck}");
    }
    assert!(
        lines[curve + 7].starts_with("feature distributions"),
        "{duck}"
    );
    // Feature distributions: one line per verdict seen, counts summing to the face rows.
    let faces: usize = lines[curve + 8..]
        .iter()
        .map(|l| l.split('\t').nth(1).unwrap().parse::<usize>().unwrap())
        .sum();
    assert_eq!(faces, 6, "{duck}");

    let pandas = run_ok(
        Command::new(python())
            .arg("-c")
            .arg(example("pandas"))
            .arg(&out),
    );
    assert!(pandas.contains(face.to_str().unwrap()), "{pandas}");
    assert!(pandas.contains("boundary_log_ratio"), "{pandas}");
    let polars = run_ok(
        Command::new(python())
            .arg("-c")
            .arg(example("polars"))
            .arg(&out),
    );
    assert!(polars.contains("single_face.mp4"), "{polars}");
    assert!(polars.contains("median_score"), "{polars}");
}
