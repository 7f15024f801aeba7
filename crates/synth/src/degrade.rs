//! Whole-frame degradations that stand for other cameras and collections: a clip's frames are
//! resampled, blurred, sharpened, noised or re-toned *before* any forging, the real clips as
//! much as the forged ones. A detector trained on them cannot take a face's overall sharpness,
//! noise or tone for evidence of a blend (every source would otherwise carry its own baseline
//! score); only what differs between the blended face and its untouched surroundings is left.

use std::borrow::Cow;

use image::imageops::FilterType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;

use crate::raster::{Rgb, filter_name};

/// One clip's degradation, applied to each of its frames in turn.
#[derive(Debug, Clone, PartialEq)]
pub struct Degradation {
    /// Scaled down by this factor (0–1) and back up with this filter.
    pub resample: Option<(f32, FilterType)>,
    /// Gaussian blur, standard deviation in pixels (0: none).
    pub blur: f32,
    /// Unsharp mask (sigma, amount).
    pub sharpen: Option<(f32, f32)>,
    /// Sensor noise, standard deviation on the 0–255 scale (0: none).
    pub noise: f32,
    /// Tone curve `255·(v/255)^gamma` (1: none).
    pub gamma: f32,
    /// Seed of the noise (frame `i` uses `seed + i`).
    pub seed: u64,
}

impl Degradation {
    /// No change.
    pub fn none() -> Self {
        Degradation {
            resample: None,
            blur: 0.0,
            sharpen: None,
            noise: 0.0,
            gamma: 1.0,
            seed: 0,
        }
    }

    /// Drawn from `rng`: nothing with probability `1 - probability`, otherwise each step on
    /// its own chance (at least one): resampling 0.3–0.9× (half the time), blur σ 0.4–1.5,
    /// unsharp masking, noise σ 1–4, gamma 0.8–1.25.
    pub fn draw(rng: &mut ChaCha8Rng, probability: f64) -> Self {
        let mut d = Degradation::none();
        d.seed = rng.random();
        if !rng.random_bool(probability.clamp(0.0, 1.0)) {
            return d;
        }
        while d.is_none() {
            if rng.random_bool(0.5) {
                let filters = [
                    FilterType::Triangle,
                    FilterType::CatmullRom,
                    FilterType::Lanczos3,
                    FilterType::Gaussian,
                ];
                d.resample = Some((
                    rng.random_range(0.3..0.9),
                    filters[rng.random_range(0..filters.len())],
                ));
            }
            if rng.random_bool(0.3) {
                d.blur = rng.random_range(0.4..1.5);
            }
            if rng.random_bool(0.25) {
                d.sharpen = Some((rng.random_range(0.6..1.6), rng.random_range(0.3..1.0)));
            }
            if rng.random_bool(0.3) {
                d.noise = rng.random_range(1.0..4.0);
            }
            if rng.random_bool(0.3) {
                d.gamma = rng.random_range(0.8..1.25);
            }
        }
        d
    }

    /// Whether it changes nothing.
    pub fn is_none(&self) -> bool {
        self.resample.is_none()
            && self.blur < 0.3
            && self.sharpen.is_none()
            && self.noise <= 0.0
            && (self.gamma - 1.0).abs() < 1e-6
    }

    /// In words, for `labels.csv` (`none` when it changes nothing).
    pub fn describe(&self) -> String {
        if self.is_none() {
            return "none".into();
        }
        let mut parts = Vec::new();
        if let Some((f, filter)) = self.resample {
            parts.push(format!("resample {f:.2} {}", filter_name(filter)));
        }
        if self.blur >= 0.3 {
            parts.push(format!("blur {:.2}", self.blur));
        }
        if let Some((s, a)) = self.sharpen {
            parts.push(format!("sharpen {s:.2}/{a:.2}"));
        }
        if self.noise > 0.0 {
            parts.push(format!("noise {:.1}", self.noise));
        }
        if (self.gamma - 1.0).abs() >= 1e-6 {
            parts.push(format!("gamma {:.2}", self.gamma));
        }
        parts.join("; ")
    }

    /// Frame `index` of a clip, degraded (packed RGB24 in and out, same size); borrowed when
    /// it changes nothing.
    pub fn apply<'a>(
        &self,
        rgb: &'a [u8],
        width: usize,
        height: usize,
        index: usize,
    ) -> Cow<'a, [u8]> {
        if self.is_none() {
            return Cow::Borrowed(rgb);
        }
        let mut img = Rgb::from_bytes(rgb, width, height);
        if let Some((f, filter)) = self.resample {
            let w = ((width as f32 * f).round() as usize).max(8);
            let h = ((height as f32 * f).round() as usize).max(8);
            img = img.resized(w, h, filter).resized(width, height, filter);
        }
        if self.blur >= 0.3 {
            img = img.blurred(self.blur);
        }
        if let Some((sigma, amount)) = self.sharpen {
            img = img.sharpened(sigma, amount);
        }
        if (self.gamma - 1.0).abs() >= 1e-6 {
            for v in &mut img.data {
                *v = 255.0 * (v.clamp(0.0, 255.0) / 255.0).powf(self.gamma);
            }
        }
        if self.noise > 0.0 {
            let mut rng = ChaCha8Rng::seed_from_u64(self.seed.wrapping_add(index as u64));
            // A sum of three uniforms: close to Gaussian, standard deviation `noise`.
            let half = self.noise;
            for v in &mut img.data {
                let e: f32 = (0..3).map(|_| rng.random_range(-half..half)).sum();
                *v += e;
            }
        }
        Cow::Owned(img.to_bytes())
    }
}

