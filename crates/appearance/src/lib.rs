//! The face-appearance network: torchvision's ImageNet MobileNetV2 fine-tuned end to end on
//! seamscan's synthesised forgeries (`scripts/pretrained-probe/finetune.py`), exported with
//! its input normalisation to `models/appearance.onnx` (`export_onnx.py`) and imported into
//! burn at build time. It reads a face aligned to the ArcFace five-point template and gives
//! one logit: higher is more likely manipulated.

#![deny(missing_docs)]

use burn::tensor::{Device, Tensor, TensorData};

/// The network, generated from `models/appearance.onnx` by `build.rs`.
#[allow(clippy::all, missing_docs, unused)]
pub mod network {
    include!(concat!(env!("OUT_DIR"), "/model/appearance.rs"));
}

/// SHA-256 of `models/appearance.onnx`, the weights built into [`network`] (a test in
/// `seamscan-pipeline`'s scoring checks it against the file): what the stacked score's card
/// (`models/stack.json`) must name.
pub const WEIGHTS_SHA256: &str = "80b2ebf75e66974a69d8014fe6419d1efab905b96ced250f337700a7f1df87ee";

/// Side of the aligned crop cut from the frame (crops.py's default).
pub const CROP: usize = 224;
/// The template's 112-px crop fills `1 / MARGIN` of the aligned crop.
pub const MARGIN: f64 = 1.5;
/// Side of the network input, the centre square of the crop scaled to [`SCALED`].
pub const INPUT: usize = 160;
/// The aligned crop is scaled to this side before its centre is cut (`INPUT * 8 / 7`).
pub const SCALED: usize = 183;

/// The network's input for one face: the [`CROP`]-px template crop of a packed RGB24 frame,
/// scaled to [`SCALED`] px by area averaging and cut to its centre [`INPUT`]-px square
/// (packed RGB24): what `finetune.py` evaluates. `None` when the landmarks do not fix an
/// alignment.
pub fn face_input(
    rgb: &[u8],
    width: usize,
    height: usize,
    landmarks: &[f32; 10],
) -> Option<Vec<u8>> {
    let crop = seamscan_faces::template_crop(rgb, width, height, landmarks, CROP, MARGIN)?;
    let scaled = area_resize(&crop, CROP, SCALED);
    let o = (SCALED - INPUT) / 2;
    let mut out = Vec::with_capacity(3 * INPUT * INPUT);
    for y in o..o + INPUT {
        out.extend_from_slice(&scaled[3 * (y * SCALED + o)..3 * (y * SCALED + o + INPUT)]);
    }
    Some(out)
}

/// Area weights of one axis going from `from` to `to` (< `from`) pixels, as OpenCV's
/// `INTER_AREA` computes them: (destination, source, weight).
fn area_weights(from: usize, to: usize) -> Vec<(usize, usize, f32)> {
    let scale = from as f64 / to as f64;
    let mut tab = Vec::new();
    for d in 0..to {
        let f1 = d as f64 * scale;
        let f2 = f1 + scale;
        let cell = scale.min(from as f64 - f1);
        let s2 = (f2.floor() as usize).min(from - 1);
        let s1 = (f1.ceil() as usize).min(s2);
        if s1 as f64 - f1 > 1e-3 {
            tab.push((d, s1 - 1, ((s1 as f64 - f1) / cell) as f32));
        }
        for s in s1..s2 {
            tab.push((d, s, (1.0 / cell) as f32));
        }
        if f2 - s2 as f64 > 1e-3 {
            tab.push((d, s2, ((f2 - s2 as f64).min(1.0).min(cell) / cell) as f32));
        }
    }
    tab
}

/// Scales a square packed RGB24 image from `from` to `to` px by area averaging (OpenCV's
/// `resize` with `INTER_AREA`, up to float rounding). `to` must not exceed `from`.
pub fn area_resize(rgb: &[u8], from: usize, to: usize) -> Vec<u8> {
    assert!(to > 0 && to <= from && rgb.len() == 3 * from * from);
    let tab = area_weights(from, to);
    // Rows first (every source row scaled across), then columns, in f32 as OpenCV does.
    let mut across = vec![0f32; 3 * to * from];
    for y in 0..from {
        for &(d, s, w) in &tab {
            for c in 0..3 {
                across[3 * (y * to + d) + c] += w * rgb[3 * (y * from + s) + c] as f32;
            }
        }
    }
    let mut sum = vec![0f32; 3 * to * to];
    for &(d, s, w) in &tab {
        for x in 0..3 * to {
            sum[d * 3 * to + x] += w * across[s * 3 * to + x];
        }
    }
    sum.iter()
        .map(|v| v.round().clamp(0.0, 255.0) as u8)
        .collect()
}

/// Faces per network call: larger batches gain little on the CPU and hold activations of
/// ~20 MB per face.
pub const BATCH: usize = 16;

/// The network with its weights on burn's flex (CPU) backend.
pub struct AppearanceNet {
    model: network::Model,
    device: Device,
}

impl std::fmt::Debug for AppearanceNet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("AppearanceNet")
    }
}

impl AppearanceNet {
    /// The network on burn's flex CPU backend.
    pub fn cpu() -> Self {
        let device = Device::flex();
        AppearanceNet {
            model: network::Model::from_embedded(&device),
            device,
        }
    }

    /// The logits of [`face_input`]s (each `3 * INPUT * INPUT` bytes), run [`BATCH`] at a
    /// time; an error for an input of another size, or the backend's.
    pub fn logits(&self, faces: &[&[u8]]) -> Result<Vec<f32>, String> {
        let mut out = Vec::with_capacity(faces.len());
        for chunk in faces.chunks(BATCH) {
            out.extend(self.batch(chunk)?);
        }
        Ok(out)
    }

    fn batch(&self, faces: &[&[u8]]) -> Result<Vec<f32>, String> {
        let plane = INPUT * INPUT;
        let mut input = vec![0f32; faces.len() * 3 * plane];
        for (i, face) in faces.iter().enumerate() {
            if face.len() != 3 * plane {
                return Err(format!(
                    "a face input is {INPUT}x{INPUT} RGB24 ({} bytes), not {} bytes",
                    3 * plane,
                    face.len()
                ));
            }
            let out = &mut input[i * 3 * plane..(i + 1) * 3 * plane];
            for (p, px) in face.chunks_exact(3).enumerate() {
                for c in 0..3 {
                    out[c * plane + p] = px[c] as f32;
                }
            }
        }
        let x = Tensor::<4>::from_data(
            TensorData::new(input, [faces.len(), 3, INPUT, INPUT]),
            &self.device,
        );
        let logits: Tensor<2> = self.model.forward(x);
        let data = logits.try_into_data().map_err(|e| e.to_string())?;
        Ok(data
            .as_slice::<f32>()
            .map_err(|e| format!("{e:?}"))?
            .to_vec())
    }
}
