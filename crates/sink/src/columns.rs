//! Builds a record batch column by column, so that a table's schema and its data come from
//! one place (the schema is the batch built from zero rows).

use std::sync::Arc;

use arrow_array::builder::{Float32Builder, ListBuilder, StringBuilder};
use arrow_array::{
    ArrayRef, BinaryArray, Float64Array, Int64Array, RecordBatch, StringArray,
    TimestampMicrosecondArray, UInt32Array, UInt64Array,
};
use arrow_schema::{DataType, Field, Schema, TimeUnit};

/// Columns under construction.
#[derive(Default)]
pub(crate) struct Columns {
    fields: Vec<Field>,
    arrays: Vec<ArrayRef>,
}

impl Columns {
    fn push(&mut self, field: Field, array: ArrayRef) {
        self.fields.push(field);
        self.arrays.push(array);
    }

    pub(crate) fn utf8<'a>(&mut self, name: &str, v: impl Iterator<Item = &'a str>) {
        let a = StringArray::from_iter_values(v);
        self.push(Field::new(name, DataType::Utf8, false), Arc::new(a));
    }

    pub(crate) fn opt_utf8<'a>(&mut self, name: &str, v: impl Iterator<Item = Option<&'a str>>) {
        let a: StringArray = v.collect();
        self.push(Field::new(name, DataType::Utf8, true), Arc::new(a));
    }

    pub(crate) fn binary<'a>(&mut self, name: &str, v: impl Iterator<Item = &'a [u8]>) {
        let a = BinaryArray::from_iter_values(v);
        self.push(Field::new(name, DataType::Binary, false), Arc::new(a));
    }

    pub(crate) fn u64(&mut self, name: &str, v: impl Iterator<Item = u64>) {
        let a = UInt64Array::from_iter_values(v);
        self.push(Field::new(name, DataType::UInt64, false), Arc::new(a));
    }

    pub(crate) fn opt_u64(&mut self, name: &str, v: impl Iterator<Item = Option<u64>>) {
        let a: UInt64Array = v.collect();
        self.push(Field::new(name, DataType::UInt64, true), Arc::new(a));
    }

    pub(crate) fn opt_u32(&mut self, name: &str, v: impl Iterator<Item = Option<u32>>) {
        let a: UInt32Array = v.collect();
        self.push(Field::new(name, DataType::UInt32, true), Arc::new(a));
    }

    pub(crate) fn opt_bool(&mut self, name: &str, v: impl Iterator<Item = Option<bool>>) {
        let a: arrow_array::BooleanArray = v.collect();
        self.push(Field::new(name, DataType::Boolean, true), Arc::new(a));
    }

    pub(crate) fn u32(&mut self, name: &str, v: impl Iterator<Item = u32>) {
        let a = UInt32Array::from_iter_values(v);
        self.push(Field::new(name, DataType::UInt32, false), Arc::new(a));
    }

    pub(crate) fn i32(&mut self, name: &str, v: impl Iterator<Item = i32>) {
        let a = arrow_array::Int32Array::from_iter_values(v);
        self.push(Field::new(name, DataType::Int32, false), Arc::new(a));
    }

    pub(crate) fn opt_i64(&mut self, name: &str, v: impl Iterator<Item = Option<i64>>) {
        let a: Int64Array = v.collect();
        self.push(Field::new(name, DataType::Int64, true), Arc::new(a));
    }

    pub(crate) fn f64(&mut self, name: &str, v: impl Iterator<Item = f64>) {
        let a = Float64Array::from_iter_values(v);
        self.push(Field::new(name, DataType::Float64, false), Arc::new(a));
    }

    /// Nullable float; NaN and infinities are written as null.
    pub(crate) fn opt_f64(&mut self, name: &str, v: impl Iterator<Item = Option<f64>>) {
        let a: Float64Array = v.map(|x| x.filter(|x| x.is_finite())).collect();
        self.push(Field::new(name, DataType::Float64, true), Arc::new(a));
    }

    pub(crate) fn timestamp(&mut self, name: &str, v: impl Iterator<Item = i64>) {
        let a = TimestampMicrosecondArray::from_iter_values(v).with_timezone("UTC");
        let t = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        self.push(Field::new(name, t, false), Arc::new(a));
    }

    pub(crate) fn opt_timestamp(&mut self, name: &str, v: impl Iterator<Item = Option<i64>>) {
        let a: TimestampMicrosecondArray = v.collect();
        let a = a.with_timezone("UTC");
        let t = DataType::Timestamp(TimeUnit::Microsecond, Some("UTC".into()));
        self.push(Field::new(name, t, true), Arc::new(a));
    }

    /// A list of floats per row; `None` rows are null.
    pub(crate) fn list_f32<'a>(&mut self, name: &str, v: impl Iterator<Item = Option<&'a [f32]>>) {
        let mut b = ListBuilder::new(Float32Builder::new())
            .with_field(Field::new_list_field(DataType::Float32, false));
        for row in v {
            match row {
                Some(xs) => {
                    b.values().append_slice(xs);
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let t = DataType::List(Arc::new(Field::new_list_field(DataType::Float32, false)));
        self.push(Field::new(name, t, true), Arc::new(b.finish()));
    }

    /// A list of strings per row (never null; maybe empty).
    pub(crate) fn list_utf8<'a>(&mut self, name: &str, v: impl Iterator<Item = &'a [String]>) {
        let mut b = ListBuilder::new(StringBuilder::new())
            .with_field(Field::new_list_field(DataType::Utf8, false));
        for row in v {
            for s in row {
                b.values().append_value(s);
            }
            b.append(true);
        }
        let t = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false)));
        self.push(Field::new(name, t, false), Arc::new(b.finish()));
    }

    pub(crate) fn opt_list_utf8<'a>(
        &mut self,
        name: &str,
        v: impl Iterator<Item = Option<&'a [String]>>,
    ) {
        let mut b = ListBuilder::new(StringBuilder::new())
            .with_field(Field::new_list_field(DataType::Utf8, false));
        for row in v {
            match row {
                Some(row) => {
                    for s in row {
                        b.values().append_value(s);
                    }
                    b.append(true);
                }
                None => b.append(false),
            }
        }
        let t = DataType::List(Arc::new(Field::new_list_field(DataType::Utf8, false)));
        self.push(Field::new(name, t, true), Arc::new(b.finish()));
    }

    pub(crate) fn finish(self) -> RecordBatch {
        let schema = Arc::new(Schema::new(self.fields));
        RecordBatch::try_new(schema, self.arrays)
            .expect("columns are built with matching lengths and types")
    }
}
