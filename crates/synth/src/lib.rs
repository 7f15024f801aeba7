//! `seamscan synth`: labelled forgeries from real face videos, for training and evaluating the
//! classifier without any deepfake data set.
//!
//! Each real clip is decoded (a run of up to `max_frames` frames from its first face), its
//! largest face found in every frame, and then written several times through the same H.264
//! encoder at varied CRF: as itself (`real`), as self-blended forgeries (`self_blend`: the
//! frame's own face perturbed in colour, detail and position, blended back through a deformed,
//! blurred landmark mask at a random ratio) and as cross-identity swaps (`swap`: another clip's
//! face warped onto the landmarks, resampled at a generator resolution, colour matched, blended
//! hard, feathered or partially; or, with [`Blending::Poisson`] or [`Blending::Multiband`], by
//! gradient-domain or multi-band blending). Every choice comes from a ChaCha RNG seeded with the
//! seed and the output clip's name, so a seed gives the same bytes (on hosts whose libx264 runs
//! the same kernels: [`seamscan_decode::x264_cpu_capabilities`]). Outputs: `clips/*.mp4`, the
//! ground-truth mask of every forged frame as `masks/<clip>/<frame>.png`, `labels.csv`, and
//! `synth.json` (inputs with SHA-256, options, tool version, the encoder: FFmpeg's version and
//! the instruction sets libx264 ran with).

#![deny(missing_docs)]

pub mod degrade;
pub mod forge;
pub mod mask;
pub mod raster;

use std::fmt::Write as _;
use std::io::Read;
use std::path::{Path, PathBuf};

use image::imageops::FilterType;
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use seamscan_decode::{DecodeOptions, EncodeSettings, Sampling, VideoReader, VideoWriter};
use seamscan_faces::{Detector, DetectorConfig, Face, RgbView};
use sha2::{Digest, Sha256};

use crate::degrade::Degradation;
use crate::forge::{Blending, ColourShift, Frequency, SelfBlend, Swap};
use crate::mask::{MaskParams, MaskShape, soft_mask};
use crate::raster::{Rgb, filter_name};

/// What `synth` makes.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct SynthOptions {
    /// Seed of every random choice.
    pub seed: u64,
    /// Frames per clip (a run from the first frame with a face).
    pub max_frames: usize,
    /// Keep every N-th decoded frame.
    pub every: u64,
    /// x264 CRF values; real clips are written once at each, forgeries at one drawn from them.
    pub crfs: Vec<u32>,
    /// Self-blended forgeries per real clip.
    pub self_blends: usize,
    /// Cross-identity swaps per real clip (donors: the other clips, in a seeded order).
    pub swaps: usize,
    /// x264 preset.
    pub preset: String,
    /// Chance that a clip (real or forged) is degraded as a whole before any forging
    /// ([`Degradation`]: resampling, blur, sharpening, noise, tone), each clip drawn on its
    /// own; 0 leaves every clip as the source gives it.
    pub degrade: f64,
    /// How forged faces are put into the frames. Every random draw is made as for
    /// [`Blending::Alpha`], so a set made with another blending has the same forgeries
    /// (masks, perturbations, donors, CRFs) blended its way.
    pub blending: Blending,
    /// Make a forgery of a black-and-white frame black and white too (the real frame with
    /// the forged frame's luma, see [`raster::Rgb::with_luma_of`]), so that colour brought in
    /// by the perturbation or a donor never gives it away. Every random draw is the same either way, and colour frames are
    /// untouched; off leaves every clip as synthesis made it before the option.
    pub keep_grey: bool,
}

impl Default for SynthOptions {
    fn default() -> Self {
        SynthOptions {
            seed: 0,
            max_frames: 48,
            every: 1,
            crfs: vec![18, 23, 28, 35],
            self_blends: 4,
            swaps: 3,
            preset: "veryfast".into(),
            degrade: 0.0,
            blending: Blending::Alpha,
            keep_grey: false,
        }
    }
}

/// Why synthesis failed.
#[derive(Debug, thiserror::Error)]
pub enum SynthError {
    /// An input or output file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// Decoding or encoding failed.
    #[error("{0}: {1}")]
    Media(PathBuf, seamscan_decode::DecodeError),
    /// The face detector failed.
    #[error("{0}: face detector: {1}")]
    Detector(PathBuf, String),
    /// Nothing usable.
    #[error("{0}")]
    Input(String),
}

