//! Part files: written under a hidden temporary name, renamed into place only when complete.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::rows::Row;
use crate::{SCHEMA_VERSION, SinkError, io};

/// Rows per Parquet row group: what the writer buffers in memory before encoding a group.
const ROW_GROUP_ROWS: usize = 16 * 1024;

/// The three tables of the dataset.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Table {
    /// One row per input file.
    Videos,
    /// One row per analysed frame.
    Frames,
    /// One row per run.
    Runs,
}

impl Table {
    /// Directory name under the dataset root.
    pub fn dir_name(self) -> &'static str {
        match self {
            Table::Videos => "videos",
            Table::Frames => "frames",
            Table::Runs => "runs",
        }
    }
}

/// A dataset directory (`OUT/`).
#[derive(Debug, Clone)]
pub struct Dataset {
    root: PathBuf,
}

impl Dataset {
    /// Creates (or reuses) `root` and its table directories.
    pub fn create(root: &Path) -> Result<Self, SinkError> {
        for t in [Table::Videos, Table::Frames, Table::Runs] {
            let dir = root.join(t.dir_name());
            std::fs::create_dir_all(&dir).map_err(io(&dir))?;
        }
        Ok(Dataset {
            root: root.to_path_buf(),
        })
    }

    /// The dataset root.
    pub fn root(&self) -> &Path {
        &self.root
    }

    /// A writer of `table` part files of commit group `group` of run `run_id`, named
    /// `part-<run_id>-<group>-<k>.parquet`.
    pub fn writer<R: Row>(
        &self,
        table: Table,
        run_id: &str,
        group: u32,
        rows_per_batch: usize,
        rows_per_part: usize,
    ) -> PartWriter<R> {
        PartWriter {
            dir: self.root.join(table.dir_name()),
            table,
            run_id: run_id.to_string(),
            group,
            seq: 0,
            buffer: Vec::new(),
            open: None,
            rows_per_batch: rows_per_batch.max(1),
            rows_per_part: rows_per_part.max(1),
            parts: Vec::new(),
            rows: 0,
        }
    }
}

struct OpenPart {
    writer: ArrowWriter<File>,
    temp: PathBuf,
    target: PathBuf,
    rows: usize,
}

/// Buffers rows of one table and writes them into ZSTD Parquet part files.
pub struct PartWriter<R: Row> {
    dir: PathBuf,
    table: Table,
    run_id: String,
    group: u32,
    seq: u32,
    buffer: Vec<R>,
    open: Option<OpenPart>,
    rows_per_batch: usize,
    rows_per_part: usize,
    parts: Vec<(PathBuf, PathBuf)>,
    rows: u64,
}

/// Finished part files still under their temporary names: invisible to readers until
/// [`Pending::commit`] renames them.
#[derive(Debug, Default)]
pub struct Pending {
    parts: Vec<(PathBuf, PathBuf)>,
}

impl Pending {
    /// Adds another writer's parts; they are renamed after these.
    pub fn then(mut self, other: Pending) -> Pending {
        self.parts.extend(other.parts);
        self
    }

    /// Renames every part to its final name, in order, and returns the final paths.
    pub fn commit(self) -> Result<Vec<PathBuf>, SinkError> {
        let mut done = Vec::with_capacity(self.parts.len());
        for (temp, target) in self.parts {
            std::fs::rename(&temp, &target).map_err(io(&target))?;
            done.push(target);
        }
        Ok(done)
    }

    /// Deletes the parts (a commit group that cannot be committed).
    pub fn discard(self) {
        for (temp, _) in self.parts {
            let _ = std::fs::remove_file(temp);
        }
    }
}

impl<R: Row> PartWriter<R> {
    /// Adds a row; a batch is encoded whenever `rows_per_batch` rows are buffered.
    pub fn push(&mut self, row: R) -> Result<(), SinkError> {
        self.buffer.push(row);
        if self.buffer.len() >= self.rows_per_batch {
            self.flush()?;
        }
        Ok(())
    }

    /// Rows accepted so far.
    pub fn rows(&self) -> u64 {
        self.rows + self.buffer.len() as u64
    }

    /// Encodes the buffered rows into the open part (opening one if needed).
    pub fn flush(&mut self) -> Result<(), SinkError> {
        if self.buffer.is_empty() {
            return Ok(());
        }
        let batch = R::batch(&self.buffer);
        self.rows += self.buffer.len() as u64;
        self.buffer.clear();
        let part = match self.open.as_mut() {
            Some(p) => p,
            None => self.open_part(&batch)?,
        };
        part.writer.write(&batch)?;
        part.rows += batch.num_rows();
        if part.rows >= self.rows_per_part {
            self.close_part()?;
        }
        Ok(())
    }

