//! Host side of `shaders/local_std.wgsl` and `shaders/boundary_map.wgsl` (twins:
//! `seamscan_features::local_std` and `seamscan_features::boundary_map`): the noise texture
//! map and the blending-boundary map of a batch of views, in one submission.

use seamscan_features::LumaView;
use seamscan_features::local_std::{BlockMap, map_size};

use crate::kernel::{Binding, Kernel, Pooled, finish_and_read};
use crate::{GpuContext, GpuError};

/// Block side the shaders use.
pub const NOISE_BLOCK: usize = 8;

#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
struct MapFrame {
    offset: u32,
    width: u32,
    height: u32,
    map_offset: u32,
    map_width: u32,
    map_height: u32,
    pad: [u32; 2],
}

/// The map pipelines and their buffers.
pub struct NoiseMaps {
    local_std: Kernel,
    boundary: Kernel,
    luma: Pooled,
    frames: Pooled,
    std_out: Pooled,
    boundary_out: Pooled,
    staging: Pooled,
}

impl NoiseMaps {
    /// Compiles both pipelines.
    pub fn new(ctx: &GpuContext) -> Self {
        use Binding::{Read, ReadWrite};
        NoiseMaps {
            local_std: Kernel::new(
                ctx,
                "local_std",
                include_str!(concat!(env!("OUT_DIR"), "/local_std.wgsl")),
                &[Read, Read, ReadWrite],
            ),
            boundary: Kernel::new(
                ctx,
                "boundary_map",
                include_str!(concat!(env!("OUT_DIR"), "/boundary_map.wgsl")),
                &[Read, Read, ReadWrite],
            ),
            luma: Pooled::input("maps.luma"),
            frames: Pooled::input("maps.frames"),
            std_out: Pooled::output("maps.local_std"),
            boundary_out: Pooled::output("maps.boundary"),
            staging: Pooled::staging("maps.readback"),
        }
    }

    /// (local noise std map, boundary map) of each view, 8×8-pixel blocks.
    pub fn run(
        &mut self,
        ctx: &GpuContext,
        views: &[LumaView<'_>],
    ) -> Result<Vec<(BlockMap, BlockMap)>, GpuError> {
        ctx.check()?;
        let mut bytes = Vec::new();
        let mut frames = Vec::with_capacity(views.len());
        let (mut cells, mut max_cells) = (0usize, 0usize);
        for v in views {
            let (mw, mh) = map_size(v, NOISE_BLOCK);
            frames.push(MapFrame {
                offset: bytes.len() as u32,
                width: v.width() as u32,
                height: v.height() as u32,
                map_offset: cells as u32,
                map_width: mw as u32,
                map_height: mh as u32,
                pad: [0; 2],
            });
            for y in 0..v.height() {
                bytes.extend_from_slice(v.row(y));
            }
            cells += mw * mh;
            max_cells = max_cells.max(mw * mh);
        }
        let maps = |values: &[f32]| -> Vec<BlockMap> {
            frames
                .iter()
                .map(|f| {
                    let start = f.map_offset as usize;
                    let len = (f.map_width * f.map_height) as usize;
                    BlockMap {
                        width: f.map_width as usize,
                        height: f.map_height as usize,
                        block: NOISE_BLOCK,
                        values: values[start..start + len].to_vec(),
                    }
                })
                .collect()
        };
        if cells == 0 {
            return Ok(maps(&[]).into_iter().map(|m| (m.clone(), m)).collect());
        }
        let size = (cells * 4) as u64;
        let luma = self.luma.upload(ctx, &bytes);
        let frames_buf = self.frames.upload(ctx, bytemuck::cast_slice(&frames));
        let std_out = self.std_out.get(ctx, size);
        let boundary_out = self.boundary_out.get(ctx, size);
        let staging = self.staging.get(ctx, 2 * size);
        let n = views.len() as u32;
        let mut encoder = ctx.device.create_command_encoder(&Default::default());
        self.local_std.dispatch(
            ctx,
            &mut encoder,
            &[luma, frames_buf, std_out],
            (max_cells as u32, n, 1),
            None,
        );
        self.boundary.dispatch(
            ctx,
            &mut encoder,
            &[std_out, frames_buf, boundary_out],
            (max_cells.div_ceil(64) as u32, n, 1),
            None,
        );
        encoder.copy_buffer_to_buffer(std_out, 0, staging, 0, size);
        encoder.copy_buffer_to_buffer(boundary_out, 0, staging, size, size);
        let data: Vec<f32> = finish_and_read(ctx, encoder, staging, 2 * size)?;
        let (std_values, boundary_values) = data.split_at(cells);
        Ok(maps(std_values)
            .into_iter()
            .zip(maps(boundary_values))
            .collect())
    }
}
