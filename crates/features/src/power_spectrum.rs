//! CPU twin of `shaders/power_spectrum.wgsl`: Hann-windowed 2-D FFT of square luma tiles and
//! their power spectrum, averaged over tiles (Welch's method).
//!
//! A picture is real, so its spectrum is symmetric (`P(u, v) = P(−u, −v)`): only the half
//! with horizontal frequency index `u` in `0..=n/2` is computed (real-to-complex row FFTs,
//! then complex FFTs of those `n/2 + 1` columns) and stored, `(n/2 + 1)·n` samples with
//! sample `u·n + v` at horizontal index `u` and vertical index `v` (FFT order).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
use realfft::{RealFftPlanner, RealToComplex};
use rustfft::num_complex::Complex32;
use rustfft::{Fft, FftPlanner};

use crate::{FeatureError, LumaView};

/// Where the square tiles of one view lie.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TileGrid {
    /// Tile side in pixels (a power of two).
    pub size: usize,
    /// Top-left corners, row-major order.
    pub origins: Vec<(usize, usize)>,
}

/// Lays a grid of `tile`×`tile` tiles, centred, over `view`; the tile shrinks by powers of
/// two until it fits, and at most `max_tiles` tiles nearest the centre are kept.
pub fn tile_grid(
    view: &LumaView<'_>,
    tile: usize,
    max_tiles: usize,
) -> Result<TileGrid, FeatureError> {
    let (w, h) = (view.width(), view.height());
    let mut size = tile;
    while size > w.min(h) && size > 16 {
        size /= 2;
    }
    if size > w.min(h) {
        return Err(FeatureError::TooSmall(w, h));
    }
    let (nx, ny) = (w / size, h / size);
    let (x0, y0) = ((w - nx * size) / 2, (h - ny * size) / 2);
    let mut origins: Vec<(usize, usize)> = (0..ny)
        .flat_map(|j| (0..nx).map(move |i| (x0 + i * size, y0 + j * size)))
        .collect();
    if origins.len() > max_tiles {
        // Twice the distance from the view's centre to the tile's, in integers.
        let dist = |&(x, y): &(usize, usize)| {
            let dx = (2 * x + size) as i64 - w as i64;
            let dy = (2 * y + size) as i64 - h as i64;
            dx * dx + dy * dy
        };
        origins.sort_by_key(|o| (dist(o), o.1, o.0));
        origins.truncate(max_tiles);
        origins.sort_by_key(|&(x, y)| (y, x));
    }
    Ok(TileGrid { size, origins })
}

/// Frequency in cycles per pixel of FFT index `i` of an `n`-point transform (−0.5..0.5).
pub fn frequency(i: usize, n: usize) -> f64 {
    if i < n / 2 {
        i as f64 / n as f64
    } else {
        i as f64 / n as f64 - 1.0
    }
}

/// The periodic Hann window of length `n`.
pub fn hann(n: usize) -> Vec<f32> {
    (0..n)
        .map(|i| (0.5 - 0.5 * (2.0 * std::f64::consts::PI * i as f64 / n as f64).cos()) as f32)
        .collect()
}

/// `1 / (Σ w²)²` for a window `w`, in f32 as the spectra use it (shared with the GPU twin).
pub fn inverse_window_energy(window: &[f32]) -> f32 {
    let energy: f32 = window.iter().map(|w| w * w).sum::<f32>().powi(2);
    1.0 / energy
}

/// Per-thread work buffers, reused from frame to frame.
#[derive(Default)]
struct TileBuffers {
    line: Vec<f32>,
    rows: Vec<Complex32>,
    cols: Vec<Complex32>,
    scratch: Vec<Complex32>,
}

/// The FFTs of one tile size: real-to-complex for rows, complex for columns.
#[derive(Clone)]
struct Plan {
    rows: Arc<dyn RealToComplex<f32>>,
    cols: Arc<dyn Fft<f32>>,
    window: Arc<Vec<f32>>,
}

thread_local! {
    static TILE_BUFFERS: std::cell::RefCell<TileBuffers> = std::cell::RefCell::new(TileBuffers::default());
}

/// FFT plans by size, shared by all threads.
pub struct PowerSpectrum {
    plans: Mutex<HashMap<usize, Plan>>,
}

impl Default for PowerSpectrum {
    fn default() -> Self {
        Self::new()
    }
}

impl PowerSpectrum {
    /// An empty plan cache.
    pub fn new() -> Self {
        PowerSpectrum {
            plans: Mutex::new(HashMap::new()),
        }
    }

    fn plan(&self, n: usize) -> Plan {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        plans
            .entry(n)
            .or_insert_with(|| Plan {
                rows: RealFftPlanner::new().plan_fft_forward(n),
                cols: FftPlanner::new().plan_fft_forward(n),
                window: Arc::new(hann(n)),
            })
            .clone()
    }

    /// Power spectrum of one `n`×`n` tile: the `(n/2 + 1)·n` samples of the half spectrum
    /// (see the module doc), normalised by the window energy so that white noise of variance
    /// σ² gives σ² per sample.
    pub fn tile(&self, tile: &LumaView<'_>) -> Vec<f32> {
        let n = tile.width();
        debug_assert_eq!(n, tile.height());
        let plan = self.plan(n);
        TILE_BUFFERS.with_borrow_mut(|b| tile_with(tile, &plan, b))
    }

