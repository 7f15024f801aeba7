//! Small standalone Parquet files of named text and number columns (evaluation metrics, ROC
//! points), outside the dataset's tables.

use std::fs::File;
use std::path::Path;

use parquet::arrow::ArrowWriter;
use parquet::basic::{Compression, ZstdLevel};
use parquet::file::properties::WriterProperties;

use crate::columns::Columns;
use crate::{SinkError, io};

/// A column of a simple table.
#[derive(Debug, Clone, PartialEq)]
pub enum SimpleColumn {
    /// Strings.
    Text(Vec<String>),
    /// Numbers (null where `None`).
    Number(Vec<Option<f64>>),
    /// Unsigned integers such as row indices, written as `UInt64` (null where `None`).
    Index(Vec<Option<u64>>),
}

/// Writes `columns` (all the same length) to a Parquet file at `path`, replacing it.
pub fn write_simple_table(path: &Path, columns: &[(&str, SimpleColumn)]) -> Result<(), SinkError> {
    let mut c = Columns::default();
    for (name, col) in columns {
        match col {
            SimpleColumn::Text(v) => c.utf8(name, v.iter().map(|s| s.as_str())),
            SimpleColumn::Number(v) => c.opt_f64(name, v.iter().copied()),
            SimpleColumn::Index(v) => c.opt_u64(name, v.iter().copied()),
        }
    }
    let batch = c.finish();
    let part = path.with_extension("parquet.part");
    let file = File::create(&part).map_err(io(&part))?;
    let props = WriterProperties::builder()
        .set_compression(Compression::ZSTD(ZstdLevel::default()))
        .build();
    let mut w = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    w.write(&batch)?;
    w.close()?;
    std::fs::rename(&part, path).map_err(io(path))
}
