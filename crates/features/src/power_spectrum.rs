//! CPU twin of `shaders/power_spectrum.wgsl`: Hann-windowed 2-D FFT of square luma tiles and
//! their power spectrum, averaged over tiles (Welch's method).

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use rayon::prelude::*;
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

/// FFT plans by size, shared by all threads.
pub struct PowerSpectrum {
    plans: Mutex<HashMap<usize, Arc<dyn Fft<f32>>>>,
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

    fn plan(&self, n: usize) -> Arc<dyn Fft<f32>> {
        let mut plans = self.plans.lock().unwrap_or_else(|p| p.into_inner());
        plans
            .entry(n)
            .or_insert_with(|| FftPlanner::new().plan_fft_forward(n))
            .clone()
    }

    /// Power spectrum of one `n`×`n` tile, row-major `[fy][fx]` in FFT index order,
    /// normalised by the window energy so that white noise of variance σ² gives σ² per bin.
    pub fn tile(&self, tile: &LumaView<'_>) -> Vec<f32> {
        let n = tile.width();
        debug_assert_eq!(n, tile.height());
        let fft = self.plan(n);
        let window = hann(n);
        let mean = (0..n)
            .map(|y| tile.row(y).iter().map(|&v| v as f64).sum::<f64>())
            .sum::<f64>()
            / (n * n) as f64;
        let mut rows: Vec<Complex32> = Vec::with_capacity(n * n);
        for y in 0..n {
            let wy = window[y];
            rows.extend(
                tile.row(y)
                    .iter()
                    .zip(&window)
                    .map(|(&v, &wx)| Complex32::new((v as f64 - mean) as f32 * wx * wy, 0.0)),
            );
        }
        // Rows, then columns through a transpose: `cols[u][y]`, then `cols[u][v]`.
        fft.process(&mut rows);
        let mut cols = vec![Complex32::new(0.0, 0.0); n * n];
        for y in 0..n {
            for u in 0..n {
                cols[u * n + y] = rows[y * n + u];
            }
        }
        fft.process(&mut cols);
        let energy: f32 = window.iter().map(|w| w * w).sum::<f32>().powi(2);
        let mut power = vec![0f32; n * n];
        for u in 0..n {
            for v in 0..n {
                power[v * n + u] = cols[u * n + v].norm_sqr() / energy;
            }
        }
        power
    }

    /// Mean power spectrum over the tiles of `grid` (summed in grid order: deterministic).
    pub fn averaged(&self, view: &LumaView<'_>, grid: &TileGrid) -> Vec<f32> {
        let n = grid.size;
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
        let mut sum = vec![0f32; n * n];
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
        // Row fy = 0, column fx = ±8/64.
        assert_eq!(imax / n, 0);
        assert!((frequency(imax % n, n).abs() - 0.125).abs() < 1e-9);
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
