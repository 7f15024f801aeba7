//! The face's regions in its aligned crop and the comparisons between them: high-frequency
//! energy and noise level inside the face vs. the context ring, the blending-boundary map
//! along the boundary vs. elsewhere, and Lab colour just inside vs. just outside it.
//!
//! Regions are bands of the normalised elliptical radius `r` (1 on the face ellipse):
//! face `r < 0.85`, inner band `0.85 ≤ r < 1`, outer band `1 ≤ r < 1.15`, context ring
//! `1.15 ≤ r < 1.5` (clipped to the crop).

use seamscan_features::LumaView;
use seamscan_features::local_std::BlockMap;
use seamscan_features::noise_residual::residual_at;

use crate::align::{AlignedCrop, Ellipse};

/// Radii separating face, inner band, outer band and context ring, and the ring's end.
pub const BANDS: [f32; 4] = [0.85, 1.0, 1.15, 1.5];

/// Edges of the rings of the radial profiles (normalised radius): 9 rings out to 1.5, so a
/// blending seam shows wherever the forger's mask ended, not only on the face ellipse.
pub const RINGS: [f32; 10] = [0.0, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05, 1.2, 1.35, 1.5];

/// The ring of radius `r` (`None` beyond the last).
pub fn ring(r: f32) -> Option<usize> {
    (0..RINGS.len() - 1).find(|&k| r >= RINGS[k] && r < RINGS[k + 1])
}

/// Which region a normalised radius falls in.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Region {
    /// Inside the face.
    Face,
    /// Just inside the ellipse.
    InnerBand,
    /// Just outside the ellipse.
    OuterBand,
    /// The context ring around the face.
    Context,
    /// Beyond the context ring.
    Outside,
}

/// The region of radius `r`.
pub fn region(r: f32) -> Region {
    match r {
        r if r < BANDS[0] => Region::Face,
        r if r < BANDS[1] => Region::InnerBand,
        r if r < BANDS[2] => Region::OuterBand,
        r if r < BANDS[3] => Region::Context,
        _ => Region::Outside,
    }
}

/// The comparisons for one face. Log ratios are `ln((a + ε) / (b + ε))`, ε as documented
/// per field, so a flat background does not make them explode. `None` where a region has
/// no pixels.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct RegionStats {
    /// Mean squared noise residual inside the face (grey levels²).
    pub hf_face: Option<f64>,
    /// Mean squared noise residual in the context ring.
    pub hf_context: Option<f64>,
    /// ln ratio face/context of the above, ε = 1.
    pub hf_log_ratio: Option<f64>,
    /// Median local noise std of the face blocks (grey levels).
    pub noise_face: Option<f64>,
    /// Median local noise std of the context-ring blocks.
    pub noise_context: Option<f64>,
    /// ln ratio face/context of the above, ε = 0.5.
    pub noise_log_ratio: Option<f64>,
    /// Mean boundary-map value of the blocks on the boundary (inner + outer band).
    pub boundary_ring: Option<f64>,
    /// Mean boundary-map value of the other blocks of the crop.
    pub boundary_elsewhere: Option<f64>,
    /// ln ratio ring/elsewhere of the above, ε = 0.05.
    pub boundary_log_ratio: Option<f64>,
    /// Mean CIE Lab (L*, a*, b*) of the inner band.
    pub lab_inner: Option<[f64; 3]>,
    /// Mean CIE Lab of the outer band.
    pub lab_outer: Option<[f64; 3]>,
    /// CIE76 colour difference between the two means.
    pub lab_delta_e: Option<f64>,
    /// Per ring of [`RINGS`]: ln((mean squared residual + 1) / (the same over all rings + 1)).
    pub radial_hf: Vec<f32>,
    /// Per ring: ln((median local noise std + 0.5) / (median over all rings + 0.5)).
    pub radial_noise: Vec<f32>,
    /// Per ring: ln((mean boundary-map value + 0.05) / (mean over all rings + 0.05)).
    pub radial_boundary: Vec<f32>,
    /// Between consecutive rings: CIE76 difference of their mean Lab (8 values).
    pub radial_delta_e: Vec<f32>,
}

fn log_ratio(a: Option<f64>, b: Option<f64>, eps: f64) -> Option<f64> {
    Some(((a? + eps) / (b? + eps)).ln())
}

fn mean(sum: f64, n: usize) -> Option<f64> {
    (n > 0).then(|| sum / n as f64)
}

