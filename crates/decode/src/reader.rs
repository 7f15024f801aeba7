//! Opening a file, probing its video stream and decoding sampled frames.

use std::path::Path;

use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;

use crate::rotate::{Rotation, rotate_plane};
use crate::{DecodeError, ErrorKind};

/// After this many packets the decoder rejected in a row, the stream is considered broken.
const MAX_CONSECUTIVE_DECODE_ERRORS: u32 = 64;

/// Which decoded frames are analysed.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct Sampling {
    /// Keep every N-th decoded frame (1 = all). Applied when `fps` is `None`.
    pub every: u64,
    /// Keep frames at about this many per second of presentation time (VFR-safe).
    pub fps: Option<f64>,
    /// Stop after this many analysed frames (`None` = no limit).
    pub max_frames: Option<u64>,
}

impl Default for Sampling {
    fn default() -> Self {
        Sampling {
            every: 1,
            fps: None,
            max_frames: None,
        }
    }
}

/// How to decode.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecodeOptions {
    /// Frame sampling.
    pub sampling: Sampling,
    /// Also produce packed RGB24 for each sampled frame.
    pub rgb: bool,
    /// Decoder threads for this file (0 = FFmpeg decides).
    pub threads: usize,
}

impl Default for DecodeOptions {
    fn default() -> Self {
        DecodeOptions {
            sampling: Sampling::default(),
            rgb: true,
            threads: 0,
        }
    }
}

/// What the container and the video stream declare.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct MediaInfo {
    /// FFmpeg's container format name, e.g. `mov,mp4,m4a,3gp,3g2,mj2`.
    pub container: String,
    /// FFmpeg's codec name of the video stream, e.g. `h264`.
    pub codec: String,
    /// Displayed width in pixels (after rotation).
    pub width: u32,
    /// Displayed height in pixels (after rotation).
    pub height: u32,
    /// Clockwise rotation in degrees (0, 90, 180, 270) applied to decoded pixels for display.
    pub rotation: u32,
    /// Average frame rate the stream declares, frames per second.
    pub fps: Option<f64>,
    /// Duration in seconds (stream, else container).
    pub duration_s: Option<f64>,
    /// Frame count the container declares (not always present or exact).
    pub declared_frames: Option<u64>,
    /// Pixel format of the decoded stream, e.g. `yuv420p`.
    pub pixel_format: String,
    /// Stream time base as (numerator, denominator): `time_s = pts * num / den`.
    pub time_base: (i32, i32),
}

/// One sampled, converted frame in display orientation.
#[derive(Debug, Clone)]
pub struct Frame {
    /// 0-based index among all decoded frames of the stream, in presentation order.
    pub index: u64,
    /// Presentation timestamp in stream time-base units (FFmpeg's best-effort timestamp).
    pub pts: Option<i64>,
    /// `pts` in seconds.
    pub time_s: Option<f64>,
    /// Width in pixels.
    pub width: usize,
    /// Height in pixels.
    pub height: usize,
    /// 8-bit luma, `width * height` bytes, row-major, no padding.
    pub luma: Vec<u8>,
    /// Packed RGB24, `3 * width * height` bytes, when requested.
    pub rgb: Option<Vec<u8>>,
}

/// Decodes one file's video stream.
pub struct VideoReader {
    input: ff::format::context::Input,
    decoder: ff::codec::decoder::Video,
    stream_index: usize,
    info: MediaInfo,
    options: DecodeOptions,
    rotation: Rotation,
    time_base: f64,
    frame: ff::frame::Video,
    packet: ff::Packet,
    gray: Option<Converter>,
    rgb: Option<Converter>,
    decoded: u64,
    analysed: u64,
    next_time: Option<f64>,
    eof_sent: bool,
    finished: bool,
    decode_errors: u64,
    consecutive_errors: u32,
    last_error: Option<String>,
    read_error: Option<String>,
}

/// A swscale context for one input geometry, rebuilt if the stream changes size or format.
struct Converter {
    key: (Pixel, u32, u32),
    context: scaling::Context,
    out: ff::frame::Video,
}

