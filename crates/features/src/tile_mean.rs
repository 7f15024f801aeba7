//! CPU twin of `shaders/tile_mean.wgsl`: the mean luma of a tile, from an exact integer sum.

use crate::LumaView;

/// Mean of the view's pixels, as f32 (sum in integers, divided in f64).
pub fn tile_mean(view: &LumaView<'_>) -> f32 {
    let total: u64 = (0..view.height())
        .map(|y| view.row(y).iter().map(|&v| v as u64).sum::<u64>())
        .sum();
    (total as f64 / (view.width() * view.height()) as f64) as f32
}
