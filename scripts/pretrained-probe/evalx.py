"""Face and video AUC as seamscan eval computes them (video = mean of the top quarter)."""
import math
import numpy as np
from sklearn.metrics import roc_auc_score


def video_scores(clip, score, vclip, frac=0.25):
    out = []
    for c in vclip:
        s = np.sort(score[clip == c])[::-1]
        if len(s) == 0:
            out.append(np.nan)
            continue
        k = max(1, math.ceil(len(s) * frac))
        out.append(s[:k].mean())
    return np.array(out)


def aucs(d, score):
    fa = roc_auc_score(d["label"], score)
    vs = video_scores(d["clip"], score, d["vclip"])
    ok = ~np.isnan(vs)
    va = roc_auc_score(d["vlabel"][ok], vs[ok])
    return fa, va


def shipped_logit(d):
    """The shipped model's face scores as logits (clipped away from 0 and 1)."""
    p = np.clip(d["score"], 1e-6, 1 - 1e-6)
    return np.log(p / (1 - p))


def summed_with_shipped(d, s, w=1.0):
    """Unfitted fusion: the shipped logit and s, each z-scored over the rows (no labels), s at weight w."""
    z = lambda v: (v - v.mean()) / v.std()  # noqa: E731
    return z(shipped_logit(d)) + w * z(s)


def crf_subset(d, crf=35):
    """The face and video rows of the clips synth re-encoded at this CRF ("__crf35" in the path)."""
    m = np.char.find(d["path"], f"__crf{crf}") >= 0
    clips = set(d["clip"][m])
    vm = np.array([c in clips for c in d["vclip"]])
    sub = {"label": d["label"][m], "clip": d["clip"][m], "vclip": d["vclip"][vm], "vlabel": d["vlabel"][vm]}
    return sub, m
