//! `seamscan report`: a static HTML report of a dataset — run provenance, every video sorted
//! by score (failures listed, not hidden), a score-over-time plot per video with the verdict
//! thresholds, and for each suspicious or manipulated video its top faces as evidence
//! overlays with the reasons. Self-contained: one `index.html` (inline CSS, SVG and a few
//! lines of script) and the PNGs beside it in `img/`; nothing is fetched when it is viewed.

use std::collections::{BTreeMap, HashMap};
use std::fmt::Write as _;
use std::path::{Path, PathBuf};

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_faces::{CropSpec, Face};
use seamscan_model::{Classifier, Thresholds};
use seamscan_sink::{Cell, Table, read_table};

use crate::evidence::{EvidenceParts, render, write_png};

/// Why a report could not be made.
#[derive(Debug, thiserror::Error)]
pub enum ReportError {
    /// The dataset could not be read.
    #[error("dataset {0}: {1}")]
    Dataset(PathBuf, String),
    /// The report could not be written.
    #[error("{0}: {1}")]
    Io(PathBuf, std::io::Error),
}

/// What was written.
#[derive(Debug, Clone, PartialEq)]
pub struct ReportSummary {
    /// The HTML file.
    pub index: PathBuf,
    /// Videos listed.
    pub videos: usize,
    /// Videos with a `suspicious` or `manipulated` verdict.
    pub flagged: usize,
    /// Evidence images in the report.
    pub images: usize,
    /// Images that could not be made (source missing or changed), with why.
    pub missing_images: Vec<String>,
}

fn esc(s: &str) -> String {
    s.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}

struct Video {
    run_id: String,
    path: String,
    sha256: String,
    status: String,
    error: String,
    score: Option<f64>,
    verdict: String,
    faces: Option<f64>,
    frames: Option<f64>,
    frames_with_face: Option<f64>,
}

struct FaceRow {
    frame_index: u64,
    time_s: Option<f64>,
    face_index: u64,
    track_id: u64,
    score: f64,
    verdict: String,
    face: Face,
    reasons: Vec<String>,
    evidence: Option<String>,
    /// The appearance network's value (part of the score when stacked, the default).
    appearance: Option<f64>,
}

fn text(c: &Cell) -> String {
    c.text().unwrap_or("").to_string()
}

const RUN_COLUMNS: [&str; 15] = [
    "run_id",
    "started_at",
    "finished_at",
    "tool_version",
    "git_commit",
    "ffmpeg_version",
    "hostname",
    "config_sha256",
    "device",
    "model",
    "model_sha256",
    "inputs",
    "files_ok",
    "files_failed",
    "exit_code",
];

