//! Every kind of bad input gets a `videos` row with its status and a readable error, one line
//! on stderr, and the run goes on with the rest (exit code 1).

use std::io::Write;
use std::os::unix::ffi::OsStrExt;
use std::path::{Path, PathBuf};

use crate::args;
use crate::util::*;

/// Overwrites `len` bytes in the middle of a copy of `src` with noise (corrupt packets).
fn corrupt_middle(src: &Path, dst: &Path, len: usize) {
    let mut b = std::fs::read(src).unwrap();
    let mid = b.len() / 2;
    for (i, x) in b[mid..mid + len].iter_mut().enumerate() {
        *x = (i as u32).wrapping_mul(2654435761).to_le_bytes()[3];
    }
    std::fs::write(dst, b).unwrap();
}

#[test]
fn bad_inputs_are_reported_and_the_run_goes_on() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path().join("in");
    std::fs::create_dir(&d).unwrap();
    let good = h264_clip(&d, "good.mp4", 1);
    let bytes = std::fs::read(&good).unwrap();

    let empty = d.join("empty.mp4");
    std::fs::write(&empty, b"").unwrap();
    // moov comes last in a plain mp4: cut in half, the index is gone.
    let truncated = d.join("truncated.mp4");
    std::fs::write(&truncated, &bytes[..bytes.len() / 2]).unwrap();
    let random = d.join("random.mp4");
    std::fs::write(
        &random,
        (0..50_000u32)
            .map(|i| (i.wrapping_mul(2654435761) >> 11) as u8)
            .collect::<Vec<u8>>(),
    )
    .unwrap();
    let audio = ffmpeg_gen(
        &d.join("audio.m4a"),
        "sine=frequency=440:duration=1",
        &["-c:a", "aac"],
    );
    // An unknown codec tag where the mp4 sample description says avc1.
    let unsupported = d.join("unknown-codec.mp4");
    let stsd = bytes.windows(4).position(|w| w == b"stsd").unwrap();
    let avc1 = stsd + bytes[stsd..].windows(4).position(|w| w == b"avc1").unwrap();
    let mut patched = bytes.clone();
    patched[avc1..avc1 + 4].copy_from_slice(b"zzzz");
    std::fs::write(&unsupported, patched).unwrap();
    // A "faststart" mp4 (index first) cut in half: the index promises frames that are gone.
    let faststart = h264_from(
        &d.join("faststart.mp4"),
        "testsrc2=size=320x240:rate=25",
        2,
        &["-movflags", "+faststart"],
    );
    let fs_bytes = std::fs::read(&faststart).unwrap();
    let cut = d.join("faststart-cut.mp4");
    std::fs::write(&cut, &fs_bytes[..fs_bytes.len() / 2]).unwrap();
    let corrupt = d.join("corrupt-middle.mp4");
    corrupt_middle(&good, &corrupt, 4000);
    let fifo = d.join("fifo.mp4");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    // Listed in the manifest but gone by the time it is read.
    let vanished = d.join("vanished.mp4");
    let manifest = tmp.path().join("manifest.txt");
    // The files that exist (their bytes and mtimes must not change), then the vanished one.
    let inputs: Vec<PathBuf> = [
        &good,
        &empty,
        &truncated,
        &cut,
        &random,
        &audio,
        &unsupported,
        &corrupt,
    ]
    .into_iter()
    .cloned()
    .collect();
    let mut m = Vec::new();
    for p in inputs.iter().chain([&vanished]) {
        m.extend_from_slice(p.as_os_str().as_bytes());
        m.push(b'\n');
    }
    std::fs::write(&manifest, m).unwrap();
    let before = fingerprint(&inputs);
    let out = tmp.path().join("out");
    let r = seamscan(args!(
        "scan",
        "--manifest",
        manifest,
        fifo,
        "-o",
        out,
        "--log-format",
        "json"
    ));
    let stderr = String::from_utf8_lossy(&r.stderr).into_owned();
    assert_eq!(r.status.code(), Some(1), "{stderr}");
    assert_eq!(fingerprint(&inputs), before, "inputs changed");

    let videos = read_table(&out, "videos");
    assert_eq!(videos.len(), 10);
    let expect = |p: &Path, status: &str, error: &str| {
        let v = video(&videos, p);
        assert_eq!(v["status"].str(), Some(status), "{}: {v:?}", p.display());
        let e = v["error"]
            .str()
            .unwrap_or_else(|| panic!("{}: no error text", p.display()));
        assert!(e.contains(error), "{}: {e:?} lacks {error:?}", p.display());
        // Exactly one log line names the file, a warning with its status.
        let lines: Vec<&str> = stderr
            .lines()
            .filter(|l| l.contains(&*p.to_string_lossy()))
            .collect();
        assert_eq!(lines.len(), 1, "{}: {lines:?}", p.display());
        let log: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
        assert_eq!(log["level"], "WARN");
        assert_eq!(log["fields"]["status"], status);
    };
    expect(&empty, "unreadable", "empty file");
    expect(&truncated, "unreadable", "moov atom not found");
    expect(&random, "unreadable", "Invalid data");
    expect(&cut, "error", "truncated");
    expect(&audio, "no_video", "no video stream (streams: audio)");
    expect(
        &unsupported,
        "unsupported",
        "unknown video codec (tag 'zzzz')",
    );
    expect(&vanished, "unreadable", "No such file");
    expect(&fifo, "unreadable", "not a regular file");
    // Inputs that could be hashed carry their digest even when they could not be decoded.
    assert_eq!(
        video(&videos, &random)["sha256"].str(),
        Some(sha256sum(&random).as_str())
    );
    assert_eq!(
        video(&videos, &empty)["sha256"].str(),
        Some(sha256sum(&empty).as_str())
    );
    assert!(video(&videos, &vanished)["sha256"].is_null());

    // The good file is complete; the corrupted one is analysed as far as FFmpeg can go.
    let frames = read_table(&out, "frames");
    // A generated test pattern: analysed, and no face in it.
    assert_eq!(video(&videos, &good)["status"].str(), Some("no_face"));
    assert_eq!(frames_of(&frames, &good).len(), 25);
    let c = video(&videos, &corrupt);
    assert!(c["frames_analyzed"].u64().unwrap() > 0, "{c:?}");
    assert_eq!(
        c["frames_analyzed"].u64().unwrap(),
        frames_of(&frames, &corrupt).len() as u64
    );
    let runs = read_table(&out, "runs");
    assert_eq!(runs[0]["files_failed"].u64(), Some(8));
    // What could be decoded of the cut file was analysed and kept.
    let c = video(&videos, &cut);
    assert!(
        c["frames_analyzed"].u64().unwrap() > 0
            && c["frames_analyzed"].u64() < c["frames_declared"].u64(),
        "{c:?}"
    );
    assert_eq!(runs[0]["exit_code"].i64(), Some(1));
}

