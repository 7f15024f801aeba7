//! Our CenterFace (burn, flex backend, our letterbox and decoding) against onnxruntime's on
//! the same frames: the fixture is written once by `scripts/centerface-reference.py`.

use std::path::PathBuf;

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_faces::{Detector, DetectorConfig, RgbView, geometry::iou};
use serde::Deserialize;

#[derive(Deserialize)]
struct Reference {
    max_side: u32,
    threshold: f32,
    nms_iou: f32,
    clips: Vec<Clip>,
}

#[derive(Deserialize)]
struct Clip {
    file: String,
    every: u64,
    max_frames: u64,
    frames: Vec<RefFrame>,
}

#[derive(Deserialize)]
struct RefFrame {
    index: u64,
    faces: Vec<RefFace>,
    #[serde(default)]
    raw_top: Vec<RawCell>,
}

#[derive(Deserialize)]
struct RefFace {
    #[serde(rename = "box")]
    bbox: [f32; 4],
}

#[derive(Deserialize)]
struct RawCell {
    cell: usize,
    heat: f32,
    scale: [f32; 2],
    offset: [f32; 2],
    landmarks: [f32; 10],
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn boxes_and_raw_outputs_match_onnxruntime() {
    let text = std::fs::read_to_string(
        root().join("crates/faces/tests/fixtures/centerface_reference.json"),
    )
    .expect("fixture");
    let reference: Reference = serde_json::from_str(&text).expect("fixture parses");
    let config = DetectorConfig {
        threshold: reference.threshold,
        nms_iou: reference.nms_iou,
        min_face: 0.0,
        max_side: reference.max_side,
    };
    let det = Detector::cpu(config);
    let (mut ious, mut raw_diff, mut raw_cells) = (Vec::new(), 0f32, 0usize);
    let mut count_mismatch = 0;
    for clip in &reference.clips {
        let options = DecodeOptions {
            sampling: Sampling {
                every: clip.every,
                fps: None,
                max_frames: Some(clip.max_frames),
            },
            rgb: true,
            threads: 0,
        };
        let mut reader = VideoReader::open(&root().join("samples").join(&clip.file), options)
            .expect("sample opens");
        for want in &clip.frames {
            let frame = reader
                .next_frame()
                .expect("decodes")
                .expect("frame present");
            assert_eq!(frame.index, want.index, "{}", clip.file);
            let view =
                RgbView::new(frame.rgb.as_ref().unwrap(), frame.width, frame.height).unwrap();
            let (raw, lb) = det.forward(&[view]).unwrap();
            let plane = raw.shape.1 * raw.shape.2;
            for c in &want.raw_top {
                let mut d = (raw.heatmap[c.cell] - c.heat).abs();
                for k in 0..2 {
                    d = d.max((raw.scale[k * plane + c.cell] - c.scale[k]).abs());
                    d = d.max((raw.offset[k * plane + c.cell] - c.offset[k]).abs());
                }
                for k in 0..10 {
                    d = d.max((raw.landmarks[k * plane + c.cell] - c.landmarks[k]).abs());
                }
                raw_diff = raw_diff.max(d);
                raw_cells += 1;
            }
            let ours = seamscan_faces::detector::decode(
                &raw,
                0,
                &lb,
                (frame.width as f32, frame.height as f32),
                det.config(),
            );
            if ours.len() != want.faces.len() {
                count_mismatch += 1;
            }
            for r in &want.faces {
                let best = ours
                    .iter()
                    .map(|o| iou([o.x, o.y, o.w, o.h], r.bbox))
                    .fold(0f32, f32::max);
                ious.push(best);
            }
        }
    }
    ious.sort_by(f32::total_cmp);
    let median = ious[ious.len() / 2];
    eprintln!(
        "reference faces {}, median IoU {median:.5}, min IoU {:.5}, frames with a different face count {count_mismatch}, raw cells {raw_cells}, max |raw diff| {raw_diff:.2e}",
        ious.len(),
        ious[0]
    );
    assert!(ious.len() >= 40, "fixture holds too few faces");
    assert!(median >= 0.95, "median IoU {median}");
    assert!(raw_cells >= 100);
    assert!(raw_diff < 1e-4, "raw outputs differ by {raw_diff}");
    assert!(
        count_mismatch <= 2,
        "{count_mismatch} frames with a different face count"
    );
}
