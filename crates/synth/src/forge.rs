//! The two forgeries: a self-blended face (the frame's own face, perturbed in colour,
//! frequency and position, blended back through a mask) and a cross-identity swap (a donor's
//! face warped onto the target's landmarks, resampled at a generator resolution, colour
//! matched, blended). Either is put into the frame by alpha compositing through the soft mask
//! or by gradient-domain (Poisson) or multi-band (Laplacian) blending ([`Blending`]).

use image::imageops::FilterType;
use seamscan_faces::Face;

use crate::mask::{SoftMask, roi};
use crate::raster::{Rgb, gaussian_blur};

/// How the forged face's detail is changed before blending.
#[derive(Debug, Clone, Copy, PartialEq)]
pub enum Frequency {
    /// Left as it is.
    None,
    /// Scaled down by this factor (0–1) and back up: lost detail, as from a generator.
    Resample(f32, FilterType),
    /// Unsharp-masked (sigma, amount): exaggerated detail.
    Sharpen(f32, f32),
}

/// A colour and brightness change: per-channel gain and offset, contrast about mid-grey.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct ColourShift {
    /// Per-channel gain.
    pub gain: [f32; 3],
    /// Per-channel offset (0–255 scale).
    pub offset: [f32; 3],
    /// Contrast about 128.
    pub contrast: f32,
}

impl ColourShift {
    /// No change.
    pub const IDENTITY: ColourShift = ColourShift {
        gain: [1.0; 3],
        offset: [0.0; 3],
        contrast: 1.0,
    };

    fn apply(&self, v: [f32; 3]) -> [f32; 3] {
        let mut o = [0.0; 3];
        for k in 0..3 {
            o[k] = ((v[k] * self.gain[k] + self.offset[k]) - 128.0) * self.contrast + 128.0;
        }
        o
    }
}

/// How a forged face is put into the frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, serde::Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Blending {
    /// Alpha compositing through the soft mask: `frame·(1 − a) + face·a` (every training
    /// forgery).
    #[default]
    Alpha,
    /// Gradient-domain blending ("seamless cloning", Pérez et al. 2003): inside the mask the
    /// forged face's gradients, on its border the frame's own values, so that no colour or
    /// brightness step is left at the seam; then composited through the mask as above. Give it
    /// a mask whose weight is one value inside its domain ([`SoftMask::core`]).
    Poisson,
    /// Multi-band blending (Burt & Adelson 1983): the frame's region and the forged face are
    /// split into frequency bands (differences of Gaussian blurs of σ = 1, 3, 7, 15, 31 px, as
    /// far as the region allows), each band mixed through the mask blurred to its scale, and
    /// the bands summed: fine detail switches at the mask's edge while tone and colour cross
    /// over wide. Give it a hard mask ([`SoftMask::core`]).
    Multiband,
}

/// Parameters of a self-blended face.
#[derive(Debug, Clone, PartialEq)]
pub struct SelfBlend {
    /// Colour change of the source copy.
    pub colour: ColourShift,
    /// Detail change of the source copy.
    pub frequency: Frequency,
    /// Shift of the source copy, fractions of the face box (x, y).
    pub shift: (f32, f32),
    /// Scale of the source copy about the face centre.
    pub scale: f32,
}

/// Parameters of a cross-identity swap.
#[derive(Debug, Clone, PartialEq)]
pub struct Swap {
    /// Face size in pixels the "generator" works at (the warped face is resampled to it).
    pub generator_size: f32,
    /// Filter of that resampling.
    pub filter: FilterType,
    /// Strength of the mean/std colour transfer onto the target (0 none … 1 full).
    pub colour_match: f32,
    /// Extra detail change after the generator.
    pub frequency: Frequency,
}

fn perturb(region: &Rgb, frequency: Frequency) -> Rgb {
    match frequency {
        Frequency::None => region.clone(),
        Frequency::Resample(f, filter) => {
            let w = ((region.width as f32 * f).round() as usize).max(4);
            let h = ((region.height as f32 * f).round() as usize).max(4);
            region
                .resized(w, h, filter)
                .resized(region.width, region.height, filter)
        }
        Frequency::Sharpen(sigma, amount) => region.sharpened(sigma, amount),
    }
}

fn crop(frame: &Rgb, x0: usize, y0: usize, w: usize, h: usize) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for y in y0..y0 + h {
        let i = 3 * (y * frame.width + x0);
        data.extend_from_slice(&frame.data[i..i + 3 * w]);
    }
    Rgb {
        width: w,
        height: h,
        data,
    }
}

