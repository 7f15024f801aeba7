//! The GPU engine of seamscan: one wgpu device per process, one compute pipeline per WGSL
//! shader in `shaders/` (validated by naga at build time), buffers reused across batches,
//! one upload and one readback per batch. wgpu types stay inside this crate.
//!
//! Every shader has a CPU twin of the same name in `seamscan-features`; the parity tests in
//! `tests/parity.rs` hold them to the same results.

#![deny(missing_docs)]

mod analyzer;
mod context;
mod kernel;
mod noise_maps;
mod noise_residual;

pub use analyzer::{BatchOutput, GpuAnalyzer, SHADERS};
pub use context::{AdapterSummary, GpuContext};
pub use noise_maps::{NOISE_BLOCK, NoiseMaps};

/// A GPU failure: no adapter, device creation, or a lost device / out of memory mid-run.
#[derive(Debug, Clone, thiserror::Error)]
pub enum GpuError {
    /// No adapter could be found.
    #[error("no GPU adapter: {0}")]
    NoAdapter(String),
    /// The adapter refused to create a device.
    #[error("cannot create a GPU device: {0}")]
    Device(String),
    /// A dispatch or readback failed (device lost, out of memory, validation).
    #[error("GPU failure: {0}")]
    Dispatch(String),
}