/// Counts of one finished decode.
#[derive(Debug, Clone, Default, PartialEq, serde::Serialize, serde::Deserialize)]
pub struct DecodeSummary {
    /// Frames the decoder produced.
    pub frames_decoded: u64,
    /// Frames handed out for analysis.
    pub frames_sampled: u64,
    /// Packets the decoder rejected (the stream went on past them).
    pub decode_errors: u64,
    /// Set when reading stopped early on an I/O or demuxer error: the file is incomplete.
    pub stopped_early: Option<String>,
}

/// An FFmpeg failure, with FFmpeg's own last message on this thread when there is one.
fn ff_error(kind: ErrorKind, context: &str, e: ff::Error) -> DecodeError {
    match crate::log::take() {
        Some(detail) => DecodeError::new(kind, format!("{context}: {e} ({detail})")),
        None => DecodeError::new(kind, format!("{context}: {e}")),
    }
}

fn rational(r: ff::Rational) -> Option<f64> {
    (r.numerator() > 0 && r.denominator() > 0)
        .then(|| r.numerator() as f64 / r.denominator() as f64)
}

impl VideoReader {
    /// Opens `path` read-only and prepares its best video stream for decoding.
    pub fn open(path: &Path, options: DecodeOptions) -> Result<Self, DecodeError> {
        crate::init();
        crate::log::clear();
        let input = open_input(path)
            .map_err(|e| ff_error(ErrorKind::Unreadable, "cannot open as media", e))?;
        let container = input.format().name().to_string();
        let stream = match input.streams().best(ff::media::Type::Video) {
            Some(s) => s,
            None => {
                let kinds: Vec<String> = input
                    .streams()
                    .map(|s| format!("{:?}", s.parameters().medium()).to_lowercase())
                    .collect();
                let what = if kinds.is_empty() {
                    "no streams".to_string()
                } else {
                    format!("streams: {}", kinds.join(", "))
                };
                return Err(DecodeError::new(
                    ErrorKind::NoVideo,
                    format!("no video stream ({what})"),
                ));
            }
        };
        let stream_index = stream.index();
        let params = stream.parameters();
        let codec_id = params.id();
        // SAFETY: the parameters pointer is valid while `stream` (borrowing `input`) lives.
        let codec_tag = unsafe { (*params.as_ptr()).codec_tag };
        if codec_id == ff::codec::Id::None {
            return Err(DecodeError::new(
                ErrorKind::Unsupported,
                format!("unknown video codec (tag {})", fourcc(codec_tag)),
            ));
        }
        if ff::codec::decoder::find(codec_id).is_none() {
            return Err(DecodeError::new(
                ErrorKind::Unsupported,
                format!("no decoder for video codec '{}'", codec_id.name()),
            ));
        }
        let tb = stream.time_base();
        let time_base = rational(tb).unwrap_or(0.0);
        let fps = rational(stream.avg_frame_rate());
        let duration_s = if stream.duration() > 0 && time_base > 0.0 {
            Some(stream.duration() as f64 * time_base)
        } else if input.duration() > 0 {
            Some(input.duration() as f64 / f64::from(ff::ffi::AV_TIME_BASE))
        } else {
            None
        };
        let declared_frames = (stream.frames() > 0).then_some(stream.frames() as u64);
        let rotation = Rotation::from_stream(&stream);

        let mut context = ff::codec::context::Context::from_parameters(params)
            .map_err(|e| ff_error(ErrorKind::Error, "cannot set up decoder", e))?;
        context.set_threading(ff::codec::threading::Config {
            kind: ff::codec::threading::Type::Frame,
            count: options.threads,
            ..Default::default()
        });
        let decoder = context.decoder().video().map_err(|e| {
            ff_error(
                ErrorKind::Unsupported,
                &format!("cannot open decoder for '{}'", codec_id.name()),
                e,
            )
        })?;
        let (cw, ch) = (decoder.width(), decoder.height());
        if cw == 0 || ch == 0 {
            return Err(DecodeError::new(
                ErrorKind::Error,
                "video stream declares no frame size",
            ));
        }
        let (width, height) = rotation.display_size(cw, ch);
        let pixel_format = format!("{:?}", decoder.format()).to_lowercase();
        let info = MediaInfo {
            container,
            codec: codec_id.name().to_string(),
            width,
            height,
            rotation: rotation.degrees(),
            fps,
            duration_s,
            declared_frames,
            pixel_format,
            time_base: (tb.numerator(), tb.denominator()),
        };
        Ok(VideoReader {
            input,
            decoder,
            stream_index,
            info,
            options,
            rotation,
            time_base,
            frame: ff::frame::Video::empty(),
            packet: ff::Packet::empty(),
            gray: None,
            rgb: None,
            decoded: 0,
            analysed: 0,
            next_time: None,
            eof_sent: false,
            finished: false,
            decode_errors: 0,
            consecutive_errors: 0,
            last_error: None,
            read_error: None,
        })
    }