    /// Mean power spectrum over the tiles of `grid` (summed in grid order: deterministic).
    pub fn averaged(&self, view: &LumaView<'_>, grid: &TileGrid) -> Vec<f32> {
        let n = grid.size;
        let len = (n / 2 + 1) * n;
        let spectra: Vec<Vec<f32>> = grid
            .origins
            .par_iter()
            .map(|&(x, y)| {
                let tile = view
                    .crop(x, y, n, n)
                    .expect("tile grid lies inside the view");
                self.tile(&tile)
            })
            .collect();
        let mut sum = vec![0f32; len];
        for s in &spectra {
            for (a, b) in sum.iter_mut().zip(s) {
                *a += b;
            }
        }
        let k = spectra.len().max(1) as f32;
        sum.iter_mut().for_each(|a| *a /= k);
        sum
    }
}

fn tile_with(tile: &LumaView<'_>, plan: &Plan, b: &mut TileBuffers) -> Vec<f32> {
    let n = tile.width();
    let h = n / 2 + 1;
    let zero = Complex32::new(0.0, 0.0);
    let window = plan.window.as_slice();
    let mean = crate::tile_mean::tile_mean(tile);
    let TileBuffers {
        line,
        rows,
        cols,
        scratch,
    } = b;
    // Rows: windowed, mean-free, real-to-complex: `rows[y][u]`, u in 0..=n/2.
    rows.resize(n * h, zero);
    line.resize(n, 0.0);
    let rs = plan.rows.get_scratch_len();
    let cs = plan.cols.get_inplace_scratch_len();
    scratch.resize(rs.max(cs), zero);
    for (y, &wy) in window.iter().enumerate() {
        for ((l, &v), &wx) in line.iter_mut().zip(tile.row(y)).zip(window) {
            *l = (v as f32 - mean) * (wx * wy);
        }
        plan.rows
            .process_with_scratch(line, &mut rows[y * h..(y + 1) * h], &mut scratch[..rs])
            .expect("buffer lengths match the plan");
    }
    // Columns: `cols[u][y]`, then complex FFTs along y give `cols[u][v]`.
    cols.resize(h * n, zero);
    transpose::transpose(rows, cols, h, n);
    plan.cols.process_with_scratch(cols, &mut scratch[..cs]);
    let inv = inverse_window_energy(window);
    cols.iter().map(|c| c.norm_sqr() * inv).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_pure_cosine_lands_in_its_bin() {
        let n = 64;
        let px: Vec<u8> = (0..n * n)
            .map(|i| {
                let x = (i % n) as f64;
                (128.0 + 100.0 * (2.0 * std::f64::consts::PI * 8.0 * x / n as f64).cos()) as u8
            })
            .collect();
        let view = LumaView::new(&px, n, n).unwrap();
        let p = PowerSpectrum::new().tile(&view);
        let (imax, _) = p
            .iter()
            .enumerate()
            .fold((0, 0f32), |m, (i, &v)| if v > m.1 { (i, v) } else { m });
        // Vertical frequency 0, horizontal ±8/64 (column-major order).
        assert_eq!(imax % n, 0);
        assert!((frequency(imax / n, n).abs() - 0.125).abs() < 1e-9);
    }

    #[test]
    fn the_half_spectrum_equals_the_full_complex_transform() {
        let n = 32;
        let px: Vec<u8> = (0..n * n).map(|i| ((i * 7919) % 251) as u8).collect();
        let view = LumaView::new(&px, n, n).unwrap();
        let half = PowerSpectrum::new().tile(&view);
        assert_eq!(half.len(), (n / 2 + 1) * n);
        // Reference: full complex 2-D FFT of the same windowed, mean-free tile.
        let w = hann(n);
        let mean = px.iter().map(|&v| v as f32).sum::<f32>() / (n * n) as f32;
        let mut full: Vec<Complex32> = (0..n * n)
            .map(|i| Complex32::new((px[i] as f32 - mean) * w[i % n] * w[i / n], 0.0))
            .collect();
        let fft = FftPlanner::new().plan_fft_forward(n);
        fft.process(&mut full);
        let mut t = vec![Complex32::new(0.0, 0.0); n * n];
        transpose::transpose(&full, &mut t, n, n);
        fft.process(&mut t); // t[u][v]
        let energy: f32 = w.iter().map(|x| x * x).sum::<f32>().powi(2);
        for u in 0..=n / 2 {
            for v in 0..n {
                let a = half[u * n + v];
                let b = t[u * n + v].norm_sqr() / energy;
                assert!((a - b).abs() <= 1e-3 * b.max(1.0), "({u},{v}): {a} vs {b}");
                // And the mirror sample really is the same.
                let m = t[((n - u) % n) * n + (n - v) % n].norm_sqr() / energy;
                assert!((a - m).abs() <= 1e-3 * m.max(1.0));
            }
        }
    }

    #[test]
    fn the_grid_is_centred_and_capped() {
        let px = vec![0u8; 1920 * 1080];
        let view = LumaView::new(&px, 1920, 1080).unwrap();
        let g = tile_grid(&view, 256, 8).unwrap();
        assert_eq!(g.size, 256);
        assert_eq!(g.origins.len(), 8);
        // 7×4 tiles fit (from x = 64, y = 28); the 8 nearest the centre are the middle three of
        // the two middle rows and the middle column's tile above and below them.
        assert_eq!(
            g.origins,
            vec![
                (832, 28),
                (576, 284),
                (832, 284),
                (1088, 284),
                (576, 540),
                (832, 540),
                (1088, 540),
                (832, 796)
            ]
        );
    }
}
