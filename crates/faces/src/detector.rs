//! CenterFace on burn: letterboxing, batched inference on the flex (CPU) or wgpu (GPU)
//! backend, and decoding of the network's four output maps into faces.

use burn::tensor::{Device, Tensor, TensorData};

use crate::centerface::Model;
use crate::geometry::{Face, nms};

/// How detections are made and filtered.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct DetectorConfig {
    /// Minimum heatmap score for a face centre (0–1).
    pub threshold: f32,
    /// Boxes overlapping a better one by at least this IoU are dropped.
    pub nms_iou: f32,
    /// Faces whose shorter box side is below this (pixels of the original frame) are dropped.
    pub min_face: f32,
    /// Frames are scaled down so their longer side is at most this before detection
    /// (never up); the network input is then padded to multiples of 32.
    pub max_side: u32,
}

impl Default for DetectorConfig {
    fn default() -> Self {
        DetectorConfig {
            threshold: 0.5,
            nms_iou: 0.3,
            min_face: 16.0,
            max_side: 640,
        }
    }
}

impl DetectorConfig {
    /// Checks the values are usable.
    pub fn validate(&self) -> Result<(), String> {
        if !(self.threshold > 0.0 && self.threshold < 1.0) {
            return Err(format!(
                "faces.threshold must be in (0, 1), got {}",
                self.threshold
            ));
        }
        if !(self.nms_iou > 0.0 && self.nms_iou <= 1.0) {
            return Err(format!(
                "faces.nms_iou must be in (0, 1], got {}",
                self.nms_iou
            ));
        }
        if !(self.min_face >= 0.0 && self.min_face.is_finite()) {
            return Err(format!(
                "faces.min_face must be >= 0, got {}",
                self.min_face
            ));
        }
        if !(32..=4096).contains(&self.max_side) {
            return Err(format!(
                "faces.max_side must be in 32..=4096, got {}",
                self.max_side
            ));
        }
        Ok(())
    }
}

/// A packed RGB24 frame, borrowed.
#[derive(Debug, Clone, Copy)]
pub struct RgbView<'a> {
    /// `3 * width * height` bytes, row-major, no padding.
    pub data: &'a [u8],
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
}

impl<'a> RgbView<'a> {
    /// A view of `data`, or `None` if its length does not match the size.
    pub fn new(data: &'a [u8], width: usize, height: usize) -> Option<Self> {
        (width > 0 && height > 0 && data.len() == width * height * 3).then_some(RgbView {
            data,
            width,
            height,
        })
    }
}

/// Where a frame goes in the network input: scaled by `scale`, padded to `canvas`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Letterbox {
    /// Frame pixels per... network pixels per frame pixel (≤ 1).
    pub scale: f32,
    /// Scaled frame size (width, height).
    pub scaled: (usize, usize),
    /// Network input size (width, height), multiples of 32.
    pub canvas: (usize, usize),
}

impl Letterbox {
    /// The letterbox of a `width` × `height` frame for a longest side of `max_side`.
    pub fn new(width: usize, height: usize, max_side: u32) -> Self {
        let longest = width.max(height) as f32;
        let scale = (max_side as f32 / longest).min(1.0);
        let scaled = (
            ((width as f32 * scale).round() as usize).max(1),
            ((height as f32 * scale).round() as usize).max(1),
        );
        let up32 = |v: usize| v.div_ceil(32) * 32;
        Letterbox {
            scale,
            scaled,
            canvas: (up32(scaled.0), up32(scaled.1)),
        }
    }

    /// Writes `frame`, scaled, into a planar BGR float image of the canvas size (0–255,
    /// zero padding right and bottom), the network's input convention.
    pub fn fill_bgr_planar(&self, frame: &RgbView<'_>, out: &mut [f32]) {
        let (cw, ch) = self.canvas;
        assert_eq!(out.len(), 3 * cw * ch);
        out.fill(0.0);
        let resized;
        let (src, sw, sh): (&[u8], usize, usize) = if self.scaled == (frame.width, frame.height) {
            (frame.data, frame.width, frame.height)
        } else {
            let img = image::RgbImage::from_raw(
                frame.width as u32,
                frame.height as u32,
                frame.data.to_vec(),
            )
            .expect("RgbView length is checked");
            resized = image::imageops::resize(
                &img,
                self.scaled.0 as u32,
                self.scaled.1 as u32,
                image::imageops::FilterType::Triangle,
            );
            (resized.as_raw().as_slice(), self.scaled.0, self.scaled.1)
        };
        let plane = cw * ch;
        for y in 0..sh {
            let row = &src[y * sw * 3..(y + 1) * sw * 3];
            for (x, px) in row.chunks_exact(3).enumerate() {
                let at = y * cw + x;
                out[at] = px[2] as f32; // B
                out[plane + at] = px[1] as f32; // G
                out[2 * plane + at] = px[0] as f32; // R
            }
        }
    }
}

/// Input pixels per detector call on the GPU backend. The network's largest intermediate
/// buffer takes about 96 bytes per input pixel, so 1 Mi pixels (four 640×384 frames) stay
/// under the 128 MiB storage-binding limit that wgpu grants by default.
pub const GPU_PIXELS_PER_CALL: usize = 1 << 20;

