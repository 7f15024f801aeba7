//! The whole feature set of a batch of views on the GPU: one upload of all their pixels, one
//! dispatch per shader for the batch, one readback.

use seamscan_features::power_spectrum::{TileGrid, hann, inverse_window_energy, tile_grid};
use seamscan_features::radial_profile::{DOUBLE, HIGH, OUTSIDE, SpectrumLayout};
use seamscan_features::{AnalysisConfig, FeatureError, Features, LumaView};

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
/// Most open-half-plane samples of one ring that radial_profile.wgsl can rank (workgroup memory).
const MAX_RING_MEMBERS: u32 = 2048;
/// Marks a table entry whose sample counts twice (it stands for its mirror too).
const DOUBLE_BIT: u32 = 0x8000_0000;
/// Per-view outputs of spectral_stats.wgsl before the spectrum.
const STATS: usize = 5;

/// One view, as the shaders' `View` struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct ViewParams {
    layout_index: u32,
    first_tile: u32,
    tile_count: u32,
    avg_offset: u32,
    profile_offset: u32,
    out_offset: u32,
    pad: [u32; 2],
}

/// One tile size's layout, as the shaders' `Layout` struct: offsets into the tables buffer.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct LayoutParams {
    n: u32,
    bins: u32,
    ring: u32,
    ring_start: u32,
    counts: u32,
    median: u32,
    median_start: u32,
    high: u32,
    high_count: u32,
    peak: u32,
    peak_count: u32,
    pad: u32,
}

/// Appends the tables of one tile size's layout to `tables`.
fn push_layout(
    layout: &SpectrumLayout,
    tables: &mut Vec<u32>,
) -> Result<LayoutParams, FeatureError> {
    let bins = layout.bins;
    let double = |i: usize| {
        if layout.flags[i] & DOUBLE != 0 {
            DOUBLE_BIT
        } else {
            0
        }
    };
    let mut by_bin: Vec<Vec<u32>> = vec![Vec::new(); bins];
    for (i, &b) in layout.bin.iter().enumerate() {
        if b != OUTSIDE {
            by_bin[b as usize].push(i as u32 | double(i));
        }
    }
    let mut p = LayoutParams {
        n: layout.n as u32,
        bins: bins as u32,
        ring: 0,
        ring_start: 0,
        counts: 0,
        median: 0,
        median_start: 0,
        high: 0,
        high_count: 0,
        peak: 0,
        peak_count: 0,
        pad: 0,
    };
    p.ring = tables.len() as u32;
    let mut starts = vec![0u32];
    for ring in &by_bin {
        tables.extend(ring);
        starts.push(starts.last().copied().unwrap_or(0) + ring.len() as u32);
    }
    p.ring_start = tables.len() as u32;
    tables.extend(&starts);
    p.counts = tables.len() as u32;
    tables.extend(&layout.counts);
    p.median = tables.len() as u32;
    tables.extend(&layout.members);
    p.median_start = tables.len() as u32;
    let mut start = 0u32;
    for &c in &layout.member_counts {
        if c > MAX_RING_MEMBERS {
            return Err(FeatureError::Config(format!(
                "tiles of {} px have rings of {c} samples; the GPU path ranks at most {MAX_RING_MEMBERS}",
                layout.n
            )));
        }
        tables.push(start);
        start += c;
    }
    tables.push(start);
    p.high = tables.len() as u32;
    for (i, &f) in layout.flags.iter().enumerate() {
        if f & HIGH != 0 {
            tables.push(i as u32 | double(i));
        }
    }
    p.high_count = tables.len() as u32 - p.high;
    p.peak = tables.len() as u32;
    for &i in &layout.peak_candidates {
        tables.push(i);
        tables.push(layout.bin[i as usize] as u32);
    }
    p.peak_count = layout.peak_candidates.len() as u32;
    Ok(p)
}

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

/// The shaders in dispatch order; `power_spectrum` runs twice (rows, then columns).
pub const SHADERS: [&str; 5] = [
    "noise_residual",
    "tile_mean",
    "power_spectrum",
    "radial_profile",
    "spectral_stats",
];
/// Compute passes per batch.
const PASSES: u32 = 6;
/// Which shader each pass runs.
const PASS_SHADER: [usize; PASSES as usize] = [0, 1, 2, 2, 3, 4];

