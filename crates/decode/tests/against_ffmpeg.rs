//! The decoder's pixels against the `ffmpeg` CLI's own output for the same clip.

use std::path::{Path, PathBuf};
use std::process::Command;

use seamscan_decode::{
    DecodeOptions, EncodeSettings, ErrorKind, VideoReader, VideoWriter, sniff,
    x264_cpu_capabilities,
};

fn ffmpeg(args: &[&str]) {
    let out = Command::new("ffmpeg")
        .args(["-nostdin", "-v", "error", "-y"])
        .args(args)
        .output()
        .expect("ffmpeg CLI is installed");
    assert!(
        out.status.success(),
        "ffmpeg {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn clip(dir: &Path) -> PathBuf {
    let p = dir.join("h.mp4");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "testsrc2=size=320x240:rate=25",
        "-t",
        "1",
        "-c:v",
        "libx264",
        "-preset",
        "ultrafast",
        "-pix_fmt",
        "yuv420p",
        p.to_str().unwrap(),
    ]);
    p
}

/// The first frame as the CLI renders it (autorotated), in `pix_fmt`.
fn cli_frame(path: &Path, pix_fmt: &str) -> Vec<u8> {
    let out = path.with_extension(pix_fmt);
    ffmpeg(&[
        "-i",
        path.to_str().unwrap(),
        "-frames:v",
        "1",
        "-f",
        "rawvideo",
        "-pix_fmt",
        pix_fmt,
        out.to_str().unwrap(),
    ]);
    std::fs::read(out).unwrap()
}

#[test]
fn luma_and_rgb_match_the_cli_including_rotation() {
    let dir = tempfile::tempdir().unwrap();
    let plain = clip(dir.path());
    let rotated = dir.path().join("r.mp4");
    ffmpeg(&[
        "-i",
        plain.to_str().unwrap(),
        "-c",
        "copy",
        "-metadata:s:v:0",
        "rotate=90",
        rotated.to_str().unwrap(),
    ]);
    for path in [&plain, &rotated] {
        let mut r = VideoReader::open(path, DecodeOptions::default()).unwrap();
        let f = r.next_frame().unwrap().unwrap();
        let yuv = cli_frame(path, "yuv420p");
        let (w, h) = (f.width, f.height);
        // Luma is the decoder's own Y plane: bit-exact, in the same orientation as the CLI.
        assert_eq!(f.luma.len(), w * h);
        assert_eq!(&f.luma[..], &yuv[..w * h], "{}", path.display());
        // RGB goes through swscale like the CLI; allow its rounding differences.
        let rgb = cli_frame(path, "rgb24");
        let ours = f.rgb.as_ref().unwrap();
        assert_eq!(ours.len(), rgb.len());
        let mean_abs: f64 = ours
            .iter()
            .zip(&rgb)
            .map(|(a, b)| (*a as f64 - *b as f64).abs())
            .sum::<f64>()
            / rgb.len() as f64;
        assert!(
            mean_abs < 3.0,
            "{}: mean abs RGB difference {mean_abs}",
            path.display()
        );
    }
    let r = VideoReader::open(&rotated, DecodeOptions::default()).unwrap();
    assert_eq!(
        (r.info().width, r.info().height, r.info().rotation),
        (240, 320, 270)
    );
}

#[test]
fn broken_inputs_get_the_right_kind() {
    let dir = tempfile::tempdir().unwrap();
    let junk = dir.path().join("junk.mp4");
    std::fs::write(
        &junk,
        (0..20000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 13) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let err = VideoReader::open(&junk, DecodeOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::Unreadable, "{err}");
    assert_eq!(sniff(&junk), None);

    let audio = dir.path().join("a.m4a");
    ffmpeg(&[
        "-f",
        "lavfi",
        "-i",
        "sine=frequency=440:duration=1",
        "-c:a",
        "aac",
        audio.to_str().unwrap(),
    ]);
    let err = VideoReader::open(&audio, DecodeOptions::default())
        .err()
        .unwrap();
    assert_eq!(err.kind, ErrorKind::NoVideo, "{err}");
    assert!(err.message.contains("audio"), "{err}");

    // A name FFmpeg would otherwise take for a protocol.
    let colon = dir.path().join("concat:x.mp4");
    std::fs::copy(clip(dir.path()), &colon).unwrap();
    assert!(sniff(&colon).is_some_and(|f| f.contains("mp4")));
    let mut r = VideoReader::open(&colon, DecodeOptions::default()).unwrap();
    assert!(r.next_frame().unwrap().is_some());
}

/// The runs table's FFmpeg version names the release the `ffmpeg` CLI reports, not only
/// libavcodec's version (which point releases share).
#[test]
fn the_ffmpeg_version_names_the_release() {
    let v = seamscan_decode::ffmpeg_version();
    assert!(v.starts_with("libavcodec "), "{v}");
    let cli = Command::new("ffmpeg").arg("-version").output().unwrap();
    let first = String::from_utf8_lossy(&cli.stdout);
    let release = first.split_whitespace().nth(2).unwrap();
    assert!(
        v.ends_with(&format!("(FFmpeg {release})")),
        "{v} against the CLI's {release}"
    );
}

/// The instruction sets recorded for an encode are those libx264 names to the `ffmpeg` CLI on
/// the same host (where synthesised clips come out the same bytes depends on them).
#[test]
fn the_x264_cpu_capabilities_are_those_the_cli_reports() {
    let dir = tempfile::tempdir().unwrap();
    let mut w = VideoWriter::create(
        &dir.path().join("w.mp4"),
        64,
        48,
        &EncodeSettings::default(),
    )
    .unwrap();
    for i in 0..3u8 {
        w.push_rgb(&vec![i * 60; 64 * 48 * 3]).unwrap();
    }
    w.finish().unwrap();
    let ours = x264_cpu_capabilities().expect("libx264 reported its instruction sets");
    let cli = Command::new("ffmpeg")
        .args([
            "-nostdin",
            "-hide_banner",
            "-v",
            "info",
            "-f",
            "lavfi",
            "-i",
        ])
        .args([
            "testsrc2=size=64x48:rate=25",
            "-frames:v",
            "2",
            "-c:v",
            "libx264",
        ])
        .args(["-threads", "1", "-f", "null", "-"])
        .output()
        .unwrap();
    let log = String::from_utf8_lossy(&cli.stderr);
    let theirs = log
        .lines()
        .find_map(|l| l.split_once("using cpu capabilities:"))
        .map(|(_, caps)| caps.trim())
        .unwrap_or_else(|| panic!("the CLI named no capabilities:\n{log}"));
    assert_eq!(ours, theirs);
    assert!(!ours.is_empty());
}
