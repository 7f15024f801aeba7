//! The `seamscan` binary: everything lives in `seamscan-cli`; this only picks the allocator
//! and hands over the exit code.

/// mimalloc keeps and reuses freed memory per thread, where glibc's malloc returns the large
/// buffers of burn's CPU backend to the kernel and maps them again as page faults (a third of
/// a training run's CPU time, and worse with members training at once: ARCHITECTURE.md).
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

fn main() {
    std::process::exit(seamscan_cli::main());
}
