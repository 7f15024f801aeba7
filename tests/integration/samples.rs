//! The real sample clips plus generated clips of every container/codec family: every file is
//! analysed, frame counts and timestamps equal FFmpeg's, hashes equal sha256sum, evidence is
//! untouched.

use std::ffi::OsStr;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::args;
use crate::util::*;

/// Generates one clip per required container/codec, a VFR clip and a rotated clip.
fn generated(dir: &Path) -> Vec<PathBuf> {
    let src = "testsrc2=size=320x240:rate=25";
    let h264 = h264_clip(dir, "h264.mp4", 2);
    let hevc = ffmpeg_gen(
        &dir.join("hevc.mov"),
        src,
        &[
            "-t",
            "1",
            "-c:v",
            "libx265",
            "-preset",
            "ultrafast",
            "-x265-params",
            "log-level=none",
            "-tag:v",
            "hvc1",
            "-pix_fmt",
            "yuv420p",
        ],
    );
    let mpeg4 = ffmpeg_gen(
        &dir.join("mpeg4.avi"),
        src,
        &["-t", "1", "-c:v", "mpeg4", "-q:v", "5"],
    );
    let vp9 = ffmpeg_gen(
        &dir.join("vp9.webm"),
        src,
        &[
            "-t",
            "1",
            "-c:v",
            "libvpx-vp9",
            "-deadline",
            "realtime",
            "-cpu-used",
            "8",
            "-b:v",
            "300k",
        ],
    );
    // Variable frame rate: the gaps between frames grow (pts = N(N+10)/2 ticks of 1/25 s).
    let vfr = ffmpeg_gen(
        &dir.join("vfr.mkv"),
        src,
        &[
            "-frames:v",
            "40",
            "-vf",
            "setpts=N*(N+10)/2",
            "-vsync",
            "passthrough",
            "-c:v",
            "libx264",
            "-preset",
            "ultrafast",
        ],
    );
    // Display rotation: a stream copy with a rotate tag writes the display matrix.
    let rotated = dir.join("rotated.mp4");
    run_ok(
        std::process::Command::new("ffmpeg")
            .args(["-nostdin", "-v", "error", "-y", "-i"])
            .arg(&h264)
            .args(["-c", "copy", "-metadata:s:v:0", "rotate=90"])
            .arg(&rotated),
    );
    vec![h264, hevc, mpeg4, vp9, vfr, rotated]
}

