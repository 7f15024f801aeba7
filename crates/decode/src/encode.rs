//! Encoding RGB frames to an H.264 MP4 (libx264 through FFmpeg), for the synthesised training
//! clips: real and forged frames go through the same encoder at the same qualities, so
//! compression never gives the label away. Single-threaded, so the bytes are the same for the
//! same frames and settings on every machine where libx264 picks the same kernels: its rate
//! control's AVX-512 kernel divides exactly, its SSE/AVX/AVX2 ones use an approximate
//! reciprocal whose last bits differ between CPU makers ([`x264_cpu_capabilities`] names the
//! set it ran with; docs/model.md, "x264's instruction set, not the CPU maker").

use std::path::Path;

use ff::format::Pixel;
use ff::software::scaling;
use ffmpeg_next as ff;

use crate::{DecodeError, ErrorKind};

/// The instruction sets libx264 reported when this process last opened an encoder, as it
/// names them, e.g. `MMX2 SSE2Fast SSSE3 SSE4.2 AVX FMA3 BMI2 AVX2 AVX512`; `None` before the
/// first [`VideoWriter::create`]. Two hosts write the same clips when both name `AVX512`, or
/// name the same sets without it on CPUs of one maker.
pub fn x264_cpu_capabilities() -> Option<String> {
    crate::log::x264_cpu_capabilities()
}

/// How to encode.
#[derive(Debug, Clone, PartialEq)]
pub struct EncodeSettings {
    /// x264 constant rate factor (0 lossless … 51 worst; 18–35 is the useful range).
    pub crf: u32,
    /// x264 preset, e.g. `veryfast`, `medium`.
    pub preset: String,
    /// Frames per second written into the stream.
    pub fps: u32,
}

impl Default for EncodeSettings {
    fn default() -> Self {
        EncodeSettings {
            crf: 23,
            preset: "veryfast".into(),
            fps: 25,
        }
    }
}

/// Writes RGB24 frames of one size to an H.264 MP4 file.
pub struct VideoWriter {
    output: ff::format::context::Output,
    encoder: ff::encoder::Video,
    scaler: scaling::Context,
    rgb: ff::frame::Video,
    yuv: ff::frame::Video,
    encoder_time_base: ff::Rational,
    stream_time_base: ff::Rational,
    width: usize,
    height: usize,
    next_pts: i64,
}

fn err(context: &str, e: ff::Error) -> DecodeError {
    DecodeError::new(ErrorKind::Error, format!("{context}: {e}"))
}

