//! The shard manifest written by `seamscan plan` and read by `seamscan scan --manifest`: one
//! Parquet file, one row per input file with its shard.

use std::fs::File;
use std::path::Path;

use arrow_array::cast::AsArray;
use arrow_array::types::{UInt32Type, UInt64Type};
use parquet::arrow::ArrowWriter;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;
use parquet::file::metadata::KeyValue;
use parquet::file::properties::WriterProperties;

use crate::columns::Columns;
use crate::rows::Row;
use crate::{SCHEMA_VERSION, SinkError, io};

/// One planned input.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestRow {
    /// Path as UTF-8 (invalid bytes replaced).
    pub path: String,
    /// Exact path bytes.
    pub path_bytes: Vec<u8>,
    /// Size when planned (null if it could not be read).
    pub size_bytes: Option<u64>,
    /// Shard of this file, `0..shards`.
    pub shard: u32,
    /// Number of shards of the plan.
    pub shards: u32,
}

impl Row for ManifestRow {
    fn batch(rows: &[Self]) -> arrow_array::RecordBatch {
        let mut c = Columns::default();
        c.utf8("path", rows.iter().map(|r| r.path.as_str()));
        c.binary("path_bytes", rows.iter().map(|r| r.path_bytes.as_slice()));
        c.opt_u64("size_bytes", rows.iter().map(|r| r.size_bytes));
        c.u32("shard", rows.iter().map(|r| r.shard));
        c.u32("shards", rows.iter().map(|r| r.shards));
        c.finish()
    }
}

/// Writes a manifest (ZSTD Parquet) atomically: a temporary file, then a rename.
pub fn write_manifest(path: &Path, rows: &[ManifestRow]) -> Result<(), SinkError> {
    let batch = ManifestRow::batch(rows);
    let temp = path.with_extension("parquet.tmp");
    let file = File::create(&temp).map_err(io(&temp))?;
    let props = WriterProperties::builder()
        .set_compression(parquet::basic::Compression::ZSTD(
            parquet::basic::ZstdLevel::try_new(3)?,
        ))
        .set_key_value_metadata(Some(vec![
            KeyValue::new("schema_version".to_string(), SCHEMA_VERSION.to_string()),
            KeyValue::new("seamscan.table".to_string(), "manifest".to_string()),
        ]))
        .build();
    let mut writer = ArrowWriter::try_new(file, batch.schema(), Some(props))?;
    writer.write(&batch)?;
    let file = writer.into_inner()?;
    file.sync_all().map_err(io(&temp))?;
    std::fs::rename(&temp, path).map_err(io(path))
}

/// Whether `path` is a Parquet file (by its magic bytes).
pub fn is_parquet(path: &Path) -> bool {
    use std::io::Read;
    let mut magic = [0u8; 4];
    File::open(path)
        .and_then(|mut f| f.read_exact(&mut magic))
        .is_ok()
        && &magic == b"PAR1"
}

/// Reads a manifest written by [`write_manifest`].
pub fn read_manifest(path: &Path) -> Result<Vec<ManifestRow>, SinkError> {
    let file = File::open(path).map_err(io(path))?;
    let reader = ParquetRecordBatchReaderBuilder::try_new(file)?.build()?;
    let mut rows = Vec::new();
    for batch in reader {
        let batch = batch?;
        let col = |name: &str| {
            batch
                .column_by_name(name)
                .cloned()
                .ok_or_else(|| SinkError::Parquet(format!("{}: no column {name}", path.display())))
        };
        let (p, pb, size, shard, shards) = (
            col("path")?,
            col("path_bytes")?,
            col("size_bytes")?,
            col("shard")?,
            col("shards")?,
        );
        let (p, pb) = (p.as_string::<i32>(), pb.as_binary::<i32>());
        let (size, shard, shards) = (
            size.as_primitive::<UInt64Type>(),
            shard.as_primitive::<UInt32Type>(),
            shards.as_primitive::<UInt32Type>(),
        );
        use arrow_array::Array;
        for i in 0..batch.num_rows() {
            rows.push(ManifestRow {
                path: p.value(i).to_string(),
                path_bytes: pb.value(i).to_vec(),
                size_bytes: (!size.is_null(i)).then(|| size.value(i)),
                shard: shard.value(i),
                shards: shards.value(i),
            });
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn manifests_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("m.parquet");
        let rows = vec![
            ManifestRow {
                path: "a".into(),
                path_bytes: b"a".to_vec(),
                size_bytes: Some(3),
                shard: 1,
                shards: 4,
            },
            ManifestRow {
                path: "\u{fffd}".into(),
                path_bytes: vec![0xff],
                size_bytes: None,
                shard: 0,
                shards: 4,
            },
        ];
        write_manifest(&p, &rows).unwrap();
        assert!(is_parquet(&p));
        assert_eq!(read_manifest(&p).unwrap(), rows);
    }
}
