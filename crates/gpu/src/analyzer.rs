//! The whole feature set of a batch of views on the GPU: one upload of all their pixels, one
//! dispatch per shader for the batch, one readback.

use seamscan_features::power_spectrum::{TileGrid, hann, inverse_window_energy, tile_grid};
use seamscan_features::{AnalysisConfig, FeatureError, LumaView};

use crate::kernel::{Binding, Kernel, Pooled, finish_and_read};
use crate::noise_residual::{self, FrameParams};
use crate::{GpuContext, GpuError};

/// One tile, as the shaders' `Tile` struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct TileParams {
    frame_offset: u32,
    stride: u32,
    x: u32,
    y: u32,
    n: u32,
    spectrum_offset: u32,
    inv_energy: f32,
    pad: u32,
}

/// Smallest and largest tile the shaders handle (workgroup memory holds 1024 samples).
const MIN_TILE: usize = 16;
const MAX_TILE: usize = 1024;

/// Per-size tables for the FFT: twiddles (f64 on the host, stored f32) and Hann windows.
fn tables() -> (Vec<[f32; 2]>, Vec<f32>) {
    let mut twiddles = Vec::new();
    let mut windows = Vec::new();
    let mut n = MIN_TILE;
    while n <= MAX_TILE {
        debug_assert_eq!(twiddles.len(), n / 2 - 8);
        debug_assert_eq!(windows.len(), n - 16);
        for k in 0..n / 2 {
            let a = -2.0 * std::f64::consts::PI * k as f64 / n as f64;
            twiddles.push([a.cos() as f32, a.sin() as f32]);
        }
        windows.extend(hann(n));
        n *= 2;
    }
    (twiddles, windows)
}

/// What one batch produced before the host-side reductions.
pub struct BatchOutput {
    /// Noise level per view.
    pub noise_levels: Vec<f64>,
    /// Tile-averaged half power spectrum per view (see `power_spectrum`).
    pub spectra: Vec<Vec<f32>>,
    /// Tile grid per view.
    pub grids: Vec<TileGrid>,
    /// Bytes uploaded to the device.
    pub bytes_up: u64,
    /// Bytes read back from the device.
    pub bytes_down: u64,
}

/// GPU pipelines and buffers for the analysis, built once and reused for every batch.
pub struct GpuAnalyzer {
    config: AnalysisConfig,
    noise: Kernel,
    mean: Kernel,
    spectrum: Kernel,
    twiddles: wgpu::Buffer,
    windows: wgpu::Buffer,
    stages: [wgpu::Buffer; 2],
    luma: Pooled,
    frames: Pooled,
    tiles: Pooled,
    sums: Pooled,
    means: Pooled,
    work: Pooled,
    power: Pooled,
    staging: Pooled,
}

