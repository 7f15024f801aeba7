#!/usr/bin/env bash
# Installs what a fresh Debian 12 machine lacks for seamscan (only what is missing), then
# fetches and verifies the sample clips. Non-interactive; safe to run again. Extra Debian
# package names given as arguments are installed too (scripts/bundle.sh's build tools).
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"

packages=(
  pkg-config clang libclang-dev                       # bindgen for ffmpeg-sys-next
  libavcodec-dev libavformat-dev libavutil-dev libswscale-dev   # FFmpeg 5.1 (the only four linked)
  ffmpeg                                              # ffmpeg/ffprobe CLIs: test clips and references
  mesa-vulkan-drivers libvulkan1                      # lavapipe: wgpu's adapter on machines without a GPU
  python3 python3-venv python3-pip                    # sample fetching, interop tests
  slurm-wlm munge                                     # the one-node Slurm cluster test
  chromium                                            # the report test renders the HTML headless
  ca-certificates coreutils
  "$@"
)
missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${missing[*]}" >&2
  sudo=""
  [ "$(id -u)" -eq 0 ] || sudo="sudo"
  export DEBIAN_FRONTEND=noninteractive
  $sudo apt-get update -qq
  $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

if ! command -v cargo >/dev/null 2>&1; then
  echo "setup: cargo is missing: install Rust 1.95 or newer (rustup), then run this again" >&2
  exit 2
fi

"$root/scripts/fetch-samples.sh"
