//! FFmpeg's own error messages ("moov atom not found", …) are more useful to an examiner than
//! the bare error code. FFmpeg's logging is routed here: nothing is printed, and the last
//! error-level message of the current thread is kept for the error text of the file at hand.
//! One info-level line is kept too: the instruction sets libx264 says it runs with.

use std::cell::{Cell, RefCell};
use std::sync::Mutex;

thread_local! {
    static LAST_ERROR: RefCell<Option<String>> = const { RefCell::new(None) };
    static PARTIAL_FILE: Cell<bool> = const { Cell::new(false) };
}

/// What libx264 last reported as "using cpu capabilities: …", for the whole process.
static X264_CPU: Mutex<Option<String>> = Mutex::new(None);

/// How libx264's line begins (it logs it at info level when an encoder opens).
const X264_CPU_PREFIX: &str = "using cpu capabilities:";

/// The instruction sets libx264 named when this process last opened an encoder.
pub(crate) fn x264_cpu_capabilities() -> Option<String> {
    X264_CPU.lock().ok().and_then(|c| c.clone())
}

/// Forgets the current thread's FFmpeg messages.
pub(crate) fn clear() {
    LAST_ERROR.with(|l| l.borrow_mut().take());
    PARTIAL_FILE.with(|p| p.set(false));
}

/// Whether a demuxer on this thread reported data missing from the end of the file (FFmpeg's
/// "partial file"), since the last [`clear`].
pub(crate) fn saw_partial_file() -> bool {
    PARTIAL_FILE.with(|p| p.get())
}

/// Takes the current thread's last FFmpeg error message, if any.
pub(crate) fn take() -> Option<String> {
    LAST_ERROR.with(|l| l.borrow_mut().take())
}

/// Installs the capturing callback (once per process, from `crate::init`).
pub(crate) fn install() {
    #[cfg(target_arch = "x86_64")]
    // SAFETY: the callback has exactly the signature FFmpeg expects on this architecture and
    // is a plain function that lives for the whole process.
    unsafe {
        ffmpeg_sys_next::av_log_set_callback(Some(callback));
    }
}

#[cfg(target_arch = "x86_64")]
unsafe extern "C" fn callback(
    ptr: *mut libc::c_void,
    level: libc::c_int,
    fmt: *const libc::c_char,
    vl: *mut ffmpeg_sys_next::__va_list_tag,
) {
    if level > ffmpeg_sys_next::AV_LOG_INFO as libc::c_int || fmt.is_null() {
        return;
    }
    let mut line = [0 as libc::c_char; 512];
    let mut prefix: libc::c_int = 0;
    // SAFETY: FFmpeg formats into our buffer, bounded by its size, from the arguments it
    // passed us; the result is NUL-terminated.
    let text = unsafe {
        ffmpeg_sys_next::av_log_format_line2(
            ptr,
            level,
            fmt,
            vl,
            line.as_mut_ptr(),
            line.len() as libc::c_int,
            &mut prefix,
        );
        std::ffi::CStr::from_ptr(line.as_ptr())
            .to_string_lossy()
            .into_owned()
    };
    let text = text.trim();
    // Drop the "[mov,mp4,… @ 0x…] " context prefix: addresses make messages irreproducible.
    let text = match (text.starts_with('['), text.find("] ")) {
        (true, Some(i)) => &text[i + 2..],
        _ => text,
    };
    // libx264's one info-level line worth keeping (it formats it as "%s\n", so only the text
    // tells it apart).
    if let Some(caps) = text.strip_prefix(X264_CPU_PREFIX) {
        if let Ok(mut kept) = X264_CPU.lock() {
            *kept = Some(caps.trim().to_string());
        }
        return;
    }
    if level > ffmpeg_sys_next::AV_LOG_ERROR as libc::c_int {
        return;
    }
    if text.contains("partial file") {
        PARTIAL_FILE.with(|p| p.set(true));
    }
    if !text.is_empty() {
        LAST_ERROR.with(|l| *l.borrow_mut() = Some(text.to_string()));
    }
}
