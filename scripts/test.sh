#!/usr/bin/env bash
# The whole test suite, from a fresh Debian 12 machine: installs what is missing, fetches the
# sample clips, then checks formatting and lints and runs every test. CI runs exactly this.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
# Mesa prints warnings without a runtime dir; give it a private one.
export XDG_RUNTIME_DIR="${XDG_RUNTIME_DIR:-$(mktemp -d)}"
cargo fmt --all -- --check
cargo clippy --workspace --all-targets --locked -- -D warnings
cargo test --workspace --locked