/// `frame` with `source` (a region of the mask's size at its position) put in by `mask` and
/// `blending`.
fn put(frame: &Rgb, source: &Rgb, mask: &SoftMask, blending: Blending) -> Rgb {
    match blending {
        Blending::Alpha => blend(frame, source, mask),
        Blending::Poisson => blend(frame, &poisson(frame, source, mask), mask),
        Blending::Multiband => multiband(frame, source, mask),
    }
}

/// `frame` with `source` put in band by band: with `G_k` an image blurred at σ = 2^k − 1
/// (`G_0` the image), band `k` is `G_k − G_(k+1)` and the last band the last blur, so the
/// bands sum to the image exactly. Each band of the result is the frame's band and the
/// source's band mixed by the mask blurred like `G_k`. The coarsest blur is kept below a
/// twelfth of the region's smaller side (the mask's margin in a face's region is about a
/// quarter), so the widened mask stays inside the region, which is written back whole.
fn multiband(frame: &Rgb, source: &Rgb, mask: &SoftMask) -> Rgb {
    let (w, h) = (mask.w, mask.h);
    let target = crop(frame, mask.x0, mask.y0, w, h);
    let largest = (w.min(h) as f32 / 12.0).min(31.0);
    let (mut sigmas, mut next) = (vec![0.0f32], 1.0f32);
    while next <= largest {
        sigmas.push(next);
        next = 2.0 * next + 1.0;
    }
    let stack = |img: &Rgb| -> Vec<Rgb> { sigmas.iter().map(|&s| img.blurred(s)).collect() };
    let (t, s) = (stack(&target), stack(source));
    // The mask is one plane: blurred once per scale, not once per colour channel.
    let m: Vec<Vec<f32>> = sigmas
        .iter()
        .map(|&sigma| {
            let mut plane = mask.alpha.clone();
            gaussian_blur(&mut plane, w, h, sigma);
            plane
        })
        .collect();
    let mut out = vec![0.0f32; 3 * w * h];
    for k in 0..sigmas.len() {
        let band = |g: &[Rgb], i: usize| match g.get(k + 1) {
            Some(next) => g[k].data[i] - next.data[i],
            None => g[k].data[i],
        };
        for (i, o) in out.iter_mut().enumerate() {
            let a = m[k][i / 3];
            *o += band(&t, i) * (1.0 - a) + band(&s, i) * a;
        }
    }
    let mut result = frame.clone();
    for y in 0..h {
        let i = 3 * ((mask.y0 + y) * frame.width + mask.x0);
        result.data[i..i + 3 * w].copy_from_slice(&out[3 * y * w..3 * (y + 1) * w]);
    }
    result
}

/// `source` with its low frequencies replaced so that it meets `frame` on the border of the
/// mask's domain (the pixels of weight > 0, less the region's outer ring): `source + h` where
/// `h` is harmonic inside the domain and equals `frame − source` around it. Solved per
/// channel by successive over-relaxation, to a residual far below one grey level.
fn poisson(frame: &Rgb, source: &Rgb, mask: &SoftMask) -> Rgb {
    let (w, h) = (mask.w, mask.h);
    // h = frame − source everywhere first: its values outside the domain are the boundary
    // condition, inside they are the starting guess.
    let target = crop(frame, mask.x0, mask.y0, w, h);
    let mut corr: Vec<f32> = target
        .data
        .iter()
        .zip(&source.data)
        .map(|(t, s)| t - s)
        .collect();
    let domain: Vec<usize> = (1..h.saturating_sub(1))
        .flat_map(|y| (1..w.saturating_sub(1)).map(move |x| y * w + x))
        .filter(|&p| mask.alpha[p] > 0.0)
        .collect();
    // The optimal relaxation factor for a grid of this size; 2n sweeps shrink the error by
    // about e^(−4π).
    let n = w.max(h).max(2) as f32;
    let relax = 2.0 / (1.0 + (std::f32::consts::PI / n).sin());
    for _ in 0..2 * w.max(h) + 50 {
        for &p in &domain {
            for k in 0..3 {
                let c = 3 * p + k;
                let around = corr[c - 3] + corr[c + 3] + corr[c - 3 * w] + corr[c + 3 * w];
                corr[c] += relax * (around / 4.0 - corr[c]);
            }
        }
    }
    let mut out = source.clone();
    for (o, c) in out.data.iter_mut().zip(&corr) {
        *o += c;
    }
    out
}

