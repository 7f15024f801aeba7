//! Memory is bounded: peak RSS does not grow with the number of inputs.

use std::path::Path;

use crate::util::*;

fn peak_rss(out: &Path, manifest: &Path) -> u64 {
    // Every frame is decoded; one in 25 is analysed, to keep the test quick. The device and
    // the number of jobs are fixed: `auto` probes for a GPU adapter, and loading Mesa's
    // software Vulkan driver for the probe adds about 50 MiB at a moment that varies with the
    // scheduling, which made the peak of a short run swing by 40 MiB (225 to 265 MiB).
    let r = seamscan(crate::args!(
        "scan",
        "--manifest",
        manifest,
        "-o",
        out,
        "--every",
        "25",
        "--device",
        "cpu",
        "--jobs",
        "2"
    ));
    assert_eq!(
        r.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&r.stderr)
    );
    read_table(out, "runs")[0]["peak_rss_bytes"].u64().unwrap()
}

#[test]
fn peak_memory_does_not_grow_with_the_number_of_inputs() {
    let tmp = tempfile::tempdir().unwrap();
    let clip = ffmpeg_gen(
        &tmp.path().join("c.mp4"),
        "testsrc2=size=640x360:rate=25",
        &[
            "-t", "2", "-c:v", "libx264", "-preset", "veryfast", "-pix_fmt", "yuv420p",
        ],
    );
    let dir = tmp.path().join("in");
    std::fs::create_dir(&dir).unwrap();
    let mut lines = Vec::new();
    for i in 0..200 {
        let p = dir.join(format!("c{i:03}.mp4"));
        std::fs::hard_link(&clip, &p).unwrap();
        lines.push(p.display().to_string());
    }
    let few = tmp.path().join("20.txt");
    let many = tmp.path().join("200.txt");
    std::fs::write(&few, lines[..20].join("\n")).unwrap();
    std::fs::write(&many, lines.join("\n")).unwrap();
    let a = peak_rss(&tmp.path().join("a"), &few);
    let b = peak_rss(&tmp.path().join("b"), &many);
    // 200 files decode 10 000 packets (~0.2 GB decoded): a per-file leak of 1 MiB shows as
    // 180 MiB, one of 0.25 MiB as 45 MiB. With the device and jobs fixed, the debug build
    // peaks at 213-216 MiB for 20 files and 219-225 MiB for 200, with or without three busy
    // loops competing for the two cores; the margin is 40 MiB.
    assert!(
        b < a + 40 * 1024 * 1024,
        "peak RSS {} MiB for 20 files, {} MiB for 200",
        a >> 20,
        b >> 20
    );
}