    /// What the file declares.
    pub fn info(&self) -> &MediaInfo {
        &self.info
    }

    /// Decodes up to the next sampled frame and converts it; `Ok(None)` at the end.
    pub fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        loop {
            if let Some(max) = self.options.sampling.max_frames
                && self.analysed >= max
            {
                return Ok(None);
            }
            if !self.decode_next()? {
                return Ok(None);
            }
            let index = self.decoded - 1;
            let pts = self.frame.timestamp().or_else(|| self.frame.pts());
            let time_s = pts.map(|p| p as f64 * self.time_base);
            if !self.keep(index, time_s) {
                continue;
            }
            self.analysed += 1;
            return self.convert(index, pts, time_s).map(Some);
        }
    }

    /// Counts of what was decoded so far.
    pub fn summary(&self) -> DecodeSummary {
        DecodeSummary {
            frames_decoded: self.decoded,
            frames_sampled: self.analysed,
            decode_errors: self.decode_errors,
            stopped_early: self.read_error.clone(),
        }
    }

    fn keep(&mut self, index: u64, time_s: Option<f64>) -> bool {
        let sampling = &self.options.sampling;
        match sampling.fps {
            Some(rate) if rate > 0.0 => {
                let step = 1.0 / rate;
                // Without timestamps fall back on the declared rate.
                let t = time_s.unwrap_or_else(|| index as f64 / self.info.fps.unwrap_or(rate));
                match self.next_time {
                    Some(next) if t + 1e-9 < next => false,
                    Some(mut next) => {
                        while next <= t + 1e-9 {
                            next += step;
                        }
                        self.next_time = Some(next);
                        true
                    }
                    None => {
                        self.next_time = Some(t + step);
                        true
                    }
                }
            }
            _ => index.is_multiple_of(sampling.every.max(1)),
        }
    }

    /// Receives the next decoded frame into `self.frame`; false at the end of the stream.
    fn decode_next(&mut self) -> Result<bool, DecodeError> {
        loop {
            if self.finished {
                return self.end_of_stream();
            }
            match self.decoder.receive_frame(&mut self.frame) {
                Ok(()) => {
                    self.decoded += 1;
                    self.consecutive_errors = 0;
                    return Ok(true);
                }
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                    self.feed()?;
                }
                Err(ff::Error::Eof) => {
                    self.finished = true;
                }
                Err(e) => {
                    // A frame the decoder could not reconstruct: count it and go on, as ffmpeg does.
                    self.note_decode_error(e)?;
                }
            }
        }
    }

    /// The stream is over: fine if anything was decoded, an error if nothing was.
    fn end_of_stream(&self) -> Result<bool, DecodeError> {
        if self.decoded > 0 {
            return Ok(false);
        }
        let why = self
            .read_error
            .clone()
            .or_else(|| self.last_error.clone())
            .unwrap_or_else(|| "the stream holds no frames".to_string());
        Err(DecodeError::new(
            ErrorKind::Error,
            format!("no frame could be decoded: {why}"),
        ))
    }

    /// Sends the next packet of our stream to the decoder (or EOF).
    fn feed(&mut self) -> Result<(), DecodeError> {
        if self.eof_sent {
            // The decoder asked for more after EOF: nothing left to give.
            self.finished = true;
            return Ok(());
        }
        loop {
            // A fresh packet each time: `av_read_frame` does not release the buffer of the
            // packet it fills, so reusing one would leak every packet's data.
            self.packet = ff::Packet::empty();
            match self.packet.read(&mut self.input) {
                Ok(()) => {
                    if self.packet.stream() != self.stream_index {
                        continue;
                    }
                    match self.decoder.send_packet(&self.packet) {
                        Ok(()) => return Ok(()),
                        Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => {
                            return Ok(());
                        }
                        Err(e) => self.note_decode_error(e)?,
                    }
                }
                Err(ff::Error::Eof) => {
                    if crate::log::saw_partial_file() {
                        self.read_error = Some(format!(
                            "the file is truncated (FFmpeg: partial file); {} frames decoded before its end",
                            self.decoded
                        ));
                    }
                    break;
                }
                // A corrupt packet the demuxer can resync past.
                Err(ff::Error::InvalidData) => {
                    self.decode_errors += 1;
                    self.consecutive_errors += 1;
                    if self.consecutive_errors > MAX_CONSECUTIVE_DECODE_ERRORS {
                        self.read_error = Some("too many corrupt packets in a row".into());
                        break;
                    }
                }
                Err(ff::Error::Other { errno }) if errno == ff::util::error::EAGAIN => continue,
                Err(e) => {
                    // I/O errors latch in FFmpeg: stop reading, drain what is decoded.
                    self.read_error = Some(format!(
                        "reading stopped after {} frames: {e}",
                        self.decoded
                    ));
                    break;
                }
            }
        }
        self.eof_sent = true;
        // Draining: an error here only means the decoder was already flushed.
        let _ = self.decoder.send_eof();
        Ok(())
    }

    fn note_decode_error(&mut self, e: ff::Error) -> Result<(), DecodeError> {
        self.decode_errors += 1;
        self.consecutive_errors += 1;
        self.last_error = Some(match crate::log::take() {
            Some(detail) => format!("{e} ({detail})"),
            None => e.to_string(),
        });
        if self.consecutive_errors > MAX_CONSECUTIVE_DECODE_ERRORS {
            self.finished = true;
            return Err(DecodeError::new(
                ErrorKind::Error,
                format!(
                    "decoder failed {} times in a row after {} frames: {e}",
                    self.consecutive_errors, self.decoded
                ),
            ));
        }
        Ok(())
    }

    fn convert(
        &mut self,
        index: u64,
        pts: Option<i64>,
        time_s: Option<f64>,
    ) -> Result<Frame, DecodeError> {
        let (w, h) = (self.frame.width(), self.frame.height());
        let format = self.frame.format();
        if w == 0 || h == 0 || format == Pixel::None {
            return Err(DecodeError::new(
                ErrorKind::Error,
                format!("decoder produced an empty frame at index {index}"),
            ));
        }
        let luma = if is_planar_8bit_yuv(format) {
            copy_plane(&self.frame, 0, w as usize, h as usize, 1)
        } else {
            let conv = Converter::ensure(&mut self.gray, format, w, h, Pixel::GRAY8)?;
            conv.context
                .run(&self.frame, &mut conv.out)
                .map_err(|e| ff_error(ErrorKind::Error, "luma conversion failed", e))?;
            copy_plane(&conv.out, 0, w as usize, h as usize, 1)
        };
        let rgb = if self.options.rgb {
            let conv = Converter::ensure(&mut self.rgb, format, w, h, Pixel::RGB24)?;
            conv.context
                .run(&self.frame, &mut conv.out)
                .map_err(|e| ff_error(ErrorKind::Error, "RGB conversion failed", e))?;
            Some(copy_plane(&conv.out, 0, w as usize, h as usize, 3))
        } else {
            None
        };
        let (luma, width, height) = rotate_plane(luma, w as usize, h as usize, 1, self.rotation);
        let rgb = rgb.map(|p| rotate_plane(p, w as usize, h as usize, 3, self.rotation).0);
        Ok(Frame {
            index,
            pts,
            time_s,
            width,
            height,
            luma,
            rgb,
        })
    }
}