/// One row of `labels.csv`.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LabelRow {
    /// Clip path relative to the output directory.
    pub clip: String,
    /// SHA-256 of the clip.
    pub sha256: String,
    /// 1 forged, 0 real.
    pub label: u8,
    /// `real`, `self_blend` or `swap`.
    pub method: String,
    /// The real clip the frames come from (file stem): the unit of train/validation splits.
    pub source: String,
    /// The donor clip of a swap (empty otherwise).
    pub donor: String,
    /// x264 CRF.
    pub crf: u32,
    /// Mask shape (empty for real clips).
    pub mask: String,
    /// Mask blur relative to the face size.
    pub mask_blur: f32,
    /// Blend ratio.
    pub blend_ratio: f32,
    /// What was done to the forged face's detail, in words.
    pub detail: String,
    /// Frames in the clip.
    pub frames: usize,
    /// Frames whose face was forged.
    pub forged_frames: usize,
    /// The whole-frame degradation applied before forging, in words (`none`).
    pub degradation: String,
}

/// The header line of `labels.csv`.
pub const LABELS_HEADER: &str = "clip,sha256,label,method,source,donor,crf,mask,mask_blur,blend_ratio,detail,frames,forged_frames,degradation";

impl LabelRow {
    fn csv(&self) -> String {
        format!(
            "{},{},{},{},{},{},{},{},{:.4},{:.4},{},{},{},{}",
            self.clip,
            self.sha256,
            self.label,
            self.method,
            self.source,
            self.donor,
            self.crf,
            self.mask,
            self.mask_blur,
            self.blend_ratio,
            self.detail,
            self.frames,
            self.forged_frames,
            self.degradation
        )
    }
}

/// A decoded real clip with its largest face per frame.
struct Source {
    name: String,
    path: PathBuf,
    sha256: String,
    width: usize,
    height: usize,
    fps: u32,
    frames: Vec<Vec<u8>>,
    faces: Vec<Option<Face>>,
}

fn sha256_file(path: &Path) -> Result<String, SynthError> {
    let mut f = std::fs::File::open(path).map_err(|e| SynthError::Io(path.into(), e))?;
    let mut h = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = f
            .read(&mut buf)
            .map_err(|e| SynthError::Io(path.into(), e))?;
        if n == 0 {
            break;
        }
        h.update(&buf[..n]);
    }
    Ok(h.finalize().iter().fold(String::new(), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    }))
}

