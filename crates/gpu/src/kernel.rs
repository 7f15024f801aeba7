//! One compute pipeline per shader with an explicit bind group layout, growable pooled
//! buffers, and blocking readback.

use crate::{GpuContext, GpuError};

/// How a shader binds a buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Binding {
    /// `var<storage, read>`.
    Read,
    /// `var<storage, read_write>`.
    ReadWrite,
    /// `var<uniform>`.
    Uniform,
}

/// A compiled shader: pipeline and bind group layout, built once per process.
pub(crate) struct Kernel {
    pipeline: wgpu::ComputePipeline,
    layout: wgpu::BindGroupLayout,
    label: &'static str,
}

impl Kernel {
    /// Compiles `source` (entry point `main`) with bindings 0, 1, … of the given kinds.
    pub(crate) fn new(
        ctx: &GpuContext,
        label: &'static str,
        source: &str,
        bindings: &[Binding],
    ) -> Self {
        let module = ctx
            .device
            .create_shader_module(wgpu::ShaderModuleDescriptor {
                label: Some(label),
                source: wgpu::ShaderSource::Wgsl(source.into()),
            });
        let entries: Vec<wgpu::BindGroupLayoutEntry> = bindings
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupLayoutEntry {
                binding: i as u32,
                visibility: wgpu::ShaderStages::COMPUTE,
                ty: wgpu::BindingType::Buffer {
                    ty: match b {
                        Binding::Read => wgpu::BufferBindingType::Storage { read_only: true },
                        Binding::ReadWrite => wgpu::BufferBindingType::Storage { read_only: false },
                        Binding::Uniform => wgpu::BufferBindingType::Uniform,
                    },
                    has_dynamic_offset: false,
                    min_binding_size: None,
                },
                count: None,
            })
            .collect();
        let layout = ctx
            .device
            .create_bind_group_layout(&wgpu::BindGroupLayoutDescriptor {
                label: Some(label),
                entries: &entries,
            });
        let pipeline_layout = ctx
            .device
            .create_pipeline_layout(&wgpu::PipelineLayoutDescriptor {
                label: Some(label),
                bind_group_layouts: &[Some(&layout)],
                immediate_size: 0,
            });
        let pipeline = ctx
            .device
            .create_compute_pipeline(&wgpu::ComputePipelineDescriptor {
                label: Some(label),
                layout: Some(&pipeline_layout),
                module: &module,
                entry_point: Some("main"),
                compilation_options: Default::default(),
                cache: None,
            });
        Kernel {
            pipeline,
            layout,
            label,
        }
    }

    /// Records one dispatch of `groups` workgroups over `buffers` (in binding order); with
    /// `timing`, the pass's start and end are stamped at queries `2i` and `2i + 1`.
    pub(crate) fn dispatch(
        &self,
        ctx: &GpuContext,
        encoder: &mut wgpu::CommandEncoder,
        buffers: &[&wgpu::Buffer],
        groups: (u32, u32, u32),
        timing: Option<(&wgpu::QuerySet, u32)>,
    ) {
        let entries: Vec<wgpu::BindGroupEntry> = buffers
            .iter()
            .enumerate()
            .map(|(i, b)| wgpu::BindGroupEntry {
                binding: i as u32,
                resource: b.as_entire_binding(),
            })
            .collect();
        let bind = ctx.device.create_bind_group(&wgpu::BindGroupDescriptor {
            label: Some(self.label),
            layout: &self.layout,
            entries: &entries,
        });
        let mut pass = encoder.begin_compute_pass(&wgpu::ComputePassDescriptor {
            label: Some(self.label),
            timestamp_writes: timing.map(|(query_set, i)| wgpu::ComputePassTimestampWrites {
                query_set,
                beginning_of_pass_write_index: Some(2 * i),
                end_of_pass_write_index: Some(2 * i + 1),
            }),
        });
        pass.set_pipeline(&self.pipeline);
        pass.set_bind_group(0, &bind, &[]);
        pass.dispatch_workgroups(groups.0, groups.1, groups.2);
    }
}

/// A growable buffer, reused from batch to batch (grown by powers of two, never shrunk).
pub(crate) struct Pooled {
    buffer: Option<wgpu::Buffer>,
    usage: wgpu::BufferUsages,
    label: &'static str,
}

impl Pooled {
    /// A storage buffer the host writes and shaders read.
    pub(crate) fn input(label: &'static str) -> Self {
        Self::with_usage(
            label,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_DST,
        )
    }

    /// A storage buffer shaders write and the host may read back.
    pub(crate) fn output(label: &'static str) -> Self {
        Self::with_usage(
            label,
            wgpu::BufferUsages::STORAGE | wgpu::BufferUsages::COPY_SRC,
        )
    }

    /// A mappable staging buffer for readback.
    pub(crate) fn staging(label: &'static str) -> Self {
        Self::with_usage(
            label,
            wgpu::BufferUsages::MAP_READ | wgpu::BufferUsages::COPY_DST,
        )
    }

    fn with_usage(label: &'static str, usage: wgpu::BufferUsages) -> Self {
        Pooled {
            buffer: None,
            usage,
            label,
        }
    }

    /// A buffer of at least `size` bytes.
    pub(crate) fn get(&mut self, ctx: &GpuContext, size: u64) -> &wgpu::Buffer {
        let size = size.max(16).next_power_of_two();
        if self.buffer.as_ref().is_none_or(|b| b.size() < size) {
            self.buffer = Some(ctx.device.create_buffer(&wgpu::BufferDescriptor {
                label: Some(self.label),
                size,
                usage: self.usage,
                mapped_at_creation: false,
            }));
        }
        self.buffer.as_ref().expect("just created")
    }

    /// A buffer holding `data` (padded to 4 bytes).
    pub(crate) fn upload(&mut self, ctx: &GpuContext, data: &[u8]) -> &wgpu::Buffer {
        let padded = data.len().div_ceil(4) * 4;
        let buffer = self.get(ctx, padded as u64);
        if data.len() == padded {
            ctx.queue.write_buffer(buffer, 0, data);
        } else {
            let mut v = data.to_vec();
            v.resize(padded, 0);
            ctx.queue.write_buffer(buffer, 0, &v);
        }
        buffer
    }
}

/// Submits `encoder`, waits, and reads `size` bytes of `staging` (already copied into it).
pub(crate) fn finish_and_read<T: bytemuck::Pod>(
    ctx: &GpuContext,
    encoder: wgpu::CommandEncoder,
    staging: &wgpu::Buffer,
    size: u64,
) -> Result<Vec<T>, GpuError> {
    ctx.queue.submit([encoder.finish()]);
    let slice = staging.slice(..size);
    let (tx, rx) = std::sync::mpsc::channel();
    slice.map_async(wgpu::MapMode::Read, move |r| {
        let _ = tx.send(r);
    });
    ctx.wait()?;
    rx.recv()
        .map_err(|e| GpuError::Dispatch(e.to_string()))?
        .map_err(|e| GpuError::Dispatch(e.to_string()))?;
    let out = {
        let data = slice
            .get_mapped_range()
            .map_err(|e| GpuError::Dispatch(e.to_string()))?;
        bytemuck::cast_slice(&data).to_vec()
    };
    staging.unmap();
    Ok(out)
}