impl Converter {
    fn ensure(
        slot: &mut Option<Converter>,
        format: Pixel,
        w: u32,
        h: u32,
        target: Pixel,
    ) -> Result<&mut Converter, DecodeError> {
        let key = (format, w, h);
        if slot.as_ref().is_none_or(|c| c.key != key) {
            let context =
                scaling::Context::get(format, w, h, target, w, h, scaling::Flags::BILINEAR)
                    .map_err(|e| {
                        ff_error(
                            ErrorKind::Unsupported,
                            &format!("cannot convert pixel format {format:?}"),
                            e,
                        )
                    })?;
            *slot = Some(Converter {
                key,
                context,
                out: ff::frame::Video::empty(),
            });
        }
        Ok(slot.as_mut().expect("converter was just set"))
    }
}

/// Pixel formats whose plane 0 is already 8-bit luma.
fn is_planar_8bit_yuv(format: Pixel) -> bool {
    use Pixel::*;
    matches!(
        format,
        YUV420P
            | YUVJ420P
            | YUV422P
            | YUVJ422P
            | YUV444P
            | YUVJ444P
            | YUV440P
            | YUVJ440P
            | YUV411P
            | YUV410P
            | NV12
            | NV21
            | GRAY8
            | YUVA420P
    )
}

/// Copies plane `index` of a frame into a tightly packed buffer.
fn copy_plane(
    frame: &ff::frame::Video,
    index: usize,
    width: usize,
    height: usize,
    channels: usize,
) -> Vec<u8> {
    let stride = frame.stride(index);
    let data = frame.data(index);
    let row = width * channels;
    let mut out = Vec::with_capacity(row * height);
    for y in 0..height {
        out.extend_from_slice(&data[y * stride..y * stride + row]);
    }
    out
}

