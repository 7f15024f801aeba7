//! The seamscan output dataset: Arrow schemas of the `videos`, `frames` and `runs` tables and
//! a Parquet (ZSTD) part-file writer that only ever shows complete files.
//!
//! Layout: `OUT/videos/part-*.parquet`, `OUT/frames/part-*.parquet`, `OUT/runs/part-*.parquet`.
//! Every column is documented in `docs/schema.md`; each file carries `schema_version` in its
//! Parquet key-value metadata. Arrow and Parquet types stay inside this crate.

#![deny(missing_docs)]

mod columns;
mod manifest;
mod read;
mod recovery;
mod rows;
mod simple;
mod writer;

pub use manifest::{ManifestRow, is_parquet, read_manifest, write_manifest};
pub use read::{Cell, committed_parts, read_table};
pub use recovery::{DoneFile, Recovery, RunLock};
pub use rows::{ColumnInfo, FaceFields, FrameRow, Row, RunRow, VideoRow, columns};
pub use simple::{SimpleColumn, write_simple_table};
pub use writer::{Dataset, PartWriter, Pending, Table};

/// Version of the dataset schema; bumped on any change to a column's name, type or meaning.
pub const SCHEMA_VERSION: &str = "7";

/// An output failure (I/O or Parquet encoding).
#[derive(Debug, thiserror::Error)]
pub enum SinkError {
    /// File system error, with the path involved.
    #[error("{path}: {source}")]
    Io {
        /// The file or directory.
        path: std::path::PathBuf,
        /// The underlying error.
        source: std::io::Error,
    },
    /// Parquet or Arrow rejected the data.
    #[error("parquet: {0}")]
    Parquet(String),
}

/// Maps an I/O error on `path` to a [`SinkError`] that names the path.
pub(crate) fn io(path: &std::path::Path) -> impl FnOnce(std::io::Error) -> SinkError + '_ {
    move |source| SinkError::Io {
        path: path.to_path_buf(),
        source,
    }
}

impl From<parquet::errors::ParquetError> for SinkError {
    fn from(e: parquet::errors::ParquetError) -> Self {
        SinkError::Parquet(e.to_string())
    }
}

impl From<arrow_schema::ArrowError> for SinkError {
    fn from(e: arrow_schema::ArrowError) -> Self {
        SinkError::Parquet(e.to_string())
    }
}