/// Which burn backend runs the network.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DetectorBackend {
    /// burn's `flex` CPU backend.
    Cpu,
    /// burn's wgpu backend.
    Gpu,
}

/// Why the detector could not start or run.
#[derive(Debug, thiserror::Error)]
pub enum DetectorError {
    /// No usable wgpu device for the GPU backend.
    #[error("no GPU for the face detector: {0}")]
    NoGpu(String),
    /// Frames of one batch differ in size, or a frame is empty.
    #[error("bad batch: {0}")]
    BadBatch(String),
    /// The backend failed (out of memory, device lost, ...).
    #[error("face detector failed: {0}")]
    Inference(String),
}

/// The CenterFace detector with its weights loaded on one device.
pub struct Detector {
    model: Model,
    device: Device,
    backend: DetectorBackend,
    config: DetectorConfig,
}

impl std::fmt::Debug for Detector {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Detector")
            .field("backend", &self.backend)
            .field("config", &self.config)
            .finish()
    }
}

/// The raw output maps of one batch, `[n, c, h, w]` each, as produced by the network.
#[derive(Debug, Clone)]
pub struct RawOutput {
    /// Batch size, map height and width.
    pub shape: (usize, usize, usize),
    /// Face-centre heatmap (1 channel).
    pub heatmap: Vec<f32>,
    /// Log box size / 4 (height, width).
    pub scale: Vec<f32>,
    /// Sub-cell centre offset (y, x).
    pub offset: Vec<f32>,
    /// Landmarks relative to the box (y, x for 5 points).
    pub landmarks: Vec<f32>,
}

impl Detector {
    /// The detector on burn's flex CPU backend.
    pub fn cpu(config: DetectorConfig) -> Self {
        let device = Device::flex();
        Detector {
            model: Model::from_embedded(&device),
            device,
            backend: DetectorBackend::Cpu,
            config,
        }
    }

    /// The detector on burn's wgpu backend (the best adapter wgpu finds; a software one
    /// only if `allow_software`).
    pub fn gpu(config: DetectorConfig, allow_software: bool) -> Result<Self, DetectorError> {
        use burn::tensor::DeviceKind;
        // burn's wgpu runtime can be initialised once per device kind and process: later
        // detectors (a second scan in one process, the bench) reuse the device.
        static STARTED: std::sync::Mutex<Vec<(DeviceKind, Device)>> =
            std::sync::Mutex::new(Vec::new());
        let try_kind = |kind: DeviceKind| {
            let mut started = STARTED.lock().unwrap_or_else(|p| p.into_inner());
            if let Some((_, d)) = started.iter().find(|(k, _)| *k == kind) {
                return Ok(d.clone());
            }
            let device = std::panic::catch_unwind(|| {
                Device::wgpu_options().device_kind(kind.clone()).init()
            })
            .map_err(|_| "the wgpu runtime panicked".to_string())
            .and_then(|r| r.map_err(|e| e.to_string()))?;
            started.push((kind, device.clone()));
            Ok::<_, String>(device)
        };
        let mut last = String::from("no adapter");
        let mut kinds = vec![
            DeviceKind::DiscreteGpu(0),
            DeviceKind::IntegratedGpu(0),
            DeviceKind::VirtualGpu(0),
        ];
        if allow_software {
            kinds.push(DeviceKind::Cpu);
        }
        for kind in kinds {
            match try_kind(kind) {
                Ok(device) => {
                    let model = std::panic::catch_unwind(|| Model::from_embedded(&device))
                        .map_err(|_| DetectorError::NoGpu("loading the weights failed".into()))?;
                    return Ok(Detector {
                        model,
                        device,
                        backend: DetectorBackend::Gpu,
                        config,
                    });
                }
                Err(e) => last = e,
            }
        }
        Err(DetectorError::NoGpu(last))
    }

    /// Which backend runs the network.
    pub fn backend(&self) -> DetectorBackend {
        self.backend
    }

    /// The detection settings.
    pub fn config(&self) -> &DetectorConfig {
        &self.config
    }

