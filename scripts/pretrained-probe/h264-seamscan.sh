#!/usr/bin/env bash
# The H.264 candidate measured in seamscan, after h264.sh (docs/model.md, "The H.264 recipe on
# all people: the run that decides"): a clone of this commit with the candidate in models/
# (the network as appearance.onnx, its SHA-256 in crates/appearance, the out-of-fold stack as
# stack.json by stack_card.py), built; held-out sets 3, 4 and 5 scanned again with that binary
# (pipelines/training.toml: the appearance logits are then burn's, on seamscan's crops); then
# `eval --rescore --score stacked --baseline models/classifier.json --by crf` of each, and the
# rule written before the run applied to those figures (h264_rule.py).
#
# usage: scripts/pretrained-probe/h264-seamscan.sh WORK [SET...]
#   WORK: h264.sh's work directory (WORK/probe/appearance-h264.onnx, stack-h264.json; WORK/SET
#   and WORK/SET-features). SETs default to heldout3 heldout4 heldout5; the rule is applied
#   only to those three. SEED_TARGET (default ~/.cache/seamscan/ci-target, .ci/run's): a
#   cargo target directory copied once to WORK/target, so that only the crates the candidate
#   changes are built again. The build and each scan are skipped once done (a killed run goes
#   on where it stopped); the evals and the rule run each time.
# Writes WORK/candidate (the clone), WORK/target, WORK/seamscan-h264 (the binary),
# WORK/SET-features-h264, WORK/probe/eval-h264-SET(.txt) and WORK/probe/rule-h264.txt. Changes
# nothing in this repository.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(cd "$1" && pwd)"
shift
sets=("$@")
[ ${#sets[@]} -gt 0 ] || sets=(heldout3 heldout4 heldout5)
probe="$work/probe"
tree="$work/candidate"
log() { echo "h264-seamscan.sh $(date -u +%H:%M:%S): $*" >&2; }
for f in appearance-h264.onnx stack-h264.json; do
  [ -f "$probe/$f" ] || { echo "h264-seamscan.sh: no $probe/$f (run h264.sh first)" >&2; exit 2; }
done

bin="$work/seamscan-h264"
if [ ! -x "$bin" ]; then
  commit="$(git -C "$root" rev-parse HEAD)"
  log "candidate tree at ${commit:0:12}"
  rm -rf "$tree"
  git clone -q "$root" "$tree"
  git -C "$tree" checkout -q --detach "$commit"
  cp "$probe/appearance-h264.onnx" "$tree/models/appearance.onnx"
  sha="$(sha256sum "$tree/models/appearance.onnx" | cut -d' ' -f1)"
  sed -i -E "s/^(pub const WEIGHTS_SHA256: &str = \")[0-9a-f]{64}\";/\1$sha\";/" "$tree/crates/appearance/src/lib.rs"
  grep -q "$sha" "$tree/crates/appearance/src/lib.rs" || { echo "h264-seamscan.sh: WEIGHTS_SHA256 not replaced" >&2; exit 1; }
  python3 "$here/stack_card.py" "$probe/stack-h264.json" "$tree/models/classifier.json" \
    "$tree/models/appearance.onnx" seamscan-stack-h264-candidate "$(date -u +%F)" \
    "scripts/pretrained-probe/h264.sh WORK (oof_join.py, stack.py --json)" >"$tree/models/stack.json"

  # The build: a copy of a target directory that already holds this commit's dependencies.
  # Cargo takes a path dependency (vendor/) as changed when its files are newer than its
  # build, and a clone's files are all new, so they get the epoch, as .ci/run gives them,
  # where the seed was built from the same vendored trees (its stamp).
  seed="${SEED_TARGET:-$HOME/.cache/seamscan/ci-target}"
  if [ ! -d "$work/target" ] && [ -d "$seed" ]; then
    log "copying $seed to $work/target"
    rm -rf "${work:?}/target.tmp"
    cp -a "$seed" "$work/target.tmp"
    mv "$work/target.tmp" "$work/target"
  fi
  if [ "$(cat "$work/target/seamscan-vendor-trees" 2>/dev/null)" = "$(git -C "$tree" ls-tree -d HEAD vendor/)" ]; then
    find "$tree/vendor" -mindepth 2 -exec touch -h -d @0 {} +
  fi
  # The build .ci/run makes (its test targets too): another set of targets could unify other
  # features of the dependencies and so build burn again.
  log "build"
  (cd "$tree" && CARGO_TARGET_DIR="$work/target" cargo test --workspace --locked --no-run)
  cp "$work/target/debug/seamscan" "$bin.tmp"
  mv "$bin.tmp" "$bin"
fi

cd "$root"
for set in "${sets[@]}"; do
  if [ ! -f "$work/$set.scan-h264.done" ]; then
    log "scan $set"
    rm -rf "${work:?}/$set-features-h264"
    "$bin" scan "$work/$set/clips" -o "$work/$set-features-h264" --pipeline pipelines/training.toml --no-progress
    touch "$work/$set.scan-h264.done"
  fi
  log "eval $set"
  "$bin" eval --labels "$work/$set/labels.csv" "$work/$set-features-h264" --report "$probe/eval-h264-$set" \
    --rescore --score stacked --baseline models/classifier.json --by crf --no-progress | tee "$probe/eval-h264-$set.txt"
done
if [ "${sets[*]}" = "heldout3 heldout4 heldout5" ]; then
  "$probe/venv/bin/python" "$here/h264_rule.py" "$probe"/eval-h264-heldout{3,4,5} | tee "$probe/rule-h264.txt"
fi