impl GpuAnalyzer {
    /// Compiles the pipelines and uploads the constant tables.
    pub fn new(ctx: &GpuContext, config: AnalysisConfig) -> Result<Self, FeatureError> {
        config.validate()?;
        use wgpu::util::DeviceExt;
        let (tw, win) = tables();
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage,
                })
        };
        let storage = wgpu::BufferUsages::STORAGE;
        Ok(GpuAnalyzer {
            config,
            noise: noise_residual::kernel(ctx),
            mean: Kernel::new(
                ctx,
                "tile_mean",
                include_str!("../../../shaders/tile_mean.wgsl"),
                &[Binding::Read, Binding::Read, Binding::ReadWrite],
            ),
            spectrum: Kernel::new(
                ctx,
                "power_spectrum",
                include_str!("../../../shaders/power_spectrum.wgsl"),
                &[
                    Binding::Read,
                    Binding::Read,
                    Binding::Read,
                    Binding::Read,
                    Binding::Read,
                    Binding::ReadWrite,
                    Binding::ReadWrite,
                    Binding::Uniform,
                ],
            ),
            twiddles: init("twiddles", bytemuck::cast_slice(&tw), storage),
            windows: init("windows", bytemuck::cast_slice(&win), storage),
            stages: [0u32, 1u32].map(|s| {
                init(
                    "power_spectrum.stage",
                    bytemuck::cast_slice(&[s, 0, 0, 0]),
                    wgpu::BufferUsages::UNIFORM,
                )
            }),
            luma: Pooled::input("luma"),
            frames: Pooled::input("frames"),
            tiles: Pooled::input("tiles"),
            sums: Pooled::output("noise_sums"),
            means: Pooled::output("tile_means"),
            work: Pooled::output("fft_work"),
            power: Pooled::output("power"),
            staging: Pooled::staging("readback"),
        })
    }

    /// The analysis config in use.
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Runs noise residual, tile means and power spectra for `views` in one submission.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        views: &[LumaView<'_>],
    ) -> Result<BatchOutput, GpuError> {
        let c = &self.config;
        let mut bytes: Vec<u8> = Vec::new();
        let mut frames = Vec::with_capacity(views.len());
        let mut tiles: Vec<TileParams> = Vec::new();
        let mut grids = Vec::with_capacity(views.len());
        let (mut tasks_total, mut max_tasks) = (0usize, 0usize);
        let mut spectrum_len = 0usize;
        let mut max_n = MIN_TILE;
        let mut inv_energy = std::collections::HashMap::new();
        for v in views {
            let grid = tile_grid(v, c.tile_size, c.max_tiles)
                .map_err(|e| GpuError::Dispatch(e.to_string()))?;
            let offset = bytes.len() as u32;
            for y in 0..v.height() {
                bytes.extend_from_slice(v.row(y));
            }
            let tasks = noise_residual::tasks(v.width(), v.height());
            frames.push(FrameParams {
                offset,
                width: v.width() as u32,
                height: v.height() as u32,
                out_offset: tasks_total as u32,
            });
            tasks_total += tasks;
            max_tasks = max_tasks.max(tasks);
            let n = grid.size;
            max_n = max_n.max(n);
            let inv = *inv_energy
                .entry(n)
                .or_insert_with(|| inverse_window_energy(&hann(n)));
            for &(x, y) in &grid.origins {
                tiles.push(TileParams {
                    frame_offset: offset,
                    stride: v.width() as u32,
                    x: x as u32,
                    y: y as u32,
                    n: n as u32,
                    spectrum_offset: spectrum_len as u32,
                    inv_energy: inv,
                    pad: 0,
                });
                spectrum_len += (n / 2 + 1) * n;
            }
            grids.push(grid);
        }
        let luma = self.luma.upload(ctx, &bytes);
        let frames_buf = self.frames.upload(ctx, bytemuck::cast_slice(&frames));
        let tiles_buf = self.tiles.upload(ctx, bytemuck::cast_slice(&tiles));
        let sums_size = (tasks_total.max(1) * 8) as u64;
        let power_size = (spectrum_len.max(1) * 4) as u64;
        let sums = self.sums.get(ctx, sums_size);
        let means = self.means.get(ctx, (tiles.len().max(1) * 4) as u64);
        let work = self.work.get(ctx, (spectrum_len.max(1) * 8) as u64);
        let power = self.power.get(ctx, power_size);
        let staging = self.staging.get(ctx, sums_size + power_size);

        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        if tasks_total > 0 {
            self.noise.dispatch(
                ctx,
                &mut encoder,
                &[luma, frames_buf, sums],
                (max_tasks as u32, views.len() as u32, 1),
            );
        }
        if !tiles.is_empty() {
            let t = tiles.len() as u32;
            self.mean
                .dispatch(ctx, &mut encoder, &[luma, tiles_buf, means], (t, 1, 1));
            for (stage, lines) in [(0, max_n), (1, max_n / 2 + 1)] {
                let buffers = [
                    luma,
                    tiles_buf,
                    means,
                    &self.twiddles,
                    &self.windows,
                    work,
                    power,
                    &self.stages[stage],
                ];
                self.spectrum
                    .dispatch(ctx, &mut encoder, &buffers, (lines as u32, t, 1));
            }
        }
        encoder.copy_buffer_to_buffer(sums, 0, staging, 0, sums_size);
        encoder.copy_buffer_to_buffer(power, 0, staging, sums_size, power_size);
        let data: Vec<u32> = finish_and_read(ctx, encoder, staging, sums_size + power_size)?;
        let sums: &[[i32; 2]] = bytemuck::cast_slice(&data[..(sums_size / 4) as usize]);
        let power: &[f32] = bytemuck::cast_slice(&data[(sums_size / 4) as usize..]);

        let mut noise_levels = Vec::with_capacity(views.len());
        let mut spectra = Vec::with_capacity(views.len());
        let mut tile_iter = tiles.iter();
        for ((v, f), grid) in views.iter().zip(&frames).zip(&grids) {
            let t = noise_residual::tasks(v.width(), v.height());
            noise_levels.push(noise_residual::level(
                v,
                &sums[f.out_offset as usize..f.out_offset as usize + t],
            ));
            let n = grid.size;
            let len = (n / 2 + 1) * n;
            let mut sum = vec![0f32; len];
            for _ in &grid.origins {
                let tile = tile_iter.next().expect("one entry per tile");
                let p = &power[tile.spectrum_offset as usize..tile.spectrum_offset as usize + len];
                for (a, b) in sum.iter_mut().zip(p) {
                    *a += b;
                }
            }
            let k = grid.origins.len().max(1) as f32;
            sum.iter_mut().for_each(|a| *a /= k);
            spectra.push(sum);
        }
        Ok(BatchOutput {
            noise_levels,
            spectra,
            grids,
            bytes_up: (bytes.len() + frames.len() * 16 + tiles.len() * 32) as u64,
            bytes_down: sums_size + power_size,
        })
    }
}