/// A packed-RGB24 image through a JPEG encoder at `quality` (1–100) and back: the blocking
/// and ringing of another compression, for augmenting crops where no video encoder runs.
/// The image unchanged if encoding or decoding fails.
pub fn jpeg_roundtrip(rgb: &[u8], width: usize, height: usize, quality: u8) -> Vec<u8> {
    let mut bytes = Vec::new();
    let encoder =
        image::codecs::jpeg::JpegEncoder::new_with_quality(&mut bytes, quality.clamp(1, 100));
    let encoded = image::ImageEncoder::write_image(
        encoder,
        rgb,
        width as u32,
        height as u32,
        image::ExtendedColorType::Rgb8,
    );
    if encoded.is_err() {
        return rgb.to_vec();
    }
    match image::load_from_memory_with_format(&bytes, image::ImageFormat::Jpeg) {
        Ok(img) => {
            let out = img.into_rgb8().into_raw();
            if out.len() == rgb.len() {
                out
            } else {
                rgb.to_vec()
            }
        }
        Err(_) => rgb.to_vec(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn checker(w: usize, h: usize) -> Vec<u8> {
        (0..w * h)
            .flat_map(|i| {
                let v = if (i % w / 2 + i / w / 2).is_multiple_of(2) {
                    60
                } else {
                    190
                };
                [v, v, v]
            })
            .collect()
    }

    fn detail(rgb: &[u8], w: usize) -> f64 {
        // Mean absolute horizontal difference of the red channel.
        rgb.chunks(3 * w)
            .flat_map(|row| {
                row.chunks(3)
                    .collect::<Vec<_>>()
                    .windows(2)
                    .map(|p| (p[0][0] as f64 - p[1][0] as f64).abs())
                    .collect::<Vec<_>>()
            })
            .sum::<f64>()
            / rgb.len() as f64
    }

    #[test]
    fn draws_are_seeded_and_probability_zero_changes_nothing() {
        let a = Degradation::draw(&mut ChaCha8Rng::seed_from_u64(5), 1.0);
        let b = Degradation::draw(&mut ChaCha8Rng::seed_from_u64(5), 1.0);
        assert_eq!(a, b);
        assert!(!a.is_none());
        let none = Degradation::draw(&mut ChaCha8Rng::seed_from_u64(5), 0.0);
        assert!(none.is_none());
        assert_eq!(none.describe(), "none");
        let img = checker(32, 24);
        assert_eq!(none.apply(&img, 32, 24, 0), img);
        // Over many draws every step occurs, and some draws combine several.
        let draws: Vec<Degradation> = (0..200)
            .map(|s| Degradation::draw(&mut ChaCha8Rng::seed_from_u64(s), 1.0))
            .collect();
        assert!(draws.iter().all(|d| !d.is_none()));
        assert!(draws.iter().any(|d| d.resample.is_some()));
        assert!(draws.iter().any(|d| d.blur > 0.0));
        assert!(draws.iter().any(|d| d.sharpen.is_some()));
        assert!(draws.iter().any(|d| d.noise > 0.0));
        assert!(draws.iter().any(|d| d.gamma != 1.0));
        assert!(draws.iter().any(|d| d.describe().contains(';')));
    }

    #[test]
    fn jpeg_roundtrip_keeps_the_size_and_loses_more_at_low_quality() {
        let (w, h) = (48, 32);
        let img: Vec<u8> = (0..w * h)
            .flat_map(|i| {
                let v = ((i * 37) % 251) as u8;
                [v, v / 2, 255 - v]
            })
            .collect();
        let err = |q: u8| {
            let out = jpeg_roundtrip(&img, w, h, q);
            assert_eq!(out.len(), img.len());
            out.iter()
                .zip(&img)
                .map(|(a, b)| (*a as f64 - *b as f64).abs())
                .sum::<f64>()
        };
        assert!(err(20) > err(95), "{} {}", err(20), err(95));
        assert!(err(95) > 0.0);
    }

    #[test]
    fn resampling_and_blur_remove_detail_and_noise_differs_by_frame() {
        let (w, h) = (64, 48);
        let img = checker(w, h);
        let soft = Degradation {
            resample: Some((0.4, FilterType::Triangle)),
            ..Degradation::none()
        };
        let out = soft.apply(&img, w, h, 0);
        assert_eq!(out.len(), img.len());
        assert!(detail(&out, w) < 0.6 * detail(&img, w));
        let blur = Degradation {
            blur: 1.2,
            ..Degradation::none()
        };
        assert!(detail(&blur.apply(&img, w, h, 0), w) < 0.6 * detail(&img, w));
        let noisy = Degradation {
            noise: 3.0,
            seed: 9,
            ..Degradation::none()
        };
        let (f0, f1) = (noisy.apply(&img, w, h, 0), noisy.apply(&img, w, h, 1));
        assert_ne!(f0, f1);
        assert_eq!(f0, noisy.apply(&img, w, h, 0));
    }
}
