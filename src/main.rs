//! The `seamscan` binary: everything lives in `seamscan-cli`; this only picks the allocator
//! and hands over the exit code.

/// mimalloc keeps and reuses freed memory per thread, where glibc's malloc returns the large
/// buffers of burn's CPU backend to the kernel and maps them again as page faults (a third of
/// a training run's CPU time, and worse with members training at once: ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// `mi_option_purge_delay` in mimalloc 3's `mi_option_e` (libmimalloc-sys names no constant
/// for it): milliseconds before freed memory is given back to the kernel (default 1000).
const MI_OPTION_PURGE_DELAY: libmimalloc_sys::mi_option_t = 15;

fn main() {
    // Freed memory goes back to the kernel at once: with mimalloc's default delay (1 s) a scan's
    // peak memory grew with the number of files it had done (a 200-file run peaked 50 MiB
    // above a 20-file one), and still faults a small fraction of glibc's. The environment's
    // `MIMALLOC_PURGE_DELAY` wins where an operator sets it.
    if std::env::var_os("MIMALLOC_PURGE_DELAY").is_none() {
        // SAFETY: sets a process-wide option; mimalloc reads it on later purges.
        unsafe { libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0) };
    }
    std::process::exit(seamscan_cli::main());
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_purge_delay_option_is_the_one_named() {
        // Its default (1000 ms in mimalloc 3's options.c) sets it apart from its neighbours in
        // the enum; then a value set reads back.
        if std::env::var_os("MIMALLOC_PURGE_DELAY").is_some() {
            return;
        }
        // SAFETY: reads and sets process-wide options of this test process.
        unsafe {
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 1000);
            libmimalloc_sys::mi_option_set(MI_OPTION_PURGE_DELAY, 0);
            assert_eq!(libmimalloc_sys::mi_option_get(MI_OPTION_PURGE_DELAY), 0);
        }
    }
}
