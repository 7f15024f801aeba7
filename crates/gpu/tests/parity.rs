//! Each shader against its CPU twin, on real frames of the sample clips. These tests need a
//! wgpu adapter (Mesa's lavapipe on a machine without a GPU): a missing adapter fails them.

use std::path::{Path, PathBuf};

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_features::AnalysisConfig;
use seamscan_features::LumaView;
use seamscan_features::power_spectrum::{PowerSpectrum, tile_grid};
use seamscan_gpu::{GpuAnalyzer, GpuContext};

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

/// Real frames of three clips (two sizes, two codecs) plus crops with odd sizes and offsets,
/// as face crops will be.
fn pictures() -> Vec<(usize, usize, Vec<u8>)> {
    let mut p = frames("WolfgangLanger_Pexels.mp4", 4);
    p.extend(frames("carphone_pristine.mp4", 3));
    p.extend(frames("face_noface.mov", 2));
    p
}

fn views(pictures: &[(usize, usize, Vec<u8>)]) -> Vec<LumaView<'_>> {
    let mut views: Vec<LumaView<'_>> = pictures
        .iter()
        .map(|(w, h, p)| LumaView::new(p, *w, *h).unwrap())
        .collect();
    let first = views[0];
    views.push(first.crop(3, 5, 301, 199).unwrap());
    views.push(first.crop(100, 41, 37, 29).unwrap());
    views.push(first.crop(1, 0, 16, 16).unwrap());
    views
}

#[test]
fn noise_residual_matches_its_cpu_twin_exactly() {
    let ctx = context();
    let mut gpu = GpuAnalyzer::new(&ctx, AnalysisConfig::default()).unwrap();
    let pictures = pictures();
    let views = views(&pictures);
    let cpu: Vec<f64> = views
        .iter()
        .map(seamscan_features::noise_residual::noise_level)
        .collect();
    let out = gpu.run(&ctx, &views).unwrap();
    // Integer sums on both sides: bit-identical results.
    assert_eq!(out.noise_levels, cpu);
    assert!(cpu.iter().take(9).all(|&l| l > 0.5), "{cpu:?}");
    // Pipelines and buffers are reused: a second, smaller batch still agrees.
    assert_eq!(
        gpu.run(&ctx, &views[7..9]).unwrap().noise_levels,
        cpu[7..9].to_vec()
    );
}

#[test]
fn tile_mean_and_power_spectrum_match_their_cpu_twins() {
    let ctx = context();
    let mut gpu = GpuAnalyzer::new(&ctx, AnalysisConfig::default()).unwrap();
    let pictures = pictures();
    let views = views(&pictures);
    let out = gpu.run(&ctx, &views).unwrap();
    let cpu = PowerSpectrum::new();
    for (i, v) in views.iter().enumerate() {
        let grid = tile_grid(v, 256, 8).unwrap();
        assert_eq!(grid, out.grids[i]);
        let want = cpu.averaged(v, &grid);
        let got = &out.spectra[i];
        assert_eq!(want.len(), got.len());
        // f32 FFTs of different shapes (real-to-complex on the CPU, complex on the GPU):
        // each sample within 0.1 % of its value, or of the mean power for near-zero ones.
        let mean = want.iter().map(|&p| p as f64).sum::<f64>() / want.len() as f64;
        let mut worst = 0f64;
        for (a, b) in want.iter().zip(got) {
            let err = (*a as f64 - *b as f64).abs() / (a.abs().max(b.abs()) as f64 + 1e-3 * mean);
            worst = worst.max(err);
        }
        assert!(
            worst < 1e-3,
            "view {i} ({}x{}): worst relative error {worst}",
            v.width(),
            v.height()
        );
    }
}