fn stem(path: &Path) -> String {
    path.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_else(|| "clip".into())
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

fn largest(faces: Vec<Face>) -> Option<Face> {
    faces
        .into_iter()
        .max_by(|a, b| (a.w * a.h).total_cmp(&(b.w * b.h)))
}

/// The faces of each frame, detected in batches of 8.
fn detect_all(
    path: &Path,
    frames: &[Vec<u8>],
    width: usize,
    height: usize,
    detector: &Detector,
) -> Result<Vec<Vec<Face>>, SynthError> {
    let mut out = Vec::with_capacity(frames.len());
    for chunk in frames.chunks(8) {
        let views: Vec<RgbView<'_>> = chunk
            .iter()
            .filter_map(|b| RgbView::new(b, width, height))
            .collect();
        out.extend(
            detector
                .detect(&views)
                .map_err(|e| SynthError::Detector(path.into(), e.to_string()))?,
        );
    }
    Ok(out)
}

/// Side of a still clip's frames.
const STILL_SIDE: usize = 480;

/// A real clip made from a photo: for each face of at least 60 px, a square region around
/// it, slowly zoomed (1 → 1.08) and panned over `max_frames` frames with mild sensor noise,
/// so that photos add identities. Every frame is resampled the same way, face and
/// background alike.
fn stills(
    path: &Path,
    rgb: &[u8],
    width: usize,
    height: usize,
    options: &SynthOptions,
    detector: &Detector,
) -> Result<Vec<Source>, SynthError> {
    let image = Rgb::from_bytes(rgb, width, height);
    let faces = detect_all(path, &[rgb.to_vec()], width, height, detector)?
        .pop()
        .unwrap_or_default();
    let mut faces: Vec<Face> = faces.into_iter().filter(|f| f.w.min(f.h) >= 60.0).collect();
    faces.sort_by(|a, b| (b.w * b.h).total_cmp(&(a.w * a.h)));
    let base = stem(path);
    let mut out = Vec::new();
    for (k, face) in faces.iter().enumerate() {
        let name = if k == 0 {
            base.clone()
        } else {
            format!("{base}-f{k}")
        };
        let mut rng = rng_for(options.seed, &format!("{name}__still"));
        let (cx, cy) = face.centre();
        let side = (3.0 * face.w.max(face.h)).min(width.min(height) as f32);
        let cx = cx.clamp(side / 2.0, width as f32 - side / 2.0);
        let cy = cy.clamp(side / 2.0, height as f32 - side / 2.0);
        let (px, py) = (rng.random_range(-0.03..0.03), rng.random_range(-0.03..0.03));
        let n = options.max_frames;
        let frames: Vec<Vec<u8>> = (0..n)
            .map(|i| {
                let t = i as f32 / n.max(2).saturating_sub(1) as f32;
                let zoom = 1.0 + 0.08 * t;
                let s = side / zoom / STILL_SIDE as f32;
                let (ox, oy) = (cx + px * side * t, cy + py * side * t);
                let mut f = Vec::with_capacity(3 * STILL_SIDE * STILL_SIDE);
                for y in 0..STILL_SIDE {
                    for x in 0..STILL_SIDE {
                        let sx = ox + (x as f32 + 0.5 - STILL_SIDE as f32 / 2.0) * s;
                        let sy = oy + (y as f32 + 0.5 - STILL_SIDE as f32 / 2.0) * s;
                        let v = image.sample(sx - 0.5, sy - 0.5);
                        for c in v {
                            // Sensor-like noise: a sum of uniforms, std ≈ 1.5.
                            let e: f32 = (0..3).map(|_| rng.random_range(-1.5f32..1.5)).sum();
                            f.push((c + e).round().clamp(0.0, 255.0) as u8);
                        }
                    }
                }
                f
            })
            .collect();
        let faces = detect_all(path, &frames, STILL_SIDE, STILL_SIDE, detector)?
            .into_iter()
            .map(largest)
            .collect();
        out.push(Source {
            name,
            path: path.into(),
            sha256: sha256_file(path)?,
            width: STILL_SIDE,
            height: STILL_SIDE,
            fps: 25,
            frames,
            faces,
        });
    }
    if out.is_empty() {
        return Err(SynthError::Input(format!(
            "{}: no face of at least 60 px in the photo",
            path.display()
        )));
    }
    Ok(out)
}

fn load(
    path: &Path,
    options: &SynthOptions,
    detector: &Detector,
) -> Result<Vec<Source>, SynthError> {
    let media = |e| SynthError::Media(path.into(), e);
    let mut reader = VideoReader::open(
        path,
        DecodeOptions {
            sampling: Sampling {
                every: options.every.max(1),
                fps: None,
                max_frames: None,
            },
            rgb: true,
            threads: 0,
        },
    )
    .map_err(media)?;
    let fps = reader.info().fps.unwrap_or(25.0).round().clamp(1.0, 120.0) as u32;
    let (mut frames, mut faces) = (Vec::new(), Vec::new());
    let (mut width, mut height) = (0, 0);
    let mut batch: Vec<Vec<u8>> = Vec::new();
    let mut started = false;
    let mut done = false;
    while !done {
        let next = reader.next_frame().map_err(media)?;
        let end = next.is_none();
        if let Some(frame) = next {
            if width == 0 {
                (width, height) = (frame.width, frame.height);
            }
            if (frame.width, frame.height) == (width, height)
                && let Some(rgb) = frame.rgb
            {
                batch.push(rgb);
            }
        }
        if batch.len() >= 8 || (end && !batch.is_empty()) {
            let found = detect_all(path, &batch, width, height, detector)?;
            for (rgb, f) in std::mem::take(&mut batch).into_iter().zip(found) {
                let face = largest(f);
                started |= face.is_some();
                if started && frames.len() < options.max_frames {
                    frames.push(rgb);
                    faces.push(face);
                }
            }
            done = frames.len() >= options.max_frames;
        }
        done |= end;
    }
    if frames.len() == 1 && reader.summary().frames_decoded == 1 {
        return stills(path, &frames[0], width, height, options, detector);
    }
    if frames.is_empty() {
        return Err(SynthError::Input(format!(
            "{}: no face found in any frame",
            path.display()
        )));
    }
    // H.264 4:2:0 needs even sizes: drop a last odd column or row.
    let (ew, eh) = (width & !1, height & !1);
    if (ew, eh) != (width, height) {
        for f in &mut frames {
            let mut out = Vec::with_capacity(3 * ew * eh);
            for y in 0..eh {
                out.extend_from_slice(&f[3 * y * width..3 * (y * width + ew)]);
            }
            *f = out;
        }
    }
    Ok(vec![Source {
        name: stem(path),
        path: path.into(),
        sha256: sha256_file(path)?,
        width: ew,
        height: eh,
        fps,
        frames,
        faces,
    }])
}

/// The whole-frame degradation of output clip `clip`, from its own seeded stream (so that
/// `degrade` 0 leaves every other draw, and every clip, as it was).
fn degradation_for(options: &SynthOptions, clip: &str) -> Degradation {
    Degradation::draw(
        &mut rng_for(options.seed, &format!("{clip}__degrade")),
        options.degrade,
    )
}

fn rng_for(seed: u64, name: &str) -> ChaCha8Rng {
    let mut h = Sha256::new();
    h.update(seed.to_le_bytes());
    h.update(name.as_bytes());
    let d = h.finalize();
    ChaCha8Rng::from_seed(d.into())
}

const FILTERS: [FilterType; 4] = [
    FilterType::Nearest,
    FilterType::Triangle,
    FilterType::CatmullRom,
    FilterType::Lanczos3,
];

fn mask_params(rng: &mut ChaCha8Rng, swap: bool) -> MaskParams {
    let shape = match rng.random_range(0..3) {
        0 => MaskShape::Ellipse,
        1 => MaskShape::Hull,
        _ => MaskShape::Box,
    };
    let scale = match shape {
        MaskShape::Ellipse => rng.random_range(0.7..1.0),
        MaskShape::Hull => rng.random_range(1.1..1.6),
        MaskShape::Box => rng.random_range(0.6..0.9),
    };
    let wobble = (2..5)
        .map(|k| {
            (
                k as f32,
                rng.random_range(-0.06..0.06),
                rng.random_range(0.0..std::f32::consts::TAU),
            )
        })
        .collect();
    // Blending styles: hard edge, feathered, or a wide soft blend.
    let blur = match rng.random_range(0..3) {
        0 => rng.random_range(0.0..0.02),
        1 => rng.random_range(0.02..0.07),
        _ => rng.random_range(0.07..0.15),
    };
    let ratios: &[f32] = if swap {
        &[0.75, 0.9, 1.0, 1.0]
    } else {
        &[0.25, 0.5, 0.75, 1.0, 1.0, 1.0]
    };
    MaskParams {
        shape,
        scale,
        aspect: rng.random_range(0.9..1.15),
        wobble,
        blur,
        ratio: ratios[rng.random_range(0..ratios.len())],
    }
}

fn frequency(rng: &mut ChaCha8Rng) -> (Frequency, String) {
    match rng.random_range(0..5) {
        0 => (Frequency::None, "none".into()),
        1 => {
            let (s, a) = (rng.random_range(0.6..1.6), rng.random_range(0.3..1.2));
            (Frequency::Sharpen(s, a), format!("sharpen {s:.2}/{a:.2}"))
        }
        _ => {
            let f = rng.random_range(0.3..0.85);
            let filter = FILTERS[rng.random_range(0..FILTERS.len())];
            (
                Frequency::Resample(f, filter),
                format!("resample {f:.2} {}", filter_name(filter)),
            )
        }
    }
}

fn colour(rng: &mut ChaCha8Rng) -> ColourShift {
    let mut c = ColourShift::IDENTITY;
    for k in 0..3 {
        c.gain[k] = rng.random_range(0.9..1.1);
        c.offset[k] = rng.random_range(-12.0..12.0);
    }
    c.contrast = rng.random_range(0.9..1.1);
    c
}

/// A self-blended forgery of `face` in a packed-RGB24 image (`width`×`height`), with mask,
/// colour, detail and position drawn for `seed` from the same distributions as `synth`'s
/// self-blended clips: the forged image (packed RGB24 of the same size) and its ground-truth
/// mask (a byte per pixel). `train` uses it to make a fresh forgery of each real training
/// face every epoch (the Self-Blended Images recipe).
pub fn random_self_blend(
    rgb: &[u8],
    width: usize,
    height: usize,
    face: &Face,
    seed: u64,
) -> (Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed);
    let mp = mask_params(&mut rng, false);
    let (frequency, _) = frequency(&mut rng);
    let p = SelfBlend {
        colour: colour(&mut rng),
        frequency,
        shift: (rng.random_range(-0.04..0.04), rng.random_range(-0.04..0.04)),
        scale: rng.random_range(0.95..1.05),
    };
    let frame = Rgb::from_bytes(rgb, width, height);
    let mask = soft_mask(face, &mp, width, height);
    (
        forge::self_blend(&frame, face, &p, &mask, Blending::Alpha).to_bytes(),
        mask.to_plane(width, height),
    )
}

