//! Part files: written under a hidden temporary name, renamed into place only when complete.

use std::fs::File;
use std::path::{Path, PathBuf};

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::rows::Row;
use crate::{SCHEMA_VERSION, SinkError};

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

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    }
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

    /// A writer of `table` part files named after `run_id`.
    pub fn writer<R: Row>(
        &self,
        table: Table,
        run_id: &str,
        rows_per_batch: usize,
        rows_per_part: usize,
    ) -> PartWriter<R> {
        PartWriter {
            dir: self.root.join(table.dir_name()),
            table,
            run_id: run_id.to_string(),
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
    seq: u32,
    buffer: Vec<R>,
    open: Option<OpenPart>,
    rows_per_batch: usize,
    rows_per_part: usize,
    parts: Vec<PathBuf>,
    rows: u64,
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
        let name = format!("part-{}-{:05}.parquet", self.run_id, self.seq);
        self.seq += 1;
        let target = self.dir.join(&name);
        let temp = self.dir.join(format!(".{name}.tmp"));
        let file = File::create(&temp).map_err(io(&temp))?;
        let props = WriterProperties::builder()
            .set_compression(Compression::ZSTD(ZstdLevel::try_new(3)?))
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
            std::fs::rename(&part.temp, &part.target).map_err(io(&part.target))?;
            self.parts.push(part.target);
        }
        Ok(())
    }

    /// Writes what is buffered, closes the last part, and returns every part written. A table
    /// with no rows still gets one (empty) part, so that readers always find its schema.
    pub fn finish(mut self) -> Result<Vec<PathBuf>, SinkError> {
        self.flush()?;
        if self.parts.is_empty() && self.open.is_none() {
            self.open_part(&R::batch(&[]))?;
        }
        self.close_part()?;
        Ok(self.parts)
    }
}
