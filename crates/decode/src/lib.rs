//! Video decoding for seamscan: the only crate that links FFmpeg (through `ffmpeg-next`).
//!
//! It opens a file read-only, probes its container and video stream, decodes every frame in
//! presentation order, samples them (every N-th frame or a target rate), honours the display
//! rotation, and converts each sampled frame once into the analysis format: an 8-bit luma plane
//! and, on request, packed RGB. It also encodes RGB frames to H.264 (for `seamscan synth`).
//! FFmpeg types never leave this crate.

#![deny(missing_docs)]

mod encode;
mod log;
mod probe;
mod reader;
mod rotate;

pub use encode::{EncodeSettings, VideoWriter, x264_cpu_capabilities};
pub use probe::{is_image_format, sniff};
pub use reader::{
    DecodeOptions, DecodeSummary, Frame, MediaInfo, Sampling, VideoReader, decode_only,
};

use std::sync::Once;

/// Why a file could not be (fully) decoded; maps onto the `videos.status` column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub enum ErrorKind {
    /// The file has no video stream (audio-only, subtitles, data).
    NoVideo,
    /// The file could not be opened or is not a media container FFmpeg recognises.
    Unreadable,
    /// The container is readable but the video codec has no decoder here.
    Unsupported,
    /// Anything else: decoding failed, no frame could be produced, resources ran out.
    Error,
}

impl ErrorKind {
    /// The status word written to `videos.status`.
    pub fn status(self) -> &'static str {
        match self {
            ErrorKind::NoVideo => "no_video",
            ErrorKind::Unreadable => "unreadable",
            ErrorKind::Unsupported => "unsupported",
            ErrorKind::Error => "error",
        }
    }
}

/// A decode failure with a human-readable message.
#[derive(Debug, Clone, thiserror::Error, serde::Serialize, serde::Deserialize)]
#[error("{message}")]
pub struct DecodeError {
    /// The class of failure.
    pub kind: ErrorKind,
    /// What went wrong, for the `videos.error` column and the log.
    pub message: String,
}

impl DecodeError {
    /// A failure of `kind` with `message`.
    pub fn new(kind: ErrorKind, message: impl Into<String>) -> Self {
        DecodeError {
            kind,
            message: message.into(),
        }
    }
}

/// Initialises FFmpeg once per process and routes its logging into seamscan's error texts
/// (FFmpeg prints nothing itself; seamscan reports one line per file).
pub fn init() {
    static ONCE: Once = Once::new();
    ONCE.call_once(|| {
        // `init` only registers components on old FFmpeg versions; it cannot fail on 5.x.
        let _ = ffmpeg_next::init();
        ffmpeg_next::util::log::set_level(ffmpeg_next::util::log::Level::Error);
        log::install();
    });
}

/// The FFmpeg this binary runs against: libavcodec's version and FFmpeg's own version string,
/// e.g. `libavcodec 59.37.100 (FFmpeg 5.1.9-0+deb12u1)`. Point releases (and a distribution's
/// patch level) share one libavcodec version; only the second part tells them apart.
pub fn ffmpeg_version() -> String {
    let v = ffmpeg_next::codec::version();
    // SAFETY: av_version_info returns a pointer to a static NUL-terminated string.
    let info = unsafe { std::ffi::CStr::from_ptr(ffmpeg_sys_next::av_version_info()) };
    format!(
        "libavcodec {}.{}.{} (FFmpeg {})",
        v >> 16,
        (v >> 8) & 0xff,
        v & 0xff,
        info.to_string_lossy()
    )
}
