//! `train` and `eval`: face rows of scanned datasets joined with a labels CSV (by the clip's
//! SHA-256), the classifier trained on them, and detection metrics of a scored dataset.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_faces::{CropSpec, Face, align};
use seamscan_model::metrics::{
    Bootstrap, Confusion, auc, average_precision, cluster_bootstrap_auc, eer,
    paired_cluster_bootstrap_auc_gain, paired_cluster_bootstrap_tpr_gain, roc, tpr_at_fpr,
    within_cluster_auc,
};
use seamscan_model::train::{FreshPair, TrainConfig, Trained, TrainingRow};
use seamscan_model::{Classifier, MaskTarget, PixelInput, Stack, aggregate, crop_input, features};
use seamscan_sink::{Cell, SimpleColumn, Table, read_table, write_simple_table};

use crate::config::FacesConfig;
use crate::faces::model_input;

/// Why `train` or `eval` failed.
#[derive(Debug, thiserror::Error)]
pub enum LearnError {
    /// A file could not be read or written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
    /// The labels file is not usable.
    #[error("labels {0}: {1}")]
    Labels(PathBuf, String),
    /// The dataset could not be read.
    #[error("dataset {0}: {1}")]
    Dataset(PathBuf, String),
    /// Nothing to train or evaluate on.
    #[error("{0}")]
    Empty(String),
    /// The model failed.
    #[error(transparent)]
    Model(#[from] seamscan_model::ModelError),
    /// The options contradict each other.
    #[error("{0}")]
    Options(String),
}

/// The label of one clip.
#[derive(Debug, Clone, PartialEq)]
pub struct Label {
    /// True for a manipulated clip.
    pub manipulated: bool,
    /// The real clip it derives from (train/validation unit); the clip itself if not given.
    pub source: String,
    /// The other columns of its CSV line (e.g. `method`, `crf`), for breakdowns.
    pub extra: BTreeMap<String, String>,
    /// The folder of its ground-truth masks (`masks/<clip>/<frame>.png` beside the labels CSV,
    /// as `seamscan synth` writes them), when the clip is manipulated and the folder exists:
    /// then only the faces a mask covers are manipulated face rows.
    pub masks: Option<PathBuf>,
}

impl Label {
    /// Whether the face with box `[x, y, w, h]` in frame `frame` of this clip is a
    /// manipulated one: the clip's label, narrowed by its masks when it has them (a face is
    /// manipulated when the mask's mean over its box is at least [`MASK_COVERAGE`]; a frame
    /// without a mask file was not forged). Other faces of a forged clip, such as the
    /// neighbours in a group photo's still clip, stay real.
    pub fn face_manipulated(&self, frame: i64, face_box: Option<[f64; 4]>) -> bool {
        let (Some(dir), Some([x, y, w, h])) = (&self.masks, face_box) else {
            return self.manipulated;
        };
        if !self.manipulated {
            return false;
        }
        let path = dir.join(format!("{:06}.png", frame.max(0)));
        let Ok(mask) = image::open(&path).map(|m| m.into_luma8()) else {
            return false;
        };
        let (mw, mh) = (f64::from(mask.width()), f64::from(mask.height()));
        let x0 = x.clamp(0.0, mw) as u32;
        let y0 = y.clamp(0.0, mh) as u32;
        let x1 = (x + w).clamp(0.0, mw) as u32;
        let y1 = (y + h).clamp(0.0, mh) as u32;
        let (mut sum, mut n) = (0u64, 0u64);
        for y in y0..y1 {
            for x in x0..x1 {
                sum += u64::from(mask.get_pixel(x, y).0[0]);
                n += 1;
            }
        }
        n > 0 && sum as f64 / (255.0 * n as f64) >= MASK_COVERAGE
    }
}

/// The least mean ground-truth mask over a face's box that makes it a manipulated face.
/// Measured on `synth` clips: forged faces have at least 0.05 (a weak blend, ratio 0.25, in
/// a small mask), their untouched neighbours at most 0.0006.
pub const MASK_COVERAGE: f64 = 0.02;

/// The face box `[x, y, w, h]` of a frames row read as `box_x`, `box_y`, `box_w`, `box_h`
/// from column `at` on; none on a row without a face.
fn face_box(row: &[Cell], at: usize) -> Option<[f64; 4]> {
    Some([
        row[at].number()?,
        row[at + 1].number()?,
        row[at + 2].number()?,
        row[at + 3].number()?,
    ])
}

/// Labels by SHA-256 of the clip.
pub type Labels = HashMap<String, Label>;

fn split_csv(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut quoted = false;
    let mut chars = line.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' if quoted && chars.peek() == Some(&'"') => {
                cur.push('"');
                chars.next();
            }
            '"' => quoted = !quoted,
            ',' if !quoted => out.push(std::mem::take(&mut cur)),
            _ => cur.push(c),
        }
    }
    out.push(cur);
    out.into_iter().map(|s| s.trim().to_string()).collect()
}

/// Reads a labels CSV: a header naming `sha256` and `label` (`1`/`0`, `fake`/`real`,
/// `manipulated`/`authentic`), optionally `source`, `clip` or `path`, and any other columns.
pub fn read_labels(path: &Path) -> Result<Labels, LearnError> {
    let text = std::fs::read_to_string(path).map_err(|e| LearnError::Io(path.into(), e))?;
    let bad = |m: String| LearnError::Labels(path.into(), m);
    let mut lines = text
        .lines()
        .filter(|l| !l.trim().is_empty() && !l.starts_with('#'));
    let header = split_csv(lines.next().ok_or_else(|| bad("empty file".into()))?);
    let col = |n: &str| header.iter().position(|h| h == n);
    let sha = col("sha256").ok_or_else(|| bad("no `sha256` column".into()))?;
    let label = col("label").ok_or_else(|| bad("no `label` column".into()))?;
    let source = col("source");
    let name = col("clip").or_else(|| col("path"));
    let mut out = Labels::new();
    for (n, line) in lines.enumerate() {
        let f = split_csv(line);
        if f.len() != header.len() {
            return Err(bad(format!(
                "line {}: {} fields, the header has {}",
                n + 2,
                f.len(),
                header.len()
            )));
        }
        let manipulated = match f[label].to_ascii_lowercase().as_str() {
            "1" | "fake" | "manipulated" | "true" => true,
            "0" | "real" | "authentic" | "false" => false,
            other => return Err(bad(format!("line {}: label {other:?}", n + 2))),
        };
        let digest = f[sha].to_ascii_lowercase();
        if digest.len() != 64 || !digest.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(bad(format!("line {}: sha256 {:?}", n + 2, f[sha])));
        }
        let src = source
            .map(|i| f[i].clone())
            .filter(|s| !s.is_empty())
            .or_else(|| name.map(|i| f[i].clone()))
            .unwrap_or_else(|| digest.clone());
        let extra = header
            .iter()
            .zip(&f)
            .filter(|(h, _)| !["sha256", "label"].contains(&h.as_str()))
            .map(|(h, v)| (h.clone(), v.clone()))
            .collect();
        let masks = col("clip")
            .filter(|_| manipulated)
            .and_then(|i| Path::new(&f[i]).file_stem())
            .map(|stem| {
                path.parent()
                    .unwrap_or(Path::new("."))
                    .join("masks")
                    .join(stem)
            })
            .filter(|dir| dir.is_dir());
        out.insert(
            digest,
            Label {
                manipulated,
                source: src,
                extra,
                masks,
            },
        );
    }
    if out.is_empty() {
        return Err(bad("no labelled clips".into()));
    }
    Ok(out)
}

/// The labelled face rows of the datasets `outs`, in the model's feature order; with
/// `pixels.size` > 0 each row also carries its face's model crop, cut again from the clip
/// (see [`attach_crops`]).
pub fn training_rows(
    outs: &[PathBuf],
    labels: &Labels,
    pixels: PixelInput,
) -> Result<Vec<TrainingRow>, LearnError> {
    Ok(keyed_rows(outs, labels, pixels)?.0)
}

/// Where a scored face row is in `frames` (null for a video): what joins an `eval` score to
/// its row.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct RowKey {
    frame_index: Option<u64>,
    face_index: Option<u64>,
    track_id: Option<u64>,
}

/// [`training_rows`] with each row's [`RowKey`] and `appearance_logit`.
#[allow(clippy::type_complexity)]
fn keyed_rows(
    outs: &[PathBuf],
    labels: &Labels,
    pixels: PixelInput,
) -> Result<(Vec<TrainingRow>, Vec<RowKey>, Vec<Option<f64>>), LearnError> {
    let (mut rows, places) = face_rows(outs, labels)?;
    if pixels.size > 0 {
        attach_crops(&mut rows, &places, pixels, None, None)?;
    }
    let keys = places
        .iter()
        .map(|p| RowKey {
            frame_index: u64::try_from(p.frame).ok(),
            face_index: p.face_index,
            track_id: p.track_id,
        })
        .collect();
    let appearance = places.iter().map(|p| p.appearance_logit).collect();
    Ok((rows, keys, appearance))
}

