//! Reading committed rows back (for `train`, `eval` and `report`): named columns of one
//! table, across all its committed part files, as plain values.

use std::fs::File;
use std::path::{Path, PathBuf};

use arrow_array::cast::AsArray;
use arrow_array::types::{
    Float32Type, Float64Type, Int32Type, Int64Type, TimestampMicrosecondType, UInt32Type,
    UInt64Type,
};
use arrow_array::{Array, ArrayRef};
use arrow_schema::{DataType, TimeUnit};
use parquet::arrow::ProjectionMask;
use parquet::arrow::arrow_reader::ParquetRecordBatchReaderBuilder;

use crate::writer::Table;
use crate::{SinkError, io};

/// One value of a column read back.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    /// Null, or a column this part file does not have (an older schema).
    Null,
    /// Any integer, float, boolean (0/1) or timestamp (µs) column.
    Number(f64),
    /// A string column.
    Text(String),
    /// A list of strings.
    Texts(Vec<String>),
    /// A list of numbers.
    Numbers(Vec<f64>),
}

impl Cell {
    /// The number, if this is one.
    pub fn number(&self) -> Option<f64> {
        match self {
            Cell::Number(v) => Some(*v),
            _ => None,
        }
    }

    /// The text, if this is one.
    pub fn text(&self) -> Option<&str> {
        match self {
            Cell::Text(v) => Some(v),
            _ => None,
        }
    }
}

fn cell(array: &ArrayRef, i: usize) -> Cell {
    if array.is_null(i) {
        return Cell::Null;
    }
    let n = |v: f64| Cell::Number(v);
    match array.data_type() {
        DataType::Float64 => n(array.as_primitive::<Float64Type>().value(i)),
        DataType::Float32 => n(array.as_primitive::<Float32Type>().value(i) as f64),
        DataType::UInt64 => n(array.as_primitive::<UInt64Type>().value(i) as f64),
        DataType::UInt32 => n(array.as_primitive::<UInt32Type>().value(i) as f64),
        DataType::Int64 => n(array.as_primitive::<Int64Type>().value(i) as f64),
        DataType::Int32 => n(array.as_primitive::<Int32Type>().value(i) as f64),
        DataType::Timestamp(TimeUnit::Microsecond, _) => {
            n(array.as_primitive::<TimestampMicrosecondType>().value(i) as f64)
        }
        DataType::Boolean => n(array.as_boolean().value(i) as u8 as f64),
        DataType::Utf8 => Cell::Text(array.as_string::<i32>().value(i).to_string()),
        DataType::List(_) => {
            let inner = array.as_list::<i32>().value(i);
            match inner.data_type() {
                DataType::Utf8 => Cell::Texts(
                    (0..inner.len())
                        .map(|j| inner.as_string::<i32>().value(j).to_string())
                        .collect(),
                ),
                _ => Cell::Numbers(
                    (0..inner.len())
                        .filter_map(|j| cell(&inner, j).number())
                        .collect(),
                ),
            }
        }
        _ => Cell::Null,
    }
}

/// The committed part files of `table` under `root`, sorted by name.
pub fn committed_parts(root: &Path, table: Table) -> Result<Vec<PathBuf>, SinkError> {
    let dir = root.join(table.dir_name());
    if !dir.is_dir() {
        return Ok(Vec::new());
    }
    let mut names: Vec<PathBuf> = std::fs::read_dir(&dir)
        .map_err(io(&dir))?
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| {
            p.file_name().is_some_and(|n| {
                let n = n.to_string_lossy();
                !n.starts_with('.') && n.ends_with(".parquet")
            })
        })
        .collect();
    names.sort();
    Ok(names)
}

/// The named columns of every committed row of `table` in the dataset at `root`, one
/// `Vec<Cell>` per row in `columns` order. A column a part file lacks reads as null.
pub fn read_table(
    root: &Path,
    table: Table,
    columns: &[&str],
) -> Result<Vec<Vec<Cell>>, SinkError> {
    let mut rows = Vec::new();
    for path in committed_parts(root, table)? {
        let file = File::open(&path).map_err(io(&path))?;
        let builder = ParquetRecordBatchReaderBuilder::try_new(file)?;
        let schema = builder.parquet_schema();
        let wanted: Vec<usize> = builder
            .schema()
            .fields()
            .iter()
            .enumerate()
            .filter(|(_, f)| columns.contains(&f.name().as_str()))
            .map(|(i, _)| i)
            .collect();
        let mask = ProjectionMask::roots(schema, wanted);
        for batch in builder.with_projection(mask).build()? {
            let batch = batch?;
            let cols: Vec<Option<&ArrayRef>> =
                columns.iter().map(|c| batch.column_by_name(c)).collect();
            for i in 0..batch.num_rows() {
                rows.push(
                    cols.iter()
                        .map(|c| c.map_or(Cell::Null, |a| cell(a, i)))
                        .collect(),
                );
            }
        }
    }
    Ok(rows)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{Dataset, FaceFields, FrameRow};

    #[test]
    fn rows_read_back_as_written() {
        let dir = tempfile::tempdir().unwrap();
        let ds = Dataset::create(dir.path()).unwrap();
        let mut w = ds.writer::<FrameRow>(Table::Frames, "r", 0, 16, 1024);
        w.push(FrameRow {
            path: "a.mp4".into(),
            frame_index: 3,
            face: Some(FaceFields {
                det_score: 0.75,
                ..FaceFields::default()
            }),
            score: Some(0.5),
            reasons: Some(vec!["x".into(), "y".into()]),
            ..FrameRow::default()
        })
        .unwrap();
        w.push(FrameRow::default()).unwrap();
        w.finish(false).unwrap().commit().unwrap();
        let rows = read_table(
            dir.path(),
            Table::Frames,
            &[
                "path",
                "frame_index",
                "det_score",
                "reasons",
                "no_such_column",
            ],
        )
        .unwrap();
        assert_eq!(rows.len(), 2);
        assert_eq!(rows[0][0], Cell::Text("a.mp4".into()));
        assert_eq!(rows[0][1], Cell::Number(3.0));
        assert_eq!(rows[0][2], Cell::Number(0.75));
        assert_eq!(rows[0][3], Cell::Texts(vec!["x".into(), "y".into()]));
        assert_eq!(rows[0][4], Cell::Null);
        assert_eq!(rows[1][2], Cell::Null);
        assert_eq!(rows[1][3], Cell::Null);
    }
}
