#!/usr/bin/env bash
# Rebuilds the shipped classifier (models/classifier.*) from the sample media, and measures
# it on identities it never saw. Deterministic: the same binary gives the same clips, rows and
# weights.
#
#   training identities: WolfgangLanger_Pexels.mp4 and seven photos (four CK faces, the
#     astronaut, Image_with_alpha, the faces of multi_face.jpg) made into still clips;
#   held-out identities: the man of single_face.mp4 / face_noface.mov / noface_face.mov /
#     single_face.jpg, and carphone_pristine.mp4.
#
# Usage: scripts/train-model.sh [WORK_DIR]   (default out/training; SEAMSCAN=path/to/binary)
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"
work="${1:-out/training}"
bin="${SEAMSCAN:-target/release/seamscan}"
[ -x "$bin" ] || cargo build --release --locked --bin seamscan
./scripts/fetch-samples.sh
s=samples
rm -rf "$work"
mkdir -p "$work"

"$bin" synth "$s/WolfgangLanger_Pexels.mp4" "$s/0-f1-su-ph.jpg" "$s/0-f15-hao-ph.jpg" \
  "$s/15-f13-anc-ph.jpg" "$s/45-m7-di-ph.jpg" "$s/astronaut.png" "$s/Image_with_alpha.png" \
  "$s/multi_face.jpg" -o "$work/train" --seed 1 --max-frames 32
"$bin" synth "$s/single_face.mp4" "$s/face_noface.mov" "$s/noface_face.mov" "$s/single_face.jpg" \
  "$s/carphone_pristine.mp4" -o "$work/heldout" --seed 2 --max-frames 48

"$bin" scan "$work/train/clips" -o "$work/train-features" --pipeline pipelines/training.toml --no-progress
"$bin" train "$work/train-features" --labels "$work/train/labels.csv" -o models --seed 1 \
  --validation-source multi_face-f1 --validation-source multi_face-f4 --validation-source 45-m7-di-ph \
  --crop-size 64 --conv 16,32,64,64,96 --hidden 32 --learning-rate 1e-3 --batch 64 \
  --epochs 8 --patience 8 \
  --data-note "scripts/train-model.sh: seamscan synth --seed 1 of WolfgangLanger_Pexels.mp4 and 7 photos (sources in models/classifier.json), every frame"

"$bin" scan "$work/heldout/clips" -o "$work/heldout-scored" --model models/classifier.json --no-progress
"$bin" eval --labels "$work/heldout/labels.csv" "$work/heldout-scored" --by crf,method,mask,source \
  --model models/classifier.json
