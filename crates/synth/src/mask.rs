//! Blending masks from the five landmarks: a polygon (a deformed ellipse, an expanded landmark
//! hull, or a rounded box), rasterised inside a region of interest, blurred, scaled by the
//! blend ratio.

use seamscan_faces::Face;

/// The outline a mask starts from.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum MaskShape {
    /// An ellipse on the face box, levelled on the eye line, with low-frequency wobble.
    Ellipse,
    /// The landmarks plus a forehead point pair, expanded from their centroid.
    Hull,
    /// A rounded rectangle inside the face box.
    Box,
}

impl MaskShape {
    /// The name written to `labels.csv`.
    pub fn name(self) -> &'static str {
        match self {
            MaskShape::Ellipse => "ellipse",
            MaskShape::Hull => "hull",
            MaskShape::Box => "box",
        }
    }
}

/// Everything that fixes a mask's shape for one forged clip.
#[derive(Debug, Clone, PartialEq)]
pub struct MaskParams {
    /// Starting outline.
    pub shape: MaskShape,
    /// Size relative to the face box (ellipse, box) or expansion factor (hull).
    pub scale: f32,
    /// Aspect tweak (height over width multiplier).
    pub aspect: f32,
    /// Harmonic wobble: (order, amplitude, phase).
    pub wobble: Vec<(f32, f32, f32)>,
    /// Blur sigma relative to the face box's shorter side (0 = hard edge, ~1 px).
    pub blur: f32,
    /// Blend ratio: the mask's maximum (1 = the forged face replaces the original).
    pub ratio: f32,
}

/// A soft mask over a region of interest of a frame.
#[derive(Debug, Clone, PartialEq)]
pub struct SoftMask {
    /// Region left (pixels of the frame).
    pub x0: usize,
    /// Region top.
    pub y0: usize,
    /// Region width.
    pub w: usize,
    /// Region height.
    pub h: usize,
    /// `w * h` weights in 0–1.
    pub alpha: Vec<f32>,
}

impl SoftMask {
    /// The mask's core for [`Blending::Poisson`](crate::forge::Blending::Poisson): where the
    /// weight is at least half its maximum, the maximum (the blend ratio); elsewhere 0.
    pub fn core(&self) -> SoftMask {
        let top = self.alpha.iter().copied().fold(0.0f32, f32::max);
        let alpha = self
            .alpha
            .iter()
            .map(|&a| {
                if top > 0.0 && a >= 0.5 * top {
                    top
                } else {
                    0.0
                }
            })
            .collect();
        SoftMask {
            alpha,
            ..self.clone()
        }
    }

    /// The weight at frame pixel (x, y) (0 outside the region).
    pub fn at(&self, x: usize, y: usize) -> f32 {
        if x < self.x0 || y < self.y0 || x >= self.x0 + self.w || y >= self.y0 + self.h {
            return 0.0;
        }
        self.alpha[(y - self.y0) * self.w + (x - self.x0)]
    }

    /// The mask as a full-frame 8-bit plane (for the ground-truth PNGs).
    pub fn to_plane(&self, width: usize, height: usize) -> Vec<u8> {
        let mut out = vec![0u8; width * height];
        for y in 0..self.h {
            for x in 0..self.w {
                let (fx, fy) = (self.x0 + x, self.y0 + y);
                if fx < width && fy < height {
                    out[fy * width + fx] = (self.alpha[y * self.w + x] * 255.0).round() as u8;
                }
            }
        }
        out
    }
}

/// The region of interest around a face: its box enlarged 2×, clipped to the frame.
pub fn roi(face: &Face, width: usize, height: usize) -> (usize, usize, usize, usize) {
    let (cx, cy) = face.centre();
    let half = face.w.max(face.h);
    let x0 = (cx - half).floor().max(0.0) as usize;
    let y0 = (cy - half).floor().max(0.0) as usize;
    let x1 = ((cx + half).ceil().max(0.0) as usize).min(width);
    let y1 = ((cy + half).ceil().max(0.0) as usize).min(height);
    (
        x0.min(x1),
        y0.min(y1),
        x1.saturating_sub(x0),
        y1.saturating_sub(y0),
    )
}