/// The labelled face rows of `outs` (without crops) and where each face is.
fn face_rows(
    outs: &[PathBuf],
    labels: &Labels,
) -> Result<(Vec<TrainingRow>, Vec<FacePlace>), LearnError> {
    // Columns to read: where the face is, then each feature's column (`radial_noise[3]`
    // reads `radial_noise`), once.
    let mut cols: Vec<&str> = vec![
        "sha256",
        "path",
        "frame_index",
        "box_x",
        "box_y",
        "box_w",
        "box_h",
        "landmarks",
        "det_score",
        "face_index",
        "track_id",
        "appearance_logit",
    ];
    let mut index = Vec::new();
    for f in features() {
        let (base, k) = match f.split_once('[') {
            Some((b, rest)) => (b, rest.trim_end_matches(']').parse::<usize>().ok()),
            None => (f.as_str(), None),
        };
        let at = cols.iter().position(|c| *c == base).unwrap_or_else(|| {
            cols.push(base);
            cols.len() - 1
        });
        index.push((at, k));
    }
    let mut rows = Vec::new();
    let mut places = Vec::new();
    for out in outs {
        let start = rows.len();
        let table = read_table(out, Table::Frames, &cols)
            .map_err(|e| LearnError::Dataset(out.clone(), e.to_string()))?;
        for r in table {
            let Some(sha) = r[0].text() else { continue };
            let Some(label) = labels.get(sha) else {
                continue;
            };
            // Rows without a face have a null detector score.
            let Some(det) = r[8].number() else { continue };
            let values = index
                .iter()
                .map(|(at, k)| match (&r[*at], k) {
                    (Cell::Numbers(v), Some(k)) => v.get(*k).copied(),
                    (c, None) => c.number(),
                    _ => None,
                })
                .collect();
            let landmarks: Vec<f32> = match &r[7] {
                Cell::Numbers(v) => v.iter().map(|x| *x as f32).collect(),
                _ => Vec::new(),
            };
            let face_box = face_box(&r, 3);
            let face = match face_box {
                Some([x, y, w, h]) if landmarks.len() == 10 => {
                    let mut lm = [0f32; 10];
                    lm.copy_from_slice(&landmarks);
                    Some(Face {
                        x: x as f32,
                        y: y as f32,
                        w: w as f32,
                        h: h as f32,
                        score: det as f32,
                        landmarks: lm,
                    })
                }
                _ => None,
            };
            let frame = r[2].number().unwrap_or(-1.0) as i64;
            let manipulated = label.face_manipulated(frame, face_box);
            let truth = match (&label.masks, label.manipulated) {
                (_, false) => Truth::Untouched,
                (Some(dir), true) => Truth::Mask(dir.join(format!("{:06}.png", frame.max(0)))),
                (None, true) => Truth::Unknown,
            };
            places.push(FacePlace {
                path: r[1].text().unwrap_or_default().to_string(),
                sha256: sha.to_string(),
                frame,
                face_index: r[9].number().map(|v| v as u64),
                track_id: r[10].number().map(|v| v as u64),
                appearance_logit: r[11].number(),
                face,
                truth,
            });
            rows.push(TrainingRow {
                values,
                label: manipulated,
                source: label.source.clone(),
                video: sha.to_string(),
                crop: None,
                mask: None,
            });
        }
        in_canonical_order(&mut rows, &mut places, start);
    }
    Ok((rows, places))
}

/// Puts the rows from `start` on (one dataset's) in one fixed order: by clip SHA-256, frame,
/// face index and track, then path. A scan writes rows as its workers finish frames, so the
/// order of a dataset's rows depends on timing; training shuffles row indices and sums in
/// row order, and evaluation numbers sources in the order they first appear, so both read
/// the rows in this order for the same rows to give the same weights and intervals.
fn in_canonical_order(rows: &mut Vec<TrainingRow>, places: &mut Vec<FacePlace>, start: usize) {
    let mut tail: Vec<(TrainingRow, FacePlace)> =
        rows.drain(start..).zip(places.drain(start..)).collect();
    tail.sort_by(|(_, a), (_, b)| {
        (&a.sha256, a.frame, a.face_index, a.track_id, &a.path).cmp(&(
            &b.sha256,
            b.frame,
            b.face_index,
            b.track_id,
            &b.path,
        ))
    });
    for (r, p) in tail {
        rows.push(r);
        places.push(p);
    }
}

/// [`training_rows`] with crops; with `masks`, each row's ground-truth blending mask cut like
/// its crop ([`TrainingRow::mask`]); with `keep_real`, each real row's whole aligned crop with
/// the face in crop coordinates (the material of fresh self-blended forgeries).
fn training_rows_for(
    outs: &[PathBuf],
    labels: &Labels,
    pixels: PixelInput,
    masks: Option<MaskTarget>,
    keep_real: bool,
) -> Result<(Vec<TrainingRow>, Vec<Option<RealFace>>), LearnError> {
    let (mut rows, places) = face_rows(outs, labels)?;
    let mut real = vec![None; if keep_real { rows.len() } else { 0 }];
    attach_crops(
        &mut rows,
        &places,
        pixels,
        masks,
        keep_real.then_some(&mut real),
    )?;
    Ok((rows, real))
}

/// Where a face row's face is: its clip, frame and box, and where its ground truth is.
struct FacePlace {
    path: String,
    sha256: String,
    frame: i64,
    /// The row's `face_index` and `track_id` (what joins an eval score to its `frames` row).
    face_index: Option<u64>,
    track_id: Option<u64>,
    /// The row's `appearance_logit` (null in datasets older than schema version 5).
    appearance_logit: Option<f64>,
    face: Option<Face>,
    truth: Truth,
}

/// What is known of where a face row's frame was blended.
#[derive(Debug, Clone, PartialEq)]
enum Truth {
    /// A real clip: nowhere.
    Untouched,
    /// A forged clip's frame: this mask file (none written: the frame was not forged).
    Mask(PathBuf),
    /// A forged clip without masks.
    Unknown,
}

/// Cuts each row's model crop again from its clip, exactly as `scan` does (the decoded frame,
/// the aligned crop of the default `[faces]` settings from the row's box and landmarks, then
/// [`crate::faces::model_input`]); with `masks`, also the ground-truth mask cut the same way
/// ([`seamscan_model::mask_target`]). A clip whose SHA-256 no longer matches the row's is an
/// error, as is a frame or face that cannot be found again.
fn attach_crops(
    rows: &mut [TrainingRow],
    places: &[FacePlace],
    pixels: PixelInput,
    masks: Option<MaskTarget>,
    mut real: Option<&mut Vec<Option<RealFace>>>,
) -> Result<(), LearnError> {
    use rayon::prelude::*;
    let keep: Vec<bool> = rows.iter().map(|r| real.is_some() && !r.label).collect();
    let mut by_clip: BTreeMap<(&str, &str), BTreeMap<i64, Vec<usize>>> = BTreeMap::new();
    for (i, p) in places.iter().enumerate() {
        by_clip
            .entry((p.path.as_str(), p.sha256.as_str()))
            .or_default()
            .entry(p.frame)
            .or_default()
            .push(i);
    }
    let spec = CropSpec {
        size: FacesConfig::default().crop_size,
        ..CropSpec::default()
    };
    let size = pixels.size;
    let clips: Vec<_> = by_clip.into_iter().collect();
    let keep = &keep;
    type Cut = (usize, Vec<u8>, Option<Vec<u8>>, Option<RealFace>);
    let cut: Vec<Vec<Cut>> = clips
        .par_iter()
        .map(|((path, sha), frames)| {
            let p = Path::new(path);
            let bad = |m: String| LearnError::Dataset(p.into(), m);
            let (digest, _) =
                crate::hash::sha256_file(p).map_err(|e| LearnError::Io(p.into(), e))?;
            if digest != *sha {
                return Err(bad(format!(
                    "SHA-256 is {digest}, the dataset's rows say {sha}: the clip changed"
                )));
            }
            let mut reader = VideoReader::open(
                p,
                DecodeOptions {
                    sampling: Sampling {
                        every: 1,
                        fps: None,
                        max_frames: None,
                    },
                    rgb: true,
                    threads: 1,
                },
            )
            .map_err(|e| bad(e.to_string()))?;
            let last = frames.keys().next_back().copied().unwrap_or(-1);
            let mut out = Vec::new();
            while let Some(frame) = reader.next_frame().map_err(|e| bad(e.to_string()))? {
                let at = frame.index as i64;
                if let (Some(idx), Some(rgb)) = (frames.get(&at), frame.rgb.as_deref()) {
                    for &i in idx {
                        let face = places[i]
                            .face
                            .ok_or_else(|| bad(format!("frame {at}: a face row without box")))?;
                        let (w, h) = (frame.width, frame.height);
                        let crop = align(&face, &frame.luma, rgb, w, h, spec);
                        let small = model_input(&face, &frame.luma, rgb, w, h, &crop, pixels);
                        let mask = masks.and_then(|kind| {
                            truth_in_crop(&places[i].truth, &face, &frame, spec, size, kind)
                        });
                        let whole = keep[i].then(|| RealFace {
                            face: face_in_crop(&face, &crop, spec),
                            rgb: crop.rgb,
                            size: crop.size,
                        });
                        out.push((i, small, mask, whole));
                    }
                }
                if at >= last {
                    break;
                }
            }
            let wanted: usize = frames.values().map(Vec::len).sum();
            if out.len() != wanted {
                return Err(bad(format!(
                    "{} of {wanted} face rows found again when decoding",
                    out.len()
                )));
            }
            Ok(out)
        })
        .collect::<Result<_, _>>()?;
    for (i, crop, mask, whole) in cut.into_iter().flatten() {
        rows[i].crop = Some(crop);
        rows[i].mask = mask;
        if let (Some(r), Some(w)) = (real.as_deref_mut(), whole) {
            r[i] = Some(w);
        }
    }
    Ok(())
}

