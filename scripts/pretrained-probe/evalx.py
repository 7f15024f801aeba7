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