#[test]
fn an_unreadable_file_is_reported() {
    // Root reads any file whatever its mode; the check only means something for other users.
    if run_ok(std::process::Command::new("id").arg("-u")).trim() == "0" {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("locked");
        std::fs::create_dir(&dir).unwrap();
        // As root, an unreadable file is simulated by a directory where a file was expected.
        let out = tmp.path().join("out");
        let r = seamscan(args!(
            "scan",
            "--manifest",
            "/dev/null",
            dir.join("gone.mp4"),
            "-o",
            out
        ));
        assert_eq!(r.status.code(), Some(1));
        let v = read_table(&out, "videos");
        assert_eq!(v[0]["status"].str(), Some("unreadable"));
        return;
    }
    use std::os::unix::fs::PermissionsExt;
    let tmp = tempfile::tempdir().unwrap();
    let f = h264_clip(tmp.path(), "locked.mp4", 1);
    std::fs::set_permissions(&f, std::fs::Permissions::from_mode(0o000)).unwrap();
    let out = tmp.path().join("out");
    let r = seamscan(args!("scan", f, "-o", out));
    assert_eq!(r.status.code(), Some(1));
    let v = read_table(&out, "videos");
    assert_eq!(v[0]["status"].str(), Some("unreadable"));
    assert!(v[0]["error"].str().unwrap().contains("Permission denied"));
}

#[test]
fn files_that_vanish_or_change_during_the_run_are_reported() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    // A long first file keeps the single worker busy while the others are tampered with.
    let long = h264_from(
        &d.join("1-long.mp4"),
        "testsrc2=size=320x240:rate=25",
        60,
        &[],
    );
    let vanishing = h264_clip(d, "2-vanishing.mp4", 1);
    let replaced = h264_clip(d, "3-replaced.mp4", 1);
    let out = d.join("out");
    let preset = faces_off_preset(d);
    let mut child = std::process::Command::new(env!("CARGO_BIN_EXE_seamscan"))
        .args([
            std::ffi::OsStr::new("scan"),
            long.as_os_str(),
            vanishing.as_os_str(),
            replaced.as_os_str(),
        ])
        .args(["--jobs", "1", "-o"])
        .arg(&out)
        .arg("--pipeline")
        .arg(&preset)
        .env("RUST_LOG", "info,seamscan_pipeline=debug")
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    // Tamper only once the worker has taken up the first file (its debug line), however
    // long the start-up takes on a loaded machine; stderr is drained throughout.
    let stderr = child.stderr.take().unwrap();
    let (started, on_start) = std::sync::mpsc::channel();
    let reader = std::thread::spawn(move || {
        use std::io::BufRead;
        let mut all = String::new();
        for line in std::io::BufReader::new(stderr)
            .lines()
            .map_while(Result::ok)
        {
            if line.contains("file started") && line.contains("1-long.mp4") {
                let _ = started.send(());
            }
            all.push_str(&line);
            all.push('\n');
        }
        all
    });
    on_start
        .recv_timeout(std::time::Duration::from_secs(120))
        .expect("the scan takes up the first file");
    // While the first file is being analysed: it grows, one file is deleted, and one becomes
    // a directory.
    std::fs::OpenOptions::new()
        .append(true)
        .open(&long)
        .unwrap()
        .write_all(b"tampered")
        .unwrap();
    std::fs::remove_file(&vanishing).unwrap();
    std::fs::remove_file(&replaced).unwrap();
    std::fs::create_dir(&replaced).unwrap();
    let code = child.wait().unwrap().code();
    let stderr = reader.join().unwrap();
    assert_eq!(code, Some(1), "{stderr}");
    let videos = read_table(&out, "videos");
    let status = |p: &Path| {
        let v = video(&videos, p);
        (
            v["status"].str().unwrap().to_string(),
            v["error"].str().unwrap_or("").to_string(),
        )
    };
    let (s, e) = status(&long);
    assert!(
        s == "error" && e.contains("changed"),
        "{s}: {e} (the first file finished before it was changed?)"
    );
    let (s, e) = status(&vanishing);
    assert!(s == "unreadable" && e.contains("No such file"), "{s}: {e}");
    let (s, e) = status(&replaced);
    assert!(
        s == "unreadable" && e.contains("not a regular file"),
        "{s}: {e}"
    );
}
