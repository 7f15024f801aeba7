//! Alignment: a square crop around a face (its box enlarged 1.3×, the FaceForensics++
//! convention), rotated so the eyes are level, resampled to the analysis size; and the face's
//! ellipse in crop coordinates.

use crate::Face;

/// How crops are cut.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CropSpec {
    /// Side of the square crop in pixels.
    pub size: usize,
    /// The crop's side is this many times the longer side of the face box.
    pub enlarge: f32,
}

impl Default for CropSpec {
    fn default() -> Self {
        CropSpec {
            size: 256,
            enlarge: 1.3,
        }
    }
}

/// The face's ellipse in crop pixels: centre and semi-axes (axis-aligned in the crop).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Ellipse {
    /// Centre x.
    pub cx: f32,
    /// Centre y.
    pub cy: f32,
    /// Horizontal semi-axis.
    pub a: f32,
    /// Vertical semi-axis.
    pub b: f32,
}

impl Ellipse {
    /// Normalised elliptical radius of point (`x`, `y`): 1 on the ellipse.
    pub fn radius(&self, x: f32, y: f32) -> f32 {
        let dx = (x - self.cx) / self.a;
        let dy = (y - self.cy) / self.b;
        (dx * dx + dy * dy).sqrt()
    }
}

/// An aligned face crop.
#[derive(Debug, Clone)]
pub struct AlignedCrop {
    /// Side in pixels.
    pub size: usize,
    /// Luma, `size * size`.
    pub luma: Vec<u8>,
    /// Packed RGB24, `3 * size * size`.
    pub rgb: Vec<u8>,
    /// The face's ellipse in crop pixels.
    pub ellipse: Ellipse,
    /// Rotation applied, radians (the eye line's angle in the frame).
    pub angle: f32,
    /// Fraction of crop pixels that fell outside the frame (filled by edge replication).
    pub outside: f32,
}

/// Cuts the aligned crop of `face` from a frame given as luma (`width * height`) and packed
/// RGB24, with bilinear sampling and edge replication outside the frame.
pub fn align(
    face: &Face,
    luma: &[u8],
    rgb: &[u8],
    width: usize,
    height: usize,
    spec: CropSpec,
) -> AlignedCrop {
    assert_eq!(luma.len(), width * height);
    assert_eq!(rgb.len(), 3 * width * height);
    let (cx, cy) = face.centre();
    let side = spec.enlarge * face.w.max(face.h).max(1.0);
    let lm = &face.landmarks;
    let angle = (lm[3] - lm[1]).atan2(lm[2] - lm[0]);
    let angle = if angle.is_finite() { angle } else { 0.0 };
    let (sin, cos) = angle.sin_cos();
    let n = spec.size;
    let step = side / n as f32;
    let mut out_luma = vec![0u8; n * n];
    let mut out_rgb = vec![0u8; 3 * n * n];
    let mut outside = 0usize;
    let (wf, hf) = (width as f32, height as f32);
    for v in 0..n {
        for u in 0..n {
            let lx = (u as f32 + 0.5) * step - side / 2.0;
            let ly = (v as f32 + 0.5) * step - side / 2.0;
            // Crop axes are the eye line and its normal.
            let x = cx + lx * cos - ly * sin - 0.5;
            let y = cy + lx * sin + ly * cos - 0.5;
            if x < -0.5 || y < -0.5 || x > wf - 0.5 || y > hf - 0.5 {
                outside += 1;
            }
            let x = x.clamp(0.0, wf - 1.0);
            let y = y.clamp(0.0, hf - 1.0);
            let (x0, y0) = (x.floor() as usize, y.floor() as usize);
            let (x1, y1) = ((x0 + 1).min(width - 1), (y0 + 1).min(height - 1));
            let (fx, fy) = (x - x0 as f32, y - y0 as f32);
            let w00 = (1.0 - fx) * (1.0 - fy);
            let w10 = fx * (1.0 - fy);
            let w01 = (1.0 - fx) * fy;
            let w11 = fx * fy;
            let sample = |buf: &[u8], stride: usize, c: usize| {
                let at = |xx: usize, yy: usize| buf[(yy * width + xx) * stride + c] as f32;
                at(x0, y0) * w00 + at(x1, y0) * w10 + at(x0, y1) * w01 + at(x1, y1) * w11
            };
            out_luma[v * n + u] = sample(luma, 1, 0).round().clamp(0.0, 255.0) as u8;
            for c in 0..3 {
                out_rgb[(v * n + u) * 3 + c] = sample(rgb, 3, c).round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    let scale = n as f32 / side;
    AlignedCrop {
        size: n,
        luma: out_luma,
        rgb: out_rgb,
        ellipse: Ellipse {
            cx: n as f32 / 2.0,
            cy: n as f32 / 2.0,
            a: face.w / 2.0 * scale,
            b: face.h / 2.0 * scale,
        },
        angle,
        outside: outside as f32 / (n * n) as f32,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_upright_face_crop_is_the_enlarged_box_resampled() {
        // A 100x100 frame whose pixel value is its x coordinate; a 40x40 face at (30, 30)
        // with level eyes: the 52-px crop spans x in [24, 76).
        let (w, h) = (100, 100);
        let luma: Vec<u8> = (0..w * h).map(|i| (i % w) as u8).collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&v| [v, v, v]).collect();
        let face = Face {
            x: 30.0,
            y: 30.0,
            w: 40.0,
            h: 40.0,
            score: 0.9,
            landmarks: [40.0, 45.0, 60.0, 45.0, 50.0, 55.0, 42.0, 62.0, 58.0, 62.0],
        };
        let crop = align(
            &face,
            &luma,
            &rgb,
            w,
            h,
            CropSpec {
                size: 52,
                enlarge: 1.3,
            },
        );
        assert_eq!(crop.angle, 0.0);
        assert_eq!(crop.outside, 0.0);
        assert_eq!(crop.luma[0], 24);
        assert_eq!(crop.luma[51], 75);
        assert_eq!(crop.rgb[3 * 51], 75);
        assert!((crop.ellipse.a - 20.0).abs() < 1e-4);
        assert!((crop.ellipse.radius(26.0 + 20.0, 26.0) - 1.0).abs() < 1e-5);
    }

    #[test]
    fn a_tilted_face_is_levelled() {
        // Eyes on a 45° line: the crop's first row follows the eye line.
        let (w, h) = (200, 200);
        let luma: Vec<u8> = (0..w * h).map(|i| (i % w) as u8).collect();
        let rgb: Vec<u8> = luma.iter().flat_map(|&v| [v, v, v]).collect();
        let face = Face {
            x: 80.0,
            y: 80.0,
            w: 40.0,
            h: 40.0,
            score: 0.9,
            landmarks: [
                90.0, 90.0, 110.0, 110.0, 100.0, 100.0, 95.0, 110.0, 105.0, 112.0,
            ],
        };
        let crop = align(
            &face,
            &luma,
            &rgb,
            w,
            h,
            CropSpec {
                size: 64,
                enlarge: 1.3,
            },
        );
        assert!((crop.angle - std::f32::consts::FRAC_PI_4).abs() < 1e-6);
        // Along the crop's central column, x in the frame changes (rotated), unlike upright.
        let top = crop.luma[32] as i32;
        let bottom = crop.luma[63 * 64 + 32] as i32;
        assert!(top - bottom > 30, "{top} {bottom}");
    }
}