/// The ground-truth blending mask of a face row, cut like its model crop of side `size` and
/// reduced to the mask head's side: zero for a real clip or a forged clip's frame without a
/// mask file (not forged), `None` where unknown or unreadable.
fn truth_in_crop(
    truth: &Truth,
    face: &Face,
    frame: &seamscan_decode::Frame,
    spec: CropSpec,
    size: usize,
    kind: MaskTarget,
) -> Option<Vec<u8>> {
    let side = seamscan_model::mask_side(size);
    let path = match truth {
        Truth::Untouched => return Some(vec![0; side * side]),
        Truth::Unknown => return None,
        Truth::Mask(p) => p,
    };
    if !path.exists() {
        return Some(vec![0; side * side]);
    }
    let plane = image::open(path).ok()?.into_luma8();
    let (w, h) = (plane.width() as usize, plane.height() as usize);
    if (w, h) != (frame.width, frame.height) {
        return None;
    }
    let plane = plane.into_raw();
    let rgb: Vec<u8> = plane.iter().flat_map(|&v| [v, v, v]).collect();
    let crop = align(face, &plane, &rgb, w, h, spec);
    Some(seamscan_model::mask_target(
        &crop.luma, crop.size, side, kind,
    ))
}

/// A real face's whole aligned crop, from which fresh forgeries are made.
#[derive(Clone)]
struct RealFace {
    /// The face in crop pixels.
    face: Face,
    /// The aligned crop, packed RGB24.
    rgb: Vec<u8>,
    /// Its side.
    size: usize,
}

/// A fresh training pair from a real face's whole aligned crop, drawn for `seed`
/// ([`seamscan_synth::random_pair`]), as crop inputs of side `size` with the forgery's mask
/// target.
fn fresh_pair(r: &RealFace, seed: u64, size: usize, kind: MaskTarget) -> FreshPair {
    let n = r.size;
    let (real, forged, mask) = seamscan_synth::random_pair(&r.rgb, n, n, &r.face, seed);
    FreshPair {
        real: crop_input(&real, n, size),
        forged: crop_input(&forged, n, size),
        mask: Some(seamscan_model::mask_target(
            &mask,
            n,
            seamscan_model::mask_side(size),
            kind,
        )),
    }
}

/// `face` (frame pixels) in the coordinates of its aligned `crop`.
fn face_in_crop(face: &Face, crop: &seamscan_faces::AlignedCrop, spec: CropSpec) -> Face {
    let side = spec.enlarge * face.w.max(face.h).max(1.0);
    let scale = crop.size as f32 / side;
    let (cx, cy) = face.centre();
    let (sin, cos) = crop.angle.sin_cos();
    let half = crop.size as f32 / 2.0;
    let map = |x: f32, y: f32| {
        let (dx, dy) = (x - cx, y - cy);
        (
            half + (dx * cos + dy * sin) * scale,
            half + (-dx * sin + dy * cos) * scale,
        )
    };
    let mut landmarks = [0f32; 10];
    for k in 0..5 {
        let (u, v) = map(face.landmarks[2 * k], face.landmarks[2 * k + 1]);
        landmarks[2 * k] = u;
        landmarks[2 * k + 1] = v;
    }
    let (w, h) = (face.w * scale, face.h * scale);
    Face {
        x: half - w / 2.0,
        y: half - h / 2.0,
        w,
        h,
        score: face.score,
        landmarks,
    }
}

fn today() -> String {
    let days = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs() / 86_400) as i64;
    crate::system::civil_date(days)
}

/// Trains on the labelled face rows of `outs` and writes `classifier.json`,
/// `classifier.safetensors` and `classifier.md` into `model_dir`.
pub fn train(
    outs: &[PathBuf],
    labels: &Labels,
    config: &TrainConfig,
    model_dir: &Path,
    data_note: &str,
) -> Result<Trained, LearnError> {
    let pixels = PixelInput {
        size: config.crop_size,
        context: config.context,
    };
    let (rows, real) = if config.crop_size > 0 {
        training_rows_for(
            outs,
            labels,
            pixels,
            (config.mask_weight > 0.0).then_some(config.mask_target),
            config.fresh_self_blends,
        )?
    } else {
        (
            training_rows(outs, labels, PixelInput::default())?,
            Vec::new(),
        )
    };
    if rows.is_empty() {
        return Err(LearnError::Empty(
            "no face row of the datasets has a label (labels join on sha256)".into(),
        ));
    }
    tracing::info!(rows = rows.len(), "training rows read");
    let size = config.crop_size;
    let forge = |wanted: &[(usize, u64)]| -> Vec<Option<FreshPair>> {
        use rayon::prelude::*;
        wanted
            .par_iter()
            .map(|&(i, seed)| {
                let r = real.get(i)?.as_ref()?;
                Some(fresh_pair(r, seed, size, config.mask_target))
            })
            .collect()
    };
    let fresh: Option<&seamscan_model::train::Forge<'_>> =
        config.fresh_self_blends.then_some(&forge);
    let mut trained = seamscan_model::train::train_with(
        &rows,
        config,
        &mut |e| {
            tracing::info!(
                member = e.fold,
                epoch = e.epoch,
                train_loss = format!("{:.4}", e.train_loss),
                validation_loss = format!("{:.4}", e.validation_loss),
                seconds = format!("{:.1}", e.seconds),
                "epoch"
            );
        },
        fresh,
    )?;
    if let serde_json::Value::Object(m) = &mut trained.card.training {
        m.insert("date".into(), today().into());
        m.insert(
            "tool".into(),
            format!("seamscan {}", env!("CARGO_PKG_VERSION")).into(),
        );
        m.insert("data".into(), data_note.into());
        m.insert("face_rows".into(), rows.len().into());
    }
    std::fs::create_dir_all(model_dir).map_err(|e| LearnError::Io(model_dir.into(), e))?;
    let write = |name: &str, bytes: &[u8]| {
        let p = model_dir.join(name);
        std::fs::write(&p, bytes).map_err(|e| LearnError::Io(p, e))
    };
    write("classifier.safetensors", &trained.weights)?;
    let json = serde_json::to_string_pretty(&trained.card).unwrap_or_default() + "\n";
    write("classifier.json", json.as_bytes())?;
    write("classifier.md", model_card_markdown(&trained).as_bytes())?;
    Ok(trained)
}

