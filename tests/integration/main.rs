//! End-to-end tests: run the `seamscan` binary on real and generated media, read the Parquet
//! dataset back, and compare with what FFmpeg's own tools and coreutils say.

mod util;

mod bad_inputs;
mod cli;
mod faces;
mod gpu;
mod interop;
mod isolation;
mod memory;
mod model;
mod querying;
mod report;
mod resume;
mod samples;
mod schema_docs;
mod slurm;
