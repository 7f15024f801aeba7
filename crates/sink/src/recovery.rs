//! What lets a killed run be resumed: run locks, the commit rule, clean-up of what a dead run
//! left, and the index of files already in the dataset.
//!
//! The commit rule: a run writes its rows in commit groups; a group's `frames` parts are
//! renamed into place first and its `videos` part last, so a `videos` part
//! `part-<run>-<group>-*.parquet` marks the group committed. `frames` parts of a group with no
//! `videos` part, and hidden temporary parts, belong to a run that died mid-commit or
//! mid-group; they are removed by the next run on the dataset, unless their run still holds
//! its lock (a shard running beside it).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::path::PathBuf;

use arrow_array::Array;
use arrow_array::cast::AsArray;
use arrow_array::types::{TimestampMicrosecondType, UInt64Type};
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::{Dataset, SinkError, Table, io};

/// Held for the life of a run: `OUT/.locks/<run>.lock`, locked.
#[derive(Debug)]
pub struct RunLock {
    _file: File,
    path: PathBuf,
}

impl Drop for RunLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.path);
    }
}

/// What [`Dataset::recover`] removed.
#[derive(Debug, Default, Clone, PartialEq, Eq)]
pub struct Recovery {
    /// Temporary part files of dead runs.
    pub temporary: usize,
    /// Uncommitted `frames` parts of dead runs.
    pub uncommitted: usize,
}

/// A file the dataset already holds a `videos` row for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DoneFile {
    /// SHA-256 when it was analysed (null if it could not be read).
    pub sha256: Option<String>,
    /// Size then.
    pub size_bytes: Option<u64>,
    /// Modification time then, µs since the epoch.
    pub modified_at_us: Option<i64>,
}

/// `(run, group)` of a part file name, temporary or final.
fn run_and_group(name: &str) -> Option<(&str, &str)> {
    let rest = name
        .strip_prefix('.')
        .unwrap_or(name)
        .strip_prefix("part-")?;
    let run = rest.get(..36)?;
    let group = rest.get(37..42)?;
    Some((run, group))
}

impl Dataset {
    fn locks(&self) -> PathBuf {
        self.root().join(".locks")
    }

    /// Takes the lock of run `run_id` for as long as the guard lives.
    pub fn lock_run(&self, run_id: &str) -> Result<RunLock, SinkError> {
        let dir = self.locks();
        std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        let path = dir.join(format!("{run_id}.lock"));
        let file = File::create(&path).map_err(io(&path))?;
        file.lock().map_err(io(&path))?;
        Ok(RunLock { _file: file, path })
    }

    /// Whether run `run_id` is alive (holds its lock).
    fn alive(&self, run_id: &str) -> bool {
        let path = self.locks().join(format!("{run_id}.lock"));
        match File::open(&path) {
            Ok(f) => f.try_lock().is_err(),
            Err(_) => false,
        }
    }

    /// Removes the temporary and uncommitted parts of dead runs (see the module doc).
    pub fn recover(&self) -> Result<Recovery, SinkError> {
        let mut committed: HashSet<(String, String)> = HashSet::new();
        let videos = self.root().join(Table::Videos.dir_name());
        for e in std::fs::read_dir(&videos).map_err(io(&videos))? {
            let name = e
                .map_err(io(&videos))?
                .file_name()
                .to_string_lossy()
                .into_owned();
            if !name.starts_with('.')
                && let Some((run, group)) = run_and_group(&name)
            {
                committed.insert((run.to_string(), group.to_string()));
            }
        }
        let mut report = Recovery::default();
        let mut alive: HashMap<String, bool> = HashMap::new();
        for table in [Table::Videos, Table::Frames, Table::Runs] {
            let dir = self.root().join(table.dir_name());
            for e in std::fs::read_dir(&dir).map_err(io(&dir))? {
                let e = e.map_err(io(&dir))?;
                let name = e.file_name().to_string_lossy().into_owned();
                let Some((run, group)) = run_and_group(&name) else {
                    continue;
                };
                let temporary = name.starts_with('.');
                let orphan = table == Table::Frames
                    && !temporary
                    && !committed.contains(&(run.to_string(), group.to_string()));
                if !(temporary || orphan) {
                    continue;
                }
                let live = *alive
                    .entry(run.to_string())
                    .or_insert_with(|| self.alive(run));
                if live {
                    continue;
                }
                std::fs::remove_file(e.path()).map_err(io(&e.path()))?;
                if temporary {
                    report.temporary += 1;
                } else {
                    report.uncommitted += 1;
                }
            }
        }
        Ok(report)
    }