fn model_card_markdown(t: &Trained) -> String {
    let c = &t.card;
    let tr = &c.training;
    let g = |path: &[&str]| {
        let mut v = tr;
        for p in path {
            v = &v[*p];
        }
        match v {
            serde_json::Value::Number(n) => n.as_f64().map_or("—".into(), |x| {
                if x.fract() == 0.0 {
                    format!("{x}")
                } else {
                    format!("{x:.4}")
                }
            }),
            serde_json::Value::Null => "—".into(),
            other => other.to_string(),
        }
    };
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Model card: {} (generated by `seamscan train`)\n",
        c.name
    );
    let _ = writeln!(
        s,
        "- Weights: `classifier.safetensors`, SHA-256 `{}`",
        c.weights_sha256
    );
    let _ = writeln!(
        s,
        "- Description: `classifier.json` (features, normalisation, thresholds, full training record)"
    );
    let _ = writeln!(
        s,
        "- Trained: {} with {}",
        g(&["date"]).trim_matches('"'),
        g(&["tool"]).trim_matches('"')
    );
    let trunk = if c.crop_size > 0 {
        format!(
            "convolutional trunk over the {0}×{0} crop input (luma, residual-energy and chroma maps of the aligned face crop; 3×3 convolutions of widths {1:?} with batch norm and ReLU, the first at stride 1 and the others at stride 2, mean- and max-pooled) joined with ",
            c.crop_size, c.conv
        )
    } else {
        String::new()
    };
    let _ = writeln!(
        s,
        "- Architecture: {trunk}{} features → MLP {:?} (ReLU) → 1 logit, sigmoid; burn 0.22 (flex backend)",
        c.features.len(),
        c.hidden
    );
    let _ = writeln!(s, "- Data: {}", g(&["data"]).trim_matches('"'));
    let _ = writeln!(
        s,
        "- Face rows: {}; training sources {}; validation sources {}",
        g(&["face_rows"]),
        tr["train_sources"],
        tr["validation_sources"]
    );
    let _ = writeln!(s, "- Hyper-parameters: `{}`", tr["config"]);
    match tr["folds"].as_array() {
        Some(folds) => {
            let _ = writeln!(
                s,
                "- Ensemble of {} members (`--folds`), score = sigmoid of their mean logit; member k \
                 validated on fold k's sources and trained on the others:",
                c.members
            );
            for (k, f) in folds.iter().enumerate() {
                let _ = writeln!(
                    s,
                    "  - member {}: epochs run {}, best epoch {} (validation loss {:.4}), validated on {}",
                    k + 1,
                    f["epochs_run"],
                    f["best_epoch"],
                    f["best_validation_loss"].as_f64().unwrap_or(f64::NAN),
                    f["validation_sources"]
                );
            }
            let _ = writeln!(s);
        }
        None => {
            let _ = writeln!(
                s,
                "- Epochs run {}, best epoch {} (validation loss {})\n",
                g(&["epochs_run"]),
                g(&["best_epoch"]),
                g(&["best_validation_loss"])
            );
        }
    }
    let _ = writeln!(
        s,
        "## Features (in input order; a missing value takes the training mean)\n"
    );
    for (i, f) in c.features.iter().enumerate() {
        let _ = writeln!(s, "- `{f}` (mean {:.4}, std {:.4})", c.mean[i], c.std[i]);
    }
    let t = &c.thresholds;
    let _ = writeln!(s, "\n## Verdicts\n");
    let _ = writeln!(
        s,
        "Calibrated on the validation sources' real clips (false-alarm rate targets in the config){}:\n",
        if c.members > 1 {
            ", every source's clips scored by the member that did not train on them"
        } else {
            ""
        }
    );
    let _ = writeln!(s, "| level | suspicious ≥ | manipulated ≥ |\n|---|---|---|");
    let _ = writeln!(
        s,
        "| face row | {:.4} | {:.4} |",
        t.frame_suspicious, t.frame_manipulated
    );
    let _ = writeln!(
        s,
        "| video | {:.4} | {:.4} |",
        t.video_suspicious, t.video_manipulated
    );
    let _ = writeln!(
        s,
        "\nVideo score: the mean of the highest {:.0} % of the video's face scores (at least one).\n",
        100.0 * c.video_top_fraction
    );
    let _ = writeln!(
        s,
        "## Metrics\n\n| split | frame AUC | frame EER | frame AP | video AUC | video EER | video AP | frame false alarms | video false alarms |\n|---|---|---|---|---|---|---|---|---|"
    );
    for split in ["train", "validation"] {
        if tr[split].is_null() {
            continue;
        }
        let _ = writeln!(
            s,
            "| {split} | {} | {} | {} | {} | {} | {} | {} | {} |",
            g(&[split, "frame_auc"]),
            g(&[split, "frame_eer"]),
            g(&[split, "frame_ap"]),
            g(&[split, "video_auc"]),
            g(&[split, "video_eer"]),
            g(&[split, "video_ap"]),
            g(&[split, "frame_false_alarm_rate"]),
            g(&[split, "video_false_alarm_rate"]),
        );
    }
    let _ = writeln!(
        s,
        "\nHeld-out evaluation (identities and clips not trained on): `docs/model.md`."
    );
    s
}

/// Metrics of one level (frame or video) of one subset.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct LevelMetrics {
    /// `frame` or `video`.
    pub level: String,
    /// `all` or `column=value` of the labels CSV.
    pub subset: String,
    /// Items scored.
    pub n: usize,
    /// Manipulated items among them.
    pub positives: usize,
    /// ROC AUC.
    pub auc: Option<f64>,
    /// 95 % interval of the AUC from resampling whole sources (people), not faces
    /// ([`EvalOptions::bootstrap`] resamples); `None` with fewer than two sources.
    pub auc_interval: Option<(f64, f64)>,
    /// Mean AUC within each source that has both classes: the ranking with each person's
    /// offset taken out. A pooled `auc` well below it means scores shift from person to
    /// person.
    pub auc_within_source: Option<f64>,
    /// The AUC of [`EvalOptions::baseline`] on the same items; `None` without one.
    pub auc_baseline: Option<f64>,
    /// 95 % interval of the gain `auc - auc_baseline` from resampling whole sources with both
    /// models' scores together (paired); `None` without a baseline or with fewer than two
    /// sources.
    pub auc_gain_interval: Option<(f64, f64)>,
    /// Sources (labels `source`) among the items.
    pub sources: usize,
    /// Equal error rate.
    pub eer: Option<f64>,
    /// Average precision.
    pub ap: Option<f64>,
    /// Manipulated items found at the lowest threshold that calls at most [`LOW_FPR`] of the
    /// real items manipulated, a threshold read from these items themselves
    /// ([`tpr_at_fpr`]): how much a model catches where false alarms are rare, which the AUC
    /// does not say.
    pub tpr_at_low_fpr: Option<f64>,
    /// The same for [`EvalOptions::baseline`]; `None` without one.
    pub tpr_at_low_fpr_baseline: Option<f64>,
    /// 95 % interval of the gain `tpr_at_low_fpr - tpr_at_low_fpr_baseline`, paired, from
    /// resampling whole sources; `None` without a baseline or with fewer than two sources.
    pub tpr_at_low_fpr_gain_interval: Option<(f64, f64)>,
    /// Threshold of the confusion matrix (the model's `manipulated` threshold).
    pub threshold: f64,
    /// Confusion matrix at it.
    pub confusion: Confusion,
}

/// What `eval` measured.
#[derive(Debug, Clone, PartialEq, serde::Serialize)]
pub struct EvalReport {
    /// One entry per level and subset.
    pub metrics: Vec<LevelMetrics>,
    /// Labelled videos without a score (no face found, or not analysed), by status.
    pub unscored_videos: BTreeMap<String, usize>,
    /// Where the files went.
    pub written: Vec<PathBuf>,
}

/// How `eval` measures, beyond the labels and the model.
#[derive(Clone)]
pub struct EvalOptions<'a> {
    /// Also break the metrics down by these labels columns.
    pub breakdown: Vec<String>,
    /// Score the face rows again with the model instead of reading the scan's scores.
    /// Without it the scores must be the model's own (or the stack's, with `stack`): told by
    /// `runs.model_sha256`, else [`LearnError::Options`].
    pub rescore: bool,
    /// Resamples of the sources for the AUC interval (0: none).
    pub bootstrap: usize,
    /// A second model to score the same face rows with: every AUC then also gives that
    /// model's AUC and the gain over it with a paired interval. Needs `rescore` (`eval`
    /// refuses it without: [`LearnError::Options`]).
    pub baseline: Option<&'a Classifier>,
    /// Score each face row (the baseline's too) by the members of a `--folds` ensemble that
    /// never trained on its source, so that a model can be measured on its own training
    /// people. Needs `rescore`.
    pub out_of_fold: bool,
    /// The stacked score (`[model] score = "stacked"`): its thresholds define the confusion
    /// matrix, and with `rescore` each face row's classifier score is stacked with its stored
    /// `appearance_logit` ([`Stack::score`]), and videos aggregate by the stack's fraction.
    /// Without `rescore` the dataset must have been scored by the stack. Not with
    /// `out_of_fold`: the appearance network has no fold members.
    pub stack: Option<&'a Stack>,
}

