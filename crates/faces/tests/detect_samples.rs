//! CenterFace on the real sample clips: coverage on faces, silence on a cartoon.

use std::path::PathBuf;

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_faces::{Detector, DetectorConfig, Face, RgbView};

fn sample(name: &str) -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name)
}

/// Detects on every `every`-th frame of a sample (up to `max` frames), in batches of 8.
fn detect_clip(det: &Detector, name: &str, every: u64, max: u64) -> Vec<Vec<Face>> {
    let options = DecodeOptions {
        sampling: Sampling {
            every,
            fps: None,
            max_frames: Some(max),
        },
        rgb: true,
        threads: 0,
    };
    let mut reader = VideoReader::open(&sample(name), options).expect("sample opens");
    let mut frames = Vec::new();
    while let Some(f) = reader.next_frame().expect("sample decodes") {
        frames.push(f);
    }
    let mut out = Vec::new();
    for chunk in frames.chunks(8) {
        let views: Vec<RgbView<'_>> = chunk
            .iter()
            .map(|f| RgbView::new(f.rgb.as_ref().unwrap(), f.width, f.height).unwrap())
            .collect();
        out.extend(det.detect(&views).expect("detection runs"));
    }
    out
}

#[test]
fn faces_are_found_in_face_clips_and_not_in_the_cartoon() {
    let det = Detector::cpu(DetectorConfig::default());
    for (clip, every) in [
        ("single_face.mp4", 6),
        ("WolfgangLanger_Pexels.mp4", 40),
        ("carphone_pristine.mp4", 10),
    ] {
        let faces = detect_clip(&det, clip, every, 12);
        let found = faces.iter().filter(|f| !f.is_empty()).count();
        eprintln!(
            "{clip}: faces in {found}/{} frames: {:?}",
            faces.len(),
            faces.first()
        );
        assert!(
            found * 100 >= faces.len() * 95,
            "{clip}: {found}/{}",
            faces.len()
        );
    }
    let faces = detect_clip(&det, "no_face.mp4", 8, 12);
    let found = faces.iter().filter(|f| !f.is_empty()).count();
    assert_eq!(found, 0, "cartoon: {faces:?}");
}
