//! Decoding in worker processes, so that a crash or a hang inside FFmpeg on one hostile file
//! costs that file, not the run. Each worker thread keeps one child (`seamscan
//! __decode-worker`) and hands it one file at a time; the child decodes and sends back the
//! media info, the sampled luma frames and the decode summary over a pipe. A child that dies
//! (segfault, abort) or makes no progress for the per-file timeout is killed, the file is
//! marked `error` with the signal or the timeout, and a fresh child serves the next file.

use std::io::{BufReader, BufWriter, Read, Write};
use std::path::Path;
use std::process::{Child, ChildStdin, Command, Stdio};
use std::time::Duration;

use crossbeam_channel::{Receiver, RecvTimeoutError, bounded};
use seamscan_decode::{
    DecodeError, DecodeOptions, DecodeSummary, ErrorKind, Frame, MediaInfo, VideoReader,
};
use serde::{Deserialize, Serialize};

/// The hidden command line argument that makes the binary a decode worker.
pub const WORKER_ARG: &str = "__decode-worker";

/// A request: one file to decode.
#[derive(Serialize, Deserialize)]
struct Request {
    path: Vec<u8>,
    options: DecodeOptions,
}

/// A reply; `Frame` is followed on the pipe by the frame's luma bytes, then its RGB bytes
/// when `rgb` is set.
#[derive(Serialize, Deserialize)]
enum Reply {
    Info(MediaInfo),
    Frame {
        index: u64,
        pts: Option<i64>,
        time_s: Option<f64>,
        width: usize,
        height: usize,
        rgb: bool,
    },
    End(DecodeSummary),
    Failed(DecodeError, DecodeSummary),
}

fn write_block(w: &mut impl Write, bytes: &[u8]) -> std::io::Result<()> {
    w.write_all(&(bytes.len() as u32).to_le_bytes())?;
    w.write_all(bytes)
}

fn read_block(r: &mut impl Read) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 4];
    match r.read_exact(&mut len) {
        Ok(()) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let mut buf = vec![0u8; u32::from_le_bytes(len) as usize];
    r.read_exact(&mut buf)?;
    Ok(Some(buf))
}

fn send(w: &mut impl Write, reply: &Reply) -> std::io::Result<()> {
    write_block(
        w,
        &serde_json::to_vec(reply).map_err(std::io::Error::other)?,
    )
}

/// The worker process's main loop: decode requested files until stdin closes. Returns the
/// process exit code.
pub fn worker_main() -> i32 {
    use std::os::unix::ffi::OsStrExt;
    let mut input = BufReader::new(std::io::stdin().lock());
    let mut output = BufWriter::with_capacity(64 << 10, std::io::stdout().lock());
    loop {
        let request: Request = match read_block(&mut input) {
            Ok(Some(b)) => match serde_json::from_slice(&b) {
                Ok(r) => r,
                Err(_) => return 2,
            },
            Ok(None) => return 0,
            Err(_) => return 2,
        };
        let path = Path::new(std::ffi::OsStr::from_bytes(&request.path));
        test_hooks(path);
        if decode_one(path, request.options, &mut output)
            .and_then(|()| output.flush())
            .is_err()
        {
            return 2; // the parent has gone
        }
    }
}

/// Fault injection for the tests: crash or hang on a file whose path contains the value of
/// `SEAMSCAN_TEST_CRASH_ON` / `SEAMSCAN_TEST_HANG_ON`.
fn test_hooks(path: &Path) {
    let p = path.to_string_lossy();
    if std::env::var("SEAMSCAN_TEST_CRASH_ON").is_ok_and(|s| !s.is_empty() && p.contains(&s)) {
        std::process::abort();
    }
    if std::env::var("SEAMSCAN_TEST_HANG_ON").is_ok_and(|s| !s.is_empty() && p.contains(&s)) {
        loop {
            std::thread::sleep(Duration::from_secs(3600));
        }
    }
}

fn decode_one(path: &Path, options: DecodeOptions, out: &mut impl Write) -> std::io::Result<()> {
    let mut reader = match VideoReader::open(path, options) {
        Ok(r) => r,
        Err(e) => return send(out, &Reply::Failed(e, DecodeSummary::default())),
    };
    send(out, &Reply::Info(reader.info().clone()))?;
    loop {
        match reader.next_frame() {
            Ok(Some(f)) => {
                let head = Reply::Frame {
                    index: f.index,
                    pts: f.pts,
                    time_s: f.time_s,
                    width: f.width,
                    height: f.height,
                    rgb: f.rgb.is_some(),
                };
                send(out, &head)?;
                write_block(out, &f.luma)?;
                if let Some(rgb) = &f.rgb {
                    write_block(out, rgb)?;
                }
            }
            Ok(None) => return send(out, &Reply::End(reader.summary())),
            Err(e) => return send(out, &Reply::Failed(e, reader.summary())),
        }
    }
}