impl Default for EvalOptions<'_> {
    fn default() -> Self {
        EvalOptions {
            breakdown: Vec::new(),
            rescore: false,
            bootstrap: 1000,
            baseline: None,
            out_of_fold: false,
            stack: None,
        }
    }
}

/// The false-alarm cap of [`LevelMetrics::tpr_at_low_fpr`]: issue #5's target of at most
/// 1 % of real items called manipulated.
pub const LOW_FPR: f64 = 0.01;

/// Seed of the source resampling: fixed, so `eval` prints the same interval every time.
const BOOTSTRAP_SEED: u64 = 0x5eed_5ca9;

fn level(
    name: &str,
    subset: &str,
    items: &[&Scored],
    threshold: f64,
    bootstrap: usize,
) -> LevelMetrics {
    let (scores, labels): (Vec<f64>, Vec<bool>) =
        items.iter().map(|i| (i.score, i.manipulated)).unzip();
    let (scores, labels) = (&scores[..], &labels[..]);
    let baseline: Option<Vec<f64>> = items.iter().map(|i| i.baseline).collect();
    let how = Bootstrap {
        reps: bootstrap,
        seed: BOOTSTRAP_SEED,
        level: 0.95,
    };
    let mut ids: HashMap<&str, usize> = HashMap::new();
    let clusters: Vec<usize> = items
        .iter()
        .map(|i| {
            let next = ids.len();
            *ids.entry(i.label.source.as_str()).or_insert(next)
        })
        .collect();
    LevelMetrics {
        level: name.into(),
        subset: subset.into(),
        n: scores.len(),
        positives: labels.iter().filter(|l| **l).count(),
        auc: auc(scores, labels),
        auc_interval: cluster_bootstrap_auc(scores, labels, &clusters, how),
        auc_within_source: within_cluster_auc(scores, labels, &clusters).map(|(a, _)| a),
        auc_baseline: baseline.as_ref().and_then(|b| auc(b, labels)),
        auc_gain_interval: baseline
            .as_ref()
            .and_then(|b| paired_cluster_bootstrap_auc_gain(scores, b, labels, &clusters, how)),
        sources: ids.len(),
        eer: eer(scores, labels),
        ap: average_precision(scores, labels),
        tpr_at_low_fpr: tpr_at_fpr(scores, labels, LOW_FPR),
        tpr_at_low_fpr_baseline: baseline
            .as_ref()
            .and_then(|b| tpr_at_fpr(b, labels, LOW_FPR)),
        tpr_at_low_fpr_gain_interval: baseline.as_ref().and_then(|b| {
            paired_cluster_bootstrap_tpr_gain(scores, b, labels, &clusters, LOW_FPR, how)
        }),
        threshold,
        confusion: Confusion::at(scores, labels, threshold),
    }
}

/// One scored item of `eval`: a face row or a video.
struct Scored<'a> {
    score: f64,
    /// The baseline model's score of the same item, when there is one.
    baseline: Option<f64>,
    /// The ground truth (for a face row, narrowed by the masks).
    manipulated: bool,
    label: &'a Label,
    sha256: String,
    /// The face row's place (all null for a video).
    at: RowKey,
}

/// The scores `model` gives `rows` (face rows read back by [`training_rows`] with the
/// model's pixel input): from their stored features, and for a model that reads pixels from
/// their crops.
fn rescore_rows<R: std::borrow::Borrow<TrainingRow>>(rows: &[R], model: &Classifier) -> Vec<f64> {
    let names = features();
    let pick: Vec<usize> = model
        .card()
        .features
        .iter()
        .filter_map(|f| names.iter().position(|n| n == f))
        .collect();
    let values: Vec<Vec<Option<f64>>> = rows
        .iter()
        .map(|r| pick.iter().map(|&i| r.borrow().values[i]).collect())
        .collect();
    let crops: Option<Vec<Vec<u8>>> = model.crop_size().map(|_| {
        rows.iter()
            .map(|r| r.borrow().crop.clone().unwrap_or_default())
            .collect()
    });
    model.score_many(&values, crops.as_deref())
}

/// The fold groups of `model` ([`Classifier::fold_sources`]); an error for a model trained
/// without folds, whose rows cannot be scored out of fold.
fn fold_sources_of(model: &Classifier) -> Result<Vec<BTreeSet<String>>, LearnError> {
    let groups = model.fold_sources();
    if groups.is_empty() {
        return Err(LearnError::Options(format!(
            "out-of-fold scores need a model trained with --folds ({} has none)",
            seamscan_model::short_sha256(model.weights_sha256())
        )));
    }
    Ok(groups)
}

/// [`rescore_rows`], each row scored by the members that never trained on its source: the
/// member whose fold held the source out ([`Classifier::fold_sources`]), or the whole
/// ensemble for a source in no fold (a person the model never saw). The honest scores of a
/// model on its own training people; an error for a model trained without folds.
fn out_of_fold_scores(rows: &[TrainingRow], model: &Classifier) -> Result<Vec<f64>, LearnError> {
    let groups = fold_sources_of(model)?;
    let fold_of = |r: &TrainingRow| groups.iter().position(|g| g.contains(&r.source));
    let mut scores = vec![f64::NAN; rows.len()];
    for k in 0..=groups.len() {
        let idx: Vec<usize> = (0..rows.len())
            .filter(|&i| fold_of(&rows[i]).unwrap_or(groups.len()) == k)
            .collect();
        if idx.is_empty() {
            continue;
        }
        let member = model.member(k).filter(|_| k < groups.len());
        let subset: Vec<&TrainingRow> = idx.iter().map(|&i| &rows[i]).collect();
        let s = rescore_rows(&subset, member.as_ref().unwrap_or(model));
        for (i, s) in idx.into_iter().zip(s) {
            scores[i] = s;
        }
    }
    Ok(scores)
}

/// Whether a run of the dataset `out` was scored by the shipped stack (its `model_sha256` is
/// the embedded card's): `eval`'s default `--score` without `--rescore`.
pub fn scored_by_shipped_stack(out: &Path) -> Result<bool, LearnError> {
    let Ok(stack) = Stack::embedded() else {
        return Ok(false);
    };
    let runs = read_table(out, Table::Runs, &["model_sha256"])
        .map_err(|e| LearnError::Dataset(out.into(), e.to_string()))?;
    Ok(runs.iter().any(|r| r[0].text() == Some(stack.sha256())))
}

/// Without `--rescore`, `eval` reads the scores the scan wrote: an error when a model other
/// than the one it judges by wrote them (stacked scores at the classifier's thresholds, the
/// other way round, or another classifier's), told by the runs' `model_sha256` against the
/// weights' SHA-256 of `model` or the stack card's.
fn stored_scores_fit(
    out: &Path,
    model: &Classifier,
    stack: Option<&Stack>,
) -> Result<(), LearnError> {
    let expected = stack.map_or_else(
        || model.weights_sha256().to_string(),
        |s| s.sha256().to_string(),
    );
    let runs = read_table(out, Table::Runs, &["model_sha256"])
        .map_err(|e| LearnError::Dataset(out.into(), e.to_string()))?;
    let others: BTreeSet<&str> = runs
        .iter()
        .filter_map(|r| r[0].text())
        .filter(|s| !s.is_empty() && *s != expected)
        .collect();
    let Some(first) = others.first() else {
        return Ok(());
    };
    let shipped_stack = Stack::embedded().ok().map(|s| s.sha256().to_string());
    Err(LearnError::Options(if stack.is_some() {
        "the dataset's scores (some or all) are not the stack's: add --rescore to stack them, or leave --score stacked out".into()
    } else if shipped_stack.as_deref() == Some(*first) {
        "the dataset was scored by the stack (runs.model_sha256 is its card's): add --score stacked, or --rescore to score it with the classifier".into()
    } else {
        format!(
            "the dataset was scored by another model (runs.model_sha256 {}…, not {}…): add --rescore to score it with this one, or --model the one that scored it",
            seamscan_model::short_sha256(first),
            seamscan_model::short_sha256(&expected)
        )
    }))
}

