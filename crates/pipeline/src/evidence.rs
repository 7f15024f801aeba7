//! Evidence overlays: one PNG per flagged face, two 256-px panels side by side — the frame
//! around the face with its box and landmarks, and the aligned crop with the blending-boundary
//! map over it as a heat map and the face ellipse's boundary band outlined — under a strip
//! coloured by the verdict (orange suspicious, red manipulated).

use std::path::Path;

use image::{Rgb, RgbImage};
use seamscan_faces::{AlignedCrop, Ellipse, Face};
use seamscan_features::LumaView;
use seamscan_features::boundary_map::boundary_map;
use seamscan_features::local_std::local_std;

use crate::faces::MAP_BLOCK;

/// Side of each panel.
pub const PANEL: usize = 256;
/// Height of the verdict strip above the panels.
const STRIP: usize = 8;

/// A square of the frame around a face, resampled to `PANEL` pixels, and where it came from.
#[derive(Debug, Clone)]
pub struct ContextPatch {
    /// Packed RGB24, `PANEL * PANEL * 3`.
    pub rgb: Vec<u8>,
    /// Frame x of the patch's left edge.
    pub x0: f32,
    /// Frame y of the patch's top edge.
    pub y0: f32,
    /// Patch pixels per frame pixel.
    pub scale: f32,
}

/// Everything an overlay is drawn from.
#[derive(Debug, Clone)]
pub struct EvidenceParts {
    /// The face (frame coordinates).
    pub face: Face,
    /// The frame around it.
    pub context: ContextPatch,
    /// Side of the aligned crop.
    pub crop_size: usize,
    /// The aligned crop, packed RGB24.
    pub crop_rgb: Vec<u8>,
    /// Its luma.
    pub crop_luma: Vec<u8>,
    /// The face ellipse in crop pixels.
    pub ellipse: Ellipse,
}

impl EvidenceParts {
    /// The parts of `face` in a frame (`rgb` packed, `width`×`height`) with its aligned crop.
    pub fn new(face: &Face, rgb: &[u8], width: usize, height: usize, crop: &AlignedCrop) -> Self {
        EvidenceParts {
            face: *face,
            context: context_patch(face, rgb, width, height),
            crop_size: crop.size,
            crop_rgb: crop.rgb.clone(),
            crop_luma: crop.luma.clone(),
            ellipse: crop.ellipse,
        }
    }
}

/// The frame around `face`: a square of twice the box's longer side, centred on the box,
/// bilinear, edge-clamped.
pub fn context_patch(face: &Face, rgb: &[u8], width: usize, height: usize) -> ContextPatch {
    let side = 2.0 * face.w.max(face.h).max(8.0);
    let (cx, cy) = face.centre();
    let (x0, y0) = (cx - side / 2.0, cy - side / 2.0);
    let scale = PANEL as f32 / side;
    let mut out = vec![0u8; PANEL * PANEL * 3];
    let (wf, hf) = (width as f32 - 1.0, height as f32 - 1.0);
    for v in 0..PANEL {
        for u in 0..PANEL {
            let x = (x0 + (u as f32 + 0.5) / scale - 0.5).clamp(0.0, wf.max(0.0));
            let y = (y0 + (v as f32 + 0.5) / scale - 0.5).clamp(0.0, hf.max(0.0));
            let (xa, ya) = (x.floor() as usize, y.floor() as usize);
            let (xb, yb) = ((xa + 1).min(width - 1), (ya + 1).min(height - 1));
            let (fx, fy) = (x - xa as f32, y - ya as f32);
            for c in 0..3 {
                let at = |xx: usize, yy: usize| rgb[(yy * width + xx) * 3 + c] as f32;
                let top = at(xa, ya) * (1.0 - fx) + at(xb, ya) * fx;
                let bottom = at(xa, yb) * (1.0 - fx) + at(xb, yb) * fx;
                out[(v * PANEL + u) * 3 + c] = (top * (1.0 - fy) + bottom * fy).round() as u8;
            }
        }
    }
    ContextPatch {
        rgb: out,
        x0,
        y0,
        scale,
    }
}

/// A heat colour for `t` in 0–1 (black → red → yellow → white).
fn heat(t: f32) -> [f32; 3] {
    let t = t.clamp(0.0, 1.0);
    [
        (3.0 * t).min(1.0) * 255.0,
        (3.0 * t - 1.0).clamp(0.0, 1.0) * 255.0,
        (3.0 * t - 2.0).clamp(0.0, 1.0) * 255.0,
    ]
}

fn put(img: &mut RgbImage, x: i64, y: i64, c: [u8; 3]) {
    if x >= 0 && y >= 0 && (x as u32) < img.width() && (y as u32) < img.height() {
        img.put_pixel(x as u32, y as u32, Rgb(c));
    }
}

