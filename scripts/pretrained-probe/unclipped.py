#!/usr/bin/env python3
"""A fine-tuned network's "unclipped" logits: its own linear head applied to the features pooled
before the last ReLU6 (ceiling.py says why), written where stack.py and oof_join.py take logits.

usage: unclipped.py NET.pt OUT_PREFIX --test SET.npz [...]
         writes OUT_PREFIX.SET.npy (one logit per face row, as finetune.py's --test files)
       unclipped.py NET.pt OUT_PREFIX --train A.npz B.npz C.npz --oof FOLD.oof.npz
         writes OUT_PREFIX.oof.npz: the rows of FOLD.oof.npz (its `index` counts rows across
         --train, as finetune.py --fold wrote it), scored unclipped by NET.pt, the fold's network
Each run first checks that the clipped logits it computes equal the ones finetune.py saved
(the --oof file's, or --check FILE.npy per --test set) within 1e-4, so that the network, the
crops and the cut are the ones the stack was fitted with.
Run with the fine-tuning environment (scripts/pretrained-probe/requirements-finetune.txt).
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from ceiling import logits  # noqa: E402
from finetune import trained  # noqa: E402


def same(mine, saved, what):
    worst = float(np.max(np.abs(mine - saved))) if len(mine) else 0.0
    if worst > 1e-4:
        sys.exit(f"unclipped.py: {what}: clipped logits differ from the saved ones by {worst:.2e}")
    print(f"{what}: clipped logits equal the saved ones (largest difference {worst:.1e})", flush=True)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("net")
    a.add_argument("out")
    a.add_argument("--test", nargs="*", default=[])
    a.add_argument("--check", nargs="*", default=[], help="finetune.py's saved logits, one per --test set")
    a.add_argument("--train", nargs="*", default=[])
    a.add_argument("--oof")
    args = a.parse_args()
    net = trained(args.net)
    for i, path in enumerate(args.test):
        clipped, unclipped, _ = logits(net, np.load(path)["crops"])
        if i < len(args.check):
            same(clipped, np.load(args.check[i]), os.path.basename(path))
        np.save(f"{args.out}.{os.path.basename(path)[:-4]}.npy", unclipped)
    if args.oof:
        fold = np.load(args.oof)
        index = fold["index"]
        sizes = [len(np.load(p)["label"]) for p in args.train]
        starts = np.cumsum([0] + sizes)
        parts = []
        for k, p in enumerate(args.train):  # one set's crops at a time
            mine = index[(index >= starts[k]) & (index < starts[k + 1])] - starts[k]
            if len(mine):
                parts.append(np.load(p)["crops"][mine])
        clipped, unclipped, _ = logits(net, np.concatenate(parts))
        same(clipped, fold["logit"], os.path.basename(args.oof))
        np.savez(f"{args.out}.oof.npz", index=index, logit=unclipped)


if __name__ == "__main__":
    main()