    /// Every path with a committed `videos` row, with what was recorded of it (the latest row
    /// per path wins when there are several).
    pub fn done_files(&self) -> Result<HashMap<Vec<u8>, DoneFile>, SinkError> {
        let mut done = HashMap::new();
        for path in crate::read::committed_parts(self.root(), Table::Videos)? {
            let file = File::open(&path).map_err(io(&path))?;
            for batch in ParquetRecordBatchReaderBuilder::try_new(file)?.build()? {
                let batch = batch?;
                let col = |n: &str| {
                    batch.column_by_name(n).cloned().ok_or_else(|| {
                        SinkError::Parquet(format!("{}: no column {n}", path.display()))
                    })
                };
                let (pb, sha, size, mtime) = (
                    col("path_bytes")?,
                    col("sha256")?,
                    col("size_bytes")?,
                    col("modified_at")?,
                );
                let (pb, sha) = (pb.as_binary::<i32>(), sha.as_string::<i32>());
                let size = size.as_primitive::<UInt64Type>();
                let mtime = mtime.as_primitive::<TimestampMicrosecondType>();
                for i in 0..batch.num_rows() {
                    done.insert(
                        pb.value(i).to_vec(),
                        DoneFile {
                            sha256: (!sha.is_null(i)).then(|| sha.value(i).to_string()),
                            size_bytes: (!size.is_null(i)).then(|| size.value(i)),
                            modified_at_us: (!mtime.is_null(i)).then(|| mtime.value(i)),
                        },
                    );
                }
            }
        }
        Ok(done)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameRow, PartWriter, VideoRow};

    const RUN: &str = "0b1c2d3e-0000-4000-8000-000000000001";

    #[test]
    fn names_parse_and_dead_runs_leave_no_uncommitted_rows() {
        assert_eq!(
            run_and_group(&format!("part-{RUN}-00007-000.parquet")),
            Some((RUN, "00007"))
        );
        assert_eq!(
            run_and_group(&format!(".part-{RUN}-00007-001.parquet.tmp")),
            Some((RUN, "00007"))
        );
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::create(dir.path()).unwrap();
        // Group 0 committed; group 1's frames renamed but its videos part never written; a
        // temporary part left by a kill.
        let mut f: PartWriter<FrameRow> = ds.writer(Table::Frames, RUN, 0, 10, 10);
        f.push(FrameRow::default()).unwrap();
        let mut v: PartWriter<VideoRow> = ds.writer(Table::Videos, RUN, 0, 10, 10);
        v.push(VideoRow {
            path_bytes: b"a.mp4".to_vec(),
            size_bytes: Some(3),
            ..VideoRow::default()
        })
        .unwrap();
        f.finish(false)
            .unwrap()
            .then(v.finish(false).unwrap())
            .commit()
            .unwrap();
        let mut f1: PartWriter<FrameRow> = ds.writer(Table::Frames, RUN, 1, 10, 10);
        f1.push(FrameRow::default()).unwrap();
        f1.finish(false).unwrap().commit().unwrap();
        std::fs::write(
            dir.path()
                .join(format!("frames/.part-{RUN}-00002-000.parquet.tmp")),
            b"x",
        )
        .unwrap();
        // While the run holds its lock, nothing of it is touched.
        let lock = ds.lock_run(RUN).unwrap();
        assert_eq!(ds.recover().unwrap(), Recovery::default());
        drop(lock);
        assert_eq!(
            ds.recover().unwrap(),
            Recovery {
                temporary: 1,
                uncommitted: 1
            }
        );
        assert_eq!(
            std::fs::read_dir(dir.path().join("frames"))
                .unwrap()
                .count(),
            1
        );
        let done = ds.done_files().unwrap();
        assert_eq!(done[&b"a.mp4".to_vec()].size_bytes, Some(3));
    }
}
