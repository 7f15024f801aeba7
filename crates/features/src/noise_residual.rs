//! CPU twin of `shaders/noise_residual.wgsl`: a high-pass noise residual and its level.

use rayon::prelude::*;

use crate::LumaView;

/// The residual at interior pixel (`x`, `y`): the pixel minus the mean of its 8 neighbours.
pub fn residual_at(view: &LumaView<'_>, x: usize, y: usize) -> f32 {
    let (up, mid, down) = (view.row(y - 1), view.row(y), view.row(y + 1));
    let ring = up[x - 1] as i32
        + up[x] as i32
        + up[x + 1] as i32
        + mid[x - 1] as i32
        + mid[x + 1] as i32
        + down[x - 1] as i32
        + down[x] as i32
        + down[x + 1] as i32;
    mid[x] as f32 - ring as f32 / 8.0
}

/// The residual over the interior of `view`, `(w-2)×(h-2)` values row-major.
pub fn residual(view: &LumaView<'_>) -> Vec<f32> {
    let (w, h) = (view.width(), view.height());
    if w < 3 || h < 3 {
        return Vec::new();
    }
    (1..h - 1)
        .flat_map(|y| (1..w - 1).map(move |x| (x, y)))
        .map(|(x, y)| residual_at(view, x, y))
        .collect()
}

/// Standard deviation of the residual over the interior (0 for views under 3×3).
/// Rows are summed in parallel and combined in row order, so the result is deterministic.
pub fn noise_level(view: &LumaView<'_>) -> f64 {
    let (w, h) = (view.width(), view.height());
    if w < 3 || h < 3 {
        return 0.0;
    }
    let rows: Vec<(f64, f64)> = (1..h - 1)
        .into_par_iter()
        .map(|y| {
            (1..w - 1).fold((0f64, 0f64), |(s, q), x| {
                let r = residual_at(view, x, y) as f64;
                (s + r, q + r * r)
            })
        })
        .collect();
    let (s, q) = rows
        .iter()
        .fold((0f64, 0f64), |a, b| (a.0 + b.0, a.1 + b.1));
    let k = ((w - 2) * (h - 2)) as f64;
    let mean = s / k;
    (q / k - mean * mean).max(0.0).sqrt()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flat_and_linear_ramps_have_no_residual() {
        let flat = vec![77u8; 20 * 10];
        assert_eq!(noise_level(&LumaView::new(&flat, 20, 10).unwrap()), 0.0);
        let ramp: Vec<u8> = (0..20 * 10).map(|i| (i % 20) as u8 * 3).collect();
        assert!(noise_level(&LumaView::new(&ramp, 20, 10).unwrap()) < 1e-9);
    }

    #[test]
    fn a_single_spike_is_found() {
        let mut px = vec![10u8; 5 * 5];
        px[2 * 5 + 2] = 18;
        let r = residual(&LumaView::new(&px, 5, 5).unwrap());
        assert_eq!(r.len(), 9);
        assert_eq!(r[4], 8.0);
        assert_eq!(r[0], -1.0);
    }
}
