//! Host side of `shaders/noise_residual.wgsl` (twin: `seamscan_features::noise_residual`).

use seamscan_features::LumaView;

use crate::kernel::{Binding, Kernel};

/// Interior pixels of a row summed by one workgroup.
pub(crate) const RUN: usize = 256;

/// Per-frame parameters, as the shader's `Frame` struct.
#[repr(C)]
#[derive(Clone, Copy, Debug, bytemuck::Pod, bytemuck::Zeroable)]
pub(crate) struct FrameParams {
    pub offset: u32,
    pub width: u32,
    pub height: u32,
    pub out_offset: u32,
}

/// (row, run) results of a `w`×`h` view.
pub(crate) fn tasks(w: usize, h: usize) -> usize {
    if w < 3 || h < 3 {
        0
    } else {
        (w - 2).div_ceil(RUN) * (h - 2)
    }
}

pub(crate) fn kernel(ctx: &crate::GpuContext) -> Kernel {
    Kernel::new(
        ctx,
        "noise_residual",
        include_str!(concat!(env!("OUT_DIR"), "/noise_residual.wgsl")),
        &[Binding::Read, Binding::Read, Binding::ReadWrite],
    )
}

/// The noise level of a view from its (row, run) sums.
pub(crate) fn level(view: &LumaView<'_>, sums: &[[i32; 2]]) -> f64 {
    let (w, h) = (view.width(), view.height());
    if w < 3 || h < 3 {
        return 0.0;
    }
    let (s, q) = sums
        .iter()
        .fold((0i64, 0i64), |a, x| (a.0 + x[0] as i64, a.1 + x[1] as i64));
    seamscan_features::noise_residual::level_from_sums(s, q, w, h)
}
