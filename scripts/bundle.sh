#!/usr/bin/env bash
# Packs seamscan for an x86-64 Linux machine that lacks Debian 12's FFmpeg packages (a GPU
# node, a cluster image): the release binary (stripped), a decode-only build of FFmpeg 5.1 --
# the release Debian 12 ships, built from Debian's source package (with its patches) with no
# external libraries but zlib -- the Vulkan loader, the pipeline presets, and a launcher that
# points the loader at them.
#
# The bundle runs `scan`, `bench`, `plan`, `report` and `eval` (the face detector and the
# classifier are compiled into the binary). It cannot run `synth` or `train` (they encode with
# libx264). It decodes what FFmpeg's own decoders read (H.264, HEVC, VP8/9, MPEG-4, ProRes,
# MJPEG, ...); AV1 needs libdav1d, which Debian's build has and this one has not.
#
# Usage: scripts/bundle.sh [OUT.tar.xz]    (default: out/seamscan-bundle.tar.xz)
# Run it as the user who builds seamscan (not under sudo); it calls sudo for apt only.
# Needs what scripts/setup.sh installs, plus nasm, make, gcc, zlib1g-dev and dpkg-dev
# (installed if missing) and Debian's source repository (read through apt, no other network
# access). Takes about 6 minutes on 2 cores with the release build already there; the
# tarball is about 27 MB.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
out="${1:-out/seamscan-bundle.tar.xz}"
target="${CARGO_TARGET_DIR:-$root/target}"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT

./scripts/setup.sh nasm make gcc zlib1g-dev dpkg-dev >/dev/null
cargo build --release --locked

# FFmpeg's source, exactly the version of the installed libavcodec, with Debian's patches,
# from Debian's deb-src (the Debian archive's entries only, in either sources format).
version="$(dpkg-query -W -f='${source:Version}' libavcodec-dev)"
upstream="${version#*:}"
upstream="${upstream%%-*}"
mkdir -p "$work/apt/parts" "$work/apt/lists/partial" "$work/apt/cache" "$work/src"
shopt -s nullglob
for f in /etc/apt/sources.list.d/*.sources; do
  grep -q 'debian\.org' "$f" &&
    sed 's/^Types: deb$/Types: deb-src/' "$f" >"$work/apt/parts/$(basename "$f")"
done
cat /etc/apt/sources.list /etc/apt/sources.list.d/*.list 2>/dev/null |
  sed -n 's/^deb \(.*debian\.org.*\)/deb-src \1/p' >"$work/apt/parts/oneline.list" || true
shopt -u nullglob
apt_src=(-oDir::Etc::SourceList=/dev/null "-oDir::Etc::SourceParts=$work/apt/parts"
  "-oDir::State::Lists=$work/apt/lists" "-oDir::Cache=$work/apt/cache"
  -oAPT::Sandbox::User=root)
apt-get "${apt_src[@]}" update -qq || true
(cd "$work/src" && apt-get "${apt_src[@]}" source --download-only -qq "ffmpeg=$version") || {
  echo "bundle: Debian's source of ffmpeg=$version could not be fetched (deb-src of the Debian archive)" >&2
  exit 1
}
(cd "$work/src" && dpkg-source --no-check -x ffmpeg_*.dsc ffmpeg >/dev/null)
src="$work/src/ffmpeg"

# Decoders, demuxers and parsers of FFmpeg's own; no encoders, muxers, filters, devices,
# network protocols or external libraries (zlib aside, for PNG).
prefix="$work/ffmpeg"
configure=(--prefix="$prefix" --enable-shared --disable-static --disable-programs --disable-doc
  --disable-everything --disable-autodetect --enable-pthreads --enable-zlib
  --enable-decoders --enable-demuxers --enable-parsers --enable-bsfs
  --enable-protocol=file,pipe --enable-swscale --disable-avdevice --disable-avfilter
  --disable-swresample --disable-postproc)
echo "bundle: building FFmpeg $upstream (decode only)" >&2
(cd "$src" && ./configure "${configure[@]}" >"$work/configure.log" 2>&1 &&
  make -j"$(nproc)" >"$work/make.log" 2>&1 && make install >/dev/null 2>&1) || {
  tail -20 "$work/configure.log" "$work/make.log" >&2
  exit 1
}

name="seamscan-$(git describe --always --dirty 2>/dev/null || echo unknown)"
dir="$work/$name"
mkdir -p "$dir/bin" "$dir/lib"
strip -o "$dir/bin/seamscan" "$target/release/seamscan"
for lib in libavcodec.so.59 libavformat.so.59 libavutil.so.57 libswscale.so.6; do
  cp -L "$prefix/lib/$lib" "$dir/lib/"
done
cp -L /usr/lib/x86_64-linux-gnu/libvulkan.so.1 "$dir/lib/"
cp -r pipelines "$dir/"
cat >"$dir/seamscan" <<'EOF'
#!/bin/sh
# Runs the bundled seamscan with the bundled FFmpeg and Vulkan loader.
here="$(dirname "$(readlink -f "$0")")"
LD_LIBRARY_PATH="$here/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}" exec "$here/bin/seamscan" "$@"
EOF
chmod +x "$dir/seamscan"

# Every library the binary loads must come from the bundle, except the C/C++ runtime (libc,
# libm, libgcc_s, libstdc++, the loader) and zlib.
export LD_LIBRARY_PATH="$dir/lib"
outside="$(ldd "$dir/bin/seamscan" | awk '/=>/ {print $3}' | grep -v "^$dir/lib/" |
  grep -v -E '/(libc|libm|libdl|libpthread|librt|ld-linux-x86-64|libgcc_s|libstdc\+\+|libz)\.so' || true)"
unset LD_LIBRARY_PATH
if [ -n "$outside" ]; then
  echo "bundle: the binary loads libraries from outside the bundle:" >&2
  echo "$outside" >&2
  exit 1
fi
glibc="$(objdump -T "$dir/bin/seamscan" "$dir"/lib/*.so.* | grep -o 'GLIBC_[0-9.]*' | sort -V | tail -1)"
cat >"$dir/README" <<EOF
$name: seamscan with a decode-only FFmpeg $upstream (Debian source $version), for x86-64 Linux with ${glibc/_/ } or newer.
Run ./seamscan (not bin/seamscan): it points the loader at lib/. The GPU path needs a Vulkan
driver (ICD) on the machine; the loader is bundled. Without one the CPU path runs.
Runs scan, bench, plan, report, eval; not synth or train (no encoders).
FFmpeg configure: ${configure[*]:1}
EOF
(cd "$dir" && find . -type f ! -name SHA256SUMS -print0 | sort -z | xargs -0 sha256sum >SHA256SUMS)
"$dir/seamscan" --version >/dev/null
mkdir -p "$(dirname "$out")"
tar -C "$work" -cf - "$name" | xz -6 -T0 >"$out"
echo "bundle: $out ($(du -h "$out" | cut -f1)), unpack and run $name/seamscan" >&2
