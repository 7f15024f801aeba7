//! The `seamscan` binary: everything lives in `seamscan-cli`; this only hands over the exit code.

fn main() {
    std::process::exit(seamscan_cli::main());
}
