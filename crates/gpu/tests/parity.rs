//! Each shader against its CPU twin, on real frames of the sample clips. These tests need a
//! wgpu adapter (Mesa's lavapipe on a machine without a GPU): a missing adapter fails them.

use std::path::{Path, PathBuf};

use seamscan_decode::{DecodeOptions, Sampling, VideoReader};
use seamscan_features::LumaView;
use seamscan_features::power_spectrum::{PowerSpectrum, tile_grid};
use seamscan_features::{AnalysisConfig, Analyzer};
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
    let ctx =
        GpuContext::new(true).expect("a wgpu adapter (install mesa-vulkan-drivers for lavapipe)");
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
    let noise = |out: seamscan_gpu::BatchOutput| -> Vec<f64> {
        out.features.iter().map(|f| f.noise_level).collect()
    };
    // Integer sums on both sides: bit-identical results.
    assert_eq!(noise(gpu.run(&ctx, &views).unwrap()), cpu);
    assert!(cpu.iter().take(9).all(|&l| l > 0.5), "{cpu:?}");
    // Pipelines and buffers are reused: a second, smaller batch still agrees.
    assert_eq!(
        noise(gpu.run(&ctx, &views[7..9]).unwrap()),
        cpu[7..9].to_vec()
    );
}

#[test]
fn tile_mean_and_power_spectrum_match_their_cpu_twins() {
    let ctx = context();
    let mut gpu = GpuAnalyzer::new(&ctx, AnalysisConfig::default()).unwrap();
    gpu.keep_power(true);
    let pictures = pictures();
    let views = views(&pictures);
    let out = gpu.run(&ctx, &views).unwrap();
    let spectra = out.spectra.unwrap();
    let cpu = PowerSpectrum::new();
    for (i, v) in views.iter().enumerate() {
        let grid = tile_grid(v, 256, 8).unwrap();
        assert_eq!(
            (grid.size as u32, grid.origins.len() as u32),
            (out.features[i].tile_size, out.features[i].tiles)
        );
        let want = cpu.averaged(v, &grid);
        let got = &spectra[i];
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

#[test]
fn radial_profile_and_spectral_stats_match_their_cpu_twins() {
    let ctx = context();
    let mut gpu = GpuAnalyzer::new(&ctx, AnalysisConfig::default()).unwrap();
    let cpu = Analyzer::new(AnalysisConfig::default()).unwrap();
    let pictures = pictures();
    let views = views(&pictures);
    let out = gpu.run(&ctx, &views).unwrap();
    for (i, v) in views.iter().enumerate() {
        let want = cpu.analyze(v).unwrap();
        let got = &out.features[i];
        let ctx = format!("view {i} ({}x{})", v.width(), v.height());
        assert_eq!(got.noise_level, want.noise_level, "{ctx}");
        assert_eq!(
            (got.tiles, got.tile_size),
            (want.tiles, want.tile_size),
            "{ctx}"
        );
        // Stated tolerances: f32 on the GPU against f32 FFTs with f64 reductions on the CPU.
        for (b, (g, w)) in got.spectrum.iter().zip(&want.spectrum).enumerate() {
            assert!((g - w).abs() < 1e-3, "{ctx}: spectrum[{b}] {g} vs {w}");
        }
        assert!(
            (got.hf_fraction - want.hf_fraction).abs() <= 1e-3 * want.hf_fraction.max(1e-3),
            "{ctx}: hf {} vs {}",
            got.hf_fraction,
            want.hf_fraction
        );
        assert!(
            (got.spectral_slope - want.spectral_slope).abs() < 1e-3,
            "{ctx}: slope {} vs {}",
            got.spectral_slope,
            want.spectral_slope
        );
        assert!(
            (got.peak_prominence - want.peak_prominence).abs() < 1e-2,
            "{ctx}: peak {} vs {}",
            got.peak_prominence,
            want.peak_prominence
        );
        // The same peak, unless two candidates are within rounding of each other.
        if (got.peak_fx, got.peak_fy) != (want.peak_fx, want.peak_fy) {
            assert!(
                (got.peak_prominence - want.peak_prominence).abs() < 1e-3,
                "{ctx}: peak moved"
            );
        }
    }
}

#[test]
fn local_std_and_boundary_map_match_their_cpu_twins() {
    use seamscan_features::{boundary_map::boundary_map, local_std::local_std};
    let ctx = context();
    let mut gpu = seamscan_gpu::NoiseMaps::new(&ctx);
    let pictures = pictures();
    let views = views(&pictures);
    let maps = gpu.run(&ctx, &views).unwrap();
    for (i, (v, (got_std, got_boundary))) in views.iter().zip(&maps).enumerate() {
        let want_std = local_std(v, seamscan_gpu::NOISE_BLOCK);
        let want_boundary = boundary_map(&want_std);
        assert_eq!(
            (got_std.width, got_std.height),
            (want_std.width, want_std.height),
            "view {i}"
        );
        assert!(!want_std.values.is_empty() || v.width() < 10, "view {i}");
        // Exact integer sums on both sides; only the final square root differs (f32 vs f64).
        for (g, w) in got_std.values.iter().zip(&want_std.values) {
            assert!(
                (g - w).abs() <= 1e-5 * w.max(1.0),
                "view {i}: local std {g} vs {w}"
            );
        }
        for (g, w) in got_boundary.values.iter().zip(&want_boundary.values) {
            assert!(
                (g - w).abs() <= 1e-4 * w.max(1.0),
                "view {i}: boundary {g} vs {w}"
            );
        }
    }
}
