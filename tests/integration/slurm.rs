//! Scale-out on a real Slurm: a one-node cluster on loopback (Debian's slurm-wlm and munge,
//! started by tests/slurm/cluster.sh), the array template over the samples with 4 shards, and
//! the union of the shards' output compared row for row with a single-process run.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::args;
use crate::util::*;

/// Stops the daemons the test started, even when it fails.
struct Cluster(PathBuf);

impl Cluster {
    fn start(dir: &Path) -> Cluster {
        run_ok(
            Command::new("bash")
                .arg(repo().join("tests/slurm/cluster.sh"))
                .arg("start")
                .arg(dir),
        );
        Cluster(dir.to_path_buf())
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        let _ = Command::new("bash")
            .arg(repo().join("tests/slurm/cluster.sh"))
            .arg("stop")
            .arg(&self.0)
            .status();
    }
}

#[test]
fn a_slurm_array_over_four_shards_equals_one_process() {
    let samples = samples();
    let tmp = tempfile::tempdir().unwrap();
    let t = tmp.path();
    let manifest = t.join("manifest.parquet");
    let r = seamscan(args!("plan", samples, "-o", manifest, "--shards", "4"));
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    let said = String::from_utf8_lossy(&r.stdout);
    assert!(said.starts_with("9 files in 4 shards"), "{said}");

    let cluster = Cluster::start(&t.join("cluster"));
    let sharded = t.join("sharded");
    let status = Command::new("sbatch")
        .args(["--wait", "--array=0-3", "--output"])
        .arg(t.join("task-%a.log"))
        .arg("--chdir")
        .arg(t)
        .arg(repo().join("pipelines/slurm-array.sh"))
        .arg(&manifest)
        .arg(&sharded)
        .args(["--every", "10"])
        .env("SLURM_CONF", cluster.0.join("slurm.conf"))
        .env("SEAMSCAN", env!("CARGO_BIN_EXE_seamscan"))
        .output()
        .expect("sbatch runs");
    let logs: String = (0..4)
        .map(|i| std::fs::read_to_string(t.join(format!("task-{i}.log"))).unwrap_or_default())
        .collect();
    assert!(
        status.status.success(),
        "sbatch: {}\n{logs}",
        String::from_utf8_lossy(&status.stderr)
    );
    drop(cluster);

    let single = t.join("single");
    let r = seamscan(args!(
        "scan",
        "--manifest",
        manifest,
        "-o",
        single,
        "--every",
        "10"
    ));
    assert_eq!(r.status.code(), Some(0));
    // Four runs, one per shard, each named in its argv.
    let runs = read_table(&sharded, "runs");
    assert_eq!(runs.len(), 4, "{logs}");
    let mut shards: Vec<String> = runs
        .iter()
        .map(|r| match &r["argv"] {
            Value::List(a) => a
                .iter()
                .filter_map(|v| v.str())
                .find(|s| s.ends_with("/4"))
                .unwrap()
                .to_string(),
            other => panic!("{other:?}"),
        })
        .collect();
    shards.sort();
    assert_eq!(shards, vec!["0/4", "1/4", "2/4", "3/4"]);
    for table in ["videos", "frames"] {
        let (a, b) = (comparable(&sharded, table), comparable(&single, table));
        assert_eq!(a.len(), b.len(), "{table}");
        assert!(
            a == b,
            "{table}: the shards' union differs from the single run"
        );
    }
    assert_eq!(comparable(&single, "videos").len(), 9);
}