/// `frame` with `source` (a region of the mask's size at its position) blended in by `mask`.
fn blend(frame: &Rgb, source: &Rgb, mask: &SoftMask) -> Rgb {
    let mut out = frame.clone();
    for y in 0..mask.h {
        for x in 0..mask.w {
            let a = mask.alpha[y * mask.w + x];
            if a <= 0.0 {
                continue;
            }
            let i = 3 * ((mask.y0 + y) * frame.width + mask.x0 + x);
            let j = 3 * (y * mask.w + x);
            for k in 0..3 {
                out.data[i + k] = frame.data[i + k] * (1.0 - a) + source.data[j + k] * a;
            }
        }
    }
    out
}

/// A `w`×`h` region whose pixel (x, y) is `pixel` of frame coordinates (`x0 + x`, `y0 + y`).
fn region_from(
    x0: usize,
    y0: usize,
    w: usize,
    h: usize,
    pixel: impl Fn(f32, f32) -> [f32; 3],
) -> Rgb {
    let mut data = Vec::with_capacity(3 * w * h);
    for y in 0..h {
        for x in 0..w {
            data.extend_from_slice(&pixel((x0 + x) as f32, (y0 + y) as f32));
        }
    }
    Rgb {
        width: w,
        height: h,
        data,
    }
}

/// A self-blended forgery of `face` in `frame`, through `mask` by `blending`.
pub fn self_blend(
    frame: &Rgb,
    face: &Face,
    p: &SelfBlend,
    mask: &SoftMask,
    blending: Blending,
) -> Rgb {
    let (x0, y0, w, h) = roi(face, frame.width, frame.height);
    let (cx, cy) = face.centre();
    let (dx, dy) = (p.shift.0 * face.w, p.shift.1 * face.h);
    let moved = region_from(x0, y0, w, h, |fx, fy| {
        let sx = cx + (fx - cx - dx) / p.scale;
        let sy = cy + (fy - cy - dy) / p.scale;
        p.colour.apply(frame.sample(sx, sy))
    });
    let source = perturb(&moved, p.frequency);
    put(frame, &source, mask, blending)
}

/// The similarity transform (as `z ↦ a + b·(z − c)` on complex numbers) that maps the
/// target's landmarks onto the donor's in the least-squares sense.
fn similarity(target: &[f32; 10], donor: &[f32; 10]) -> impl Fn(f32, f32) -> (f32, f32) {
    let mean = |l: &[f32; 10]| {
        let (mut x, mut y) = (0.0, 0.0);
        for i in 0..5 {
            x += l[2 * i];
            y += l[2 * i + 1];
        }
        (x / 5.0, y / 5.0)
    };
    let (tc, dc) = (mean(target), mean(donor));
    // b = Σ conj(t) d / Σ |t|² with centred points.
    let (mut re, mut im, mut norm) = (0.0f32, 0.0f32, 0.0f32);
    for i in 0..5 {
        let (tx, ty) = (target[2 * i] - tc.0, target[2 * i + 1] - tc.1);
        let (dx, dy) = (donor[2 * i] - dc.0, donor[2 * i + 1] - dc.1);
        re += tx * dx + ty * dy;
        im += tx * dy - ty * dx;
        norm += tx * tx + ty * ty;
    }
    let (br, bi) = if norm > 0.0 {
        (re / norm, im / norm)
    } else {
        (1.0, 0.0)
    };
    move |x: f32, y: f32| {
        let (u, v) = (x - tc.0, y - tc.1);
        (dc.0 + br * u - bi * v, dc.1 + bi * u + br * v)
    }
}

/// Per-channel mean and std of `img` where `mask` ≥ 0.5 (mask region coordinates).
fn masked_stats(img: &Rgb, mask: &SoftMask) -> Option<([f32; 3], [f32; 3])> {
    let mut sum = [0.0f64; 3];
    let mut sq = [0.0f64; 3];
    let mut n = 0usize;
    let half = 0.5 * mask.alpha.iter().cloned().fold(0.0, f32::max);
    for (i, a) in mask.alpha.iter().enumerate() {
        if *a >= half && *a > 0.0 {
            n += 1;
            for k in 0..3 {
                let v = img.data[3 * i + k] as f64;
                sum[k] += v;
                sq[k] += v * v;
            }
        }
    }
    (n > 8).then(|| {
        let mut m = [0.0; 3];
        let mut s = [0.0; 3];
        for k in 0..3 {
            let mean = sum[k] / n as f64;
            m[k] = mean as f32;
            s[k] = ((sq[k] / n as f64 - mean * mean).max(1e-6)).sqrt() as f32;
        }
        (m, s)
    })
}

