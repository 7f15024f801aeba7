//! Content sniffing: does a file look like a media container, whatever its name?

use std::ffi::CStr;
use std::io::Read;
use std::path::Path;

use ffmpeg_sys_next as sys;

/// Bytes read from the head of a file for sniffing (FFmpeg's own first probe size is 2048).
const SNIFF_BYTES: usize = 64 * 1024;
/// FFmpeg's `AVPROBE_SCORE_RETRY`: below it a guess is too weak to call the file media.
const MIN_SCORE: i32 = 25;

/// Probes the first bytes of `path` by content alone (the file name is not shown to FFmpeg)
/// and returns the name of the container format FFmpeg recognises, if any.
///
/// Reads at most 64 KiB. I/O errors yield `None`: the caller decides what to do with a file
/// it cannot read (explicit inputs are always reported).
pub fn sniff(path: &Path) -> Option<String> {
    let mut file = std::fs::File::open(path).ok()?;
    let mut buf = Vec::with_capacity(SNIFF_BYTES + sys::AVPROBE_PADDING_SIZE as usize);
    (&mut file)
        .take(SNIFF_BYTES as u64)
        .read_to_end(&mut buf)
        .ok()?;
    if buf.is_empty() {
        return None;
    }
    let len = buf.len();
    // FFmpeg requires zeroed padding after the probe buffer.
    buf.resize(len + sys::AVPROBE_PADDING_SIZE as usize, 0);
    let empty_name = c"";
    let probe = sys::AVProbeData {
        filename: empty_name.as_ptr(),
        buf: buf.as_mut_ptr(),
        buf_size: len as i32,
        mime_type: std::ptr::null(),
    };
    let mut score: i32 = 0;
    // SAFETY: `probe` points at a live, padded buffer for the duration of the call; FFmpeg
    // only reads it and returns a pointer to a static format description (or null).
    let format = unsafe { sys::av_probe_input_format3(&probe, 1, &mut score) };
    if format.is_null() || score < MIN_SCORE {
        return None;
    }
    // SAFETY: a non-null AVInputFormat has a static, NUL-terminated name.
    let name = unsafe { CStr::from_ptr((*format).name) };
    Some(name.to_string_lossy().into_owned())
}

/// True for FFmpeg formats that hold still images (`png_pipe`, `jpeg_pipe`, `image2`, `ico`):
/// FFmpeg can decode them as one-frame videos, but they are not video evidence.
pub fn is_image_format(name: &str) -> bool {
    name.ends_with("_pipe") || name.starts_with("image2") || name == "ico"
}