#[test]
fn samples_and_generated_clips_are_scanned_exactly() {
    let samples = samples();
    let tmp = tempfile::tempdir().unwrap();
    let inputs = tmp.path().join("in");
    std::fs::create_dir(&inputs).unwrap();
    let mut clips = generated(&inputs);
    // The same bytes under a second name, and under a name that is not UTF-8.
    let copy = inputs.join("copy of h264.mp4");
    std::fs::copy(&clips[0], &copy).unwrap();
    let odd = inputs.join(OsStr::from_bytes(b"clip-\xff\xfe.mov"));
    std::fs::copy(&clips[1], &odd).unwrap();
    clips.push(copy.clone());
    clips.push(odd.clone());
    let sample_files: Vec<PathBuf> = std::fs::read_dir(&samples)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|e| e == "mp4" || e == "mov"))
        .collect();
    assert_eq!(sample_files.len(), 9);
    let all: Vec<PathBuf> = clips.iter().chain(&sample_files).cloned().collect();
    let before = fingerprint(&all);

    let out = tmp.path().join("out");
    let r = seamscan(args!("scan", samples, inputs, "-o", out, "--jobs", "2"));
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "stderr: {stderr}");
    assert_eq!(fingerprint(&all), before, "inputs changed");

    let videos = read_table(&out, "videos");
    let frames = read_table(&out, "frames");
    assert_eq!(
        videos.len(),
        all.len(),
        "one videos row per input (the text files in samples/ are skipped)"
    );
    for path in &all {
        let v = video(&videos, path);
        // Every sample but the cartoon shows a face; the generated test patterns do not.
        let name = path.file_name().unwrap().to_string_lossy();
        let expected = if sample_files.contains(path) && name != "no_face.mp4" {
            "ok"
        } else {
            "no_face"
        };
        assert_eq!(
            v["status"].str(),
            Some(expected),
            "{}: {v:?}",
            path.display()
        );
        assert_eq!(
            v["sha256"].str(),
            Some(sha256sum(path).as_str()),
            "{}",
            path.display()
        );
        assert_eq!(
            v["size_bytes"].u64(),
            Some(std::fs::metadata(path).unwrap().len())
        );
        assert_eq!(
            v["path_bytes"],
            Value::Bytes(path.as_os_str().as_bytes().to_vec())
        );
        let expected = ffprobe_frames(path);
        let rows = frames_of(&frames, path);
        assert_eq!(
            rows.len() as u64,
            expected,
            "{}: frames rows vs ffprobe -count_frames",
            path.display()
        );
        assert_eq!(v["frames_decoded"].u64(), Some(expected));
        assert_eq!(v["frames_analyzed"].u64(), Some(expected));
        // Exact timestamps, strictly increasing, and time_s = pts × time base.
        let pts: Vec<i64> = rows.iter().map(|r| r["pts"].i64().unwrap()).collect();
        assert_eq!(pts, ffprobe_pts(path), "{}: pts vs ffprobe", path.display());
        assert!(
            pts.windows(2).all(|w| w[0] < w[1]),
            "{}: pts not increasing",
            path.display()
        );
        for (i, r) in rows.iter().enumerate() {
            assert_eq!(r["frame_index"].u64(), Some(i as u64));
            assert_eq!(r["sha256"], v["sha256"]);
            let spectrum = match &r["spectrum"] {
                Value::List(s) => s,
                other => panic!("spectrum {other:?}"),
            };
            assert_eq!(spectrum.len(), 64);
            let hf = r["hf_fraction"].f64().unwrap();
            assert!((0.0..=1.0).contains(&hf));
            assert!(r["noise_level"].f64().unwrap() >= 0.0);
            // Every face row is scored; a row without a face says so.
            match r["face_index"].is_null() {
                true => {
                    assert!(r["score"].is_null());
                    assert_eq!(r["verdict"].str(), Some("no_face"));
                }
                false => {
                    assert!((0.0..=1.0).contains(&r["score"].f64().unwrap()));
                    let v = r["verdict"].str().unwrap();
                    assert!(
                        ["authentic", "suspicious", "manipulated"].contains(&v),
                        "{v}"
                    );
                }
            }
        }
    }
    // Faces: found in (nearly) every frame of the face clips, as one track; never in the
    // cartoon.
    for name in [
        "single_face.mp4",
        "WolfgangLanger_Pexels.mp4",
        "carphone_pristine.mp4",
    ] {
        let path = samples.join(name);
        let v = video(&videos, &path);
        let (with, all) = (
            v["frames_with_face"].u64().unwrap(),
            v["frames_analyzed"].u64().unwrap(),
        );
        assert!(
            with * 100 >= all * 95,
            "{name}: faces in {with} of {all} frames"
        );
        let rows = rows_of(&frames, &path);
        let (w, h) = (
            v["width"].u64().unwrap() as f64,
            v["height"].u64().unwrap() as f64,
        );
        let tracked = rows
            .iter()
            .filter(|r| r["track_id"].u64() == Some(0))
            .count();
        assert!(
            tracked * 100 >= rows.len() * 95,
            "{name}: track 0 on {tracked} of {} rows",
            rows.len()
        );
        for r in rows.iter().filter(|r| !r["face_index"].is_null()) {
            let (bx, by, bw, bh) = (
                r["box_x"].f64().unwrap(),
                r["box_y"].f64().unwrap(),
                r["box_w"].f64().unwrap(),
                r["box_h"].f64().unwrap(),
            );
            assert!(
                bx >= 0.0
                    && by >= 0.0
                    && bw > 16.0
                    && bh > 16.0
                    && bx + bw <= w + 0.01
                    && by + bh <= h + 0.01,
                "{name}: box {r:?}"
            );
            assert!(r["det_score"].f64().unwrap() > 0.5);
            assert_eq!(r["face_detected"], Value::Bool(true));
            match &r["landmarks"] {
                Value::List(l) => assert_eq!(l.len(), 10),
                other => panic!("landmarks {other:?}"),
            }
            for col in [
                "face_spectral_slope",
                "face_noise_level",
                "hf_log_ratio",
                "noise_log_ratio",
                "boundary_log_ratio",
                "lab_delta_e",
            ] {
                assert!(
                    r[col].f64().is_some_and(f64::is_finite),
                    "{name}: {col} in {r:?}"
                );
            }
            assert!(r["jitter_frames"].u64().unwrap() >= 1);
        }
    }
    let cartoon = samples.join("no_face.mp4");
    assert_eq!(video(&videos, &cartoon)["faces"].u64(), Some(0));
    assert_eq!(video(&videos, &cartoon)["frames_with_face"].u64(), Some(0));
    assert!(
        rows_of(&frames, &cartoon)
            .iter()
            .all(|r| r["face_index"].is_null() && r["track_id"].is_null())
    );
    // The detector takes Big Buck Bunny's rabbit for a face in one frame, and the model
    // scores that face as manipulated; a glimpse (faces in fewer than `model.min_face_frames`
    // = 3 analysed frames) makes the video at most `suspicious`.
    let bunny = video(&videos, &samples.join("bigbuckbunny.mp4"));
    assert!(bunny["frames_with_face"].u64().unwrap() < 3, "{bunny:?}");
    assert_ne!(bunny["verdict"].str(), Some("manipulated"), "{bunny:?}");
    // Identical bytes: the same digest under both names.
    assert_eq!(
        video(&videos, &copy)["sha256"],
        video(&videos, &clips[0])["sha256"]
    );
    // Containers and codecs as FFmpeg names them.
    let codec = |p: &Path| video(&videos, p)["codec"].str().unwrap().to_string();
    assert_eq!(codec(&clips[0]), "h264");
    assert_eq!(codec(&clips[1]), "hevc");
    assert_eq!(codec(&clips[2]), "mpeg4");
    assert_eq!(codec(&clips[3]), "vp9");
    // The VFR clip's frame intervals really vary.
    let vfr_t: Vec<f64> = frames_of(&frames, &clips[4])
        .iter()
        .map(|r| r["time_s"].f64().unwrap())
        .collect();
    let gaps: Vec<f64> = vfr_t.windows(2).map(|w| w[1] - w[0]).collect();
    assert!(gaps.last().unwrap() > &(gaps[0] * 5.0), "{gaps:?}");
    // Rotation: displayed size is swapped, and recorded.
    let rot = video(&videos, &clips[5]);
    assert_eq!(
        (
            rot["width"].u64(),
            rot["height"].u64(),
            rot["rotation"].u64()
        ),
        (Some(240), Some(320), Some(270))
    );
    assert!(
        frames_of(&frames, &clips[5])
            .iter()
            .all(|r| r["width"].u64() == Some(240))
    );

    // The run is recorded.
    let runs = read_table(&out, "runs");
    assert_eq!(runs.len(), 1);
    let run = &runs[0];
    assert_eq!(run["inputs"].u64(), Some(all.len() as u64));
    assert_eq!(run["files_ok"].u64(), Some(all.len() as u64));
    // SHA256SUMS, README.md and the photos (`seamscan synth` inputs) are not videos.
    let not_video = std::fs::read_dir(repo().join("samples"))
        .unwrap()
        .filter(|e| {
            let p = e.as_ref().unwrap().path();
            !matches!(p.extension().and_then(|x| x.to_str()), Some("mp4" | "mov"))
        })
        .count() as u64;
    assert_eq!(not_video, 10);
    assert_eq!(run["files_skipped"].u64(), Some(not_video));
    assert_eq!(run["frames_analyzed"].u64(), Some(frames.len() as u64));
    assert_eq!(run["tool_version"].str(), Some(env!("CARGO_PKG_VERSION")));
    assert!(run["device"].str().unwrap().starts_with("cpu"));
    let config = run["config_toml"].str().unwrap();
    let digest = run_ok(
        std::process::Command::new("sh")
            .arg("-c")
            .arg("printf '%s' \"$0\" | sha256sum")
            .arg(config),
    );
    assert_eq!(run["config_sha256"].str(), digest.split_whitespace().next());
    assert!(
        matches!(&run["argv"], Value::List(a) if a.len() == 8 && a[1] == Value::Str("scan".into()))
    );
    // No temporary files are left; every part is named after the run.
    let id = run["run_id"].str().unwrap();
    for t in ["videos", "frames", "runs"] {
        for p in parts(&out, t) {
            let name = p.file_name().unwrap().to_string_lossy().into_owned();
            assert!(
                name.starts_with(&format!("part-{id}-")) && name.ends_with(".parquet"),
                "{name}"
            );
        }
    }
}

