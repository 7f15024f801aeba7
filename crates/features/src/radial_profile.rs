//! CPU twin of `shaders/radial_profile.wgsl`: the azimuthal average of a power spectrum.

use crate::AnalysisConfig;
use crate::power_spectrum::frequency;

/// Marks a spectrum sample outside the disc (DC or the corners beyond Nyquist).
pub const OUTSIDE: u16 = u16::MAX;
/// Flag: the sample lies in the high band (r ≥ `hf_cutoff`).
pub const HIGH: u8 = 1;
/// Flag: the sample may hold the periodic peak (off-axis, r ≥ `peak_min_radius`).
pub const PEAK: u8 = 2;
/// Flag: the sample stands for itself and its mirror `(−u, −v)` (0 < u < n/2), so it counts
/// twice in sums and counts.
pub const DOUBLE: u8 = 4;

/// One radial bin of the profile.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct RadialBin {
    /// Sum of the power of the bin's samples.
    pub sum_power: f64,
    /// Mean power of the bin's samples (0 when empty).
    pub mean_power: f64,
    /// log10 of `mean_power` (+1e-12); an empty bin carries the previous bin's value.
    pub log_power: f64,
    /// Median power of the bin's samples in the open upper half-plane (the lower median for
    /// an even count; 0 when empty): the level a periodic peak is measured against, unmoved
    /// by a few strong samples.
    pub median_power: f64,
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

/// Per-sample bin and flags of the half spectrum of an `n`×`n` tile (sample `u·n + v`,
/// u in `0..=n/2`, as [`crate::power_spectrum`] lays it out), computed once per tile size so
/// that the per-frame passes do no trigonometry. Sums and counts cover the whole spectrum:
/// samples with a mirror count twice.
#[derive(Debug, Clone, PartialEq)]
pub struct SpectrumLayout {
    /// Transform size.
    pub n: usize,
    /// Number of radial bins.
    pub bins: usize,
    /// Bin of each sample, or [`OUTSIDE`].
    pub bin: Vec<u16>,
    /// [`HIGH`] and [`PEAK`] flags of each sample.
    pub flags: Vec<u8>,
    /// Samples per bin, over the whole spectrum.
    pub counts: Vec<u32>,
    /// Indices of each bin's samples in the open half-plane 0 < u < n/2, bin after bin: the
    /// spectrum of a real picture is symmetric, so this half determines the bin's median.
    pub members: Vec<u32>,
    /// Number of `members` of each bin.
    pub member_counts: Vec<u32>,
    /// Weight of each sample in whole-spectrum sums restricted to the high band: 2 for a
    /// sample with a mirror, 1 without, 0 outside the band.
    pub high_weight: Vec<f32>,
    /// Indices of the samples flagged [`PEAK`], in index order.
    pub peak_candidates: Vec<u32>,
}

