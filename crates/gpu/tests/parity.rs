//! Each shader against its CPU twin, on real frames of the sample clips. These tests need a
//! wgpu adapter (Mesa's lavapipe on a machine without a GPU): a missing adapter fails them.

use std::path::{Path, PathBuf};

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_features::LumaView;
use seamscan_gpu::{GpuContext, NoiseResidual};

fn sample(name: &str) -> PathBuf {
    let p = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../samples")
        .join(name);
    assert!(
        p.exists(),
        "{} missing: run scripts/fetch-samples.sh",
        p.display()
    );
    p
}

/// A few decoded frames of a clip: (width, height, luma).
fn frames(name: &str, count: u64) -> Vec<(usize, usize, Vec<u8>)> {
    let options = DecodeOptions {
        sampling: Sampling {
            every: 7,
            fps: None,
            max_frames: Some(count),
        },
        rgb: false,
        threads: 1,
    };
    let mut r = VideoReader::open(&sample(name), options).unwrap();
    let mut out = Vec::new();
    while let Some(f) = r.next_frame().unwrap() {
        out.push((f.width, f.height, f.luma));
    }
    out
}

fn context() -> GpuContext {
    let ctx = GpuContext::new().expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
    eprintln!("adapter: {}", ctx.adapter());
    ctx
}

#[test]
fn noise_residual_matches_its_cpu_twin_exactly() {
    let ctx = context();
    let mut gpu = NoiseResidual::new(&ctx);
    let mut pictures = frames("WolfgangLanger_Pexels.mp4", 4);
    pictures.extend(frames("carphone_pristine.mp4", 3));
    pictures.extend(frames("face_noface.mov", 2));
    let mut views: Vec<LumaView<'_>> = pictures
        .iter()
        .map(|(w, h, p)| LumaView::new(p, *w, *h).unwrap())
        .collect();
    // Crops with odd sizes and offsets, as face crops will be.
    let first = views[0];
    views.push(first.crop(3, 5, 301, 199).unwrap());
    views.push(first.crop(100, 41, 3, 3).unwrap());
    views.push(first.crop(0, 0, 2, 50).unwrap());
    let cpu: Vec<f64> = views
        .iter()
        .map(seamscan_features::noise_residual::noise_level)
        .collect();
    let gpu_levels = gpu.noise_levels(&ctx, &views).unwrap();
    // Integer sums on both sides: bit-identical results.
    assert_eq!(gpu_levels, cpu);
    assert!(cpu.iter().take(9).all(|&l| l > 0.5), "{cpu:?}");
    // The pipeline and its buffers are reused: a second, smaller batch still agrees.
    assert_eq!(
        gpu.noise_levels(&ctx, &views[7..9]).unwrap(),
        cpu[7..9].to_vec()
    );
}