/// Opens a container for reading, by its path bytes (any bytes, not only UTF-8), through
/// FFmpeg's `file:` protocol only: a file name with a colon is never taken for a URL, and a
/// hostile playlist cannot make FFmpeg open network or other protocols.
fn open_input(path: &Path) -> Result<ff::format::context::Input, ff::Error> {
    use std::os::unix::ffi::OsStrExt;
    let mut url = b"file:".to_vec();
    url.extend_from_slice(path.as_os_str().as_bytes());
    let url = std::ffi::CString::new(url).map_err(|_| ff::Error::InvalidData)?;
    let mut options = ff::Dictionary::new();
    options.set("protocol_whitelist", "file");
    // SAFETY: the FFI calls follow FFmpeg's contract: `ps` starts null and is either set to an
    // opened context (which `Input::wrap` then owns and frees) or left null on failure; the
    // options dictionary is handed over and taken back so that it is freed exactly once.
    unsafe {
        let mut ps = std::ptr::null_mut();
        let mut opts = options.disown();
        let res = ff::ffi::avformat_open_input(&mut ps, url.as_ptr(), std::ptr::null(), &mut opts);
        drop(ff::Dictionary::own(opts));
        if res < 0 {
            return Err(ff::Error::from(res));
        }
        let r = ff::ffi::avformat_find_stream_info(ps, std::ptr::null_mut());
        if r < 0 {
            ff::ffi::avformat_close_input(&mut ps);
            return Err(ff::Error::from(r));
        }
        Ok(ff::format::context::Input::wrap(ps))
    }
}

fn fourcc(tag: u32) -> String {
    let bytes = tag.to_le_bytes();
    if bytes.iter().all(|b| b.is_ascii_graphic() || *b == b' ') {
        format!("'{}'", String::from_utf8_lossy(&bytes))
    } else {
        format!("0x{tag:08x}")
    }
}

/// Decodes every frame of `path` without conversion or analysis and returns how many there
/// were: the baseline the benchmarks compare the full pipeline against.
///
/// Stops after `limit` decoded frames, if given (to match a run limited by `max_frames`), and
/// as soon as `stop` returns true (checked before each frame: a signal ends the pass at once).
pub fn decode_only(
    path: &Path,
    threads: usize,
    limit: Option<u64>,
    stop: &dyn Fn() -> bool,
) -> Result<u64, DecodeError> {
    let mut reader = VideoReader::open(
        path,
        DecodeOptions {
            rgb: false,
            threads,
            ..DecodeOptions::default()
        },
    )?;
    let limit = limit.unwrap_or(u64::MAX);
    while reader.decoded < limit && !stop() && reader.decode_next()? {}
    Ok(reader.summary().frames_decoded)
}
