//! The seamscan pipeline: inputs are planned (walked, filtered by content), then each file is
//! hashed, decoded, sampled and analysed on a pool of workers, and every row streams over a
//! bounded channel to the one writer of the Parquet dataset.

#![deny(missing_docs)]

mod analysis;
pub mod bench;
mod commit;
pub mod config;
pub mod evidence;
mod faces;
pub mod hash;
pub mod inputs;
pub mod isolation;
pub mod learn;
pub mod progress;
pub mod report;
pub mod scan;
mod scoring;
pub mod system;

pub use analysis::GpuReport;
pub use config::{ConfigError, DeviceChoice, PipelineConfig};
pub use inputs::{InputFile, InputPlan, Shard, load_manifest, plan_inputs, shard_of};
pub use scan::{ScanOptions, ScanSummary, scan};
pub use system::{available_cores, peak_rss_bytes};