/// Draws the overlay of `parts` with the given verdict.
pub fn render(parts: &EvidenceParts, verdict: &str) -> RgbImage {
    let mut img = RgbImage::new((2 * PANEL) as u32, (PANEL + STRIP) as u32);
    let strip = match verdict {
        "manipulated" => [220, 30, 30],
        "suspicious" => [240, 150, 20],
        _ => [60, 160, 60],
    };
    for y in 0..STRIP {
        for x in 0..2 * PANEL {
            put(&mut img, x as i64, y as i64, strip);
        }
    }
    // Left: the frame around the face, with the box and landmarks.
    let c = &parts.context;
    for v in 0..PANEL {
        for u in 0..PANEL {
            let i = (v * PANEL + u) * 3;
            let px = [c.rgb[i], c.rgb[i + 1], c.rgb[i + 2]];
            put(&mut img, u as i64, (v + STRIP) as i64, px);
        }
    }
    let f = &parts.face;
    let to = |x: f32, y: f32| {
        (
            ((x - c.x0) * c.scale).round() as i64,
            ((y - c.y0) * c.scale).round() as i64 + STRIP as i64,
        )
    };
    let (bx0, by0) = to(f.x, f.y);
    let (bx1, by1) = to(f.x + f.w, f.y + f.h);
    for t in 0..2 {
        for x in bx0..=bx1 {
            put(&mut img, x, by0 + t, strip);
            put(&mut img, x, by1 - t, strip);
        }
        for y in by0..=by1 {
            put(&mut img, bx0 + t, y, strip);
            put(&mut img, bx1 - t, y, strip);
        }
    }
    for k in 0..5 {
        let (x, y) = to(f.landmarks[2 * k], f.landmarks[2 * k + 1]);
        for dy in -1..=1 {
            for dx in -1..=1 {
                put(&mut img, x + dx, y + dy, [0, 255, 255]);
            }
        }
    }
    // Right: the aligned crop with the boundary map as a heat map.
    let n = parts.crop_size;
    let map = LumaView::new(&parts.crop_luma, n, n)
        .map(|view| boundary_map(&local_std(&view, MAP_BLOCK)));
    let (scale_max, values) = match &map {
        Some(m) => {
            let mut v: Vec<f32> = m.values.iter().copied().filter(|x| x.is_finite()).collect();
            v.sort_by(f32::total_cmp);
            let p99 = v
                .get(v.len().saturating_sub(1) * 99 / 100)
                .copied()
                .unwrap_or(1.0);
            (p99.max(1e-6), Some(m))
        }
        None => (1.0, None),
    };
    let e = &parts.ellipse;
    for v in 0..PANEL {
        for u in 0..PANEL {
            let (cu, cv) = ((u * n / PANEL).min(n - 1), (v * n / PANEL).min(n - 1));
            let i = (cv * n + cu) * 3;
            let mut px = [
                parts.crop_rgb[i] as f32,
                parts.crop_rgb[i + 1] as f32,
                parts.crop_rgb[i + 2] as f32,
            ];
            if let Some(m) = values {
                let (mx, my) = (cu / m.block, cv / m.block);
                if mx < m.width && my < m.height {
                    let t = m.at(mx, my) / scale_max;
                    let h = heat(t);
                    let a = 0.65 * t.clamp(0.0, 1.0);
                    for k in 0..3 {
                        px[k] = px[k] * (1.0 - a) + h[k] * a;
                    }
                }
            }
            // The boundary band (normalised radius 0.85 and 1.15), dotted.
            let r = e.radius(cu as f32 + 0.5, cv as f32 + 0.5);
            let on_edge = [0.85f32, 1.15].iter().any(|b| (r - b).abs() < 0.008);
            let out = if on_edge && (u + v) % 4 < 2 {
                [255, 255, 255]
            } else {
                [px[0] as u8, px[1] as u8, px[2] as u8]
            };
            put(&mut img, (PANEL + u) as i64, (v + STRIP) as i64, out);
        }
    }
    img
}

/// Writes `img` as a PNG at `path`, atomically (temporary name, then rename).
pub fn write_png(img: &RgbImage, path: &Path) -> std::io::Result<()> {
    if let Some(dir) = path.parent() {
        std::fs::create_dir_all(dir)?;
    }
    let tmp = path.with_extension("png.tmp");
    img.write_to(
        &mut std::io::BufWriter::new(std::fs::File::create(&tmp)?),
        image::ImageFormat::Png,
    )
    .map_err(std::io::Error::other)?;
    std::fs::rename(&tmp, path)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_overlay_shows_the_box_and_a_hot_seam() {
        // A frame with a face-sized box; the crop has a vertical seam between two noise levels.
        let (w, h) = (200usize, 200usize);
        let rgb = vec![100u8; w * h * 3];
        let face = Face {
            x: 70.0,
            y: 60.0,
            w: 60.0,
            h: 80.0,
            score: 0.9,
            landmarks: [
                85.0, 90.0, 115.0, 90.0, 100.0, 105.0, 88.0, 120.0, 112.0, 120.0,
            ],
        };
        let n = 256;
        let mut luma = vec![128u8; n * n];
        let mut state = 7u32;
        for y in 0..n {
            for x in n / 2..n {
                state = state.wrapping_mul(1_664_525).wrapping_add(1_013_904_223);
                luma[y * n + x] = (128 + (state >> 24) as i32 % 40 - 20) as u8;
            }
        }
        let parts = EvidenceParts {
            face,
            context: context_patch(&face, &rgb, w, h),
            crop_size: n,
            crop_rgb: vec![128; n * n * 3],
            crop_luma: luma,
            ellipse: Ellipse {
                cx: 128.0,
                cy: 128.0,
                a: 80.0,
                b: 100.0,
            },
        };
        let img = render(&parts, "manipulated");
        assert_eq!(img.dimensions(), (512, 264));
        // The strip and the box's top edge are red.
        assert_eq!(img.get_pixel(3, 3).0, [220, 30, 30]);
        let (x0, y0) = (
            ((70.0 - parts.context.x0) * parts.context.scale).round() as u32,
            ((60.0 - parts.context.y0) * parts.context.scale).round() as u32 + 8,
        );
        assert_eq!(img.get_pixel(x0 + 10, y0).0, [220, 30, 30]);
        // The seam column is hotter (redder) than the flat left half of the crop.
        let seam = img.get_pixel(256 + 128, 8 + 60).0;
        let flat = img.get_pixel(256 + 40, 8 + 60).0;
        assert!(
            seam[0] as i32 - seam[2] as i32 > flat[0] as i32 - flat[2] as i32 + 40,
            "{seam:?} {flat:?}"
        );
    }
}