    fn open_part(&mut self, batch: &arrow_array::RecordBatch) -> Result<&mut OpenPart, SinkError> {
        let name = format!(
            "part-{}-{:05}-{:03}.parquet",
            self.run_id, self.group, self.seq
        );
        self.seq += 1;
        let target = self.dir.join(&name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        let file = File::create(&temp).map_err(io(&temp))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
            // The writer holds a whole row group in memory: bound it.
            .set_max_row_group_row_count(Some(ROW_GROUP_ROWS))
            .set_key_value_metadata(Some(vec![
                KeyValue::new("schema_version".to_string(), SCHEMA_VERSION.to_string()),
                KeyValue::new(
                    "seamscan.table".to_string(),
                    self.table.dir_name().to_string(),
                ),
                KeyValue::new("seamscan.run_id".to_string(), self.run_id.clone()),
            ]))
            .build();
        let writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
        Ok(self.open.insert(OpenPart {
            writer,
            temp,
            target,
            rows: 0,
        }))
    }

    fn close_part(&mut self) -> Result<(), SinkError> {
        if let Some(part) = self.open.take() {
            let file = part.writer.into_inner()?;
            file.sync_all().map_err(io(&part.temp))?;
            drop(file);
            self.parts.push((part.temp, part.target));
        }
        Ok(())
    }

    /// Writes what is buffered and closes the last part; the parts stay under temporary names
    /// until the returned [`Pending`] is committed. With `keep_empty`, a table with no rows
    /// still gets one (empty) part, so that readers always find its schema.
    pub fn finish(mut self, keep_empty: bool) -> Result<Pending, SinkError> {
        self.flush()?;
        if keep_empty && self.parts.is_empty() && self.open.is_none() {
            self.open_part(&R::batch(&[]))?;
        }
        self.close_part()?;
        Ok(Pending { parts: self.parts })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{FrameRow, VideoRow, columns};
    use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

    fn frame(i: u64) -> FrameRow {
        FrameRow {
            run_id: "r".into(),
            path: "a.mp4".into(),
            sha256: "00".into(),
            frame_index: i,
            spectral_slope: Some(f64::NAN),
            spectrum: Some(vec![1.0, 2.0]),
            ..FrameRow::default()
        }
    }

    #[test]
    fn parts_roll_appear_complete_and_carry_the_schema_version() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::create(dir.path()).unwrap();
        let mut w: PartWriter<FrameRow> = ds.writer(Table::Frames, "run1", 0, 2, 3);
        for i in 0..7 {
            w.push(frame(i)).unwrap();
        }
        let pending = w.finish(true).unwrap();
        // Nothing is visible before the commit.
        let visible = |d: &Path| {
            std::fs::read_dir(d)
                .unwrap()
                .filter(|e| {
                    !e.as_ref()
                        .unwrap()
                        .file_name()
                        .to_string_lossy()
                        .starts_with('.')
                })
                .count()
        };
        assert_eq!(visible(&dir.path().join("frames")), 0);
        let parts = pending.commit().unwrap();
        // Parts roll at batch boundaries: 4 rows, then 3.
        assert_eq!(parts.len(), 2);
        let mut rows = 0;
        for p in &parts {
            let r = ParquetRecordBatchReaderBuilder::try_new(File::open(p).unwrap()).unwrap();
            let kv = r
                .metadata()
                .file_metadata()
                .key_value_metadata()
                .unwrap()
                .clone();
            assert!(
                kv.iter().any(
                    |k| k.key == "schema_version" && k.value.as_deref() == Some(SCHEMA_VERSION)
                )
            );
            for b in r.build().unwrap() {
                let b = b.unwrap();
                // NaN features are stored as null.
                assert_eq!(
                    b.column_by_name("spectral_slope").unwrap().null_count(),
                    b.num_rows()
                );
                rows += b.num_rows();
            }
        }
        assert_eq!(rows, 7);
        assert_eq!(
            std::fs::read_dir(dir.path().join("frames"))
                .unwrap()
                .count(),
            2
        );
    }

    #[test]
    fn an_empty_table_still_gets_a_part_with_its_schema() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::create(dir.path()).unwrap();
        let w: PartWriter<VideoRow> = ds.writer(Table::Videos, "run2", 0, 10, 10);
        let parts = w.finish(true).unwrap().commit().unwrap();
        assert_eq!(parts.len(), 1);
        let r = ParquetRecordBatchReaderBuilder::try_new(File::open(&parts[0]).unwrap()).unwrap();
        let names: Vec<String> = r
            .schema()
            .fields()
            .iter()
            .map(|f| f.name().clone())
            .collect();
        let documented: Vec<String> = columns(Table::Videos).into_iter().map(|c| c.name).collect();
        assert_eq!(names, documented);
    }
}
