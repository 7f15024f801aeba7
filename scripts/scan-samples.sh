#!/usr/bin/env bash
# The main job on the bundled sample clips, from a fresh Debian 12 machine: installs what is
# missing, fetches and verifies the clips, builds seamscan (release) and scans them into
# out/samples/ (a Parquet dataset). Extra arguments go to `seamscan scan`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
cargo build --release --locked
target="${CARGO_TARGET_DIR:-target}"
set +e
"$target/release/seamscan" scan samples -o out/samples "$@"
code=$?
set -e
echo "dataset: out/samples/{videos,frames,runs}/*.parquet (exit code $code)" >&2
exit $code