fn median(mut v: Vec<f32>) -> Option<f64> {
    if v.is_empty() {
        return None;
    }
    v.sort_by(f32::total_cmp);
    let m = v.len() / 2;
    Some(if v.len() % 2 == 1 {
        v[m] as f64
    } else {
        (v[m - 1] as f64 + v[m] as f64) / 2.0
    })
}

/// sRGB (0–255) to CIE Lab (D65).
pub fn srgb_to_lab(rgb: [u8; 3]) -> [f64; 3] {
    let lin = |c: u8| {
        let c = c as f64 / 255.0;
        if c <= 0.04045 {
            c / 12.92
        } else {
            ((c + 0.055) / 1.055).powf(2.4)
        }
    };
    let (r, g, b) = (lin(rgb[0]), lin(rgb[1]), lin(rgb[2]));
    let x = (0.4124564 * r + 0.3575761 * g + 0.1804375 * b) / 0.95047;
    let y = 0.2126729 * r + 0.7151522 * g + 0.0721750 * b;
    let z = (0.0193339 * r + 0.1191920 * g + 0.9503041 * b) / 1.08883;
    let f = |t: f64| {
        if t > 216.0 / 24389.0 {
            t.cbrt()
        } else {
            (24389.0 / 27.0 * t + 16.0) / 116.0
        }
    };
    let (fx, fy, fz) = (f(x), f(y), f(z));
    [116.0 * fy - 16.0, 500.0 * (fx - fy), 200.0 * (fy - fz)]
}

/// Normalised radius of a block's centre, for a map laid over the crop interior (blocks start
/// at pixel 1).
fn block_radius(e: &Ellipse, map: &BlockMap, bx: usize, by: usize) -> f32 {
    let c = |b: usize| 1.0 + (b * map.block) as f32 + map.block as f32 / 2.0;
    e.radius(c(bx), c(by))
}

/// Block centres' regions.
fn block_region(e: &Ellipse, map: &BlockMap, bx: usize, by: usize) -> Region {
    region(block_radius(e, map, bx, by))
}