fn iso(us: Option<f64>) -> String {
    let Some(us) = us else { return String::new() };
    let secs = (us / 1e6).floor() as i64;
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    format!(
        "{} {:02}:{:02}:{:02} UTC",
        crate::system::civil_date(days),
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// The score-over-time plot of one video: one line per track, the face thresholds dashed.
fn timeline_svg(rows: &[&FaceRow], t: Option<&Thresholds>) -> String {
    let (w, h, l, r, top, bottom) = (640.0, 160.0, 40.0, 10.0, 10.0, 24.0);
    let x_of = |f: &FaceRow| f.time_s.unwrap_or(f.frame_index as f64);
    let xmax = rows
        .iter()
        .map(|f| x_of(f))
        .fold(0.0f64, f64::max)
        .max(1e-9);
    let px = |x: f64| l + (w - l - r) * x / xmax;
    let py = |y: f64| top + (h - top - bottom) * (1.0 - y.clamp(0.0, 1.0));
    let mut s = format!(
        "<svg class=\"timeline\" viewBox=\"0 0 {w} {h}\" width=\"{w}\" height=\"{h}\" role=\"img\" aria-label=\"face score over time\">\
<rect x=\"{l}\" y=\"{top}\" width=\"{}\" height=\"{}\" fill=\"#fafafa\" stroke=\"#999\"/>",
        w - l - r,
        h - top - bottom
    );
    for v in [0.0, 0.5, 1.0] {
        let _ = write!(
            s,
            "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{v:.1}</text>",
            l - 4.0,
            py(v) + 3.0
        );
    }
    let unit = if rows.iter().any(|f| f.time_s.is_some()) {
        "s"
    } else {
        "frame"
    };
    let _ = write!(
        s,
        "<text x=\"{}\" y=\"{}\" font-size=\"10\" text-anchor=\"end\">{xmax:.1} {unit}</text>",
        w - r,
        h - 8.0
    );
    if let Some(t) = t {
        // Labels at opposite ends, so close thresholds do not overprint.
        for (v, c, name, x, anchor) in [
            (
                t.frame_suspicious,
                "#e69500",
                "suspicious",
                l + 2.0,
                "start",
            ),
            (
                t.frame_manipulated,
                "#d62728",
                "manipulated",
                w - r - 2.0,
                "end",
            ),
        ] {
            let _ = write!(
                s,
                "<line class=\"threshold\" x1=\"{l}\" x2=\"{}\" y1=\"{y:.1}\" y2=\"{y:.1}\" stroke=\"{c}\" stroke-dasharray=\"5 4\"/><text x=\"{x}\" y=\"{:.1}\" font-size=\"10\" fill=\"{c}\" text-anchor=\"{anchor}\">{name} {v:.2}</text>",
                w - r,
                py(v) - 3.0,
                y = py(v)
            );
        }
    }
    let mut tracks: BTreeMap<u64, Vec<&FaceRow>> = BTreeMap::new();
    for f in rows {
        tracks.entry(f.track_id).or_default().push(f);
    }
    let colours = [
        "#1f77b4", "#2ca02c", "#9467bd", "#8c564b", "#17becf", "#7f7f7f",
    ];
    for (k, (track, mut pts)) in tracks.into_iter().enumerate() {
        pts.sort_by(|a, b| x_of(a).total_cmp(&x_of(b)));
        let c = colours[k % colours.len()];
        let line: Vec<String> = pts
            .iter()
            .map(|f| format!("{:.1},{:.1}", px(x_of(f)), py(f.score)))
            .collect();
        let _ = write!(
            s,
            "<polyline class=\"track\" data-track=\"{track}\" fill=\"none\" stroke=\"{c}\" stroke-width=\"1.5\" points=\"{}\"/>",
            line.join(" ")
        );
        // A dot per face, so a track seen in one frame shows too.
        for f in &pts {
            let _ = write!(
                s,
                "<circle cx=\"{:.1}\" cy=\"{:.1}\" r=\"1.8\" fill=\"{c}\"/>",
                px(x_of(f)),
                py(f.score)
            );
        }
    }
    s.push_str("</svg>");
    s
}

/// Decodes the frames `wanted` of `path` and draws their overlays.
fn overlays_from_source(
    path: &Path,
    sha256: &str,
    wanted: &[&FaceRow],
) -> Result<Vec<(u64, u64, image::RgbImage)>, String> {
    let (digest, _) =
        crate::hash::sha256_file(path).map_err(|e| format!("{}: {e}", path.display()))?;
    if digest != sha256 {
        return Err(format!(
            "{}: the file changed since the scan (SHA-256 {digest}, scanned {sha256})",
            path.display()
        ));
    }
    let mut reader = VideoReader::open(
        path,
        DecodeOptions {
            sampling: Sampling::default(),
            rgb: true,
            threads: 0,
        },
    )
    .map_err(|e| e.to_string())?;
    let last = wanted.iter().map(|f| f.frame_index).max().unwrap_or(0);
    let mut out = Vec::new();
    while let Some(frame) = reader.next_frame().map_err(|e| e.to_string())? {
        if frame.index > last {
            break;
        }
        for f in wanted.iter().filter(|f| f.frame_index == frame.index) {
            let Some(rgb) = frame.rgb.as_deref() else {
                continue;
            };
            let crop = seamscan_faces::align(
                &f.face,
                &frame.luma,
                rgb,
                frame.width,
                frame.height,
                CropSpec::default(),
            );
            let parts = EvidenceParts::new(&f.face, rgb, frame.width, frame.height, &crop);
            out.push((f.frame_index, f.face_index, render(&parts, &f.verdict)));
        }
    }
    Ok(out)
}

/// Writes the report of the dataset at `out` into `dir`. Thresholds drawn on a video's plot
/// are those of what scored the run that wrote it: `model` (matched by weights SHA-256) or
/// the shipped stack (`[model] score = "stacked"`, matched by its card's SHA-256).
pub fn report(
    out: &Path,
    dir: &Path,
    model: &Classifier,
    top: usize,
) -> Result<ReportSummary, ReportError> {
    let ds = |e: seamscan_sink::SinkError| ReportError::Dataset(out.into(), e.to_string());
    let io = |p: &Path, e| ReportError::Io(p.into(), e);
    let runs = read_table(out, Table::Runs, &RUN_COLUMNS).map_err(ds)?;
    if runs.is_empty() {
        return Err(ReportError::Dataset(
            out.into(),
            "no committed run (is this a seamscan output directory?)".into(),
        ));
    }
    let finished: HashMap<String, f64> = runs
        .iter()
        .map(|r| (text(&r[0]), r[2].number().unwrap_or(0.0)))
        .collect();
    let vcols = [
        "run_id",
        "path",
        "sha256",
        "status",
        "error",
        "score",
        "verdict",
        "faces",
        "frames_analyzed",
        "frames_with_face",
    ];
    // The latest row per path (runs ordered by their end).
    let mut videos: HashMap<String, Video> = HashMap::new();
    for r in read_table(out, Table::Videos, &vcols).map_err(ds)? {
        let v = Video {
            run_id: text(&r[0]),
            path: text(&r[1]),
            sha256: text(&r[2]),
            status: text(&r[3]),
            error: text(&r[4]),
            score: r[5].number(),
            verdict: text(&r[6]),
            faces: r[7].number(),
            frames: r[8].number(),
            frames_with_face: r[9].number(),
        };
        let newer = videos.get(&v.path).is_none_or(|old| {
            finished.get(&v.run_id).unwrap_or(&0.0) >= finished.get(&old.run_id).unwrap_or(&0.0)
        });
        if newer {
            videos.insert(v.path.clone(), v);
        }
    }
    let fcols = [
        "run_id",
        "path",
        "frame_index",
        "time_s",
        "face_index",
        "track_id",
        "score",
        "verdict",
        "box_x",
        "box_y",
        "box_w",
        "box_h",
        "landmarks",
        "det_score",
        "reasons",
        "evidence",
        "appearance_logit",
    ];
    let mut faces: HashMap<String, Vec<FaceRow>> = HashMap::new();
    for r in read_table(out, Table::Frames, &fcols).map_err(ds)? {
        let (run, path) = (text(&r[0]), text(&r[1]));
        if videos.get(&path).is_none_or(|v| v.run_id != run) {
            continue;
        }
        let (Some(score), Some(x), Some(y), Some(w), Some(h)) = (
            r[6].number(),
            r[8].number(),
            r[9].number(),
            r[10].number(),
            r[11].number(),
        ) else {
            continue;
        };
        let mut landmarks = [0f32; 10];
        if let Cell::Numbers(l) = &r[12] {
            for (d, s) in landmarks.iter_mut().zip(l) {
                *d = *s as f32;
            }
        }
        faces.entry(path).or_default().push(FaceRow {
            frame_index: r[2].number().unwrap_or(0.0) as u64,
            time_s: r[3].number(),
            face_index: r[4].number().unwrap_or(0.0) as u64,
            track_id: r[5].number().unwrap_or(0.0) as u64,
            score,
            verdict: text(&r[7]),
            face: Face {
                x: x as f32,
                y: y as f32,
                w: w as f32,
                h: h as f32,
                score: r[13].number().unwrap_or(0.0) as f32,
                landmarks,
            },
            reasons: match &r[14] {
                Cell::Texts(t) => t.clone(),
                _ => Vec::new(),
            },
            evidence: r[15].text().map(str::to_string),
            appearance: r[16].number(),
        });
    }
    let mut list: Vec<Video> = videos.into_values().collect();
    list.sort_by(|a, b| {
        b.score
            .unwrap_or(-1.0)
            .total_cmp(&a.score.unwrap_or(-1.0))
            .then(a.path.cmp(&b.path))
    });

    let img_dir = dir.join("img");
    std::fs::create_dir_all(&img_dir).map_err(|e| io(&img_dir, e))?;
    // Per run, the thresholds of what scored it: `model` or the shipped stack, told by
    // `runs.model_sha256` (a dataset may hold runs of both).
    let stack = seamscan_model::Stack::embedded().ok();
    let run_thresholds: HashMap<String, Thresholds> = runs
        .iter()
        .filter_map(|r| {
            let sha = r[10].text()?;
            let t = if sha == model.weights_sha256() {
                model.card().thresholds
            } else {
                stack
                    .as_ref()
                    .filter(|s| s.sha256() == sha)?
                    .card()
                    .thresholds
            };
            Some((text(&r[0]), t))
        })
        .collect();
    let mut html = String::new();
    let mut images = 0;
    let mut missing = Vec::new();
    let flagged = list
        .iter()
        .filter(|v| v.verdict == "suspicious" || v.verdict == "manipulated")
        .count();
    let _ = write!(
        html,
        "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\"><title>seamscan report</title>\n<style>\
body{{font-family:system-ui,sans-serif;margin:24px;color:#222}}table{{border-collapse:collapse;margin:8px 0}}\
td,th{{border:1px solid #ccc;padding:3px 6px;font-size:13px;text-align:left;vertical-align:top}}th{{background:#eee;cursor:pointer}}\
.v-manipulated{{background:#d62728;color:#fff}}.v-suspicious{{background:#f0a020}}.v-authentic{{background:#cfe8cf}}\
.v-error{{background:#555;color:#fff}}.v-no_face{{background:#ddd}}.badge{{padding:1px 6px;border-radius:3px}}\
code{{font-size:12px}}section{{border-top:2px solid #ddd;margin-top:18px}}img{{max-width:100%;border:1px solid #999}}\
</style></head><body>\n<h1>seamscan report</h1>\n<p>Dataset <code>{}</code>: {} videos, {} suspicious or manipulated.</p>\n<h2>Provenance</h2>\n<table id=\"runs\"><tr><th>run</th><th>started</th><th>finished</th><th>tool</th><th>commit</th><th>FFmpeg</th><th>host</th><th>config SHA-256</th><th>device</th><th>model</th><th>model SHA-256</th><th>inputs</th><th>ok</th><th>failed</th><th>exit</th></tr>\n",
        esc(&out.display().to_string()),
        list.len(),
        flagged
    );
    for r in &runs {
        let n = |c: &Cell| c.number().map_or(String::new(), |v| format!("{v}"));
        let _ = writeln!(
            html,
            "<tr><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td><code>{}</code></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td></tr>",
            esc(&text(&r[0])),
            iso(r[1].number()),
            iso(r[2].number()),
            esc(&text(&r[3])),
            esc(&text(&r[4])),
            esc(&text(&r[5])),
            esc(&text(&r[6])),
            esc(&text(&r[7])),
            esc(&text(&r[8])),
            esc(&text(&r[9])),
            esc(&text(&r[10])),
            n(&r[11]),
            n(&r[12]),
            n(&r[13]),
            n(&r[14]),
        );
    }
    html.push_str("</table>\n<h2>Videos, most suspicious first</h2>\n<table id=\"videos\"><thead><tr><th>#</th><th>video</th><th>verdict</th><th>score</th><th>status</th><th>error</th><th>face tracks</th><th>frames analysed</th><th>frames with a face</th><th>SHA-256</th></tr></thead><tbody>\n");
    for (i, v) in list.iter().enumerate() {
        let _ = writeln!(
            html,
            "<tr class=\"video\" data-verdict=\"{}\"><td>{}</td><td><a href=\"#v{i}\">{}</a></td><td><span class=\"badge v-{}\">{}</span></td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td>{}</td><td><code title=\"{}\">{}</code></td></tr>",
            esc(&v.verdict),
            i + 1,
            esc(&v.path),
            esc(&v.verdict),
            esc(&v.verdict),
            v.score.map_or(String::new(), |s| format!("{s:.3}")),
            esc(&v.status),
            esc(&v.error),
            v.faces.map_or(String::new(), |s| format!("{s}")),
            v.frames.map_or(String::new(), |s| format!("{s}")),
            v.frames_with_face.map_or(String::new(), |s| format!("{s}")),
            esc(&v.sha256),
            esc(v.sha256.get(..12).unwrap_or(&v.sha256)),
        );
    }
    html.push_str("</tbody></table>\n");
    for (i, v) in list.iter().enumerate() {
        let thresholds = run_thresholds.get(&v.run_id).copied();
        let rows: Vec<&FaceRow> = faces
            .get(&v.path)
            .map(|f| f.iter().collect())
            .unwrap_or_default();
        let _ = write!(
            html,
            "<section id=\"v{i}\"><h3>{}. {} <span class=\"badge v-{}\">{}</span></h3>\n<p>score {} · status {} · SHA-256 <code>{}</code></p>\n",
            i + 1,
            esc(&v.path),
            esc(&v.verdict),
            esc(&v.verdict),
            v.score.map_or("—".into(), |s| format!("{s:.3}")),
            esc(&v.status),
            esc(&v.sha256)
        );
        if !v.error.is_empty() {
            let _ = writeln!(html, "<p class=\"error\">error: {}</p>", esc(&v.error));
        }
        if let (Some(with), Some(all)) = (v.frames_with_face, v.frames) {
            // A score above the `manipulated` threshold with a `suspicious` verdict: the
            // glimpse rule (`[model] min_face_frames`) capped it.
            let capped = v.verdict == "suspicious"
                && thresholds
                    .as_ref()
                    .zip(v.score)
                    .is_some_and(|(t, s)| s >= t.video_manipulated);
            let _ = writeln!(
                html,
                "<p>faces in {with} of {all} analysed frames{}</p>",
                if capped {
                    " · at most suspicious: a face detected in too few frames to call the video manipulated (<code>[model] min_face_frames</code>)"
                } else {
                    ""
                }
            );
        }
        if rows.is_empty() {
            html.push_str("<p>No scored face.</p></section>\n");
            continue;
        }
        html.push_str(&timeline_svg(&rows, thresholds.as_ref()));
        if v.verdict == "suspicious" || v.verdict == "manipulated" {
            let mut best = rows.clone();
            best.sort_by(|a, b| {
                b.score
                    .total_cmp(&a.score)
                    .then(a.frame_index.cmp(&b.frame_index))
            });
            best.truncate(top);
            let mut pictures: HashMap<(u64, u64), String> = HashMap::new();
            // Overlays written during the scan (--evidence) are copied; the others are drawn
            // from the source video, if it is still there unchanged.
            let mut to_draw = Vec::new();
            for f in &best {
                let name = format!("v{i}-f{:08}-{}.png", f.frame_index, f.face_index);
                match f
                    .evidence
                    .as_ref()
                    .map(|e| out.join(e))
                    .filter(|p| p.is_file())
                {
                    Some(src) => {
                        std::fs::copy(&src, img_dir.join(&name)).map_err(|e| io(&src, e))?;
                        pictures.insert((f.frame_index, f.face_index), name);
                    }
                    None => to_draw.push(*f),
                }
            }
            if !to_draw.is_empty() {
                match overlays_from_source(Path::new(&v.path), &v.sha256, &to_draw) {
                    Ok(drawn) => {
                        for (frame, face, img) in drawn {
                            let name = format!("v{i}-f{frame:08}-{face}.png");
                            let p = img_dir.join(&name);
                            write_png(&img, &p).map_err(|e| io(&p, e))?;
                            pictures.insert((frame, face), name);
                        }
                    }
                    Err(e) => missing.push(e),
                }
            }
            html.push_str("<table class=\"top\"><tr><th>frame</th><th>time</th><th>track</th><th>score</th><th title=\"frames.appearance_logit: the appearance network's value (not centred at even odds), part of the stacked score (the default); higher is more likely manipulated\">appearance logit</th><th>reasons</th><th>evidence (frame and box · aligned face with the blending-boundary map)</th></tr>\n");
            for f in &best {
                let pic = pictures.get(&(f.frame_index, f.face_index)).map_or(
                    "<em>source video not available</em>".to_string(),
                    |n| {
                        images += 1;
                        format!(
                            "<img src=\"img/{n}\" alt=\"frame {} face {}\" width=\"512\">",
                            f.frame_index, f.face_index
                        )
                    },
                );
                let reasons: Vec<String> = f
                    .reasons
                    .iter()
                    .map(|r| format!("<li><code>{}</code></li>", esc(r)))
                    .collect();
                let _ = writeln!(
                    html,
                    "<tr><td>{}</td><td>{}</td><td>{}</td><td>{:.3}</td><td>{}</td><td><ul>{}</ul></td><td>{pic}</td></tr>",
                    f.frame_index,
                    f.time_s.map_or(String::new(), |t| format!("{t:.2} s")),
                    f.track_id,
                    f.score,
                    f.appearance.map_or("—".to_string(), |a| format!("{a:+.2}")),
                    reasons.join("")
                );
            }
            html.push_str("</table>\n");
        }
        html.push_str("</section>\n");
    }
    html.push_str(
        "<script>\n// Click a column header to sort the videos table.\n\
document.querySelectorAll('#videos th').forEach(function (th, col) {\n\
  th.addEventListener('click', function () {\n\
    var body = document.querySelector('#videos tbody');\n\
    var rows = Array.prototype.slice.call(body.rows);\n\
    var num = function (r) { var v = parseFloat(r.cells[col].textContent); return isNaN(v) ? -1 : v; };\n\
    rows.sort(function (a, b) { return num(b) - num(a) || a.cells[col].textContent.localeCompare(b.cells[col].textContent); });\n\
    rows.forEach(function (r) { body.appendChild(r); });\n\
  });\n\
});\n\
document.body.setAttribute('data-ready', document.querySelectorAll('#videos tr.video').length);\n</script>\n</body></html>\n",
    );
    let index = dir.join("index.html");
    std::fs::write(&index, html).map_err(|e| io(&index, e))?;
    Ok(ReportSummary {
        index,
        videos: list.len(),
        flagged,
        images,
        missing_images: missing,
    })
}
