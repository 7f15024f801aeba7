#!/usr/bin/env python3
"""The appearance network's logit ceiling, measured on crops (docs/model.md, "Found on the way:
the appearance network's logit has a ceiling").

The network ends Clip(0, 6) -> global mean -> one linear logit. When every weight of that
linear layer is negative, a face whose 1 280 clipped features are all zero gets exactly the
bias, the highest logit the network can give, and such faces tie. This prints, per set: the
layer's weight signs and bias; how many forged and real faces sit at the ceiling; the face AUC
of the logit; and, as a diagnostic of what the clip throws away, the AUC of the same linear
layer applied to the features pooled *before* the clip ("unclipped"), over all faces and over
the tied faces alone. Nothing is fitted; no label is used but to measure.

usage: ceiling.py NETWORK.pt SET.npz [SET.npz ...]   (finetune.py's state dict, crops.py's sets)
Run with the fine-tuning environment (scripts/pretrained-probe/requirements-finetune.txt).
"""
import os
import sys

import numpy as np
import torch
from sklearn.metrics import roc_auc_score

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from finetune import prepare, trained  # noqa: E402


@torch.no_grad()
def pooled(net, crops, size=160):
    """Per face: the 1 280 features pooled after the last ReLU6 (what the head reads) and before it."""
    after, before = [], []
    for i in range(0, len(crops), 64):
        x = torch.from_numpy(prepare(crops[i : i + 64], size)).permute(0, 3, 1, 2).contiguous()
        pre = net.features[18][1](net.features[18][0](net.features[:18](x)))
        after.append(pre.clamp(0, 6).mean((2, 3)).numpy())
        before.append(pre.mean((2, 3)).numpy())
    return np.concatenate(after).astype(np.float64), np.concatenate(before).astype(np.float64)


def head(net):
    """The last layer's weights and bias, as float64."""
    return net.classifier[1].weight.detach().numpy()[0].astype(np.float64), float(net.classifier[1].bias.detach())


def logits(net, crops):
    """(logit as the network gives it, unclipped logit) of NET on CROPS, with the pooled features."""
    w, b = head(net)
    after, before = pooled(net, crops)
    return after @ w + b, before @ w + b, after


def main():
    net = trained(sys.argv[1])
    w, b = head(net)
    print(f"{sys.argv[1]}: weights {int((w < 0).sum())} negative, {int((w > 0).sum())} positive; bias (the ceiling if none is positive) {b:.5f}")
    for path in sys.argv[2:]:
        d = np.load(path)
        y = d["label"].astype(int)
        logit, unclipped, after = logits(net, d["crops"])
        tied = np.all(after == 0, axis=1)
        forged, real = tied & (y == 1), tied & (y == 0)
        line = (
            f"{os.path.basename(path)}: {len(y)} faces; at the ceiling (all features 0): forged {forged.sum()} of {(y == 1).sum()},"
            f" real {real.sum()} of {(y == 0).sum()}; face AUC logit {roc_auc_score(y, logit):.3f},"
            f" unclipped {roc_auc_score(y, unclipped):.3f}"
        )
        if forged.any() and real.any():
            line += f"; among the tied faces, unclipped {roc_auc_score(y[tied], unclipped[tied]):.3f}"
        print(line, flush=True)


if __name__ == "__main__":
    main()
