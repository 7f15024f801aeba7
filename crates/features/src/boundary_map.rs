//! CPU twin of `shaders/boundary_map.wgsl`: the gradient magnitude of the local noise map,
//! high where the noise texture changes — along a blending boundary, for instance.

use crate::local_std::BlockMap;

/// Central-difference gradient magnitude of `map`; 0 on the map's border.
pub fn boundary_map(map: &BlockMap) -> BlockMap {
    let (w, h) = (map.width, map.height);
    let mut values = vec![0f32; w * h];
    for y in 1..h.saturating_sub(1) {
        for x in 1..w.saturating_sub(1) {
            let gx = (map.at(x + 1, y) - map.at(x - 1, y)) * 0.5;
            let gy = (map.at(x, y + 1) - map.at(x, y - 1)) * 0.5;
            values[y * w + x] = (gx * gx + gy * gy).sqrt();
        }
    }
    BlockMap {
        width: w,
        height: h,
        block: map.block,
        values,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn edges_of_a_patch_light_up_its_inside_and_outside_do_not() {
        let mut values = vec![0f32; 7 * 7];
        for y in 2..5 {
            for x in 2..5 {
                values[y * 7 + x] = 4.0;
            }
        }
        let m = BlockMap {
            width: 7,
            height: 7,
            block: 8,
            values,
        };
        let b = boundary_map(&m);
        assert_eq!(b.at(3, 3), 0.0);
        assert_eq!(b.at(3, 1), 2.0);
        assert_eq!(b.at(5, 3), 2.0);
        assert_eq!(b.at(0, 3), 0.0);
    }
}