    /// Runs the network on a batch of same-sized frames; returns the raw maps and the
    /// letterbox used.
    pub fn forward(&self, frames: &[RgbView<'_>]) -> Result<(RawOutput, Letterbox), DetectorError> {
        let first = frames
            .first()
            .ok_or_else(|| DetectorError::BadBatch("empty batch".into()))?;
        if frames
            .iter()
            .any(|f| (f.width, f.height) != (first.width, first.height))
        {
            return Err(DetectorError::BadBatch(
                "frames of one batch must share a size".into(),
            ));
        }
        let lb = Letterbox::new(first.width, first.height, self.config.max_side);
        let (cw, ch) = lb.canvas;
        let per = 3 * cw * ch;
        let mut input = vec![0f32; per * frames.len()];
        for (f, out) in frames.iter().zip(input.chunks_exact_mut(per)) {
            lb.fill_bgr_planar(f, out);
        }
        let n = frames.len();
        let run = || {
            let x = Tensor::<4>::from_data(TensorData::new(input, [n, 3, ch, cw]), &self.device);
            let (heat, scale, offset, lms) = self.model.forward(x);
            let take = |t: Tensor<4>| -> Result<(Vec<f32>, [usize; 4]), String> {
                let dims = t.dims();
                let data = t.try_into_data().map_err(|e| e.to_string())?;
                let v = data
                    .as_slice::<f32>()
                    .map_err(|e| format!("{e:?}"))?
                    .to_vec();
                Ok((v, dims))
            };
            let (heatmap, d) = take(heat)?;
            let (scale, _) = take(scale)?;
            let (offset, _) = take(offset)?;
            let (landmarks, _) = take(lms)?;
            Ok::<_, String>(RawOutput {
                shape: (d[0], d[2], d[3]),
                heatmap,
                scale,
                offset,
                landmarks,
            })
        };
        // A backend failure (device lost, out of memory) panics inside burn: contain it.
        let raw = std::panic::catch_unwind(std::panic::AssertUnwindSafe(run))
            .map_err(|p| DetectorError::Inference(panic_text(p)))?
            .map_err(DetectorError::Inference)?;
        Ok((raw, lb))
    }

    /// Detects the faces of a batch of same-sized frames: one list per frame, best first.
    /// On the GPU a batch is split into calls of at most [`GPU_PIXELS_PER_CALL`] input
    /// pixels, so that no intermediate buffer outgrows a storage-binding limit of 128 MiB.
    pub fn detect(&self, frames: &[RgbView<'_>]) -> Result<Vec<Vec<Face>>, DetectorError> {
        let Some(first) = frames.first() else {
            return Ok(Vec::new());
        };
        let lb = Letterbox::new(first.width, first.height, self.config.max_side);
        let per_call = match self.backend {
            DetectorBackend::Cpu => frames.len(),
            DetectorBackend::Gpu => (GPU_PIXELS_PER_CALL / (lb.canvas.0 * lb.canvas.1)).max(1),
        };
        let (w, h) = (first.width as f32, first.height as f32);
        let mut out = Vec::with_capacity(frames.len());
        for chunk in frames.chunks(per_call) {
            let (raw, lb) = self.forward(chunk)?;
            out.extend((0..chunk.len()).map(|i| decode(&raw, i, &lb, (w, h), &self.config)));
        }
        Ok(out)
    }
}

fn panic_text(p: Box<dyn std::any::Any + Send>) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "unknown panic".into())
}

/// Decodes frame `i` of a batch's maps into faces in original-frame pixels (CenterFace's
/// decoding, as in its reference implementation), then applies NMS and the minimum size.
pub fn decode(
    raw: &RawOutput,
    i: usize,
    lb: &Letterbox,
    frame: (f32, f32),
    config: &DetectorConfig,
) -> Vec<Face> {
    let (_, mh, mw) = raw.shape;
    let plane = mh * mw;
    let at = |buf: &[f32], channels: usize, c: usize, y: usize, x: usize| {
        buf[(i * channels + c) * plane + y * mw + x]
    };
    // The scaled frame's extent in network pixels; boxes are clipped to it.
    let (sw, sh) = (lb.scaled.0 as f32, lb.scaled.1 as f32);
    let mut faces = Vec::new();
    for y in 0..mh {
        for x in 0..mw {
            let score = at(&raw.heatmap, 1, 0, y, x);
            if score <= config.threshold {
                continue;
            }
            let s0 = at(&raw.scale, 2, 0, y, x).exp() * 4.0;
            let s1 = at(&raw.scale, 2, 1, y, x).exp() * 4.0;
            let o0 = at(&raw.offset, 2, 0, y, x);
            let o1 = at(&raw.offset, 2, 1, y, x);
            let x1 = ((x as f32 + o1 + 0.5) * 4.0 - s1 / 2.0).clamp(0.0, sw);
            let y1 = ((y as f32 + o0 + 0.5) * 4.0 - s0 / 2.0).clamp(0.0, sh);
            let x2 = (x1 + s1).min(sw);
            let y2 = (y1 + s0).min(sh);
            let mut landmarks = [0f32; 10];
            for j in 0..5 {
                landmarks[2 * j] = (at(&raw.landmarks, 10, 2 * j + 1, y, x) * s1 + x1) / lb.scale;
                landmarks[2 * j + 1] = (at(&raw.landmarks, 10, 2 * j, y, x) * s0 + y1) / lb.scale;
            }
            let (bx, by) = (x1 / lb.scale, y1 / lb.scale);
            let (bw, bh) = (
                ((x2 - x1) / lb.scale).min(frame.0 - bx),
                ((y2 - y1) / lb.scale).min(frame.1 - by),
            );
            faces.push(Face {
                x: bx,
                y: by,
                w: bw,
                h: bh,
                score,
                landmarks,
            });
        }
    }
    let mut kept = nms(faces, config.nms_iou);
    kept.retain(|f| f.w.min(f.h) >= config.min_face);
    kept
}