/// What the reader thread passes on.
enum Incoming {
    Reply(Reply),
    Pixels(Vec<u8>),
}

/// One decode worker process.
pub(crate) struct DecoderProcess {
    child: Child,
    stdin: ChildStdin,
    rx: Receiver<std::io::Result<Incoming>>,
}

impl DecoderProcess {
    /// Starts `seamscan __decode-worker` (this same binary).
    pub(crate) fn spawn() -> std::io::Result<Self> {
        let exe = std::env::current_exe()?;
        let mut child = Command::new(exe)
            .arg(WORKER_ARG)
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()?;
        let stdin = child.stdin.take().expect("stdin is piped");
        let pipe = child.stdout.as_ref().expect("stdout is piped");
        {
            use std::os::fd::AsRawFd;
            // A 1 MiB pipe holds several frames: far fewer wake-ups than the default 64 KiB.
            // SAFETY: fcntl on a file descriptor we own; failure only leaves the default size.
            unsafe { libc::fcntl(pipe.as_raw_fd(), libc::F_SETPIPE_SZ, 1 << 20) };
        }
        let mut stdout =
            BufReader::with_capacity(64 << 10, child.stdout.take().expect("stdout is piped"));
        let (tx, rx) = bounded(8);
        std::thread::spawn(move || {
            // Pixel blocks still expected after a frame header (luma, and maybe RGB).
            let mut expect_pixels = 0;
            loop {
                let item = match read_block(&mut stdout) {
                    Ok(Some(b)) if expect_pixels > 0 => {
                        expect_pixels -= 1;
                        Ok(Incoming::Pixels(b))
                    }
                    Ok(Some(b)) => match serde_json::from_slice::<Reply>(&b) {
                        Ok(r) => {
                            expect_pixels = match r {
                                Reply::Frame { rgb, .. } => 1 + usize::from(rgb),
                                _ => 0,
                            };
                            Ok(Incoming::Reply(r))
                        }
                        Err(e) => Err(std::io::Error::other(e)),
                    },
                    Ok(None) => return, // the child closed its output: it ended or died
                    Err(e) => Err(e),
                };
                let failed = item.is_err();
                if tx.send(item).is_err() || failed {
                    return;
                }
            }
        });
        Ok(DecoderProcess { child, stdin, rx })
    }

    /// Kills the child and says how it ended.
    fn end(&mut self) -> String {
        let _ = self.child.kill();
        match self.child.wait() {
            Ok(status) => describe(status),
            Err(e) => e.to_string(),
        }
    }
}

impl Drop for DecoderProcess {
    fn drop(&mut self) {
        // Closing stdin ends an idle worker; kill one that is still busy.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn describe(status: std::process::ExitStatus) -> String {
    use std::os::unix::process::ExitStatusExt;
    match status.signal() {
        Some(sig) => {
            let name = match sig {
                libc_sig::SIGSEGV => "SIGSEGV",
                libc_sig::SIGABRT => "SIGABRT",
                libc_sig::SIGBUS => "SIGBUS",
                libc_sig::SIGFPE => "SIGFPE",
                libc_sig::SIGILL => "SIGILL",
                libc_sig::SIGKILL => "SIGKILL",
                _ => "signal",
            };
            format!("killed by {name} ({sig})")
        }
        None => format!("exited with {status}"),
    }
}

/// Signal numbers on Linux.
mod libc_sig {
    pub const SIGILL: i32 = 4;
    pub const SIGABRT: i32 = 6;
    pub const SIGBUS: i32 = 7;
    pub const SIGFPE: i32 = 8;
    pub const SIGKILL: i32 = 9;
    pub const SIGSEGV: i32 = 11;
}

/// One file being decoded by a worker process.
pub(crate) struct ProcessSource<'a> {
    process: &'a mut DecoderProcess,
    info: MediaInfo,
    summary: DecodeSummary,
    timeout: Duration,
    /// The child answered the whole request (End or Failed); otherwise it must be replaced.
    finished: bool,
    /// The child was killed or died.
    dead: bool,
}

