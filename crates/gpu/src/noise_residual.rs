//! Pipeline of `shaders/noise_residual.wgsl` (twin: `seamscan_features::noise_residual`).

use seamscan_features::LumaView;
use wgpu::util::DeviceExt;

use crate::{GpuContext, GpuError};

const RUN: usize = 256;

/// Per-frame parameters, as the shader's `Frame` struct.
#[repr(C)]
#[derive(Clone, Copy, bytemuck::Pod, bytemuck::Zeroable)]
struct FrameParams {
    offset: u32,
    width: u32,
    height: u32,
    out_offset: u32,
}

/// A growable storage buffer, reused from batch to batch.
struct Pooled {
    buffer: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Pooled {
    fn new(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Pooled {
            buffer: None,
            usage,
            label,
        }
    }

    /// A buffer of at least `size` bytes (grown by powers of two, never shrunk).
    fn get(&mut self, device: &wgpu::Device, size: u64) -> &wgpu::Buffer {
        let size = size.max(16).next_power_of_two();
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            self.buffer = Some(device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }
}

/// Computes `noise_level` for a batch of views in one dispatch.
pub struct NoiseResidual {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    luma: Pooled,
    sums: Pooled,
    readback: Pooled,
}

fn storage_entry(binding: u32, read_only: bool) -> wgpu::BindGroupLayoutEntry {
    wgpu::BindGroupLayoutEntry {
        binding,
        visibility: wgpu::ShaderStages::COMPUTE,
        ty: wgpu::BindingType::Buffer {
            ty: wgpu::BufferBindingType::Storage { read_only },
            has_dynamic_offset: false,
            min_binding_size: None,
        },
        count: None,
    }
}

impl NoiseResidual {
    /// Builds the pipeline (once per process).
    pub fn new(ctx: &GpuContext) -> Self {
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some("noise_residual"),
                source: wgpu::ShaderSource::Wgsl(
                    include_str!("../../../shaders/noise_residual.wgsl").into(),
                ),
            });
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some("noise_residual"),
                entries: &[
                    storage_entry(0, true),
                    storage_entry(1, true),
                    storage_entry(2, false),
                ],
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some("noise_residual"),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some("noise_residual"),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        let storage = wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST;
        NoiseResidual {
            pipeline,
            layout,
            luma: Pooled::new("noise_residual.luma", storage),
            sums: Pooled::new(
                "noise_residual.sums",
                wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
            ),
            readback: Pooled::new(
                "noise_residual.readback",
                wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
            ),
        }
    }

    /// The noise level of each view (0 for views under 3×3), as
    /// `seamscan_features::noise_residual::noise_level` computes it.
    pub fn noise_levels(
        &mut self,
        ctx: &GpuContext,
        views: &[LumaView<'_>],
    ) -> Result<Vec<f64>, GpuError> {
        let mut params = Vec::with_capacity(views.len());
        let mut bytes: Vec<u8> = Vec::new();
        let mut tasks_total = 0usize;
        let mut max_tasks = 0usize;
        for v in views {
            let (w, h) = (v.width(), v.height());
            let tasks = if w < 3 || h < 3 {
                0
            } else {
                (w - 2).div_ceil(RUN) * (h - 2)
            };
            params.push(FrameParams {
                offset: bytes.len() as u32,
                width: w as u32,
                height: h as u32,
                out_offset: tasks_total as u32,
            });
            for y in 0..h {
                bytes.extend_from_slice(v.row(y));
            }
            tasks_total += tasks;
            max_tasks = max_tasks.max(tasks);
        }
        if tasks_total == 0 {
            return Ok(vec![0.0; views.len()]);
        }
        bytes.resize(bytes.len().div_ceil(4) * 4, 0);
        let luma = self.luma.get(&ctx.device, bytes.len() as u64);
        ctx.queue.write_buffer(luma, 0, &bytes);
        let frames = ctx
            .device
            .create_buffer_init(&wgpu::util::BufferInitDescriptor {
                label: Some("noise_residual.frames"),
                contents: bytemuck::cast_slice(&params),
                usage: wgpu::BufferUsages::STORAGE,
            });
        let out_size = (tasks_total * 8) as u64;
        let sums = self.sums.get(&ctx.device, out_size);
        let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some("noise_residual"),
            layout: &self.layout,
            entries: &[
                wgpu::BindGroupEntry {
                    binding: 0,
                    resource: luma.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 1,
                    resource: frames.as_entire_binding(),
                },
                wgpu::BindGroupEntry {
                    binding: 2,
                    resource: sums.as_entire_binding(),
                },
            ],
        });
        let readback = self.readback.get(&ctx.device, out_size);
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        {
            let mut pass = encoder.begin_compute_pass(&Default::default());
            pass.set_pipeline(&self.pipeline);
            pass.set_bind_group(0, &bind, &[]);
            pass.dispatch_workgroups(max_tasks as u32, views.len() as u32, 1);
        }
        encoder.copy_buffer_to_buffer(sums, 0, readback, 0, out_size);
        ctx.queue.submit([encoder.finish()]);
        let slice = readback.slice(..out_size);
        let (tx, rx) = std::sync::mpsc::channel();
        slice.map_async(wgpu::MapMode::Read, move |r| {
            let _ = tx.send(r);
        });
        ctx.wait()?;
        rx.recv()
            .map_err(|e| GpuError::Dispatch(e.to_string()))?
            .map_err(|e| GpuError::Dispatch(e.to_string()))?;
        let sums: Vec<[i32; 2]> = {
            let data = slice
                .get_mapped_range()
                .map_err(|e| GpuError::Dispatch(e.to_string()))?;
            bytemuck::cast_slice(&data).to_vec()
        };
        readback.unmap();
        Ok(views
            .iter()
            .zip(&params)
            .map(|(v, p)| {
                let (w, h) = (v.width(), v.height());
                if w < 3 || h < 3 {
                    return 0.0;
                }
                let tasks = (w - 2).div_ceil(RUN) * (h - 2);
                let start = p.out_offset as usize;
                let (s, q) = sums[start..start + tasks]
                    .iter()
                    .fold((0i64, 0i64), |a, x| (a.0 + x[0] as i64, a.1 + x[1] as i64));
                seamscan_features::noise_residual::level_from_sums(s, q, w, h)
            })
            .collect())
    }
}
