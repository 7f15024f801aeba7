//! CPU twin of `shaders/spectral_stats.wgsl`: reductions over a power spectrum and its radial
//! profile: high-frequency energy fraction, decay slope, strongest off-axis periodic peak.

use crate::AnalysisConfig;
use crate::power_spectrum::frequency;
use crate::radial_profile::{RadialBin, bin_of, radius};

/// The scalar spectral features.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct SpectralStats {
    /// Energy share above the cutoff.
    pub hf_fraction: f64,
    /// Slope of log10 power vs. log10 radius over the slope band (NaN if under 2 bins).
    pub slope: f64,
    /// log10(peak power) minus the bin's mean log10 power, for the strongest off-axis sample.
    pub peak_prominence: f64,
    /// Peak's horizontal frequency, cycles per pixel.
    pub peak_fx: f64,
    /// Peak's vertical frequency, cycles per pixel (≥ 0: the spectrum is symmetric).
    pub peak_fy: f64,
}

/// Computes the reductions for an `n`×`n` spectrum and its radial profile.
pub fn spectral_stats(
    power: &[f32],
    n: usize,
    profile: &[RadialBin],
    config: &AnalysisConfig,
) -> SpectralStats {
    let bins = profile.len();
    let (mut total, mut high) = (0f64, 0f64);
    for v in 0..n {
        for u in 0..n {
            let r = radius(u, v, n);
            if r > 0.0 && r <= 1.0 {
                let p = power[v * n + u] as f64;
                total += p;
                if r >= config.hf_cutoff {
                    high += p;
                }
            }
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

    // Off-axis peak in the upper half-plane (fy ≥ 0), first maximum in scan order.
    let (mut best, mut peak_fx, mut peak_fy) = (f64::NEG_INFINITY, 0f64, 0f64);
    for v in 2..=n / 2 {
        for u in 0..n {
            let su = if u < n / 2 {
                u as i64
            } else {
                u as i64 - n as i64
            };
            if su.abs() <= 1 {
                continue;
            }
            let r = radius(u, v, n);
            if r < config.peak_min_radius {
                continue;
            }
            let Some(b) = bin_of(r, bins) else { continue };
            let excess = (power[v * n + u] as f64 + 1e-12).log10() - profile[b].mean_log_power;
            if excess > best {
                best = excess;
                peak_fx = frequency(u, n);
                peak_fy = v as f64 / n as f64;
            }
        }
    }
    let peak_prominence = if best.is_finite() { best } else { 0.0 };
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