impl VideoWriter {
    /// Creates `path` (an `.mp4`) for frames of `width`×`height` (both even).
    pub fn create(
        path: &Path,
        width: usize,
        height: usize,
        settings: &EncodeSettings,
    ) -> Result<Self, DecodeError> {
        crate::init();
        if width == 0 || height == 0 || width % 2 == 1 || height % 2 == 1 {
            return Err(DecodeError::new(
                ErrorKind::Unsupported,
                format!("H.264 4:2:0 needs an even, non-zero frame size, not {width}×{height}"),
            ));
        }
        // libx264 by name, not the first H.264 encoder: the options below (crf, preset, one
        // thread) are libx264's, and another encoder (NVENC, VAAPI) would ignore them and write
        // other bytes, so a synthesised set would silently stop being reproducible.
        let codec = ff::encoder::find_by_name("libx264").ok_or_else(|| {
            DecodeError::new(
                ErrorKind::Unsupported,
                "this FFmpeg has no libx264 encoder (Debian's libavcodec has it)",
            )
        })?;
        let mut output = ff::format::output(&path).map_err(|e| err("creating the output", e))?;
        let global_header = output
            .format()
            .flags()
            .contains(ff::format::Flags::GLOBAL_HEADER);
        let mut stream = output
            .add_stream(codec)
            .map_err(|e| err("adding the stream", e))?;
        let mut context = ff::codec::context::Context::new_with_codec(codec)
            .encoder()
            .video()
            .map_err(|e| err("creating the encoder", e))?;
        let fps = settings.fps.max(1) as i32;
        let time_base = ff::Rational::new(1, fps);
        context.set_width(width as u32);
        context.set_height(height as u32);
        context.set_format(Pixel::YUV420P);
        context.set_time_base(time_base);
        context.set_frame_rate(Some(ff::Rational::new(fps, 1)));
        if global_header {
            context.set_flags(ff::codec::Flags::GLOBAL_HEADER);
        }
        let mut options = ff::Dictionary::new();
        options.set("crf", &settings.crf.to_string());
        options.set("preset", &settings.preset);
        options.set("threads", "1");
        let encoder = context
            .open_with(options)
            .map_err(|e| err("opening libx264", e))?;
        stream.set_parameters(&encoder);
        stream.set_time_base(time_base);
        output
            .write_header()
            .map_err(|e| err("writing the header", e))?;
        let stream_time_base = output.stream(0).map(|s| s.time_base()).unwrap_or(time_base);
        let scaler = scaling::Context::get(
            Pixel::RGB24,
            width as u32,
            height as u32,
            Pixel::YUV420P,
            width as u32,
            height as u32,
            scaling::Flags::BILINEAR | scaling::Flags::ACCURATE_RND | scaling::Flags::BITEXACT,
        )
        .map_err(|e| err("creating the colour converter", e))?;
        Ok(VideoWriter {
            output,
            encoder,
            scaler,
            rgb: ff::frame::Video::new(Pixel::RGB24, width as u32, height as u32),
            yuv: ff::frame::Video::new(Pixel::YUV420P, width as u32, height as u32),
            encoder_time_base: time_base,
            stream_time_base,
            width,
            height,
            next_pts: 0,
        })
    }

    /// Encodes one packed RGB24 frame (`3 * width * height` bytes).
    pub fn push_rgb(&mut self, rgb: &[u8]) -> Result<(), DecodeError> {
        let row = 3 * self.width;
        if rgb.len() != row * self.height {
            return Err(DecodeError::new(
                ErrorKind::Error,
                format!(
                    "frame has {} bytes, expected {}",
                    rgb.len(),
                    row * self.height
                ),
            ));
        }
        let stride = self.rgb.stride(0);
        let data = self.rgb.data_mut(0);
        for y in 0..self.height {
            data[y * stride..y * stride + row].copy_from_slice(&rgb[y * row..(y + 1) * row]);
        }
        self.scaler
            .run(&self.rgb, &mut self.yuv)
            .map_err(|e| err("converting to YUV", e))?;
        self.yuv.set_pts(Some(self.next_pts));
        self.next_pts += 1;
        self.encoder
            .send_frame(&self.yuv)
            .map_err(|e| err("encoding", e))?;
        self.drain()
    }

    fn drain(&mut self) -> Result<(), DecodeError> {
        let mut packet = ff::Packet::empty();
        while self.encoder.receive_packet(&mut packet).is_ok() {
            packet.set_stream(0);
            // libx264 leaves durations unset; without them the MP4 muxer's edit list ends one
            // frame early and the last frame is marked discarded.
            if packet.duration() <= 0 {
                packet.set_duration(1);
            }
            packet.rescale_ts(self.encoder_time_base, self.stream_time_base);
            packet
                .write_interleaved(&mut self.output)
                .map_err(|e| err("writing a packet", e))?;
        }
        Ok(())
    }

    /// Flushes the encoder and closes the file; returns the frames written.
    pub fn finish(mut self) -> Result<u64, DecodeError> {
        self.encoder
            .send_eof()
            .map_err(|e| err("flushing the encoder", e))?;
        self.drain()?;
        self.output
            .write_trailer()
            .map_err(|e| err("writing the trailer", e))?;
        Ok(self.next_pts as u64)
    }
}