/// Evaluates the scores of the dataset `out` against `labels`; writes `metrics.parquet`,
/// `roc.parquet`, `scores.parquet` (every scored face row and video) and `roc.svg` into
/// `dir`. Thresholds come from `model` (the shipped one
/// unless given).
pub fn eval(
    out: &Path,
    labels: &Labels,
    model: &Classifier,
    options: &EvalOptions,
    dir: &Path,
) -> Result<EvalReport, LearnError> {
    let (breakdown, rescore) = (&options.breakdown, options.rescore);
    if options.baseline.is_some() && !rescore {
        return Err(LearnError::Options(
            "a baseline model scores the face rows again: it needs rescore".into(),
        ));
    }
    if options.out_of_fold && !rescore {
        return Err(LearnError::Options(
            "out-of-fold scores score the face rows again: they need rescore".into(),
        ));
    }
    if options.out_of_fold && options.stack.is_some() {
        return Err(LearnError::Options(
            "out-of-fold scores cannot be stacked: the appearance network has no fold members (its logits on training people are not out of fold)".into(),
        ));
    }
    if let (Some(st), true) = (options.stack, rescore) {
        // The stack names the networks it was fitted on; its weights and thresholds mean
        // nothing over another classifier's scores.
        st.check(model.weights_sha256(), seamscan_appearance::WEIGHTS_SHA256)
            .map_err(|e| LearnError::Options(e.to_string()))?;
    }
    if !rescore {
        stored_scores_fit(out, model, options.stack)?;
    }
    if options.out_of_fold {
        // Before the rows and crops are read: a model without folds is refused at once.
        fold_sources_of(model)?;
        if let Some(b) = options.baseline {
            fold_sources_of(b)?;
        }
    }
    let score_rows = |rows: &[TrainingRow], m: &Classifier| {
        if options.out_of_fold {
            out_of_fold_scores(rows, m)
        } else {
            Ok(rescore_rows(rows, m))
        }
    };
    let ds = |e: seamscan_sink::SinkError| LearnError::Dataset(out.into(), e.to_string());
    let videos = read_table(out, Table::Videos, &["sha256", "score", "status"]).map_err(ds)?;
    let t = options
        .stack
        .map_or(model.card().thresholds, |s| s.card().thresholds);
    let fraction = options.stack.map_or(model.card().video_top_fraction, |s| {
        s.card().video_top_fraction
    });
    // (score, label, label info) per item.
    let mut f_items = Vec::new();
    let mut rescored: HashMap<String, Vec<f64>> = HashMap::new();
    let mut base_rescored: HashMap<String, Vec<f64>> = HashMap::new();
    if rescore {
        // Scores from the dataset's features with this model, without decoding anything.
        let pixels = |m: &Classifier| m.pixel_input().unwrap_or_default();
        let (rows, keys, appearance) = keyed_rows(&[out.to_path_buf()], labels, pixels(model))?;
        let mut scores = score_rows(&rows, model)?;
        if let Some(st) = options.stack {
            for (s, a) in scores.iter_mut().zip(&appearance) {
                *s = st.score(*s, *a);
            }
        }
        // The baseline reads the same rows; they are cut again only for other pixel inputs.
        let base_scores = match options.baseline {
            Some(b) if pixels(b) == pixels(model) => Some(score_rows(&rows, b)?),
            Some(b) => {
                let base = training_rows(&[out.to_path_buf()], labels, pixels(b))?;
                let same = base.len() == rows.len()
                    && base
                        .iter()
                        .zip(&rows)
                        .all(|(b, r)| b.video == r.video && b.label == r.label);
                if !same {
                    return Err(LearnError::Dataset(
                        out.into(),
                        "the baseline model read other face rows than the model".into(),
                    ));
                }
                Some(score_rows(&base, b)?)
            }
            None => None,
        };
        for (k, ((r, s), at)) in rows.into_iter().zip(scores).zip(keys).enumerate() {
            let (video, manipulated) = (r.video, r.label);
            let baseline = base_scores.as_ref().map(|b| b[k]);
            if let Some(b) = baseline {
                base_rescored.entry(video.clone()).or_default().push(b);
            }
            rescored.entry(video.clone()).or_default().push(s);
            f_items.push(Scored {
                score: s,
                baseline,
                manipulated,
                label: &labels[&video],
                sha256: video,
                at,
            });
        }
    } else {
        let cols = [
            "sha256",
            "score",
            "frame_index",
            "box_x",
            "box_y",
            "box_w",
            "box_h",
            "face_index",
            "track_id",
        ];
        let frames = read_table(out, Table::Frames, &cols).map_err(ds)?;
        for r in &frames {
            if let (Some(sha), Some(s)) = (r[0].text(), r[1].number())
                && let Some(l) = labels.get(sha)
            {
                let frame = r[2].number().unwrap_or(-1.0) as i64;
                f_items.push(Scored {
                    score: s,
                    baseline: None,
                    manipulated: l.face_manipulated(frame, face_box(r, 3)),
                    label: l,
                    sha256: sha.to_string(),
                    at: RowKey {
                        frame_index: u64::try_from(frame).ok(),
                        face_index: r[7].number().map(|v| v as u64),
                        track_id: r[8].number().map(|v| v as u64),
                    },
                });
            }
        }
    }
    // In one fixed order (the scan's row order depends on timing; see `in_canonical_order`).
    f_items.sort_by(|a, b| {
        (&a.sha256, a.at.frame_index, a.at.face_index, a.at.track_id).cmp(&(
            &b.sha256,
            b.at.frame_index,
            b.at.face_index,
            b.at.track_id,
        ))
    });
    let mut v_items = Vec::new();
    let mut unscored = BTreeMap::new();
    // In SHA-256 order, not a hash map's: the resampling numbers sources in the order they
    // first appear, so the order must not change between runs for the interval not to.
    let mut latest: BTreeMap<&str, &Vec<Cell>> = BTreeMap::new();
    for r in &videos {
        if let Some(sha) = r[0].text() {
            latest.insert(sha, r);
        }
    }
    for (sha, r) in &latest {
        let Some(l) = labels.get(*sha) else { continue };
        let score = if rescore {
            rescored.get(*sha).and_then(|s| aggregate(s, fraction))
        } else {
            r[1].number()
        };
        let baseline = options
            .baseline
            .and_then(|b| b.video_score(base_rescored.get(*sha)?));
        match score {
            Some(s) => v_items.push(Scored {
                score: s,
                baseline,
                manipulated: l.manipulated,
                label: l,
                sha256: sha.to_string(),
                at: RowKey::default(),
            }),
            None => {
                let status = r[2].text().unwrap_or("unknown").to_string();
                *unscored.entry(status).or_insert(0) += 1;
            }
        }
    }
    if f_items.is_empty() && v_items.is_empty() {
        return Err(LearnError::Empty(
            "no scored row of the dataset has a label (labels join on sha256)".into(),
        ));
    }
    let mut metrics = Vec::new();
    let mut subsets: Vec<(String, Option<(String, String)>)> = vec![("all".into(), None)];
    for key in breakdown {
        let mut values: Vec<&String> = labels.values().filter_map(|l| l.extra.get(key)).collect();
        values.sort();
        values.dedup();
        for v in values {
            subsets.push((format!("{key}={v}"), Some((key.clone(), v.clone()))));
        }
    }
    for (name, filter) in &subsets {
        // A subset is the items with that value; when no real clip has the value (a column
        // that describes forgeries, like `method=swap` or `mask=hull`), all real items join it,
        // so both classes are there to measure.
        let real_has_value = filter.as_ref().is_some_and(|(k, v)| {
            labels
                .values()
                .any(|l| !l.manipulated && l.extra.get(k) == Some(v))
        });
        let keep = |l: &Label| match filter {
            None => true,
            Some((k, v)) => l.extra.get(k) == Some(v) || (!l.manipulated && !real_has_value),
        };
        for (lv, items, thr) in [
            ("frame", &f_items, t.frame_manipulated),
            ("video", &v_items, t.video_manipulated),
        ] {
            let kept: Vec<&Scored> = items.iter().filter(|i| keep(i.label)).collect();
            if !kept.is_empty() {
                metrics.push(level(lv, name, &kept, thr, options.bootstrap));
            }
        }
    }
    std::fs::create_dir_all(dir).map_err(|e| LearnError::Io(dir.into(), e))?;
    let sink = |e: seamscan_sink::SinkError| LearnError::Dataset(dir.into(), e.to_string());
    let num = |f: &dyn Fn(&LevelMetrics) -> Option<f64>| {
        SimpleColumn::Number(metrics.iter().map(f).collect())
    };
    let mpath = dir.join("metrics.parquet");
    write_simple_table(
        &mpath,
        &[
            (
                "level",
                SimpleColumn::Text(metrics.iter().map(|m| m.level.clone()).collect()),
            ),
            (
                "subset",
                SimpleColumn::Text(metrics.iter().map(|m| m.subset.clone()).collect()),
            ),
            ("n", num(&|m| Some(m.n as f64))),
            ("positives", num(&|m| Some(m.positives as f64))),
            ("auc", num(&|m| m.auc)),
            ("auc_low", num(&|m| m.auc_interval.map(|i| i.0))),
            ("auc_high", num(&|m| m.auc_interval.map(|i| i.1))),
            ("auc_within_source", num(&|m| m.auc_within_source)),
            ("auc_baseline", num(&|m| m.auc_baseline)),
            ("auc_gain_low", num(&|m| m.auc_gain_interval.map(|i| i.0))),
            ("auc_gain_high", num(&|m| m.auc_gain_interval.map(|i| i.1))),
            ("sources", num(&|m| Some(m.sources as f64))),
            ("eer", num(&|m| m.eer)),
            ("ap", num(&|m| m.ap)),
            ("tpr_at_fpr_1pct", num(&|m| m.tpr_at_low_fpr)),
            (
                "tpr_at_fpr_1pct_baseline",
                num(&|m| m.tpr_at_low_fpr_baseline),
            ),
            (
                "tpr_at_fpr_1pct_gain_low",
                num(&|m| m.tpr_at_low_fpr_gain_interval.map(|i| i.0)),
            ),
            (
                "tpr_at_fpr_1pct_gain_high",
                num(&|m| m.tpr_at_low_fpr_gain_interval.map(|i| i.1)),
            ),
            ("threshold", num(&|m| Some(m.threshold))),
            (
                "true_positive",
                num(&|m| Some(m.confusion.true_positive as f64)),
            ),
            (
                "false_positive",
                num(&|m| Some(m.confusion.false_positive as f64)),
            ),
            (
                "true_negative",
                num(&|m| Some(m.confusion.true_negative as f64)),
            ),
            (
                "false_negative",
                num(&|m| Some(m.confusion.false_negative as f64)),
            ),
        ],
    )
    .map_err(sink)?;
    let mut curves = Vec::new();
    let (mut lv, mut fpr, mut tpr, mut thr) = (Vec::new(), Vec::new(), Vec::new(), Vec::new());
    for (name, items) in [("frame", &f_items), ("video", &v_items)] {
        let (s, l): (Vec<f64>, Vec<bool>) = items.iter().map(|i| (i.score, i.manipulated)).unzip();
        let points = roc(&s, &l);
        for p in &points {
            lv.push(name.to_string());
            fpr.push(Some(p.0));
            tpr.push(Some(p.1));
            thr.push(p.2.is_finite().then_some(p.2));
        }
        curves.push((name, points, auc(&s, &l)));
    }
    let rpath = dir.join("roc.parquet");
    write_simple_table(
        &rpath,
        &[
            ("level", SimpleColumn::Text(lv)),
            ("false_positive_rate", SimpleColumn::Number(fpr)),
            ("true_positive_rate", SimpleColumn::Number(tpr)),
            ("threshold", SimpleColumn::Number(thr)),
        ],
    )
    .map_err(sink)?;
    // Every scored item, for analyses of one's own (per-source offsets, ensembles).
    let items: Vec<(&str, &Scored)> = f_items
        .iter()
        .map(|i| ("frame", i))
        .chain(v_items.iter().map(|i| ("video", i)))
        .collect();
    let text = |f: &dyn Fn(&str, &Scored) -> String| {
        SimpleColumn::Text(items.iter().map(|(lv, i)| f(lv, i)).collect())
    };
    let number = |f: &dyn Fn(&Scored) -> f64| {
        SimpleColumn::Number(items.iter().map(|(_, i)| Some(f(i))).collect())
    };
    let key = |f: &dyn Fn(&RowKey) -> Option<u64>| {
        SimpleColumn::Index(items.iter().map(|(_, i)| f(&i.at)).collect())
    };
    let spath_scores = dir.join("scores.parquet");
    write_simple_table(
        &spath_scores,
        &[
            ("level", text(&|lv, _| lv.to_string())),
            ("sha256", text(&|_, i| i.sha256.clone())),
            ("frame_index", key(&|k| k.frame_index)),
            ("face_index", key(&|k| k.face_index)),
            ("track_id", key(&|k| k.track_id)),
            ("source", text(&|_, i| i.label.source.clone())),
            ("manipulated", number(&|i| i.manipulated as u8 as f64)),
            ("score", number(&|i| i.score)),
            (
                "baseline_score",
                SimpleColumn::Number(items.iter().map(|(_, i)| i.baseline).collect()),
            ),
        ],
    )
    .map_err(sink)?;
    let svg = roc_svg(&curves);
    let spath = dir.join("roc.svg");
    std::fs::write(&spath, svg).map_err(|e| LearnError::Io(spath.clone(), e))?;
    Ok(EvalReport {
        metrics,
        unscored_videos: unscored,
        written: vec![mpath, rpath, spath_scores, spath],
    })
}

