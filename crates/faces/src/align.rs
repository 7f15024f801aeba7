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

/// The five-point template of ArcFace (insightface) in its 112-px crop: left eye, right eye,
/// nose, left and right mouth corner.
pub const ARCFACE_TEMPLATE: [[f64; 2]; 5] = [
    [38.2946, 51.6963],
    [73.5318, 51.5014],
    [56.0252, 71.7366],
    [41.5493, 92.3655],
    [70.7299, 92.2041],
];

/// The least-squares similarity transform (rotation, uniform scale, translation; no
/// reflection) taking `src` points to `dst` points, as a 2×3 matrix `[a, -b, tx; b, a, ty]`.
/// The closed form of Umeyama's estimate in two dimensions. `None` when the source points
/// coincide or a value is not finite.
pub fn similarity(src: &[[f64; 2]], dst: &[[f64; 2]]) -> Option<[[f64; 3]; 2]> {
    let n = src.len().min(dst.len());
    if n == 0 {
        return None;
    }
    let mean = |p: &[[f64; 2]]| {
        let (sx, sy) = p[..n]
            .iter()
            .fold((0.0, 0.0), |a, q| (a.0 + q[0], a.1 + q[1]));
        (sx / n as f64, sy / n as f64)
    };
    let (msx, msy) = mean(src);
    let (mdx, mdy) = mean(dst);
    let (mut dot, mut cross, mut norm) = (0.0, 0.0, 0.0);
    for (s, d) in src[..n].iter().zip(&dst[..n]) {
        let (sx, sy, dx, dy) = (s[0] - msx, s[1] - msy, d[0] - mdx, d[1] - mdy);
        dot += sx * dx + sy * dy;
        cross += sx * dy - sy * dx;
        norm += sx * sx + sy * sy;
    }
    if norm.is_nan() || norm <= 1e-12 || !dot.is_finite() || !cross.is_finite() {
        return None;
    }
    let (a, b) = (dot / norm, cross / norm);
    Some([
        [a, -b, mdx - (a * msx - b * msy)],
        [b, a, mdy - (b * msx + a * msy)],
    ])
}

