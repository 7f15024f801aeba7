"""Gathers the out-of-fold appearance logits of `finetune.py --fold K:k` runs into one
calibration set for stack.py: every training face row, scored by a network that never saw its
person, beside the shipped classifier's out-of-fold score (crops.py's `score` of a training set
cut with `--out-of-fold`).

usage: oof_join.py OUT_PREFIX --train A.npz B.npz C.npz --oof F0.oof.npz F1.oof.npz F2.oof.npz

--train: the same files, in the same order, as the finetune.py runs were given (the `index` of
an .oof.npz counts rows across them). Writes OUT_PREFIX.npz (the rows' label, score, source,
clip and path, and the videos' vclip and vlabel; no crops) and OUT_PREFIX.npy (their
appearance logits), which stack.py takes as its calibration set. Every row must be scored
exactly once.
"""
import argparse

import numpy as np

ROW_KEYS = ("label", "score", "source", "clip", "path")
VIDEO_KEYS = ("vclip", "vlabel")


def main():
    a = argparse.ArgumentParser()
    a.add_argument("out")
    a.add_argument("--train", nargs="+", required=True)
    a.add_argument("--oof", nargs="+", required=True)
    args = a.parse_args()

    # np.load of an .npz reads one array at a time: the crops are never loaded.
    sets = [np.load(p) for p in args.train]
    joined = {}
    for k in ROW_KEYS + VIDEO_KEYS:
        parts = [d[k] for d in sets]
        if k == "source":  # as finetune.py names them: a source is a person of one file
            parts = [np.array([f"{i}:{s}" for s in p]) for i, p in enumerate(parts)]
        joined[k] = np.concatenate(parts)
    n = len(joined["label"])
    logit = np.full(n, np.nan)
    seen = np.zeros(n, int)
    for p in args.oof:
        f = np.load(p)
        logit[f["index"]] = f["logit"]
        seen[f["index"]] += 1
    if (seen != 1).any():
        raise SystemExit(f"{(seen == 0).sum()} rows not scored and {(seen > 1).sum()} scored twice")
    if len(np.unique(joined["vclip"])) != len(joined["vclip"]):
        raise SystemExit("a clip is in two training sets")
    np.savez(args.out + ".npz", **joined)
    np.save(args.out + ".npy", logit)
    print(
        f"{n} face rows of {len(np.unique(joined['source']))} sources, {len(joined['vclip'])} videos "
        f"({int((joined['vlabel'] == 0).sum())} real) -> {args.out}.npz, {args.out}.npy"
    )


if __name__ == "__main__":
    main()
