//! Frame and crop analysis on the CPU: the frequency-domain and noise-residual features of
//! seamscan, each stage in a module named after the WGSL shader it will twin (`shaders/`).
//!
//! Every function takes a [`LumaView`], which is a whole frame or any rectangular crop of one,
//! so the same code serves whole-frame analysis now and aligned face crops later.
//! Formulas and sources: `docs/features.md`.

#![deny(missing_docs)]

pub mod boundary_map;
pub mod local_std;
pub mod noise_residual;
pub mod power_spectrum;
pub mod radial_profile;
pub mod spectral_stats;
pub mod tile_mean;
mod view;

pub use view::LumaView;

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

/// Tunable parameters of the analysis; part of the pipeline config recorded with every run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct AnalysisConfig {
    /// Side of the square tiles whose spectra are averaged (a power of two, 16..=1024).
    pub tile_size: usize,
    /// At most this many tiles per view, the ones nearest its centre.
    pub max_tiles: usize,
    /// Number of radial bins of the azimuthally averaged spectrum.
    pub spectrum_bins: usize,
    /// Start of the "high" band, as a fraction of the Nyquist frequency.
    pub hf_cutoff: f64,
    /// Band over which the decay slope is fitted, as fractions of Nyquist.
    pub slope_band: [f64; 2],
    /// Periodic peaks are searched above this radius (fraction of Nyquist).
    pub peak_min_radius: f64,
}

impl Default for AnalysisConfig {
    fn default() -> Self {
        AnalysisConfig {
            tile_size: 256,
            max_tiles: 8,
            spectrum_bins: 64,
            hf_cutoff: 0.5,
            slope_band: [0.25, 0.95],
            peak_min_radius: 0.1,
        }
    }
}

/// Why a view could not be analysed.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
pub enum FeatureError {
    /// The configuration is out of range.
    #[error("invalid analysis config: {0}")]
    Config(String),
    /// The view is smaller than the smallest tile (16×16).
    #[error("view of {0}x{1} pixels is too small to analyse (minimum 16x16)")]
    TooSmall(usize, usize),
}

impl AnalysisConfig {
    /// Checks the ranges the analysis relies on.
    pub fn validate(&self) -> Result<(), FeatureError> {
        let bad = |m: &str| Err(FeatureError::Config(m.to_string()));
        if !self.tile_size.is_power_of_two() || !(16..=1024).contains(&self.tile_size) {
            return bad("tile_size must be a power of two between 16 and 1024");
        }
        if self.max_tiles == 0 {
            return bad("max_tiles must be at least 1");
        }
        if !(4..=1024).contains(&self.spectrum_bins) {
            return bad("spectrum_bins must be between 4 and 1024");
        }
        if !(self.hf_cutoff > 0.0 && self.hf_cutoff < 1.0) {
            return bad("hf_cutoff must be inside (0, 1)");
        }
        let [a, b] = self.slope_band;
        if !(a > 0.0 && a < b && b <= 1.0) {
            return bad("slope_band must satisfy 0 < from < to <= 1");
        }
        if !(0.0..1.0).contains(&self.peak_min_radius) {
            return bad("peak_min_radius must be inside [0, 1)");
        }
        Ok(())
    }
}

/// The features of one view (a whole frame or a crop).
#[derive(Debug, Clone, PartialEq)]
pub struct Features {
    /// Azimuthally averaged log10 power spectrum, `spectrum_bins` values from DC to Nyquist.
    pub spectrum: Vec<f32>,
    /// Share of the spectral energy above `hf_cutoff` × Nyquist (0..1).
    pub hf_fraction: f64,
    /// Least-squares slope of log10 power against log10 frequency over `slope_band`.
    pub spectral_slope: f64,
    /// Strongest off-axis spectral peak: log10 of its power over the median power of its
    /// radial bin.
    pub peak_prominence: f64,
    /// Horizontal frequency of that peak, cycles per pixel (0..=0.5; the spectrum of a real
    /// picture is symmetric, so the peak is reported in the half with fx ≥ 0).
    pub peak_fx: f64,
    /// Vertical frequency of that peak, cycles per pixel (−0.5..0.5).
    pub peak_fy: f64,
    /// Standard deviation of the high-pass noise residual, in 8-bit luma levels.
    pub noise_level: f64,
    /// Number of tiles whose spectra were averaged.
    pub tiles: u32,
    /// Side of those tiles in pixels.
    pub tile_size: u32,
}

