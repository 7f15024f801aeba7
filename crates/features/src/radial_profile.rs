//! CPU twin of `shaders/radial_profile.wgsl`: the azimuthal average of a power spectrum.

use crate::power_spectrum::frequency;

/// One radial bin of the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialBin {
    /// Mean power of the spectrum samples in the bin (0 when empty).
    pub mean_power: f64,
    /// log10 of `mean_power` (+1e-12); an empty bin carries the previous bin's value.
    pub log_power: f64,
    /// Mean of log10(power + 1e-12) over the bin's samples: a reference level that one strong
    /// peak barely moves (used for peak prominence).
    pub mean_log_power: f64,
    /// Number of spectrum samples in the bin.
    pub count: u32,
}

/// Normalised radius (1 = Nyquist) of spectrum sample (`u`, `v`) of an `n`×`n` transform.
pub fn radius(u: usize, v: usize, n: usize) -> f64 {
    frequency(u, n).hypot(frequency(v, n)) / 0.5
}

/// The bin of radius `r` among `bins` equal bins over (0, 1]; `None` for DC and the corners.
pub fn bin_of(r: f64, bins: usize) -> Option<usize> {
    (r > 0.0 && r <= 1.0).then(|| ((r * bins as f64).ceil() as usize).clamp(1, bins) - 1)
}

/// Azimuthally averages an `n`×`n` power spectrum (row-major `[fy][fx]`, FFT index order).
pub fn radial_profile(power: &[f32], n: usize, bins: usize) -> Vec<RadialBin> {
    let mut sum = vec![0f64; bins];
    let mut sum_log = vec![0f64; bins];
    let mut count = vec![0u32; bins];
    for v in 0..n {
        for u in 0..n {
            if let Some(b) = bin_of(radius(u, v, n), bins) {
                let p = power[v * n + u] as f64;
                sum[b] += p;
                sum_log[b] += (p + 1e-12).log10();
                count[b] += 1;
            }
        }
    }
    let mut out = Vec::with_capacity(bins);
    let mut last = (1e-12f64).log10();
    for b in 0..bins {
        let (mean_power, log_power, mean_log_power) = if count[b] > 0 {
            let m = sum[b] / count[b] as f64;
            last = (m + 1e-12).log10();
            (m, last, sum_log[b] / count[b] as f64)
        } else {
            (0.0, last, last)
        };
        out.push(RadialBin {
            mean_power,
            log_power,
            mean_log_power,
            count: count[b],
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bins_cover_the_disc_and_skip_dc_and_corners() {
        assert_eq!(bin_of(0.0, 64), None);
        assert_eq!(bin_of(1.0 / 128.0, 64), Some(0));
        assert_eq!(bin_of(1.0, 64), Some(63));
        assert_eq!(bin_of(1.2, 64), None);
        // A 128-point transform has a sample in every one of 64 bins.
        let p = vec![1f32; 128 * 128];
        let prof = radial_profile(&p, 128, 64);
        assert!(
            prof.iter()
                .all(|b| b.count > 0 && (b.mean_power - 1.0).abs() < 1e-9)
        );
    }
}
