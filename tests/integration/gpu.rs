//! The GPU path end to end (on Mesa's lavapipe where there is no GPU): same rows as the CPU
//! path within the parity tolerances, batching across files, and the fall-back to the CPU
//! when the device fails mid-run.

use std::collections::BTreeMap;
use std::path::Path;

use crate::args;
use crate::util::*;

/// `frames` rows keyed by (path, frame_index).
fn by_frame(out: &Path) -> BTreeMap<(String, u64), Row> {
    read_table(out, "frames")
        .into_iter()
        .map(|r| {
            (
                (
                    r["path"].str().unwrap().to_string(),
                    r["frame_index"].u64().unwrap(),
                ),
                r,
            )
        })
        .collect()
}

fn device(out: &Path) -> String {
    read_table(out, "runs")[0]["device"]
        .str()
        .unwrap()
        .to_string()
}

#[test]
fn the_gpu_path_writes_the_cpu_paths_rows() {
    let tmp = tempfile::tempdir().unwrap();
    let a = h264_clip(tmp.path(), "a.mp4", 1);
    let b = ffmpeg_gen(
        &tmp.path().join("b.mkv"),
        "testsrc2=size=200x120:rate=10",
        &["-t", "2", "-c:v", "libx264", "-preset", "ultrafast"],
    );
    let (gpu, cpu) = (tmp.path().join("gpu"), tmp.path().join("cpu"));
    // Whole-frame features only: the face path's parity is the next test's.
    let preset = faces_off_preset(tmp.path());
    seamscan_ok(args!(
        "scan",
        a,
        b,
        "-o",
        gpu,
        "--device",
        "gpu",
        "--batch",
        "8",
        "--pipeline",
        preset
    ));
    assert_eq!(
        seamscan(args!(
            "scan",
            a,
            b,
            "-o",
            cpu,
            "--device",
            "cpu",
            "--pipeline",
            preset
        ))
        .status
        .code(),
        Some(0)
    );
    assert!(device(&gpu).starts_with("gpu: "), "{}", device(&gpu));
    assert!(device(&cpu).starts_with("cpu"), "{}", device(&cpu));
    let (g, c) = (by_frame(&gpu), by_frame(&cpu));
    assert_eq!(g.len(), 25 + 20);
    assert_eq!(g.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>());
    for (k, gr) in &g {
        let cr = &c[k];
        for col in [
            "pts",
            "time_s",
            "width",
            "height",
            "tiles",
            "tile_size",
            "noise_level",
        ] {
            assert_eq!(gr[col], cr[col], "{k:?} {col}");
        }
        let close = |col: &str, tol: f64| {
            let (x, y) = (gr[col].f64().unwrap(), cr[col].f64().unwrap());
            assert!(
                (x - y).abs() <= tol * y.abs().max(1.0),
                "{k:?} {col}: gpu {x} cpu {y}"
            );
        };
        close("hf_fraction", 1e-3);
        close("spectral_slope", 1e-3);
        close("peak_prominence", 1e-2);
    }
    // Every file's row comes after its frames, with the right count.
    let videos = read_table(&gpu, "videos");
    assert_eq!(video(&videos, &a)["frames_analyzed"].u64(), Some(25));
}

#[test]
fn a_gpu_failure_mid_run_falls_back_to_the_cpu_without_losing_a_frame() {
    let tmp = tempfile::tempdir().unwrap();
    let a = h264_clip(tmp.path(), "a.mp4", 2);
    let out = tmp.path().join("out");
    let preset = faces_off_preset(tmp.path());
    let r = std::process::Command::new(env!("CARGO_BIN_EXE_seamscan"))
        .args([
            std::ffi::OsStr::new("scan"),
            a.as_os_str(),
            std::ffi::OsStr::new("-o"),
            out.as_os_str(),
            std::ffi::OsStr::new("--pipeline"),
            preset.as_os_str(),
        ])
        .args(["--device", "gpu", "--batch", "4", "--log-format", "json"])
        .env("SEAMSCAN_GPU_FAIL_AFTER", "2")
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&r.stderr);
    assert_eq!(r.status.code(), Some(0), "{stderr}");
    assert!(stderr.contains("GPU failed"), "{stderr}");
    let d = device(&out);
    assert!(d.contains("fell back to cpu after 2 batches"), "{d}");
    // 50 frames, each exactly once.
    let frames = by_frame(&out);
    assert_eq!(frames.len(), 50);
    assert_eq!(read_table(&out, "frames").len(), 50);
}

#[test]
fn auto_uses_the_cpu_path_when_the_only_adapter_is_software() {
    let tmp = tempfile::tempdir().unwrap();
    let a = h264_clip(tmp.path(), "a.mp4", 1);
    let out = tmp.path().join("out");
    assert_eq!(seamscan(args!("scan", a, "-o", out)).status.code(), Some(0));
    let d = device(&out);
    // CI and development machines have only lavapipe; on a machine with a real GPU, auto
    // must pick it.
    assert!(
        d.starts_with("cpu") || (d.starts_with("gpu: ") && !d.contains(", Cpu)")),
        "{d}"
    );
}

#[test]
fn face_rows_agree_between_the_gpu_and_cpu_paths() {
    // The detector on burn's wgpu backend vs its flex backend, the crop features on the
    // shaders vs their CPU twins, on real frames with a face.
    let clip = samples().join("single_face.mp4");
    let tmp = tempfile::tempdir().unwrap();
    let (gpu, cpu) = (tmp.path().join("gpu"), tmp.path().join("cpu"));
    for (out, dev) in [(&gpu, "gpu"), (&cpu, "cpu")] {
        seamscan_ok(args!(
            "scan",
            clip,
            "-o",
            out,
            "--device",
            dev,
            "--max-frames",
            "8"
        ));
    }
    assert!(
        device(&gpu).contains("detector burn wgpu"),
        "{}",
        device(&gpu)
    );
    assert!(
        device(&cpu).contains("detector burn flex"),
        "{}",
        device(&cpu)
    );
    let (g, c) = (by_frame(&gpu), by_frame(&cpu));
    assert_eq!(g.len(), 8);
    assert_eq!(g.keys().collect::<Vec<_>>(), c.keys().collect::<Vec<_>>());
    for (k, gr) in &g {
        let cr = &c[k];
        assert_eq!(gr["track_id"], cr["track_id"], "{k:?}");
        let close = |col: &str, tol: f64| {
            let (x, y) = (gr[col].f64().unwrap(), cr[col].f64().unwrap());
            assert!(
                (x - y).abs() <= tol * y.abs().max(1.0),
                "{k:?} {col}: gpu {x} cpu {y}"
            );
        };
        for col in ["box_x", "box_y", "box_w", "box_h"] {
            close(col, 1e-3);
        }
        close("det_score", 1e-4);
        close("face_spectral_slope", 1e-2);
        close("face_hf_fraction", 1e-2);
        close("noise_log_ratio", 1e-2);
        close("boundary_log_ratio", 1e-2);
        close("hf_log_ratio", 1e-2);
        close("lab_delta_e", 1e-2);
        // The classifier on the GPU path's features: the same verdict band within 0.02.
        close("score", 2e-2);
    }
}
