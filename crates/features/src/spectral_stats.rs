//! CPU twin of `shaders/spectral_stats.wgsl`: reductions over a power spectrum and its radial
//! profile: high-frequency energy fraction, decay slope, strongest off-axis periodic peak.

use crate::AnalysisConfig;
use crate::power_spectrum::frequency;
use crate::radial_profile::{RadialBin, SpectrumLayout};

/// The scalar spectral features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectralStats {
    /// Energy share above the cutoff.
    pub hf_fraction: f64,
    /// Slope of log10 power vs. log10 radius over the slope band (NaN if under 2 bins).
    pub slope: f64,
    /// log10 of the strongest off-axis sample's power over the median power of its bin.
    pub peak_prominence: f64,
    /// Peak's horizontal frequency, cycles per pixel (≥ 0: the spectrum is symmetric).
    pub peak_fx: f64,
    /// Peak's vertical frequency, cycles per pixel.
    pub peak_fy: f64,
}

/// Computes the reductions for a spectrum laid out by `layout` and its radial profile.
pub fn spectral_stats(
    power: &[f32],
    layout: &SpectrumLayout,
    profile: &[RadialBin],
    config: &AnalysisConfig,
) -> SpectralStats {
    let n = layout.n;
    let bins = profile.len();
    let total: f64 = profile.iter().map(|b| b.sum_power).sum();
    let high: f64 = power
        .iter()
        .zip(&layout.high_weight)
        .map(|(&p, &w)| (p * w) as f64)
        .sum();
    // Off-axis peak: the sample's power over the median power of its bin (a median, so that
    // a symmetric pattern's several peaks at one radius do not hide each other).
    let (mut best, mut best_i) = (0f64, None);
    for &i in &layout.peak_candidates {
        let i = i as usize;
        let reference = profile[layout.bin[i] as usize].median_power;
        let ratio = power[i] as f64 / reference.max(1e-20);
        if ratio > best {
            best = ratio;
            best_i = Some(i);
        }
    }
    let hf_fraction = if total > 0.0 { high / total } else { 0.0 };

    // Least squares over the bins whose centre lies inside the band.
    let [from, to] = config.slope_band;
    let points: Vec<(f64, f64)> = profile
        .iter()
        .enumerate()
        .filter_map(|(b, bin)| {
            let centre = (b as f64 + 0.5) / bins as f64;
            (bin.count > 0 && centre >= from && centre <= to)
                .then(|| (centre.log10(), bin.log_power))
        })
        .collect();
    let slope = least_squares_slope(&points);

    let (peak_prominence, peak_fx, peak_fy) = match best_i {
        Some(i) => (best.log10(), (i / n) as f64 / n as f64, frequency(i % n, n)),
        None => (0.0, 0.0, 0.0),
    };
    SpectralStats {
        hf_fraction,
        slope,
        peak_prominence,
        peak_fx,
        peak_fy,
    }
}

/// Slope of the least-squares line through `points`; NaN with fewer than two distinct x.
pub fn least_squares_slope(points: &[(f64, f64)]) -> f64 {
    let k = points.len() as f64;
    if points.len() < 2 {
        return f64::NAN;
    }
    let mx = points.iter().map(|p| p.0).sum::<f64>() / k;
    let my = points.iter().map(|p| p.1).sum::<f64>() / k;
    let sxy: f64 = points.iter().map(|p| (p.0 - mx) * (p.1 - my)).sum();
    let sxx: f64 = points.iter().map(|p| (p.0 - mx).powi(2)).sum();
    if sxx > 0.0 { sxy / sxx } else { f64::NAN }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slope_of_a_power_law() {
        let pts: Vec<(f64, f64)> = (1..10)
            .map(|i| {
                let x = (i as f64 / 10.0).log10();
                (x, -2.0 * x + 3.0)
            })
            .collect();
        assert!((least_squares_slope(&pts) + 2.0).abs() < 1e-12);
        assert!(least_squares_slope(&pts[..1]).is_nan());
    }
}
