//! Display rotation: read from the stream's display matrix, applied to decoded planes.

use ffmpeg_next as ff;

/// A clockwise rotation by a multiple of 90 degrees.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Rotation {
    None,
    Cw90,
    Cw180,
    Cw270,
}

impl Rotation {
    /// Reads the stream's display matrix the way the `ffmpeg` CLI's autorotate does.
    pub(crate) fn from_stream(stream: &ff::format::stream::Stream) -> Rotation {
        for side in stream.side_data() {
            if side.kind() != ff::codec::packet::side_data::Type::DisplayMatrix {
                continue;
            }
            let data = side.data();
            if data.len() < 9 * 4 {
                continue;
            }
            let mut matrix = [0i32; 9];
            for (i, m) in matrix.iter_mut().enumerate() {
                *m = i32::from_ne_bytes([
                    data[4 * i],
                    data[4 * i + 1],
                    data[4 * i + 2],
                    data[4 * i + 3],
                ]);
            }
            // SAFETY: `matrix` is the 3x3 display matrix FFmpeg expects; the call only reads it.
            let angle = unsafe { ff::ffi::av_display_rotation_get(matrix.as_ptr()) };
            return Rotation::from_degrees(-angle);
        }
        Rotation::None
    }

    /// The nearest quarter turn to a clockwise angle in degrees; NaN means none.
    pub(crate) fn from_degrees(clockwise: f64) -> Rotation {
        if !clockwise.is_finite() {
            return Rotation::None;
        }
        let quarter = (clockwise / 90.0).round() as i64;
        match quarter.rem_euclid(4) {
            1 => Rotation::Cw90,
            2 => Rotation::Cw180,
            3 => Rotation::Cw270,
            _ => Rotation::None,
        }
    }

    /// Degrees clockwise.
    pub(crate) fn degrees(self) -> u32 {
        match self {
            Rotation::None => 0,
            Rotation::Cw90 => 90,
            Rotation::Cw180 => 180,
            Rotation::Cw270 => 270,
        }
    }

    /// Size after rotation of a `w`×`h` picture.
    pub(crate) fn display_size(self, w: u32, h: u32) -> (u32, u32) {
        match self {
            Rotation::Cw90 | Rotation::Cw270 => (h, w),
            _ => (w, h),
        }
    }
}

/// Rotates a packed plane of `channels` bytes per pixel; returns it with its new size.
pub(crate) fn rotate_plane(
    src: Vec<u8>,
    w: usize,
    h: usize,
    channels: usize,
    rotation: Rotation,
) -> (Vec<u8>, usize, usize) {
    if rotation == Rotation::None {
        return (src, w, h);
    }
    let (nw, nh) = match rotation {
        Rotation::Cw90 | Rotation::Cw270 => (h, w),
        _ => (w, h),
    };
    let mut dst = vec![0u8; src.len()];
    for y in 0..nh {
        for x in 0..nw {
            let (sx, sy) = match rotation {
                Rotation::Cw90 => (y, h - 1 - x),
                Rotation::Cw180 => (w - 1 - x, h - 1 - y),
                Rotation::Cw270 => (w - 1 - y, x),
                Rotation::None => (x, y),
            };
            let s = (sy * w + sx) * channels;
            let d = (y * nw + x) * channels;
            dst[d..d + channels].copy_from_slice(&src[s..s + channels]);
        }
    }
    (dst, nw, nh)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A 3×2 picture:
    /// ```text
    /// 1 2 3
    /// 4 5 6
    /// ```
    fn picture() -> Vec<u8> {
        vec![1, 2, 3, 4, 5, 6]
    }

    #[test]
    fn quarter_turn_clockwise_puts_the_left_column_on_top() {
        let (p, w, h) = rotate_plane(picture(), 3, 2, 1, Rotation::Cw90);
        assert_eq!((w, h), (2, 3));
        assert_eq!(p, vec![4, 1, 5, 2, 6, 3]);
    }

    #[test]
    fn half_turn_reverses() {
        let (p, w, h) = rotate_plane(picture(), 3, 2, 1, Rotation::Cw180);
        assert_eq!((w, h), (3, 2));
        assert_eq!(p, vec![6, 5, 4, 3, 2, 1]);
    }

    #[test]
    fn three_quarter_turn_puts_the_right_column_on_top() {
        let (p, w, h) = rotate_plane(picture(), 3, 2, 1, Rotation::Cw270);
        assert_eq!((w, h), (2, 3));
        assert_eq!(p, vec![3, 6, 2, 5, 1, 4]);
    }

    #[test]
    fn angles_snap_to_quarter_turns() {
        assert_eq!(Rotation::from_degrees(-90.0), Rotation::Cw270);
        assert_eq!(Rotation::from_degrees(89.6), Rotation::Cw90);
        assert_eq!(Rotation::from_degrees(f64::NAN), Rotation::None);
    }
}