/// Compares the regions of `crop` given its local noise std map and boundary map
/// (`seamscan_features::local_std` and `boundary_map` of the crop's luma, or their GPU twins).
pub fn region_stats(crop: &AlignedCrop, local_std: &BlockMap, boundary: &BlockMap) -> RegionStats {
    let n = crop.size;
    let e = &crop.ellipse;
    let view = LumaView::new(&crop.luma, n, n).expect("crop is square");
    // Pixel statistics (residual needs a 1-pixel border).
    let (mut hf_face, mut n_face, mut hf_ctx, mut n_ctx) = (0f64, 0usize, 0f64, 0usize);
    let (mut lab_in, mut n_in, mut lab_out, mut n_out) = ([0f64; 3], 0usize, [0f64; 3], 0usize);
    let nr = RINGS.len() - 1;
    let (mut ring_hf, mut ring_hf_n) = (vec![0f64; nr], vec![0usize; nr]);
    let (mut ring_lab, mut ring_lab_n) = (vec![[0f64; 3]; nr], vec![0usize; nr]);
    for y in 0..n {
        for x in 0..n {
            let rad = e.radius(x as f32 + 0.5, y as f32 + 0.5);
            let reg = region(rad);
            let interior = x > 0 && y > 0 && x + 1 < n && y + 1 < n;
            if let Some(k) = ring(rad) {
                if interior {
                    let r = residual_at(&view, x, y) as f64;
                    ring_hf[k] += r * r;
                    ring_hf_n[k] += 1;
                }
                let p = &crop.rgb[(y * n + x) * 3..(y * n + x) * 3 + 3];
                let lab = srgb_to_lab([p[0], p[1], p[2]]);
                for c in 0..3 {
                    ring_lab[k][c] += lab[c];
                }
                ring_lab_n[k] += 1;
            }
            match reg {
                Region::Face | Region::Context if interior => {
                    let r = residual_at(&view, x, y) as f64;
                    if reg == Region::Face {
                        hf_face += r * r;
                        n_face += 1;
                    } else {
                        hf_ctx += r * r;
                        n_ctx += 1;
                    }
                }
                Region::InnerBand | Region::OuterBand => {
                    let p = &crop.rgb[(y * n + x) * 3..(y * n + x) * 3 + 3];
                    let lab = srgb_to_lab([p[0], p[1], p[2]]);
                    let (acc, cnt) = if reg == Region::InnerBand {
                        (&mut lab_in, &mut n_in)
                    } else {
                        (&mut lab_out, &mut n_out)
                    };
                    for k in 0..3 {
                        acc[k] += lab[k];
                    }
                    *cnt += 1;
                }
                _ => {}
            }
        }
    }
    // Block statistics.
    let (mut std_face, mut std_ctx) = (Vec::new(), Vec::new());
    let (mut b_ring, mut nb_ring, mut b_else, mut nb_else) = (0f64, 0usize, 0f64, 0usize);
    let mut ring_std: Vec<Vec<f32>> = vec![Vec::new(); nr];
    let (mut ring_b, mut ring_b_n) = (vec![0f64; nr], vec![0usize; nr]);
    for by in 0..local_std.height {
        for bx in 0..local_std.width {
            if let Some(k) = ring(block_radius(e, local_std, bx, by)) {
                ring_std[k].push(local_std.at(bx, by));
            }
            match block_region(e, local_std, bx, by) {
                Region::Face => std_face.push(local_std.at(bx, by)),
                Region::Context => std_ctx.push(local_std.at(bx, by)),
                _ => {}
            }
        }
    }
    for by in 0..boundary.height {
        for bx in 0..boundary.width {
            let v = boundary.at(bx, by) as f64;
            if let Some(k) = ring(block_radius(e, boundary, bx, by)) {
                ring_b[k] += v;
                ring_b_n[k] += 1;
            }
            match block_region(e, boundary, bx, by) {
                Region::InnerBand | Region::OuterBand => {
                    b_ring += v;
                    nb_ring += 1;
                }
                _ => {
                    b_else += v;
                    nb_else += 1;
                }
            }
        }
    }
    let hf_face = mean(hf_face, n_face);
    let hf_context = mean(hf_ctx, n_ctx);
    let noise_face = median(std_face);
    let noise_context = median(std_ctx);
    let boundary_ring = mean(b_ring, nb_ring);
    let boundary_elsewhere = mean(b_else, nb_else);
    let lab_inner = (n_in > 0).then(|| lab_in.map(|v| v / n_in as f64));
    let lab_outer = (n_out > 0).then(|| lab_out.map(|v| v / n_out as f64));
    let lab_delta_e = match (lab_inner, lab_outer) {
        (Some(a), Some(b)) => {
            Some(((a[0] - b[0]).powi(2) + (a[1] - b[1]).powi(2) + (a[2] - b[2]).powi(2)).sqrt())
        }
        _ => None,
    };
    // Radial profiles, each ring against all rings together; empty if a ring has no sample
    // (a crop too small for its blocks).
    let hf_all = mean(ring_hf.iter().sum(), ring_hf_n.iter().sum());
    let radial_hf = (0..nr)
        .map(|k| log_ratio(mean(ring_hf[k], ring_hf_n[k]), hf_all, 1.0).map(|v| v as f32))
        .collect::<Option<Vec<f32>>>()
        .unwrap_or_default();
    let std_all = median(ring_std.concat());
    let radial_noise = ring_std
        .iter()
        .map(|v| log_ratio(median(v.clone()), std_all, 0.5).map(|v| v as f32))
        .collect::<Option<Vec<f32>>>()
        .unwrap_or_default();
    let b_all = mean(ring_b.iter().sum(), ring_b_n.iter().sum());
    let radial_boundary = (0..nr)
        .map(|k| log_ratio(mean(ring_b[k], ring_b_n[k]), b_all, 0.05).map(|v| v as f32))
        .collect::<Option<Vec<f32>>>()
        .unwrap_or_default();
    let labs: Option<Vec<[f64; 3]>> = (0..nr)
        .map(|k| (ring_lab_n[k] > 0).then(|| ring_lab[k].map(|v| v / ring_lab_n[k] as f64)))
        .collect();
    let radial_delta_e = labs
        .map(|l| {
            l.windows(2)
                .map(|w| {
                    ((w[0][0] - w[1][0]).powi(2)
                        + (w[0][1] - w[1][1]).powi(2)
                        + (w[0][2] - w[1][2]).powi(2))
                    .sqrt() as f32
                })
                .collect()
        })
        .unwrap_or_default();
    RegionStats {
        radial_hf,
        radial_noise,
        radial_boundary,
        radial_delta_e,
        hf_face,
        hf_context,
        hf_log_ratio: log_ratio(hf_face, hf_context, 1.0),
        noise_face,
        noise_context,
        noise_log_ratio: log_ratio(noise_face, noise_context, 0.5),
        boundary_ring,
        boundary_elsewhere,
        boundary_log_ratio: log_ratio(boundary_ring, boundary_elsewhere, 0.05),
        lab_inner,
        lab_outer,
        lab_delta_e,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use seamscan_features::{boundary_map::boundary_map, local_std::local_std};

    fn crop_from(luma: Vec<u8>, rgb: Vec<u8>, n: usize) -> AlignedCrop {
        AlignedCrop {
            size: n,
            luma,
            rgb,
            ellipse: Ellipse {
                cx: n as f32 / 2.0,
                cy: n as f32 / 2.0,
                a: n as f32 / 2.6,
                b: n as f32 / 2.6,
            },
            angle: 0.0,
            outside: 0.0,
        }
    }

    #[test]
    fn lab_of_reference_colours() {
        let white = srgb_to_lab([255, 255, 255]);
        assert!((white[0] - 100.0).abs() < 0.01 && white[1].abs() < 0.01 && white[2].abs() < 0.01);
        let red = srgb_to_lab([255, 0, 0]);
        // CIE Lab of sRGB red: (53.24, 80.09, 67.20).
        assert!(
            (red[0] - 53.24).abs() < 0.05
                && (red[1] - 80.09).abs() < 0.05
                && (red[2] - 67.20).abs() < 0.05
        );
    }

    #[test]
    fn a_noisy_pasted_face_on_a_clean_background_is_seen_in_every_comparison() {
        // Deterministic pseudo-noise inside the ellipse, flat grey outside, a redder face.
        let n = 128;
        let e = crop_from(Vec::new(), Vec::new(), n).ellipse;
        let mut state = 12345u32;
        let mut luma = vec![0u8; n * n];
        let mut rgb = vec![0u8; 3 * n * n];
        for y in 0..n {
            for x in 0..n {
                state = state.wrapping_mul(1664525).wrapping_add(1013904223);
                let inside = e.radius(x as f32 + 0.5, y as f32 + 0.5) < 1.0;
                let v = if inside {
                    100 + (state >> 27) as u8
                } else {
                    110
                };
                luma[y * n + x] = v;
                let px = if inside { [v + 40, v, v] } else { [v, v, v] };
                rgb[(y * n + x) * 3..(y * n + x) * 3 + 3].copy_from_slice(&px);
            }
        }
        let view = LumaView::new(&luma, n, n).unwrap();
        let std_map = local_std(&view, 8);
        let b_map = boundary_map(&std_map);
        let s = region_stats(&crop_from(luma, rgb, n), &std_map, &b_map);
        assert!(s.hf_log_ratio.unwrap() > 2.0, "{s:?}");
        assert!(s.noise_log_ratio.unwrap() > 1.0, "{s:?}");
        assert!(s.boundary_log_ratio.unwrap() > 0.5, "{s:?}");
        assert!(s.lab_delta_e.unwrap() > 10.0, "{s:?}");
        assert_eq!(s.hf_context, Some(0.0));
        // The radial profiles see the seam at r = 1: noise drops from the ring inside it to
        // the ring outside it, the colour jumps there, the boundary map peaks there.
        assert_eq!((s.radial_hf.len(), s.radial_noise.len()), (9, 9));
        assert_eq!((s.radial_boundary.len(), s.radial_delta_e.len()), (9, 8));
        let k = ring(0.95).unwrap();
        assert!(s.radial_hf[k] > s.radial_hf[k + 2] + 1.0, "{s:?}");
        let (de_max, de_at) = s
            .radial_delta_e
            .iter()
            .enumerate()
            .fold((0f32, 0), |a, (i, v)| if *v > a.0 { (*v, i) } else { a });
        assert!(
            de_max > 10.0 && (de_at == k || de_at == k - 1),
            "{:?}",
            s.radial_delta_e
        );
        let b_max = s.radial_boundary.iter().cloned().fold(f32::MIN, f32::max);
        assert!(
            s.radial_boundary[k] == b_max || s.radial_boundary[k + 1] == b_max,
            "{:?}",
            s.radial_boundary
        );
    }
}