impl<'a> ProcessSource<'a> {
    /// Sends `path` to the worker and waits for its media info.
    pub(crate) fn open(
        process: &'a mut DecoderProcess,
        path: &Path,
        options: DecodeOptions,
        timeout: Duration,
    ) -> Result<Self, (DecodeError, bool)> {
        use std::os::unix::ffi::OsStrExt;
        let request = Request {
            path: path.as_os_str().as_bytes().to_vec(),
            options,
        };
        let bytes = serde_json::to_vec(&request).expect("a request serialises");
        if write_block(&mut process.stdin, &bytes)
            .and_then(|()| process.stdin.flush())
            .is_err()
        {
            let how = process.end();
            return Err((
                DecodeError::new(ErrorKind::Error, format!("decoder process {how}")),
                true,
            ));
        }
        let mut source = ProcessSource {
            process,
            info: MediaInfo {
                container: String::new(),
                codec: String::new(),
                width: 0,
                height: 0,
                rotation: 0,
                fps: None,
                duration_s: None,
                declared_frames: None,
                pixel_format: String::new(),
                time_base: (0, 1),
            },
            summary: DecodeSummary::default(),
            timeout,
            finished: false,
            dead: false,
        };
        match source.receive() {
            Ok(Incoming::Reply(Reply::Info(info))) => {
                source.info = info;
                Ok(source)
            }
            Ok(Incoming::Reply(Reply::Failed(e, summary))) => {
                source.summary = summary;
                Err((e, false))
            }
            Ok(_) => Err((source.fail("sent an unexpected message"), true)),
            Err(e) => {
                let dead = source.dead;
                Err((e, dead))
            }
        }
    }

    fn fail(&mut self, what: &str) -> DecodeError {
        let how = self.process.end();
        self.dead = true;
        DecodeError::new(ErrorKind::Error, format!("decoder process {what}; {how}"))
    }

    fn receive(&mut self) -> Result<Incoming, DecodeError> {
        match self.process.rx.recv_timeout(self.timeout) {
            Ok(Ok(m)) => Ok(m),
            Ok(Err(e)) => Err(self.fail(&format!("broke the protocol ({e})"))),
            Err(RecvTimeoutError::Timeout) => Err(self.fail(&format!(
                "made no progress for {} s (per-file timeout), killed",
                self.timeout.as_secs_f64()
            ))),
            Err(RecvTimeoutError::Disconnected) => Err(self.fail("died")),
        }
    }

    /// Whether the worker process must be replaced before the next file.
    pub(crate) fn needs_new_process(&self) -> bool {
        self.dead || !self.finished
    }
}

/// A source of decoded frames: in this process, or in a worker process.
pub(crate) trait FrameSource {
    /// What the file declares.
    fn info(&self) -> &MediaInfo;
    /// The next sampled frame; `Ok(None)` at the end.
    fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError>;
    /// Counts of the decode so far.
    fn summary(&self) -> DecodeSummary;
}

impl FrameSource for VideoReader {
    fn info(&self) -> &MediaInfo {
        VideoReader::info(self)
    }
    fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        VideoReader::next_frame(self)
    }
    fn summary(&self) -> DecodeSummary {
        VideoReader::summary(self)
    }
}

impl FrameSource for ProcessSource<'_> {
    fn info(&self) -> &MediaInfo {
        &self.info
    }

    fn next_frame(&mut self) -> Result<Option<Frame>, DecodeError> {
        if self.finished {
            return Ok(None);
        }
        match self.receive()? {
            Incoming::Reply(Reply::Frame {
                index,
                pts,
                time_s,
                width,
                height,
                rgb,
            }) => {
                let luma = match self.receive()? {
                    Incoming::Pixels(l) if l.len() == width * height => l,
                    _ => return Err(self.fail("sent a malformed frame")),
                };
                let rgb = if rgb {
                    match self.receive()? {
                        Incoming::Pixels(c) if c.len() == 3 * width * height => Some(c),
                        _ => return Err(self.fail("sent a malformed frame")),
                    }
                } else {
                    None
                };
                Ok(Some(Frame {
                    index,
                    pts,
                    time_s,
                    width,
                    height,
                    luma,
                    rgb,
                }))
            }
            Incoming::Reply(Reply::End(summary)) => {
                self.summary = summary;
                self.finished = true;
                Ok(None)
            }
            Incoming::Reply(Reply::Failed(e, summary)) => {
                self.summary = summary;
                self.finished = true;
                Err(e)
            }
            _ => Err(self.fail("sent an unexpected message")),
        }
    }

    fn summary(&self) -> DecodeSummary {
        self.summary.clone()
    }
}