/// A swap of `donor_face` from `donor` onto `face` in `frame`, through `mask` by `blending`.
pub fn swap(
    frame: &Rgb,
    face: &Face,
    donor: &Rgb,
    donor_face: &Face,
    p: &Swap,
    mask: &SoftMask,
    blending: Blending,
) -> Rgb {
    let (x0, y0, w, h) = (mask.x0, mask.y0, mask.w, mask.h);
    let map = similarity(&face.landmarks, &donor_face.landmarks);
    let warped = region_from(x0, y0, w, h, |fx, fy| {
        let (sx, sy) = map(fx, fy);
        donor.sample(sx, sy)
    });
    // The generator's resolution: the face box becomes `generator_size` pixels wide.
    let f = (p.generator_size / face.w.max(1.0)).min(1.0);
    let generated = if f < 0.95 {
        perturb(&warped, Frequency::Resample(f, p.filter))
    } else {
        warped
    };
    let mut generated = perturb(&generated, p.frequency);
    if p.colour_match > 0.0 {
        let target = crop(frame, x0, y0, w, h);
        if let (Some((mt, st)), Some((mg, sg))) =
            (masked_stats(&target, mask), masked_stats(&generated, mask))
        {
            for px in generated.data.chunks_exact_mut(3) {
                for k in 0..3 {
                    let matched = (px[k] - mg[k]) / sg[k] * st[k] + mt[k];
                    px[k] += p.colour_match * (matched - px[k]);
                }
            }
        }
    }
    put(frame, &generated, mask, blending)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A smooth, textured test frame and a disc-shaped mask of weight `ratio` in a region.
    fn scene(ratio: f32) -> (Rgb, SoftMask) {
        let (w, h) = (64usize, 48usize);
        let mut data = Vec::with_capacity(3 * w * h);
        for y in 0..h {
            for x in 0..w {
                let v = 60.0 + 1.5 * x as f32 + 0.8 * y as f32 + 6.0 * ((x * 7 + y * 3) % 5) as f32;
                data.extend_from_slice(&[v, 0.7 * v, 0.5 * v + 20.0]);
            }
        }
        let (x0, y0, mw, mh) = (10usize, 6usize, 40usize, 36usize);
        let alpha = (0..mh)
            .flat_map(|y| (0..mw).map(move |x| (x, y)))
            .map(|(x, y)| {
                let (dx, dy) = (x as f32 - 20.0, y as f32 - 18.0);
                if dx * dx + dy * dy < 14.0 * 14.0 {
                    ratio
                } else {
                    0.0
                }
            })
            .collect();
        let mask = SoftMask {
            x0,
            y0,
            w: mw,
            h: mh,
            alpha,
        };
        (
            Rgb {
                width: w,
                height: h,
                data,
            },
            mask,
        )
    }

    /// The mask's region of `frame`, each sample plus `offset[channel]`.
    fn shifted(frame: &Rgb, m: &SoftMask, offset: [f32; 3]) -> Rgb {
        region_from(m.x0, m.y0, m.w, m.h, |x, y| {
            let p = frame.sample(x, y);
            [p[0] + offset[0], p[1] + offset[1], p[2] + offset[2]]
        })
    }

    #[test]
    fn poisson_blending_leaves_no_trace_of_a_brightness_shift() {
        // A copy of the face brightened by a constant has the frame's gradients: blended by
        // gradients it is the frame again, while alpha blending leaves the step.
        let (frame, mask) = scene(1.0);
        let source = shifted(&frame, &mask, [30.0, -20.0, 25.0]);
        let poisson = put(&frame, &source, &mask, Blending::Poisson);
        let alpha = put(&frame, &source, &mask, Blending::Alpha);
        let max_diff = |a: &Rgb| {
            a.data
                .iter()
                .zip(&frame.data)
                .map(|(p, q)| (p - q).abs())
                .fold(0.0f32, f32::max)
        };
        assert!(max_diff(&poisson) < 0.5, "poisson {}", max_diff(&poisson));
        assert!(max_diff(&alpha) >= 20.0, "alpha {}", max_diff(&alpha));
    }

    #[test]
    fn poisson_blending_keeps_the_forged_detail_and_meets_the_frame_at_the_seam() {
        // A source with detail of its own: inside, the detail (its gradients) survives; at the
        // seam the result meets the frame (no step), unlike alpha blending.
        let (frame, mask) = scene(1.0);
        let mut source = shifted(&frame, &mask, [40.0, 40.0, 40.0]);
        for (i, v) in source.data.iter_mut().enumerate() {
            *v += if (i / 3 / 2) % 2 == 0 { 8.0 } else { -8.0 };
        }
        let out = put(&frame, &source, &mask, Blending::Poisson);
        let at = |img: &Rgb, x: usize, y: usize| img.data[3 * (y * img.width + x)];
        // Centre of the disc: (30, 24). The detail's horizontal step survives.
        let (cx, cy) = (mask.x0 + 20, mask.y0 + 18);
        let step = |img: &Rgb| (at(img, cx, cy) - at(img, cx + 2, cy)).abs();
        let src_step =
            (source.data[3 * (18 * mask.w + 20)] - source.data[3 * (18 * mask.w + 22)]).abs();
        assert!(
            (step(&out) - src_step).abs() < 2.0,
            "{} vs {src_step}",
            step(&out)
        );
        // Just inside the disc's left edge, the result is within the detail of the frame.
        let (ex, ey) = (mask.x0 + 7, mask.y0 + 18);
        assert!((at(&out, ex, ey) - at(&frame, ex, ey)).abs() < 12.0);
        let alpha = put(&frame, &source, &mask, Blending::Alpha);
        assert!((at(&alpha, ex, ey) - at(&frame, ex, ey)).abs() > 30.0);
        // Outside the mask nothing changes.
        assert_eq!(at(&out, 2, 2), at(&frame, 2, 2));
    }

    #[test]
    fn multiband_blending_of_the_frame_itself_gives_the_frame_back() {
        // The bands of an image sum to it exactly, whatever the mask.
        let (frame, mask) = scene(0.8);
        let out = put(
            &frame,
            &shifted(&frame, &mask, [0.0; 3]),
            &mask,
            Blending::Multiband,
        );
        let worst = out
            .data
            .iter()
            .zip(&frame.data)
            .map(|(p, q)| (p - q).abs())
            .fold(0.0f32, f32::max);
        assert!(worst < 1e-3, "{worst}");
    }

    #[test]
    fn multiband_blending_spreads_a_brightness_step_that_alpha_leaves_sharp() {
        // A brightened copy differs from the frame only in its coarsest band, which crosses
        // over through the widest blur of the mask: full inside, nothing far outside, and no
        // sharp step at the seam, where alpha blending jumps by the whole shift.
        let (frame, mask) = scene(1.0);
        let source = shifted(&frame, &mask, [40.0; 3]);
        let added = |img: &Rgb, x: usize, y: usize| {
            let i = 3 * ((mask.y0 + y) * img.width + mask.x0 + x);
            img.data[i] - frame.data[i]
        };
        let steepest = |img: &Rgb| {
            (0..mask.h)
                .flat_map(|y| (1..mask.w).map(move |x| (x, y)))
                .map(|(x, y)| (added(img, x, y) - added(img, x - 1, y)).abs())
                .fold(0.0f32, f32::max)
        };
        let multiband = put(&frame, &source, &mask, Blending::Multiband);
        let alpha = put(&frame, &source, &mask, Blending::Alpha);
        assert!(
            added(&multiband, 20, 18) > 38.0,
            "{}",
            added(&multiband, 20, 18)
        );
        assert!(added(&multiband, 0, 0).abs() < 0.5);
        assert!(steepest(&multiband) < 8.0, "{}", steepest(&multiband));
        assert!(steepest(&alpha) > 39.0, "{}", steepest(&alpha));
    }

    #[test]
    fn a_core_mask_is_its_ratio_inside_half_its_maximum() {
        let (_, mut mask) = scene(0.6);
        mask.alpha[0] = 0.2; // a soft fringe below half the maximum
        mask.alpha[1] = 0.35; // and one above
        let core = mask.core();
        assert_eq!(core.alpha[0], 0.0);
        assert_eq!(core.alpha[1], 0.6);
        assert_eq!(core.alpha[18 * mask.w + 20], 0.6);
    }

    #[test]
    fn similarity_recovers_a_known_transform() {
        let t = [10.0, 10.0, 30.0, 10.0, 20.0, 20.0, 12.0, 30.0, 28.0, 30.0];
        // Donor = target scaled 2× about the origin and shifted by (5, -3).
        let mut d = [0.0; 10];
        for i in 0..5 {
            d[2 * i] = 2.0 * t[2 * i] + 5.0;
            d[2 * i + 1] = 2.0 * t[2 * i + 1] - 3.0;
        }
        let map = similarity(&t, &d);
        let (x, y) = map(100.0, 50.0);
        assert!(
            (x - 205.0).abs() < 1e-3 && (y - 97.0).abs() < 1e-3,
            "{x} {y}"
        );
    }
}
