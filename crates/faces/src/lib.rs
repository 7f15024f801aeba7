//! Faces: CenterFace detection on burn (imported from `models/centerface.onnx` at build
//! time), tracking across frames, alignment to a square crop, and the face regions (mask,
//! boundary bands, context ring) the forensic features compare.

pub mod align;
pub mod detector;
pub mod geometry;
pub mod regions;
pub mod track;

pub use align::{AlignedCrop, CropSpec, Ellipse, align, template_crop};
pub use detector::{Detector, DetectorBackend, DetectorConfig, DetectorError, Letterbox, RgbView};
pub use geometry::Face;
pub use regions::{RegionStats, region_stats};
pub use track::{Tracker, TrackerConfig};

/// The CenterFace network, generated from `models/centerface.onnx` by `build.rs`.
#[allow(clippy::all, missing_docs, unused)]
pub mod centerface {
    include!(concat!(env!("OUT_DIR"), "/model/centerface.rs"));
}