#[test]
fn sampling_by_step_rate_and_limit() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = h264_clip(tmp.path(), "c.mp4", 2); // 50 frames at 25 fps
    let scan = |extra: &[&str], decoded: u64| {
        let out = tmp.path().join(format!("out{}", extra.join("_")));
        let mut a: Vec<&OsStr> = vec![
            OsStr::new("scan"),
            clip.as_os_str(),
            OsStr::new("-o"),
            out.as_os_str(),
        ];
        a.extend(extra.iter().map(OsStr::new));
        let r = seamscan(&a);
        assert_eq!(
            r.status.code(),
            Some(0),
            "{}",
            String::from_utf8_lossy(&r.stderr)
        );
        let frames = read_table(&out, "frames");
        let videos = read_table(&out, "videos");
        assert_eq!(videos[0]["frames_decoded"].u64(), Some(decoded));
        frames
            .iter()
            .map(|r| r["frame_index"].u64().unwrap())
            .collect::<Vec<_>>()
    };
    let mut every = scan(&["--every", "7"], 50);
    every.sort();
    assert_eq!(every, vec![0, 7, 14, 21, 28, 35, 42, 49]);
    let mut fps = scan(&["--fps", "5"], 50);
    fps.sort();
    assert_eq!(fps, vec![0, 5, 10, 15, 20, 25, 30, 35, 40, 45]);
    // Decoding stops once the limit is reached.
    assert_eq!(scan(&["--max-frames", "3"], 3), vec![0, 1, 2]);
    assert_eq!(
        scan(&["--every", "10", "--max-frames", "2"], 11),
        vec![0, 10]
    );
}