/// Runs every CPU stage on one view; reusable state lives in the [`Analyzer`].
pub struct Analyzer {
    config: AnalysisConfig,
    spectra: power_spectrum::PowerSpectrum,
    layouts: Mutex<HashMap<usize, Arc<radial_profile::SpectrumLayout>>>,
}

impl Analyzer {
    /// Validates the config and plans the FFTs.
    pub fn new(config: AnalysisConfig) -> Result<Self, FeatureError> {
        config.validate()?;
        Ok(Analyzer {
            config,
            spectra: power_spectrum::PowerSpectrum::new(),
            layouts: Mutex::new(HashMap::new()),
        })
    }

    /// The spectrum layout for tiles of side `n` (built once per size).
    fn layout(&self, n: usize) -> Arc<radial_profile::SpectrumLayout> {
        let mut layouts = self.layouts.lock().unwrap_or_else(|p| p.into_inner());
        layouts
            .entry(n)
            .or_insert_with(|| Arc::new(radial_profile::SpectrumLayout::new(n, &self.config)))
            .clone()
    }

    /// The config in use.
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Computes all features of `view`.
    pub fn analyze(&self, view: &LumaView<'_>) -> Result<Features, FeatureError> {
        let c = &self.config;
        let tiles = power_spectrum::tile_grid(view, c.tile_size, c.max_tiles)?;
        let (power, n) = rayon::join(
            || self.spectra.averaged(view, &tiles),
            || noise_residual::noise_level(view),
        );
        let tile = tiles.size;
        let layout = self.layout(tile);
        let profile = radial_profile::radial_profile(&power, &layout);
        let stats = spectral_stats::spectral_stats(&power, &layout, &profile, c);
        Ok(Features {
            spectrum: profile.iter().map(|p| p.log_power as f32).collect(),
            hf_fraction: stats.hf_fraction,
            spectral_slope: stats.slope,
            peak_prominence: stats.peak_prominence,
            peak_fx: stats.peak_fx,
            peak_fy: stats.peak_fy,
            noise_level: n,
            tiles: tiles.origins.len() as u32,
            tile_size: tile as u32,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn noise(w: usize, h: usize, seed: u64) -> Vec<u8> {
        let mut s = seed;
        (0..w * h)
            .map(|_| {
                s = s
                    .wrapping_mul(6364136223846793005)
                    .wrapping_add(1442695040888963407);
                (s >> 56) as u8
            })
            .collect()
    }

    /// Box-blurs a picture horizontally and vertically (a low-pass "rescaled" look).
    fn blur(src: &[u8], w: usize, h: usize) -> Vec<u8> {
        let mut out = src.to_vec();
        for y in 1..h - 1 {
            for x in 1..w - 1 {
                let mut s = 0u32;
                for dy in 0..3 {
                    for dx in 0..3 {
                        s += src[(y + dy - 1) * w + x + dx - 1] as u32;
                    }
                }
                out[y * w + x] = (s / 9) as u8;
            }
        }
        out
    }

    #[test]
    fn blurring_lowers_high_frequency_energy_noise_and_slope() {
        let (w, h) = (300, 280);
        let sharp = noise(w, h, 7);
        let soft = blur(&sharp, w, h);
        let a = Analyzer::new(AnalysisConfig::default()).unwrap();
        let fs = a.analyze(&LumaView::new(&sharp, w, h).unwrap()).unwrap();
        let fb = a.analyze(&LumaView::new(&soft, w, h).unwrap()).unwrap();
        assert_eq!(fs.spectrum.len(), 64);
        assert_eq!((fs.tiles, fs.tile_size), (1, 256));
        // White noise: flat spectrum, about 3/4 of the disc's energy lies above half Nyquist.
        assert!(fs.hf_fraction > 0.6, "{}", fs.hf_fraction);
        assert!(fs.spectral_slope.abs() < 0.3, "{}", fs.spectral_slope);
        assert!(fb.hf_fraction < fs.hf_fraction / 3.0);
        assert!(fb.spectral_slope < fs.spectral_slope - 1.0);
        assert!(fb.noise_level < fs.noise_level / 2.0);
    }

    #[test]
    fn a_checkerboard_shows_as_a_periodic_peak() {
        let (w, h) = (256, 256);
        let base = blur(&noise(w, h, 3), w, h);
        // Add a period-4 pattern along both axes (an upsampling artefact's frequency).
        let pattern: Vec<u8> = base
            .iter()
            .enumerate()
            .map(|(i, &v)| {
                let (x, y) = (i % w, i / w);
                let bump = if (x / 2 + y / 2) % 2 == 0 { 12 } else { 0 };
                v.saturating_add(bump)
            })
            .collect();
        let a = Analyzer::new(AnalysisConfig::default()).unwrap();
        let plain = a.analyze(&LumaView::new(&base, w, h).unwrap()).unwrap();
        let peaked = a.analyze(&LumaView::new(&pattern, w, h).unwrap()).unwrap();
        assert!(
            peaked.peak_prominence > plain.peak_prominence + 1.0,
            "{} vs {} at ({}, {})",
            peaked.peak_prominence,
            plain.peak_prominence,
            peaked.peak_fx,
            peaked.peak_fy
        );
        assert!(
            (peaked.peak_fx.abs() - 0.25).abs() < 0.01,
            "{}",
            peaked.peak_fx
        );
        assert!((peaked.peak_fy - 0.25).abs() < 0.01, "{}", peaked.peak_fy);
    }

    #[test]
    fn small_views_use_smaller_tiles_and_tiny_ones_are_refused() {
        let a = Analyzer::new(AnalysisConfig::default()).unwrap();
        let px = noise(176, 144, 1);
        let f = a.analyze(&LumaView::new(&px, 176, 144).unwrap()).unwrap();
        assert_eq!((f.tiles, f.tile_size), (1, 128));
        let tiny = noise(12, 40, 1);
        assert_eq!(
            a.analyze(&LumaView::new(&tiny, 12, 40).unwrap()),
            Err(FeatureError::TooSmall(12, 40))
        );
    }

    #[test]
    fn a_crop_is_analysed_like_the_same_pixels_copied_out() {
        let (w, h) = (400, 300);
        let px = blur(&noise(w, h, 11), w, h);
        let view = LumaView::new(&px, w, h).unwrap();
        let crop = view.crop(50, 20, 256, 256).unwrap();
        let copied: Vec<u8> = (20..276)
            .flat_map(|y| px[y * w + 50..y * w + 306].to_vec())
            .collect();
        let a = Analyzer::new(AnalysisConfig::default()).unwrap();
        let fc = a.analyze(&crop).unwrap();
        let fp = a
            .analyze(&LumaView::new(&copied, 256, 256).unwrap())
            .unwrap();
        assert_eq!(fc, fp);
    }

    #[test]
    fn bad_configs_are_rejected() {
        let c = AnalysisConfig {
            tile_size: 100,
            ..AnalysisConfig::default()
        };
        assert!(Analyzer::new(c).is_err());
        let c = AnalysisConfig {
            slope_band: [0.9, 0.2],
            ..AnalysisConfig::default()
        };
        assert!(Analyzer::new(c).is_err());
    }
}
