//! A borrowed 8-bit luma picture: a whole frame or a crop of one.

/// An 8-bit luma picture borrowed from a larger buffer (`stride` ≥ `width`).
#[derive(Debug, Clone, Copy)]
pub struct LumaView<'a> {
    data: &'a [u8],
    width: usize,
    height: usize,
    stride: usize,
}

impl<'a> LumaView<'a> {
    /// A tightly packed `width`×`height` picture; `None` if the buffer is too short or empty.
    pub fn new(data: &'a [u8], width: usize, height: usize) -> Option<Self> {
        Self::with_stride(data, width, height, width)
    }

    /// A picture whose rows start `stride` bytes apart.
    pub fn with_stride(data: &'a [u8], width: usize, height: usize, stride: usize) -> Option<Self> {
        let needed = stride
            .checked_mul(height.checked_sub(1)?)?
            .checked_add(width)?;
        (width > 0 && stride >= width && data.len() >= needed).then_some(LumaView {
            data,
            width,
            height,
            stride,
        })
    }

    /// The `w`×`h` rectangle at (`x`, `y`); `None` if it does not fit.
    pub fn crop(&self, x: usize, y: usize, w: usize, h: usize) -> Option<LumaView<'a>> {
        if w == 0 || h == 0 || x.checked_add(w)? > self.width || y.checked_add(h)? > self.height {
            return None;
        }
        let start = y * self.stride + x;
        Some(LumaView {
            data: &self.data[start..],
            width: w,
            height: h,
            stride: self.stride,
        })
    }

    /// Width in pixels.
    pub fn width(&self) -> usize {
        self.width
    }

    /// Height in pixels.
    pub fn height(&self) -> usize {
        self.height
    }

    /// Row `y` (exactly `width` pixels).
    pub fn row(&self, y: usize) -> &'a [u8] {
        let start = y * self.stride;
        &self.data[start..start + self.width]
    }
}