/// Cuts a `size`-px RGB24 crop of a packed RGB24 frame, warped by the similarity transform
/// that takes the face's five landmarks onto the ArcFace template scaled so that the
/// template's 112-px crop fills `1 / margin` of the output. Bilinear sampling with pixel
/// centres at integer coordinates and mirrored borders (`fedcba|abcdefgh|hgfedcb`, OpenCV's
/// `BORDER_REFLECT`): OpenCV's `warpAffine` up to its fixed-point rounding, so the crop that
/// `scripts/pretrained-probe/crops.py` cuts. `None` when the landmarks do not fix a
/// transform or the frame is empty.
pub fn template_crop(
    rgb: &[u8],
    width: usize,
    height: usize,
    landmarks: &[f32; 10],
    size: usize,
    margin: f64,
) -> Option<Vec<u8>> {
    if width == 0 || height == 0 || rgb.len() != 3 * width * height || size == 0 {
        return None;
    }
    let k = size as f64 / 112.0 / margin;
    let half = size as f64 / 2.0;
    let dst: Vec<[f64; 2]> = ARCFACE_TEMPLATE
        .iter()
        .map(|p| [(p[0] - 56.0) * k + half, (p[1] - 56.0) * k + half])
        .collect();
    let src: Vec<[f64; 2]> = (0..5)
        .map(|i| [landmarks[2 * i] as f64, landmarks[2 * i + 1] as f64])
        .collect();
    let m = similarity(&src, &dst)?;
    // The inverse of [a -b; b a] is [a b; -b a] / (a² + b²).
    let (a, b) = (m[0][0], m[1][0]);
    let det = a * a + b * b;
    if det.is_nan() || det <= 1e-12 {
        return None;
    }
    let (ia, ib) = (a / det, b / det);
    let (tx, ty) = (m[0][2], m[1][2]);
    let reflect = |i: i64, n: usize| -> usize {
        let n = n as i64;
        let period = 2 * n;
        let mut j = i.rem_euclid(period);
        if j >= n {
            j = period - 1 - j;
        }
        j as usize
    };
    let mut out = vec![0u8; 3 * size * size];
    for v in 0..size {
        for u in 0..size {
            let (du, dv) = (u as f64 - tx, v as f64 - ty);
            let x = ia * du + ib * dv;
            let y = -ib * du + ia * dv;
            if !x.is_finite() || !y.is_finite() || x.abs() > 1e9 || y.abs() > 1e9 {
                return None;
            }
            let (x0, y0) = (x.floor(), y.floor());
            let (fx, fy) = (x - x0, y - y0);
            let (x0, y0) = (x0 as i64, y0 as i64);
            let (xa, xb) = (reflect(x0, width), reflect(x0 + 1, width));
            let (ya, yb) = (reflect(y0, height), reflect(y0 + 1, height));
            for c in 0..3 {
                let at = |xx: usize, yy: usize| rgb[(yy * width + xx) * 3 + c] as f64;
                let top = at(xa, ya) * (1.0 - fx) + at(xb, ya) * fx;
                let bottom = at(xa, yb) * (1.0 - fx) + at(xb, yb) * fx;
                let value = top * (1.0 - fy) + bottom * fy;
                out[(v * size + u) * 3 + c] = value.round().clamp(0.0, 255.0) as u8;
            }
        }
    }
    Some(out)
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
    #[test]
    fn similarity_recovers_a_known_transform() {
        // 30° rotation, scale 1.7, shift (12, -5).
        let (s, t) = (1.7f64, std::f64::consts::PI / 6.0);
        let (a, b) = (s * t.cos(), s * t.sin());
        let src = [
            [0.0, 0.0],
            [10.0, 0.0],
            [3.0, 7.0],
            [-4.0, 2.0],
            [6.0, -9.0],
        ];
        let dst: Vec<[f64; 2]> = src
            .iter()
            .map(|p| [a * p[0] - b * p[1] + 12.0, b * p[0] + a * p[1] - 5.0])
            .collect();
        let m = similarity(&src, &dst).unwrap();
        let want = [[a, -b, 12.0], [b, a, -5.0]];
        for r in 0..2 {
            for c in 0..3 {
                assert!((m[r][c] - want[r][c]).abs() < 1e-9, "{m:?}");
            }
        }
        assert!(similarity(&[[1.0, 1.0]; 5], &dst).is_none());
    }

    /// A 130 × 120 RGB frame whose red is x, green y and blue `blue`.
    fn coordinate_frame(blue: u8) -> (usize, usize, Vec<u8>) {
        let (w, h) = (130, 120);
        let rgb = (0..w * h)
            .flat_map(|i| [(i % w) as u8, (i / w) as u8, blue])
            .collect();
        (w, h, rgb)
    }

    /// The ArcFace template's points (112-px crop), moved by `shift` on both axes.
    fn template_landmarks(shift: f32) -> [f32; 10] {
        let mut lm = [0f32; 10];
        for (i, p) in ARCFACE_TEMPLATE.iter().enumerate() {
            lm[2 * i] = p[0] as f32 + shift;
            lm[2 * i + 1] = p[1] as f32 + shift;
        }
        lm
    }

    #[test]
    fn a_template_crop_of_template_landmarks_is_the_frame_itself() {
        // Landmarks already on the template at scale 1 (size 112, margin 1): the identity
        // warp, so the crop is the frame's top-left 112 × 112 pixels.
        let (w, h, rgb) = coordinate_frame(7);
        let crop = template_crop(&rgb, w, h, &template_landmarks(0.0), 112, 1.0).unwrap();
        for v in 0..112 {
            for u in 0..112 {
                let px = &crop[(v * 112 + u) * 3..][..3];
                assert_eq!(px, [u as u8, v as u8, 7], "at {u},{v}");
            }
        }
    }

    #[test]
    fn a_template_crop_mirrors_the_frame_past_its_edges() {
        // Template landmarks shifted 20 px up and left: the crop's first 20 rows and columns
        // lie outside the frame and mirror it (BORDER_REFLECT: -1 -> 0, -20 -> 19).
        let (w, h, rgb) = coordinate_frame(0);
        let crop = template_crop(&rgb, w, h, &template_landmarks(-20.0), 112, 1.0).unwrap();
        assert_eq!(crop[0], 19);
        assert_eq!(crop[19 * 3], 0);
        assert_eq!(crop[20 * 3], 0);
        assert_eq!(crop[21 * 3], 1);
        assert_eq!(crop[(19 * 112) * 3 + 1], 0);
        assert!(template_crop(&rgb, w, h, &[5.0; 10], 112, 1.0).is_none());
        assert!(template_crop(&rgb, w, h, &[f32::NAN; 10], 112, 1.0).is_none());
    }
}