impl SpectrumLayout {
    /// Lays out an `n`×`n` spectrum for `config`.
    pub fn new(n: usize, config: &AnalysisConfig) -> Self {
        let bins = config.spectrum_bins;
        let h = n / 2 + 1;
        let mut bin = vec![OUTSIDE; h * n];
        let mut flags = vec![0u8; h * n];
        let mut counts = vec![0u32; bins];
        for u in 0..h {
            for v in 0..n {
                let r = radius(u, v, n);
                let Some(b) = bin_of(r, bins) else { continue };
                let i = u * n + v;
                bin[i] = b as u16;
                let double = u > 0 && u < n / 2;
                counts[b] += if double { 2 } else { 1 };
                if double {
                    flags[i] |= DOUBLE;
                }
                if r >= config.hf_cutoff {
                    flags[i] |= HIGH;
                }
                let sv = if v < n / 2 {
                    v as i64
                } else {
                    v as i64 - n as i64
                };
                if u >= 2 && sv.abs() > 1 && r >= config.peak_min_radius {
                    flags[i] |= PEAK;
                }
            }
        }
        let upper = |i: usize| (1..n / 2).contains(&(i / n));
        let mut member_counts = vec![0u32; bins];
        for (i, &b) in bin.iter().enumerate() {
            if b != OUTSIDE && upper(i) {
                member_counts[b as usize] += 1;
            }
        }
        let mut starts: Vec<usize> = member_counts
            .iter()
            .scan(0usize, |acc, &c| {
                let start = *acc;
                *acc += c as usize;
                Some(start)
            })
            .collect();
        let mut members = vec![0u32; member_counts.iter().map(|&c| c as usize).sum()];
        for (i, &b) in bin.iter().enumerate() {
            if b != OUTSIDE && upper(i) {
                members[starts[b as usize]] = i as u32;
                starts[b as usize] += 1;
            }
        }
        let weight = |f: u8| if f & DOUBLE != 0 { 2.0 } else { 1.0 };
        let high_weight = flags
            .iter()
            .map(|&f| if f & HIGH != 0 { weight(f) } else { 0.0 })
            .collect();
        let peak_candidates = (0..flags.len() as u32)
            .filter(|&i| flags[i as usize] & PEAK != 0)
            .collect();
        SpectrumLayout {
            n,
            bins,
            bin,
            flags,
            counts,
            members,
            member_counts,
            high_weight,
            peak_candidates,
        }
    }
}

/// Azimuthally averages a power spectrum laid out by `layout`.
pub fn radial_profile(power: &[f32], layout: &SpectrumLayout) -> Vec<RadialBin> {
    let mut sum = vec![0f64; layout.bins];
    for ((&p, &b), &f) in power.iter().zip(&layout.bin).zip(&layout.flags) {
        if b != OUTSIDE {
            let w = if f & DOUBLE != 0 { 2.0 } else { 1.0 };
            sum[b as usize] += w * p as f64;
        }
    }
    let mut out = Vec::with_capacity(layout.bins);
    let mut last = (1e-12f64).log10();
    let mut start = 0usize;
    let mut scratch: Vec<u32> = Vec::new();
    for (b, &s) in sum.iter().enumerate() {
        let members = &layout.members[start..start + layout.member_counts[b] as usize];
        start += members.len();
        let median_power = if members.is_empty() {
            0.0
        } else {
            // Powers are non-negative, so their bit patterns sort like the values.
            scratch.clear();
            scratch.extend(members.iter().map(|&i| power[i as usize].to_bits()));
            let k = (scratch.len() - 1) / 2;
            f32::from_bits(*scratch.select_nth_unstable(k).1) as f64
        };
        let count = layout.counts[b];
        let mean_power = if count > 0 { s / count as f64 } else { 0.0 };
        if count > 0 {
            last = (mean_power + 1e-12).log10();
        }
        out.push(RadialBin {
            sum_power: s,
            mean_power,
            log_power: last,
            median_power,
            count,
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
        let layout = SpectrumLayout::new(128, &AnalysisConfig::default());
        let p = vec![1f32; 65 * 128];
        let prof = radial_profile(&p, &layout);
        assert!(
            prof.iter()
                .all(|b| b.count > 0 && (b.mean_power - 1.0).abs() < 1e-9)
        );
        assert!(prof.iter().all(|b| b.median_power == 1.0));
        // Whole-spectrum counts: every bin is the same ring as in a full 128×128 spectrum.
        let mut full = vec![0u32; 64];
        for u in 0..128 {
            for v in 0..128 {
                if let Some(b) = bin_of(radius(u, v, 128), 64) {
                    full[b] += 1;
                }
            }
        }
        assert_eq!(layout.counts, full);
        // The open half-plane holds a little under half of every bin.
        for (c, m) in layout.counts.iter().zip(&layout.member_counts) {
            assert!(*m > 0 && 2 * m <= *c, "{m} of {c}");
        }
        assert_eq!(layout.bin[0], OUTSIDE);
    }
}