/// The ROC curves as a standalone SVG.
#[allow(clippy::type_complexity)]
fn roc_svg(curves: &[(&str, Vec<(f64, f64, f64)>, Option<f64>)]) -> String {
    let (x0, y0, w, h) = (60.0, 20.0, 360.0, 360.0);
    let mut s = format!(
        "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"460\" height=\"440\" font-family=\"sans-serif\" font-size=\"12\">\n<rect width=\"460\" height=\"440\" fill=\"white\"/>\n<rect x=\"{x0}\" y=\"{y0}\" width=\"{w}\" height=\"{h}\" fill=\"none\" stroke=\"#444\"/>\n<line x1=\"{x0}\" y1=\"{}\" x2=\"{}\" y2=\"{y0}\" stroke=\"#bbb\" stroke-dasharray=\"4 4\"/>\n",
        y0 + h,
        x0 + w
    );
    for i in 0..=4 {
        let v = i as f64 / 4.0;
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">{v:.2}</text>\n<text x=\"{}\" y=\"{}\" text-anchor=\"end\">{v:.2}</text>\n",
            x0 + v * w,
            y0 + h + 16.0,
            x0 - 6.0,
            y0 + h - v * h + 4.0
        );
    }
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" text-anchor=\"middle\">false positive rate</text>\n<text x=\"14\" y=\"{}\" text-anchor=\"middle\" transform=\"rotate(-90 14 {})\">true positive rate</text>\n",
        x0 + w / 2.0,
        y0 + h + 34.0,
        y0 + h / 2.0,
        y0 + h / 2.0
    );
    for (k, (name, points, a)) in curves.iter().enumerate() {
        let colour = ["#d62728", "#1f77b4"][k % 2];
        let pts: Vec<String> = points
            .iter()
            .map(|(f, t, _)| format!("{:.1},{:.1}", x0 + f * w, y0 + h - t * h))
            .collect();
        let _ = write!(
            s,
            "<polyline fill=\"none\" stroke=\"{colour}\" stroke-width=\"2\" points=\"{}\"/>\n<text x=\"{}\" y=\"{}\" fill=\"{colour}\">{name} AUC {}</text>\n",
            pts.join(" "),
            x0 + w - 150.0,
            y0 + h - 40.0 + 18.0 * k as f64,
            a.map_or("n/a".into(), |a| format!("{a:.3}"))
        );
    }
    s.push_str("</svg>\n");
    s
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_face_maps_into_its_aligned_crop() {
        // A frame whose red channel is x and green channel y: a landmark's crop coordinates,
        // sampled in the crop, must give back the landmark's frame position.
        let (w, h) = (200usize, 200usize);
        let rgb: Vec<u8> = (0..w * h)
            .flat_map(|i| [(i % w) as u8, (i / w) as u8, 0])
            .collect();
        let luma = vec![0u8; w * h];
        let face = Face {
            x: 60.0,
            y: 70.0,
            w: 60.0,
            h: 70.0,
            score: 0.9,
            // Eyes on a tilted line.
            landmarks: [
                75.0, 95.0, 105.0, 88.0, 92.0, 110.0, 80.0, 122.0, 104.0, 118.0,
            ],
        };
        let spec = CropSpec {
            size: 128,
            enlarge: 1.3,
        };
        let crop = align(&face, &luma, &rgb, w, h, spec);
        let mapped = face_in_crop(&face, &crop, spec);
        for k in 0..5 {
            let (u, v) = (mapped.landmarks[2 * k], mapped.landmarks[2 * k + 1]);
            let at = (v.floor() as usize * 128 + u.floor() as usize) * 3;
            let (x, y) = (crop.rgb[at] as f32, crop.rgb[at + 1] as f32);
            assert!(
                (x - face.landmarks[2 * k]).abs() <= 1.5,
                "landmark {k}: x {x}"
            );
            assert!(
                (y - face.landmarks[2 * k + 1]).abs() <= 1.5,
                "landmark {k}: y {y}"
            );
        }
        // The box is centred with the crop's scale.
        assert!((mapped.x + mapped.w / 2.0 - 64.0).abs() < 1e-3);
        assert!((mapped.h / mapped.w - 70.0 / 60.0).abs() < 1e-4);
    }

    #[test]
    fn a_mask_file_is_cut_like_the_crop_and_missing_truth_is_zero_or_unknown() {
        // A 200×200 frame whose mask is white inside the face box, ramping to black over 5
        // pixels either side of its edge (synthesised masks are blurred like this).
        let (w, h) = (200usize, 200usize);
        let face = Face {
            x: 70.0,
            y: 70.0,
            w: 60.0,
            h: 60.0,
            score: 0.9,
            landmarks: [
                85.0, 90.0, 115.0, 90.0, 100.0, 105.0, 88.0, 118.0, 112.0, 118.0,
            ],
        };
        let depth = |x: usize, y: usize| {
            let (x, y) = (x as f32 + 0.5, y as f32 + 0.5);
            (x - 70.0).min(130.0 - x).min(y - 70.0).min(130.0 - y)
        };
        let plane: Vec<u8> = (0..w * h)
            .map(|i| ((depth(i % w, i / w) + 5.0) / 10.0).clamp(0.0, 1.0))
            .map(|m| (m * 255.0).round() as u8)
            .collect();
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("000003.png");
        image::GrayImage::from_raw(w as u32, h as u32, plane)
            .unwrap()
            .save(&path)
            .unwrap();
        let frame = seamscan_decode::Frame {
            index: 3,
            pts: None,
            time_s: None,
            width: w,
            height: h,
            luma: vec![0; w * h],
            rgb: None,
        };
        let spec = CropSpec {
            size: 128,
            enlarge: 1.3,
        };
        let side = seamscan_model::mask_side(64);
        let cut = |truth: &Truth, kind| truth_in_crop(truth, &face, &frame, spec, 64, kind);
        let region = cut(&Truth::Mask(path.clone()), MaskTarget::Region).unwrap();
        assert_eq!(region.len(), side * side);
        // The box fills the crop's middle 1/1.3: its centre is in, the corners are out.
        assert!(region[side / 2 * side + side / 2] > 200, "{region:?}");
        assert!(region[0] < 10 && region[side * side - 1] < 10, "{region:?}");
        // The boundary target is zero inside and outside, and marks the box's edge.
        let edge = cut(&Truth::Mask(path.clone()), MaskTarget::Boundary).unwrap();
        assert_eq!(edge[side / 2 * side + side / 2], 0, "{edge:?}");
        assert!(edge.iter().any(|&v| v > 100), "{edge:?}");
        // A real clip and an unforged frame of a forged clip: nowhere; no masks: unknown.
        let zero = vec![0u8; side * side];
        assert_eq!(cut(&Truth::Untouched, MaskTarget::Region).unwrap(), zero);
        let absent = Truth::Mask(dir.path().join("000004.png"));
        assert_eq!(cut(&absent, MaskTarget::Region).unwrap(), zero);
        assert_eq!(cut(&Truth::Unknown, MaskTarget::Region), None);
        // A mask of another size than the frame is not trusted.
        let small = dir.path().join("000005.png");
        image::GrayImage::new(100, 100).save(&small).unwrap();
        assert_eq!(cut(&Truth::Mask(small), MaskTarget::Region), None);
    }

    #[test]
    fn labels_parse_with_quotes_and_word_labels() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("l.csv");
        let a = "a".repeat(64);
        let b = "b".repeat(64);
        std::fs::write(
            &p,
            format!("clip,sha256,label,source,detail\nx.mp4,{a},fake,s1,\"resample, 0.5\"\ny.mp4,{b},0,,none\n"),
        )
        .unwrap();
        let l = read_labels(&p).unwrap();
        assert!(l[&a].manipulated);
        assert_eq!(l[&a].source, "s1");
        assert_eq!(l[&a].extra["detail"], "resample, 0.5");
        assert!(!l[&b].manipulated);
        assert_eq!(l[&b].source, "y.mp4");
        std::fs::write(&p, format!("sha256,label\n{a},maybe\n")).unwrap();
        assert!(read_labels(&p).unwrap_err().to_string().contains("maybe"));
    }

    #[test]
    fn masks_narrow_a_forged_clip_to_the_faces_they_cover() {
        let dir = tempfile::tempdir().unwrap();
        let p = dir.path().join("labels.csv");
        let (a, b) = ("a".repeat(64), "b".repeat(64));
        std::fs::write(
            &p,
            format!("clip,sha256,label\nclips/x.mp4,{a},1\nclips/y.mp4,{b},1\n"),
        )
        .unwrap();
        // Frame 0 of x is forged on the left half; frame 1 has no mask (not forged).
        std::fs::create_dir_all(dir.path().join("masks/x")).unwrap();
        let mask =
            image::GrayImage::from_fn(100, 50, |x, _| image::Luma([if x < 50 { 255 } else { 0 }]));
        mask.save(dir.path().join("masks/x/000000.png")).unwrap();
        let l = read_labels(&p).unwrap();
        let face = |x: f64| [x, 10.0, 30.0, 30.0];
        let x = &l[&a];
        assert_eq!(
            x.masks.as_deref(),
            Some(dir.path().join("masks/x").as_path())
        );
        assert!(x.face_manipulated(0, Some(face(10.0))), "the covered face");
        assert!(!x.face_manipulated(0, Some(face(60.0))), "its neighbour");
        assert!(
            !x.face_manipulated(1, Some(face(10.0))),
            "a frame without a mask"
        );
        // Without a masks folder the clip's label holds for every face.
        assert_eq!(l[&b].masks, None);
        assert!(l[&b].face_manipulated(0, Some(face(60.0))));
    }

    #[test]
    fn a_baseline_without_rescore_is_refused_before_anything_is_read() {
        let model = Classifier::embedded().unwrap();
        let options = EvalOptions {
            baseline: Some(&model),
            ..EvalOptions::default()
        };
        let missing = Path::new("/nonexistent/seamscan-dataset");
        let err = eval(missing, &Labels::new(), &model, &options, missing).unwrap_err();
        assert!(matches!(err, LearnError::Options(_)), "{err}");
    }

    #[test]
    fn a_stacked_eval_out_of_fold_is_refused_before_anything_is_read() {
        let model = Classifier::embedded().unwrap();
        let stack = Stack::embedded().unwrap();
        let options = EvalOptions {
            rescore: true,
            out_of_fold: true,
            stack: Some(&stack),
            ..EvalOptions::default()
        };
        let missing = Path::new("/nonexistent/seamscan-dataset");
        let err = eval(missing, &Labels::new(), &model, &options, missing).unwrap_err();
        assert!(
            matches!(&err, LearnError::Options(m) if m.contains("no fold members")),
            "{err}"
        );
    }

    #[test]
    fn out_of_fold_without_rescore_is_refused_before_anything_is_read() {
        let model = Classifier::embedded().unwrap();
        let options = EvalOptions {
            out_of_fold: true,
            ..EvalOptions::default()
        };
        let missing = Path::new("/nonexistent/seamscan-dataset");
        let err = eval(missing, &Labels::new(), &model, &options, missing).unwrap_err();
        assert!(matches!(err, LearnError::Options(_)), "{err}");
        // The shipped model is a five-fold ensemble: its members are its folds'.
        assert_eq!(model.fold_sources().len(), 5);
        assert!(model.member(4).is_some() && model.member(5).is_none());
    }

    #[test]
    fn out_of_fold_with_a_model_without_folds_is_refused_before_anything_is_read() {
        let shipped = Classifier::embedded().unwrap();
        let mut card = serde_json::to_value(shipped.card()).unwrap();
        card["training"]["folds"] = serde_json::Value::Array(Vec::new());
        let weights = std::fs::read(
            Path::new(env!("CARGO_MANIFEST_DIR")).join("../../models/classifier.safetensors"),
        )
        .unwrap();
        let no_folds = Classifier::from_parts(&card.to_string(), weights).unwrap();
        assert!(no_folds.fold_sources().is_empty());
        let missing = Path::new("/nonexistent/seamscan-dataset");
        for (model, baseline) in [(&no_folds, None), (&shipped, Some(&no_folds))] {
            let options = EvalOptions {
                rescore: true,
                out_of_fold: true,
                baseline,
                ..EvalOptions::default()
            };
            // An Options error, not the missing dataset's: nothing was read.
            let err = eval(missing, &Labels::new(), model, &options, missing).unwrap_err();
            assert!(
                matches!(&err, LearnError::Options(m) if m.contains("--folds")),
                "{err}"
            );
        }
    }

    #[test]
    fn civil_date_is_plausible() {
        let d = today();
        assert_eq!(d.len(), 10);
        assert!(d.as_str() >= "2024-01-01", "{d}");
    }
}
