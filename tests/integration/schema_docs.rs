//! `docs/schema.md` and the files seamscan writes describe the same columns.

use std::collections::BTreeMap;

use crate::args;
use crate::util::*;

/// A column as documented: (name, Arrow type, nullable).
type Column = (String, String, bool);

/// The documented schema version and the columns per table, parsed from the doc's
/// `### table` sections.
fn documented() -> (String, BTreeMap<String, Vec<Column>>) {
    let text = std::fs::read_to_string(repo().join("docs/schema.md")).unwrap();
    let version = text
        .lines()
        .next()
        .and_then(|l| l.rsplit("schema version ").next())
        .unwrap()
        .trim()
        .to_string();
    let mut tables: BTreeMap<String, Vec<Column>> = BTreeMap::new();
    let mut current = None;
    for line in text.lines() {
        if let Some(t) = line.strip_prefix("### ") {
            current = Some(t.trim().to_string());
        } else if let (Some(t), Some(row)) = (&current, line.strip_prefix("| `")) {
            let cells: Vec<&str> = row.split(" | ").collect();
            let name = cells[0].trim_end_matches('`').to_string();
            let ty = cells[1].trim_matches('`').to_string();
            let nullable = match cells[2] {
                "yes" => true,
                "no" => false,
                other => panic!("{name}: null must be yes or no, not {other:?}"),
            };
            tables
                .entry(t.clone())
                .or_default()
                .push((name, ty, nullable));
        }
    }
    (version, tables)
}

#[test]
fn the_schema_doc_matches_the_written_files() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 1);
    let out = tmp.path().join("out");
    let r = seamscan(args!("scan", clip, "-o", out));
    assert_eq!(r.status.code(), Some(0));
    let (version, doc) = documented();
    assert_eq!(version, seamscan_sink::SCHEMA_VERSION);
    assert_eq!(
        doc.keys().cloned().collect::<Vec<_>>(),
        vec!["frames", "manifest", "runs", "videos"]
    );
    let manifest = tmp.path().join("manifest.parquet");
    let r = seamscan(args!("plan", clip, "-o", manifest, "--shards", "3"));
    assert_eq!(r.status.code(), Some(0));
    for (table, columns) in &doc {
        let files = if table == "manifest" {
            vec![manifest.clone()]
        } else {
            parts(&out, table)
        };
        for part in files {
            let (batches, kv) = read_part(&part);
            assert_eq!(
                kv.get("schema_version"),
                Some(&version),
                "{}",
                part.display()
            );
            assert_eq!(kv.get("seamscan.table"), Some(table));
            let schema = batches[0].schema();
            let written: Vec<Column> = schema
                .fields()
                .iter()
                .map(|f| (f.name().clone(), f.data_type().to_string(), f.is_nullable()))
                .collect();
            assert_eq!(
                &written,
                columns,
                "docs/schema.md section {table} vs {}",
                part.display()
            );
        }
    }
}
