//! Progress on a terminal (an `indicatif` bar: files, frames, frames/s, ETA) and a log writer
//! that keeps log lines from tearing the bar. Off a terminal there is no bar, only logs.

use std::io::Write;
use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

/// The bar currently drawn, so that log lines can be printed above it.
static ACTIVE: Mutex<Option<ProgressBar>> = Mutex::new(None);

/// Run progress: a bar on a terminal, nothing otherwise (the per-file log lines remain).
pub struct Progress {
    bar: Option<ProgressBar>,
    frames: AtomicU64,
    start: Instant,
}

impl Progress {
    /// Starts progress over `files` files; draws a bar only if `show_bar`.
    pub fn new(files: u64, show_bar: bool, header: &str) -> Self {
        let bar = show_bar.then(|| {
            let bar = ProgressBar::with_draw_target(Some(files), ProgressDrawTarget::stderr());
            bar.set_style(
                ProgressStyle::with_template(
                    "{prefix} [{elapsed_precise}] {wide_bar} {pos}/{len} files · {msg} · ETA {eta}",
                )
                .expect("the template is valid"),
            );
            bar.set_prefix(header.to_string());
            bar.enable_steady_tick(Duration::from_millis(250));
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = Some(bar.clone());
            bar
        });
        Progress {
            bar,
            frames: AtomicU64::new(0),
            start: Instant::now(),
        }
    }

    /// Counts one analysed frame.
    pub fn frame(&self) {
        let n = self.frames.fetch_add(1, Ordering::Relaxed) + 1;
        if let Some(bar) = &self.bar
            && n.is_multiple_of(16)
        {
            bar.set_message(self.rate_message(n));
        }
    }

    fn rate_message(&self, n: u64) -> String {
        let secs = self.start.elapsed().as_secs_f64().max(1e-3);
        format!("{n} frames, {:.0} frames/s", n as f64 / secs)
    }

    /// Counts one finished file.
    pub fn file_done(&self) {
        if let Some(bar) = &self.bar {
            bar.set_message(self.rate_message(self.frames.load(Ordering::Relaxed)));
            bar.inc(1);
        }
    }

    /// Frames counted so far.
    pub fn frames(&self) -> u64 {
        self.frames.load(Ordering::Relaxed)
    }

    /// Removes the bar.
    pub fn finish(&self) {
        if let Some(bar) = &self.bar {
            bar.finish_and_clear();
            *ACTIVE.lock().unwrap_or_else(|p| p.into_inner()) = None;
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// Standard error, printed above the progress bar while one is drawn. Use it as the log
/// writer (`tracing_subscriber::fmt().with_writer(|| LogWriter)`).
pub struct LogWriter;

impl Write for LogWriter {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let bar = ACTIVE.lock().unwrap_or_else(|p| p.into_inner()).clone();
        match bar {
            Some(bar) => bar.suspend(|| std::io::stderr().write_all(buf))?,
            None => std::io::stderr().write_all(buf)?,
        }
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        std::io::stderr().flush()
    }
}
