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

/// Sum and sum of squares of `8 × residual` over the interior pixels of row `y` (exact
/// integers: the residual times 8 is an integer). Column sums of the 3×3 neighbourhood are
/// formed first, in 16-bit lanes (|8 × residual| ≤ 2040), and squares are summed in 32 bits
/// over runs of 256 pixels, so that both loops vectorise on plain SSE2.
fn row_sums(view: &LumaView<'_>, y: usize) -> (i64, i64) {
    const RUN: usize = 256;
    let (up, mid, down) = (view.row(y - 1), view.row(y), view.row(y + 1));
    let w = mid.len();
    let (up, down) = (&up[..w], &down[..w]);
    let mut columns = vec![0i16; w];
    for x in 0..w {
        columns[x] = up[x] as i16 + mid[x] as i16 + down[x] as i16;
    }
    let n = w - 2;
    let (l, c, r, m) = (
        &columns[..n],
        &columns[1..n + 1],
        &columns[2..n + 2],
        &mid[1..n + 1],
    );
    let (mut s, mut q) = (0i64, 0i64);
    let mut start = 0;
    while start < n {
        let end = (start + RUN).min(n);
        let (mut s32, mut q32) = (0i32, 0i32);
        for i in start..end {
            // 8·centre − ring = 9·centre − (sum of the 3×3 block).
            let r8 = 9 * m[i] as i16 - (l[i] + c[i] + r[i]);
            s32 += r8 as i32;
            q32 += r8 as i32 * r8 as i32;
        }
        s += s32 as i64;
        q += q32 as i64;
        start = end;
    }
    (s, q)
}

/// Standard deviation of the residual over the interior (0 for views under 3×3).
/// Sums are exact integers, so the result does not depend on how rows are split over threads.
pub fn noise_level(view: &LumaView<'_>) -> f64 {
    let (w, h) = (view.width(), view.height());
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (s, q) = (1..h - 1)
        .into_par_iter()
        .map(|y| row_sums(view, y))
        .reduce(|| (0, 0), |a, b| (a.0 + b.0, a.1 + b.1));
    level_from_sums(s, q, w, h)
}

/// The noise level of a `w`×`h` view from the sum `s` and the sum of squares `q` of `8R` over
/// its interior (shared with the GPU twin, which produces the same integer sums).
pub fn level_from_sums(s: i64, q: i64, w: usize, h: usize) -> f64 {
    let k = ((w - 2) * (h - 2)) as f64;
    let mean = s as f64 / k;
    ((q as f64 / k - mean * mean).max(0.0)).sqrt() / 8.0
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
