#!/usr/bin/env bash
# The main job on the bundled sample clips, from a fresh Debian 12 machine: installs what is
# missing, fetches and verifies the clips, builds seamscan (release) and scans them into
# out/samples/ (a Parquet dataset), then writes the HTML report to out/samples-report/.
# Extra arguments go to `seamscan scan`.
set -euo pipefail
cd "$(dirname "${BASH_SOURCE[0]}")/.."
./scripts/setup.sh
cargo build --release --locked
target="${CARGO_TARGET_DIR:-target}"
set +e
"$target/release/seamscan" scan samples -o out/samples "$@"
code=$?
set -e
"$target/release/seamscan" report out/samples -o out/samples-report
echo "dataset: out/samples/{videos,frames,runs}/*.parquet (scan exit code $code)" >&2
echo "report:  out/samples-report/index.html" >&2
exit $code