/// A fresh real/forged training pair from a packed-RGB24 image of `face` (`width`×`height`),
/// drawn for `seed`: the image degraded as a whole half the time (another camera,
/// [`Degradation`]), a self-blended forgery of that ([`random_self_blend`]), then both through
/// the same JPEG round trip at quality 30–95 four times in five, so that the two differ only
/// by the blend. Returns the real image, the forgery and the forgery's mask.
pub fn random_pair(
    rgb: &[u8],
    width: usize,
    height: usize,
    face: &Face,
    seed: u64,
) -> (Vec<u8>, Vec<u8>, Vec<u8>) {
    let mut rng = ChaCha8Rng::seed_from_u64(seed ^ 0x5EED_FACE);
    let camera = Degradation::draw(&mut rng, 0.5);
    let quality = rng.random_bool(0.8).then(|| rng.random_range(30u8..=95));
    let real = camera.apply(rgb, width, height, 0).into_owned();
    let (forged, mask) = random_self_blend(&real, width, height, face, seed);
    let compress = |img: Vec<u8>| match quality {
        Some(q) => degrade::jpeg_roundtrip(&img, width, height, q),
        None => img,
    };
    (compress(real), compress(forged), mask)
}

fn write_clip(
    out: &Path,
    clip: &str,
    src: &Source,
    crf: u32,
    preset: &str,
    frames: impl Iterator<Item = Vec<u8>>,
) -> Result<(PathBuf, usize), SynthError> {
    let path = out.join("clips").join(format!("{clip}.mp4"));
    let part = out.join("clips").join(format!(".{clip}.mp4.part.mp4"));
    let media = |e| SynthError::Media(path.clone(), e);
    let mut writer = VideoWriter::create(
        &part,
        src.width,
        src.height,
        &EncodeSettings {
            crf,
            preset: preset.into(),
            fps: src.fps,
        },
    )
    .map_err(media)?;
    let mut n = 0;
    for f in frames {
        writer.push_rgb(&f).map_err(media)?;
        n += 1;
    }
    writer.finish().map_err(media)?;
    std::fs::rename(&part, &path).map_err(|e| SynthError::Io(path.clone(), e))?;
    Ok((path, n))
}