/// What one batch produced.
pub struct BatchOutput {
    /// The features of each view, as `seamscan_features::Analyzer::analyze` defines them.
    pub features: Vec<Features>,
    /// Tile-averaged half power spectrum per view, only when [`GpuAnalyzer::keep_power`] is
    /// set (for the parity tests: it is a large readback).
    pub spectra: Option<Vec<Vec<f32>>>,
    /// Bytes uploaded to the device for the batch.
    pub bytes_up: u64,
    /// Bytes read back from the device for the batch.
    pub bytes_down: u64,
    /// GPU time per shader in nanoseconds (order of [`SHADERS`]), where the adapter supports
    /// timestamp queries.
    pub shader_ns: Option<[f64; 5]>,
}

/// GPU pipelines and buffers for the analysis, built once and reused for every batch.
pub struct GpuAnalyzer {
    config: AnalysisConfig,
    keep_power: bool,
    noise: Kernel,
    mean: Kernel,
    spectrum: Kernel,
    radial: Kernel,
    stats: Kernel,
    twiddles: wgpu::Buffer,
    windows: wgpu::Buffer,
    stages: [wgpu::Buffer; 2],
    layouts: wgpu::Buffer,
    tables: wgpu::Buffer,
    stats_config: wgpu::Buffer,
    luma: Pooled,
    frames: Pooled,
    tiles: Pooled,
    views: Pooled,
    sums: Pooled,
    means: Pooled,
    work: Pooled,
    power: Pooled,
    avg: Pooled,
    profile: Pooled,
    out: Pooled,
    staging: Pooled,
    timing: Option<(wgpu::QuerySet, wgpu::Buffer, f64)>,
}

