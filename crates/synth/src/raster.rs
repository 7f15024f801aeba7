//! Float RGB images and the few raster operations the forgeries need: Gaussian blur, bilinear
//! sampling, resampling through the `image` crate's filters, unsharp masking.

use image::imageops::FilterType;

/// An RGB image with `f32` samples in 0–255, row-major, interleaved.
#[derive(Debug, Clone, PartialEq)]
pub struct Rgb {
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// `3 * width * height` samples.
    pub data: Vec<f32>,
}

/// Mean channel spread (max − min, in levels) below which [`Rgb::is_grey`] calls an image
/// black and white: above the ≈2.5 levels that synthesis's still-photo noise adds to a grey
/// photo, below the tens of levels of colour footage.
pub const GREY_SPREAD: f64 = 5.0;

impl Rgb {
    /// From packed RGB24 bytes.
    pub fn from_bytes(bytes: &[u8], width: usize, height: usize) -> Self {
        Rgb {
            width,
            height,
            data: bytes.iter().map(|&b| b as f32).collect(),
        }
    }

    /// To packed RGB24 bytes (rounded, clamped).
    pub fn to_bytes(&self) -> Vec<u8> {
        self.data
            .iter()
            .map(|v| v.round().clamp(0.0, 255.0) as u8)
            .collect()
    }

    /// Whether the image is black and white: its channels differ by less than
    /// [`GREY_SPREAD`] levels on average (a grey photograph decodes with equal channels, or
    /// nearly equal where sensor noise was added; a colour one differs by tens of levels).
    pub fn is_grey(&self) -> bool {
        let n = self.data.len() / 3;
        if n == 0 {
            return false;
        }
        let spread: f64 = self
            .data
            .chunks_exact(3)
            .map(|p| (p[0].max(p[1]).max(p[2]) - p[0].min(p[1]).min(p[2])) as f64)
            .sum();
        spread / (n as f64) < GREY_SPREAD
    }

    /// This image with `other`'s luma (BT.601 weights): each pixel moves by the same amount
    /// in all three channels, so its colour (or a grey image's channel noise) stays and only
    /// its brightness becomes `other`'s. Both must have the same size.
    pub fn with_luma_of(&self, other: &Rgb) -> Rgb {
        let luma = |p: &[f32]| 0.299 * p[0] + 0.587 * p[1] + 0.114 * p[2];
        let mut data = Vec::with_capacity(self.data.len());
        for (p, q) in self.data.chunks_exact(3).zip(other.data.chunks_exact(3)) {
            let d = luma(q) - luma(p);
            data.extend_from_slice(&[p[0] + d, p[1] + d, p[2] + d]);
        }
        Rgb {
            width: self.width,
            height: self.height,
            data,
        }
    }

    /// The three channels of pixel (x, y), edge-clamped, bilinear.
    pub fn sample(&self, x: f32, y: f32) -> [f32; 3] {
        let (w, h) = (self.width as isize, self.height as isize);
        let fx = x.floor();
        let fy = y.floor();
        let (ax, ay) = (x - fx, y - fy);
        let px = |xi: isize, yi: isize| {
            let xi = xi.clamp(0, w - 1) as usize;
            let yi = yi.clamp(0, h - 1) as usize;
            let i = 3 * (yi * self.width + xi);
            [self.data[i], self.data[i + 1], self.data[i + 2]]
        };
        let (x0, y0) = (fx as isize, fy as isize);
        let (a, b, c, d) = (
            px(x0, y0),
            px(x0 + 1, y0),
            px(x0, y0 + 1),
            px(x0 + 1, y0 + 1),
        );
        let mut out = [0.0; 3];
        for k in 0..3 {
            let top = a[k] + (b[k] - a[k]) * ax;
            let bottom = c[k] + (d[k] - c[k]) * ax;
            out[k] = top + (bottom - top) * ay;
        }
        out
    }

    /// Resampled to `w`×`h` with `filter` (values clamped to 0–255 on the way).
    pub fn resized(&self, w: usize, h: usize, filter: FilterType) -> Rgb {
        let img = image::RgbImage::from_raw(self.width as u32, self.height as u32, self.to_bytes())
            .expect("buffer matches its size");
        let out = image::imageops::resize(&img, w.max(1) as u32, h.max(1) as u32, filter);
        Rgb::from_bytes(out.as_raw(), w.max(1), h.max(1))
    }

    /// Gaussian blur of every channel with standard deviation `sigma` pixels.
    pub fn blurred(&self, sigma: f32) -> Rgb {
        let mut out = self.clone();
        for c in 0..3 {
            let mut plane: Vec<f32> = self.data.iter().skip(c).step_by(3).copied().collect();
            gaussian_blur(&mut plane, self.width, self.height, sigma);
            for (i, v) in plane.into_iter().enumerate() {
                out.data[3 * i + c] = v;
            }
        }
        out
    }