fn write_mask(
    dir: &Path,
    index: usize,
    plane: Vec<u8>,
    w: usize,
    h: usize,
) -> Result<(), SynthError> {
    let path = dir.join(format!("{index:06}.png"));
    image::GrayImage::from_raw(w as u32, h as u32, plane)
        .expect("plane matches its size")
        .save(&path)
        .map_err(|e| SynthError::Io(path.clone(), std::io::Error::other(e)))
}

/// Makes the forgeries of `inputs` into `out` (faces found by CenterFace on the CPU with the
/// scan's default settings); returns the label rows (also in `labels.csv`). Inputs whose
/// decoding or detection fails are reported and skipped.
pub fn synthesize(
    inputs: &[PathBuf],
    out: &Path,
    options: &SynthOptions,
) -> Result<Vec<LabelRow>, SynthError> {
    let detector = &Detector::cpu(DetectorConfig::default());
    std::fs::create_dir_all(out.join("clips")).map_err(|e| SynthError::Io(out.into(), e))?;
    std::fs::create_dir_all(out.join("masks")).map_err(|e| SynthError::Io(out.into(), e))?;
    if options.crfs.is_empty() {
        return Err(SynthError::Input("no CRF values given".into()));
    }
    let mut sources = Vec::new();
    let mut failed = Vec::new();
    for path in inputs {
        match load(path, options, detector) {
            Ok(loaded) => {
                for s in loaded {
                    tracing::info!(source = %s.name, frames = s.frames.len(), "real clip loaded");
                    sources.push(s);
                }
            }
            Err(e) => {
                tracing::error!(error = %e, "skipping this input");
                failed.push(e.to_string());
            }
        }
    }
    let mut seen = std::collections::HashSet::new();
    for s in &mut sources {
        let base = s.name.clone();
        let mut k = 2;
        while !seen.insert(s.name.clone()) {
            s.name = format!("{base}-{k}");
            k += 1;
        }
    }
    if sources.is_empty() {
        return Err(SynthError::Input(format!(
            "no usable real clip ({})",
            failed.join("; ")
        )));
    }
    let mut rows = Vec::new();
    for (si, src) in sources.iter().enumerate() {
        // Real clips: once at each CRF.
        for &crf in &options.crfs {
            let clip = format!("{}__real__crf{crf}", src.name);
            let degradation = degradation_for(options, &clip);
            let (path, n) = write_clip(
                out,
                &clip,
                src,
                crf,
                &options.preset,
                src.frames
                    .iter()
                    .enumerate()
                    .map(|(i, f)| degradation.apply(f, src.width, src.height, i).into_owned()),
            )?;
            rows.push(LabelRow {
                clip: format!("clips/{clip}.mp4"),
                sha256: sha256_file(&path)?,
                label: 0,
                method: "real".into(),
                source: src.name.clone(),
                donor: String::new(),
                crf,
                mask: String::new(),
                mask_blur: 0.0,
                blend_ratio: 0.0,
                detail: "none".into(),
                frames: n,
                forged_frames: 0,
                degradation: degradation.describe(),
            });
        }
        // Donors for swaps: the other clips in a seeded order.
        let mut rng = rng_for(options.seed, &format!("{}__donors", src.name));
        let mut donors: Vec<usize> = (0..sources.len()).filter(|&d| d != si).collect();
        for i in (1..donors.len()).rev() {
            donors.swap(i, rng.random_range(0..=i));
        }
        let mut jobs: Vec<(String, Option<usize>)> = (0..options.self_blends)
            .map(|k| (format!("{}__sbi{k}", src.name), None))
            .collect();
        for d in donors.into_iter().take(options.swaps) {
            jobs.push((format!("{}__swap-{}", src.name, sources[d].name), Some(d)));
        }
        for (stem_name, donor) in jobs {
            let mut rng = rng_for(options.seed, &stem_name);
            let crf = options.crfs[rng.random_range(0..options.crfs.len())];
            let clip = format!("{stem_name}__crf{crf}");
            let degradation = degradation_for(options, &clip);
            let mp = mask_params(&mut rng, donor.is_some());
            let (freq, detail) = frequency(&mut rng);
            let mask_dir = out.join("masks").join(&clip);
            std::fs::create_dir_all(&mask_dir).map_err(|e| SynthError::Io(mask_dir.clone(), e))?;
            let sbi = SelfBlend {
                colour: colour(&mut rng),
                frequency: freq,
                shift: (rng.random_range(-0.04..0.04), rng.random_range(-0.04..0.04)),
                scale: rng.random_range(0.95..1.05),
            };
            let gen_size = [64.0, 96.0, 128.0, 192.0, 256.0][rng.random_range(0..5)];
            let gen_filter = FILTERS[rng.random_range(1..FILTERS.len())];
            let gen_name = filter_name(gen_filter);
            let sw = Swap {
                generator_size: gen_size,
                filter: gen_filter,
                colour_match: [0.0, 0.5, 1.0, 1.0][rng.random_range(0..4)],
                frequency: freq,
            };
            let mut forged = 0;
            let mut greyed = 0;
            let mut mask_error = None;
            let frames = src.frames.iter().enumerate().map(|(i, bytes)| {
                let bytes = degradation.apply(bytes, src.width, src.height, i);
                let Some(face) = src.faces[i] else {
                    if let Err(e) = write_mask(
                        &mask_dir,
                        i,
                        vec![0; src.width * src.height],
                        src.width,
                        src.height,
                    ) {
                        mask_error.get_or_insert(e);
                    }
                    return bytes.into_owned();
                };
                let frame = Rgb::from_bytes(&bytes, src.width, src.height);
                let m = soft_mask(&face, &mp, src.width, src.height);
                let m = match options.blending {
                    Blending::Alpha => m,
                    Blending::Poisson | Blending::Multiband => m.core(),
                };
                let result = match donor {
                    None => forge::self_blend(&frame, &face, &sbi, &m, options.blending),
                    Some(d) => {
                        let ds = &sources[d];
                        // The donor's frames in step with the target's, wrapping round.
                        let j = (0..ds.frames.len())
                            .map(|k| (i + k) % ds.frames.len())
                            .find(|&j| ds.faces[j].is_some())
                            .unwrap_or(0);
                        match ds.faces[j] {
                            Some(df) => {
                                let dframe = Rgb::from_bytes(&ds.frames[j], ds.width, ds.height);
                                forge::swap(&frame, &face, &dframe, &df, &sw, &m, options.blending)
                            }
                            None => frame.clone(),
                        }
                    }
                };
                let result = if options.keep_grey && frame.is_grey() {
                    greyed += 1;
                    frame.with_luma_of(&result)
                } else {
                    result
                };
                forged += 1;
                if let Err(e) = write_mask(
                    &mask_dir,
                    i,
                    m.to_plane(src.width, src.height),
                    src.width,
                    src.height,
                ) {
                    mask_error.get_or_insert(e);
                }
                result.to_bytes()
            });
            let (path, n) = write_clip(out, &clip, src, crf, &options.preset, frames)?;
            if let Some(e) = mask_error {
                return Err(e);
            }
            let (method, donor_name, detail) = match donor {
                None => ("self_blend", String::new(), detail),
                Some(d) => (
                    "swap",
                    sources[d].name.clone(),
                    format!(
                        "generator {gen_size:.0}px {gen_name}; colour match {:.1}; {detail}",
                        sw.colour_match
                    ),
                ),
            };
            tracing::info!(clip = %clip, method, "forgery written");
            rows.push(LabelRow {
                clip: format!("clips/{clip}.mp4"),
                sha256: sha256_file(&path)?,
                label: 1,
                method: method.into(),
                source: src.name.clone(),
                donor: donor_name,
                crf,
                mask: mp.shape.name().into(),
                // A Poisson or multi-band blend's mask is the core of the blurred one, with a
                // hard edge.
                mask_blur: match options.blending {
                    Blending::Alpha => mp.blur,
                    Blending::Poisson | Blending::Multiband => 0.0,
                },
                blend_ratio: mp.ratio,
                detail: format!(
                    "{}{detail}{}",
                    match options.blending {
                        Blending::Alpha => "",
                        Blending::Poisson => "poisson; ",
                        Blending::Multiband => "multiband; ",
                    },
                    if greyed > 0 { "; kept grey" } else { "" }
                )
                .replace(',', ";"),
                frames: n,
                forged_frames: forged,
                degradation: degradation.describe(),
            });
        }
    }
    let mut csv = String::from(LABELS_HEADER);
    csv.push('\n');
    for r in &rows {
        csv.push_str(&r.csv());
        csv.push('\n');
    }
    let labels = out.join("labels.csv");
    std::fs::write(&labels, csv).map_err(|e| SynthError::Io(labels.clone(), e))?;
    let manifest = serde_json::json!({
        "tool": format!("seamscan {}", env!("CARGO_PKG_VERSION")),
        "options": options,
        "inputs": sources.iter().map(|s| serde_json::json!({
            "path": s.path.to_string_lossy(),
            "name": s.name,
            "sha256": s.sha256,
            "frames": s.frames.len(),
            "frames_with_face": s.faces.iter().filter(|f| f.is_some()).count(),
        })).collect::<Vec<_>>(),
        "skipped": failed,
        "clips": rows.len(),
        // Which clips another host writes byte for byte depends on these (docs/model.md).
        "encoder": {
            "ffmpeg": seamscan_decode::ffmpeg_version(),
            "x264_cpu_capabilities": seamscan_decode::x264_cpu_capabilities(),
        },
    });
    let mpath = out.join("synth.json");
    std::fs::write(
        &mpath,
        serde_json::to_string_pretty(&manifest).unwrap_or_default(),
    )
    .map_err(|e| SynthError::Io(mpath.clone(), e))?;
    Ok(rows)
}