/// The outline polygon of a mask for `face`, in frame pixels.
pub fn outline(face: &Face, p: &MaskParams) -> Vec<(f32, f32)> {
    let l = &face.landmarks;
    let eyes = ((l[0] + l[2]) / 2.0, (l[1] + l[3]) / 2.0);
    let mouth = ((l[6] + l[8]) / 2.0, (l[7] + l[9]) / 2.0);
    let angle = (l[3] - l[1]).atan2(l[2] - l[0]);
    let (c, s) = (angle.cos(), angle.sin());
    let rotate = |u: f32, v: f32, o: (f32, f32)| (o.0 + u * c - v * s, o.1 + u * s + v * c);
    let wobble = |t: f32| {
        1.0 + p
            .wobble
            .iter()
            .map(|(k, a, ph)| a * (k * t + ph).cos())
            .sum::<f32>()
    };
    match p.shape {
        MaskShape::Ellipse => {
            let centre = (
                (eyes.0 + mouth.0) / 2.0,
                (eyes.1 + mouth.1) / 2.0 - 0.05 * face.h,
            );
            let a = 0.5 * face.w * p.scale;
            let b = 0.5 * face.h * p.scale * p.aspect;
            (0..64)
                .map(|i| {
                    let t = i as f32 / 64.0 * std::f32::consts::TAU;
                    let r = wobble(t);
                    rotate(a * r * t.cos(), b * r * t.sin(), centre)
                })
                .collect()
        }
        MaskShape::Hull => {
            let up = (mouth.0 - eyes.0, mouth.1 - eyes.1);
            let mut pts: Vec<(f32, f32)> = (0..5).map(|i| (l[2 * i], l[2 * i + 1])).collect();
            pts.push((l[0] - 0.7 * up.0, l[1] - 0.7 * up.1 * p.aspect));
            pts.push((l[2] - 0.7 * up.0, l[3] - 0.7 * up.1 * p.aspect));
            pts.push((mouth.0 + 0.45 * up.0, mouth.1 + 0.45 * up.1));
            let n = pts.len() as f32;
            let centre = (
                pts.iter().map(|q| q.0).sum::<f32>() / n,
                pts.iter().map(|q| q.1).sum::<f32>() / n,
            );
            let mut hull = convex_hull(&pts);
            for (i, q) in hull.iter_mut().enumerate() {
                let t = i as f32 / 8.0 * std::f32::consts::TAU;
                let k = p.scale * wobble(t);
                *q = (
                    centre.0 + (q.0 - centre.0) * k,
                    centre.1 + (q.1 - centre.1) * k,
                );
            }
            hull
        }
        MaskShape::Box => {
            let (cx, cy) = face.centre();
            let hw = 0.5 * face.w * p.scale;
            let hh = 0.5 * face.h * p.scale * p.aspect;
            let r = 0.3 * hw.min(hh);
            let mut pts = Vec::new();
            for (qx, qy, a0) in [
                (hw - r, hh - r, 0.0f32),
                (-(hw - r), hh - r, 90.0),
                (-(hw - r), -(hh - r), 180.0),
                (hw - r, -(hh - r), 270.0),
            ] {
                for j in 0..=8 {
                    let t = (a0 + j as f32 * 90.0 / 8.0).to_radians();
                    pts.push(rotate(qx + r * t.cos(), qy + r * t.sin(), (cx, cy)));
                }
            }
            pts
        }
    }
}

fn convex_hull(points: &[(f32, f32)]) -> Vec<(f32, f32)> {
    let mut pts = points.to_vec();
    pts.sort_by(|a, b| a.0.total_cmp(&b.0).then(a.1.total_cmp(&b.1)));
    let cross = |o: (f32, f32), a: (f32, f32), b: (f32, f32)| {
        (a.0 - o.0) * (b.1 - o.1) - (a.1 - o.1) * (b.0 - o.0)
    };
    let mut hull: Vec<(f32, f32)> = Vec::new();
    for pass in 0..2 {
        let start = hull.len();
        let iter: Box<dyn Iterator<Item = &(f32, f32)>> = if pass == 0 {
            Box::new(pts.iter())
        } else {
            Box::new(pts.iter().rev())
        };
        for &p in iter {
            while hull.len() >= start + 2
                && cross(hull[hull.len() - 2], hull[hull.len() - 1], p) <= 0.0
            {
                hull.pop();
            }
            hull.push(p);
        }
        hull.pop();
    }
    hull
}

fn inside(poly: &[(f32, f32)], x: f32, y: f32) -> bool {
    let mut c = false;
    let n = poly.len();
    for i in 0..n {
        let (a, b) = (poly[i], poly[(i + n - 1) % n]);
        if (a.1 > y) != (b.1 > y) && x < (b.0 - a.0) * (y - a.1) / (b.1 - a.1) + a.0 {
            c = !c;
        }
    }
    c
}

/// The soft mask of `face` in a `width`×`height` frame.
pub fn soft_mask(face: &Face, p: &MaskParams, width: usize, height: usize) -> SoftMask {
    let (x0, y0, w, h) = roi(face, width, height);
    let poly = outline(face, p);
    let mut alpha = vec![0.0f32; w * h];
    for y in 0..h {
        for x in 0..w {
            if inside(&poly, (x0 + x) as f32 + 0.5, (y0 + y) as f32 + 0.5) {
                alpha[y * w + x] = 1.0;
            }
        }
    }
    let sigma = (p.blur * face.w.min(face.h)).max(0.7);
    crate::raster::gaussian_blur(&mut alpha, w, h, sigma);
    for a in &mut alpha {
        *a = (*a * p.ratio).clamp(0.0, 1.0);
    }
    SoftMask {
        x0,
        y0,
        w,
        h,
        alpha,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn face() -> Face {
        Face {
            x: 40.0,
            y: 30.0,
            w: 40.0,
            h: 50.0,
            score: 0.9,
            landmarks: [50.0, 45.0, 70.0, 45.0, 60.0, 55.0, 52.0, 66.0, 68.0, 66.0],
        }
    }

    #[test]
    fn every_shape_covers_the_face_centre_and_not_the_corners() {
        for shape in [MaskShape::Ellipse, MaskShape::Hull, MaskShape::Box] {
            let p = MaskParams {
                shape,
                scale: 1.0,
                aspect: 1.0,
                wobble: vec![(3.0, 0.05, 0.3)],
                blur: 0.02,
                ratio: 1.0,
            };
            let m = soft_mask(&face(), &p, 120, 110);
            assert!(m.at(60, 55) > 0.95, "{shape:?} centre {}", m.at(60, 55));
            assert_eq!(m.at(0, 0), 0.0);
            assert!(m.at(m.x0, m.y0) < 0.05, "{shape:?} roi corner");
        }
    }

    #[test]
    fn ratio_caps_the_mask() {
        let p = MaskParams {
            shape: MaskShape::Ellipse,
            scale: 0.9,
            aspect: 1.0,
            wobble: vec![],
            blur: 0.0,
            ratio: 0.5,
        };
        let m = soft_mask(&face(), &p, 120, 110);
        let max = m.alpha.iter().cloned().fold(0.0f32, f32::max);
        assert!((max - 0.5).abs() < 1e-3, "{max}");
    }
}
