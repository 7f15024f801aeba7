//! Other readers: DuckDB and pyarrow/pandas (from PyPI, in a venv the test makes) read the
//! dataset, and count what the Rust reader counts.

use std::path::PathBuf;
use std::process::Command;

use crate::args;
use crate::util::*;

/// A venv with the pinned readers, made once and kept in Cargo's test scratch directory.
pub fn python() -> PathBuf {
    let venv = PathBuf::from(env!("CARGO_TARGET_TMPDIR")).join("interop-venv");
    let py = venv.join("bin/python");
    let reqs = repo().join("scripts/python-requirements.txt");
    let stamp = venv.join("requirements.txt");
    let wanted = std::fs::read_to_string(&reqs).unwrap();
    if std::fs::read_to_string(&stamp).ok().as_deref() != Some(wanted.as_str()) {
        let _ = std::fs::remove_dir_all(&venv);
        run_ok(Command::new("python3").args(["-m", "venv"]).arg(&venv));
        run_ok(
            Command::new(&py)
                .args([
                    "-m",
                    "pip",
                    "install",
                    "--quiet",
                    "--disable-pip-version-check",
                    "-r",
                ])
                .arg(&reqs),
        );
        std::fs::write(&stamp, wanted).unwrap();
    }
    py
}

#[test]
fn duckdb_and_pandas_read_the_dataset() {
    let tmp = tempfile::tempdir().unwrap();
    let a = h264_clip(tmp.path(), "a.mp4", 1);
    let b = h264_clip(tmp.path(), "b.mp4", 2);
    let bad = tmp.path().join("bad.mp4");
    std::fs::write(&bad, b"not a video").unwrap();
    let out = tmp.path().join("out");
    // Two runs into one dataset: the globs must see both.
    assert_eq!(
        seamscan(args!("scan", a, bad, "-o", out)).status.code(),
        Some(1)
    );
    assert_eq!(
        seamscan(args!("scan", b, "-o", out, "--every", "5"))
            .status
            .code(),
        Some(0)
    );
    let rust_frames = read_table(&out, "frames").len();
    assert_eq!(rust_frames, 25 + 10);

    let script = r#"
import sys, duckdb, pandas as pd
out = sys.argv[1]
con = duckdb.connect()
v = con.execute(f"select count(*), count(*) filter (where status in ('ok', 'no_face')) from '{out}/videos/*.parquet'").fetchone()
f = con.execute(f"select count(*), sum(len(spectrum)) from '{out}/frames/*.parquet'").fetchone()
r = con.execute(f"select count(*) from '{out}/runs/*.parquet'").fetchone()
j = con.execute(f"""select count(*) from '{out}/frames/*.parquet' f
               join '{out}/videos/*.parquet' v using (run_id, path)""").fetchone()
p = pd.read_parquet(f"{out}/frames")
print(v[0], v[1], f[0], f[1], r[0], j[0], len(p), p['hf_fraction'].between(0, 1).all())
"#;
    let said = run_ok(Command::new(python()).arg("-c").arg(script).arg(&out));
    assert_eq!(said.trim(), "3 2 35 2240 2 35 35 True");
}
