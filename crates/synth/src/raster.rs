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
