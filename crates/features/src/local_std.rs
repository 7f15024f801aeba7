//! CPU twin of `shaders/local_std.wgsl`: the local standard deviation of the noise residual,
//! one value per `block`×`block` block of interior pixels — the map in which a blended face
//! shows a different noise texture from its surroundings (Face X-ray, Li et al. 2020).

use crate::LumaView;
use crate::noise_residual::residual_at;

/// A map over a view at block resolution, row-major.
#[derive(Debug, Clone, PartialEq)]
pub struct BlockMap {
    /// Blocks across.
    pub width: usize,
    /// Blocks down.
    pub height: usize,
    /// Side of a block in pixels.
    pub block: usize,
    /// One value per block, row-major.
    pub values: Vec<f32>,
}

impl BlockMap {
    /// The value of block (`x`, `y`).
    pub fn at(&self, x: usize, y: usize) -> f32 {
        self.values[y * self.width + x]
    }
}

/// Blocks tile the interior (pixels 1..w-1, 1..h-1) from its top-left corner; a partial
/// block at the right or bottom edge is left out.
pub fn map_size(view: &LumaView<'_>, block: usize) -> (usize, usize) {
    let (w, h) = (view.width(), view.height());
    if w < 3 || h < 3 || block == 0 {
        return (0, 0);
    }
    ((w - 2) / block, (h - 2) / block)
}

/// Standard deviation of the residual `R` in each block (luma levels), from exact integer
/// sums of `8R`.
pub fn local_std(view: &LumaView<'_>, block: usize) -> BlockMap {
    let (bw, bh) = map_size(view, block);
    let mut values = Vec::with_capacity(bw * bh);
    for by in 0..bh {
        for bx in 0..bw {
            let (mut s, mut q) = (0i64, 0i64);
            for y in 1 + by * block..1 + (by + 1) * block {
                for x in 1 + bx * block..1 + (bx + 1) * block {
                    let r8 = (residual_at(view, x, y) * 8.0) as i64;
                    s += r8;
                    q += r8 * r8;
                }
            }
            let k = (block * block) as f64;
            let mean = s as f64 / k;
            values.push(((q as f64 / k - mean * mean).max(0.0).sqrt() / 8.0) as f32);
        }
    }
    BlockMap {
        width: bw,
        height: bh,
        block,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_noisy_patch_stands_out_of_a_smooth_picture() {
        let (w, h) = (66, 34);
        let mut px = vec![100u8; w * h];
        // Noise in the blocks (2..4, 1..3) of 8 px.
        let mut s = 1u32;
        for y in 9..25 {
            for x in 17..33 {
                s = s.wrapping_mul(1664525).wrapping_add(1013904223);
                px[y * w + x] = 100 + (s >> 28) as u8;
            }
        }
        let view = LumaView::new(&px, w, h).unwrap();
        let m = local_std(&view, 8);
        assert_eq!((m.width, m.height), (8, 4));
        assert!(m.at(2, 1) > 1.0 && m.at(3, 2) > 1.0);
        assert_eq!(m.at(6, 0), 0.0);
        assert_eq!(m.at(0, 3), 0.0);
    }
}