    /// Unsharp mask: `self + amount * (self - blur(self, sigma))`.
    pub fn sharpened(&self, sigma: f32, amount: f32) -> Rgb {
        let blur = self.blurred(sigma);
        let mut out = self.clone();
        for (o, b) in out.data.iter_mut().zip(&blur.data) {
            *o += amount * (*o - b);
        }
        out
    }
}

/// The name of a resampling filter in `labels.csv` details (`bicubic`, not `CatmullRom`).
pub fn filter_name(filter: FilterType) -> &'static str {
    match filter {
        FilterType::Nearest => "nearest",
        FilterType::Triangle => "bilinear",
        FilterType::CatmullRom => "bicubic",
        FilterType::Gaussian => "gaussian",
        FilterType::Lanczos3 => "lanczos",
    }
}

/// A separable Gaussian blur of one plane, in place, with edge clamping.
pub fn gaussian_blur(plane: &mut [f32], width: usize, height: usize, sigma: f32) {
    if sigma < 0.3 || width == 0 || height == 0 {
        return;
    }
    let radius = (3.0 * sigma).ceil() as isize;
    let kernel: Vec<f32> = (-radius..=radius)
        .map(|i| (-(i * i) as f32 / (2.0 * sigma * sigma)).exp())
        .collect();
    let norm: f32 = kernel.iter().sum();
    let kernel: Vec<f32> = kernel.iter().map(|k| k / norm).collect();
    let mut tmp = vec![0.0f32; plane.len()];
    let (w, h) = (width as isize, height as isize);
    for y in 0..height {
        let row = &plane[y * width..(y + 1) * width];
        for x in 0..w {
            let mut acc = 0.0;
            for (k, kv) in kernel.iter().enumerate() {
                let xi = (x + k as isize - radius).clamp(0, w - 1) as usize;
                acc += kv * row[xi];
            }
            tmp[y * width + x as usize] = acc;
        }
    }
    for y in 0..h {
        for x in 0..width {
            let mut acc = 0.0;
            for (k, kv) in kernel.iter().enumerate() {
                let yi = (y + k as isize - radius).clamp(0, h - 1) as usize;
                acc += kv * tmp[yi * width + x];
            }
            plane[y as usize * width + x] = acc;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn grey_is_told_from_colour_and_only_luma_moves() {
        // A grey image with channel noise of a level or two is still grey.
        let grey = Rgb {
            width: 2,
            height: 1,
            data: vec![10.0, 11.0, 9.0, 200.0, 202.0, 200.0],
        };
        assert!(grey.is_grey());
        // One coloured pixel of two: channels differ by 31 levels on average.
        let coloured = Rgb {
            data: vec![10.0, 11.0, 9.0, 200.0, 140.0, 150.0],
            ..grey.clone()
        };
        assert!(!coloured.is_grey());
        // The grey image takes the coloured one's brightness but keeps its own channel
        // differences: BT.601 luma of (200, 140, 150) is 159.08, of (200, 202, 200) 201.17.
        let moved = grey.with_luma_of(&coloured);
        assert!(moved.is_grey());
        assert_eq!(moved.to_bytes(), [10, 11, 9, 158, 160, 158]);
        assert_eq!(grey.with_luma_of(&grey).to_bytes(), grey.to_bytes());
        assert!(
            !Rgb {
                width: 0,
                height: 0,
                data: vec![]
            }
            .is_grey()
        );
    }

    #[test]
    fn blur_keeps_the_mean_and_spreads_an_impulse() {
        let (w, h) = (21, 21);
        let mut p = vec![0.0f32; w * h];
        p[10 * w + 10] = 441.0;
        gaussian_blur(&mut p, w, h, 2.0);
        let sum: f32 = p.iter().sum();
        assert!((sum - 441.0).abs() < 0.5, "{sum}");
        assert!(p[10 * w + 10] < 441.0 / 10.0);
        assert!(p[10 * w + 12] > 0.0 && (p[10 * w + 12] - p[12 * w + 10]).abs() < 1e-4);
    }

    #[test]
    fn bilinear_sampling_interpolates() {
        let img = Rgb {
            width: 2,
            height: 1,
            data: vec![0.0, 0.0, 0.0, 100.0, 50.0, 10.0],
        };
        assert_eq!(img.sample(0.5, 0.0), [50.0, 25.0, 5.0]);
        assert_eq!(img.sample(-3.0, 0.0), [0.0; 3]);
    }
}
