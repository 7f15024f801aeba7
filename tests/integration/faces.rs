//! Face rows end to end: detection every k-th frame with boxes carried in between, and face
//! analysis switched off.

use crate::args;
use crate::util::*;

#[test]
fn detecting_every_third_frame_carries_boxes_and_says_so() {
    let clip = samples().join("single_face.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let preset = repo().join("pipelines/fast-faces.toml");
    let out = tmp.path().join("out");
    seamscan_ok(args!(
        "scan",
        clip,
        "-o",
        out,
        "--pipeline",
        preset,
        "--max-frames",
        "12",
        "--device",
        "cpu"
    ));
    let frames = read_table(&out, "frames");
    let rows = rows_of(&frames, &clip);
    assert_eq!(rows.len(), 12, "one face per frame: {rows:?}");
    let mut last_detected = None;
    for r in &rows {
        let i = r["frame_index"].u64().unwrap();
        let detected = r["face_detected"] == Value::Bool(true);
        assert_eq!(detected, i % 3 == 0, "frame {i}");
        assert_eq!(r["track_id"].u64(), Some(0));
        let bbox: Vec<f64> = ["box_x", "box_y", "box_w", "box_h"]
            .iter()
            .map(|c| r[*c].f64().unwrap())
            .collect();
        if detected {
            last_detected = Some(bbox);
        } else {
            assert_eq!(Some(bbox), last_detected, "frame {i} carries the last box");
        }
    }
    let config = read_table(&out, "runs")[0]["config_toml"]
        .str()
        .unwrap()
        .to_string();
    assert!(config.contains("detect_every = 3"), "{config}");
}

#[test]
fn with_faces_off_each_frame_has_one_face_less_row() {
    let clip = samples().join("single_face.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let preset = faces_off_preset(tmp.path());
    let out = tmp.path().join("out");
    seamscan_ok(args!(
        "scan",
        clip,
        "-o",
        out,
        "--pipeline",
        preset,
        "--max-frames",
        "5"
    ));
    let videos = read_table(&out, "videos");
    let v = video(&videos, &clip);
    assert_eq!(v["status"].str(), Some("ok"));
    assert!(v["faces"].is_null() && v["frames_with_face"].is_null());
    let frames = read_table(&out, "frames");
    assert_eq!(frames.len(), 5);
    assert!(frames.iter().all(|r| r["face_index"].is_null()));
    assert!(
        !read_table(&out, "runs")[0]["device"]
            .str()
            .unwrap()
            .contains("detector")
    );
}