impl GpuAnalyzer {
    /// Compiles the pipelines and uploads the constant tables (FFT twiddles, windows, and the
    /// ring layout of every tile size up to `config.tile_size`).
    pub fn new(ctx: &GpuContext, config: AnalysisConfig) -> Result<Self, FeatureError> {
        config.validate()?;
        use wgpu::util::DeviceExt;
        let (tw, win) = tables();
        let mut layouts = Vec::new();
        let mut tables_data = Vec::new();
        let mut n = MIN_TILE;
        while n <= config.tile_size {
            layouts.push(push_layout(
                &SpectrumLayout::new(n, &config),
                &mut tables_data,
            )?);
            n *= 2;
        }
        let init = |label: &str, contents: &[u8], usage: wgpu::BufferUsages| {
            ctx.device
                .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                    label: Some(label),
                    contents,
                    usage,
                })
        };
        use Binding::{Read, ReadWrite, Uniform};
        let storage = wgpu::BufferUsages::STORAGE;
        let band = [
            config.slope_band[0] as f32,
            config.slope_band[1] as f32,
            0.0,
            0.0,
        ];
        Ok(GpuAnalyzer {
            keep_power: false,
            noise: noise_residual::kernel(ctx),
            mean: Kernel::new(
                ctx,
                "tile_mean",
                include_str!(concat!(env!("OUT_DIR"), "/tile_mean.wgsl")),
                &[Read, Read, ReadWrite],
            ),
            spectrum: Kernel::new(
                ctx,
                "power_spectrum",
                include_str!(concat!(env!("OUT_DIR"), "/power_spectrum.wgsl")),
                &[Read, Read, Read, Read, Read, ReadWrite, ReadWrite, Uniform],
            ),
            radial: Kernel::new(
                ctx,
                "radial_profile",
                include_str!(concat!(env!("OUT_DIR"), "/radial_profile.wgsl")),
                &[Read, Read, Read, Read, Read, ReadWrite, ReadWrite],
            ),
            stats: Kernel::new(
                ctx,
                "spectral_stats",
                include_str!(concat!(env!("OUT_DIR"), "/spectral_stats.wgsl")),
                &[Read, Read, Read, Read, Read, ReadWrite, Uniform],
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
            layouts: init("layouts", bytemuck::cast_slice(&layouts), storage),
            tables: init("tables", bytemuck::cast_slice(&tables_data), storage),
            stats_config: init(
                "spectral_stats.config",
                bytemuck::cast_slice(&band),
                wgpu::BufferUsages::UNIFORM,
            ),
            config,
            luma: Pooled::input("luma"),
            frames: Pooled::input("frames"),
            tiles: Pooled::input("tiles"),
            views: Pooled::input("views"),
            sums: Pooled::output("noise_sums"),
            means: Pooled::output("tile_means"),
            work: Pooled::output("fft_work"),
            power: Pooled::output("power"),
            avg: Pooled::output("averaged_power"),
            profile: Pooled::output("radial_profile"),
            out: Pooled::output("features"),
            staging: Pooled::staging("readback"),
            timing: ctx.timestamps.then(|| {
                let set = ctx.device.create_query_set(&wgpu::QuerySetDescriptor {
                    label: Some("shader timings"),
                    ty: wgpu::QueryType::Timestamp,
                    count: 2 * PASSES,
                });
                let resolve = ctx.device.create_buffer(&wgpu::BufferDescriptor {
                    label: Some("shader timings"),
                    size: 256,
                    usage: wgpu::BufferUsages::QUERY_RESOLVE | wgpu::BufferUsages::COPY_SRC,
                    mapped_at_creation: false,
                });
                (set, resolve, ctx.queue.get_timestamp_period() as f64)
            }),
        })
    }

    /// The analysis config in use.
    pub fn config(&self) -> &AnalysisConfig {
        &self.config
    }

    /// Also read back the tile-averaged power spectra (parity tests).
    pub fn keep_power(&mut self, keep: bool) {
        self.keep_power = keep;
    }

    /// Analyses `views` with one upload, one submission of every shader, one readback.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        views: &[LumaView<'_>],
    ) -> Result<BatchOutput, GpuError> {
        ctx.check()?;
        if views.is_empty() {
            return Ok(BatchOutput {
                features: Vec::new(),
                spectra: None,
                bytes_up: 0,
                bytes_down: 0,
                shader_ns: None,
            });
        }
        let c = &self.config;
        let bins = c.spectrum_bins;
        let mut bytes: Vec<u8> = Vec::new();
        let mut frames = Vec::with_capacity(views.len());
        let mut tiles: Vec<TileParams> = Vec::new();
        let mut view_params: Vec<ViewParams> = Vec::with_capacity(views.len());
        let mut grids: Vec<TileGrid> = Vec::with_capacity(views.len());
        let (mut tasks_total, mut max_tasks) = (0usize, 0usize);
        let (mut spectrum_len, mut avg_len) = (0usize, 0usize);
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
            let half = (n / 2 + 1) * n;
            view_params.push(ViewParams {
                layout_index: n.trailing_zeros() - MIN_TILE.trailing_zeros(),
                first_tile: tiles.len() as u32,
                tile_count: grid.origins.len() as u32,
                avg_offset: avg_len as u32,
                profile_offset: (view_params.len() * bins) as u32,
                out_offset: (view_params.len() * (STATS + bins)) as u32,
                pad: [0; 2],
            });
            avg_len += half;
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
                spectrum_len += half;
            }
            grids.push(grid);
        }
        let luma = self.luma.upload(ctx, &bytes);
        let frames_buf = self.frames.upload(ctx, bytemuck::cast_slice(&frames));
        let tiles_buf = self.tiles.upload(ctx, bytemuck::cast_slice(&tiles));
        let views_buf = self.views.upload(ctx, bytemuck::cast_slice(&view_params));
        let sums_size = (tasks_total.max(1) * 8) as u64;
        let out_size = (views.len().max(1) * (STATS + bins) * 4) as u64;
        let power_size = if self.keep_power {
            (spectrum_len.max(1) * 4) as u64
        } else {
            0
        };
        let sums = self.sums.get(ctx, sums_size);
        let means = self.means.get(ctx, (tiles.len().max(1) * 4) as u64);
        let work = self.work.get(ctx, (spectrum_len.max(1) * 8) as u64);
        let power = self.power.get(ctx, (spectrum_len.max(1) * 4) as u64);
        let avg = self.avg.get(ctx, (avg_len.max(1) * 4) as u64);
        let profile = self
            .profile
            .get(ctx, (views.len().max(1) * bins * 16) as u64);
        let out = self.out.get(ctx, out_size);
        let timing_size: u64 = if self.timing.is_some() {
            8 * 2 * PASSES as u64
        } else {
            0
        };
        let staging = self
            .staging
            .get(ctx, sums_size + out_size + power_size + timing_size);
        let q = |i: u32| self.timing.as_ref().map(|(set, _, _)| (set, i));

        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        let nviews = views.len() as u32;
        if tasks_total > 0 {
            self.noise.dispatch(
                ctx,
                &mut encoder,
                &[luma, frames_buf, sums],
                (max_tasks as u32, nviews, 1),
                q(0),
            );
        }
        let t = tiles.len() as u32;
        self.mean.dispatch(
            ctx,
            &mut encoder,
            &[luma, tiles_buf, means],
            (t, 1, 1),
            q(1),
        );
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
            let pass = 2 + stage as u32;
            self.spectrum
                .dispatch(ctx, &mut encoder, &buffers, (lines as u32, t, 1), q(pass));
        }
        self.radial.dispatch(
            ctx,
            &mut encoder,
            &[
                power,
                tiles_buf,
                views_buf,
                &self.layouts,
                &self.tables,
                avg,
                profile,
            ],
            (bins as u32, nviews, 1),
            q(4),
        );
        self.stats.dispatch(
            ctx,
            &mut encoder,
            &[
                avg,
                views_buf,
                &self.layouts,
                &self.tables,
                profile,
                out,
                &self.stats_config,
            ],
            (nviews, 1, 1),
            q(5),
        );
        encoder.copy_buffer_to_buffer(sums, 0, staging, 0, sums_size);
        encoder.copy_buffer_to_buffer(out, 0, staging, sums_size, out_size);
        if power_size > 0 {
            encoder.copy_buffer_to_buffer(power, 0, staging, sums_size + out_size, power_size);
        }
        if let Some((set, resolve, _)) = &self.timing {
            encoder.resolve_query_set(set, 0..2 * PASSES, resolve, 0);
            let at = sums_size + out_size + power_size;
            encoder.copy_buffer_to_buffer(resolve, 0, staging, at, timing_size);
        }
        let total = sums_size + out_size + power_size + timing_size;
        let data: Vec<u32> = finish_and_read(ctx, encoder, staging, total)?;
        let (sums_words, rest) = data.split_at((sums_size / 4) as usize);
        let (out_words, rest) = rest.split_at((out_size / 4) as usize);
        let (power_words, timing_words) = rest.split_at((power_size / 4) as usize);
        let shader_ns = self.timing.as_ref().map(|(_, _, period)| {
            let stamps: Vec<u64> = timing_words
                .chunks_exact(2)
                .map(|w| w[0] as u64 | (w[1] as u64) << 32)
                .collect();
            let mut ns = [0f64; 5];
            for (pass, &shader) in PASS_SHADER.iter().enumerate() {
                let ticks = stamps[2 * pass + 1].saturating_sub(stamps[2 * pass]);
                ns[shader] += ticks as f64 * period;
            }
            ns
        });
        let sums: &[[i32; 2]] = bytemuck::cast_slice(sums_words);
        let outs: &[f32] = bytemuck::cast_slice(out_words);
        let power: &[f32] = bytemuck::cast_slice(power_words);

        let mut features = Vec::with_capacity(views.len());
        let mut spectra = self.keep_power.then(Vec::new);
        for (((v, f), grid), vp) in views.iter().zip(&frames).zip(&grids).zip(&view_params) {
            let tasks = noise_residual::tasks(v.width(), v.height());
            let o = &outs[vp.out_offset as usize..vp.out_offset as usize + STATS + bins];
            features.push(Features {
                spectrum: o[STATS..].to_vec(),
                hf_fraction: o[0] as f64,
                spectral_slope: o[1] as f64,
                peak_prominence: o[2] as f64,
                peak_fx: o[3] as f64,
                peak_fy: o[4] as f64,
                noise_level: noise_residual::level(
                    v,
                    &sums[f.out_offset as usize..f.out_offset as usize + tasks],
                ),
                tiles: grid.origins.len() as u32,
                tile_size: grid.size as u32,
            });
            if let Some(spectra) = spectra.as_mut() {
                let n = grid.size;
                let len = (n / 2 + 1) * n;
                let mut sum = vec![0f32; len];
                for tile in &tiles[vp.first_tile as usize..(vp.first_tile + vp.tile_count) as usize]
                {
                    let p =
                        &power[tile.spectrum_offset as usize..tile.spectrum_offset as usize + len];
                    sum.iter_mut().zip(p).for_each(|(a, b)| *a += b);
                }
                let k = vp.tile_count.max(1) as f32;
                sum.iter_mut().for_each(|a| *a /= k);
                spectra.push(sum);
            }
        }
        Ok(BatchOutput {
            features,
            spectra,
            bytes_up: (bytes.len() + frames.len() * 16 + tiles.len() * 32 + view_params.len() * 32)
                as u64,
            bytes_down: sums_size + out_size + power_size + timing_size,
            shader_ns,
        })
    }
}
