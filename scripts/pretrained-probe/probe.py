"""Linear probe: train on training sets' rows, report face/video AUC on held-out sets.

usage: probe.py KIND TRAIN_PREFIXES... -- TEST_PREFIXES...
KIND: feats (the classifier's 50 features), emb:NAME (the pooled activations in
PREFIX.NAME.npz), both:NAME (the two together), stack:NAME (the activations and the shipped
model's logit, out of fold on the training sets).

The regularisation is chosen by out-of-fold face AUC over 5 folds of the training sources.
On each test set the probe's face and video AUC are printed beside the shipped model's, with
the gain's 95 % interval over 1000 resamples of the test set's sources (people).
"""
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GroupKFold
from sklearn.metrics import roc_auc_score
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

import evalx


def load(prefix, kind):
    d = dict(np.load(prefix + ".npz"))
    parts = []
    if kind.startswith(("emb:", "both:")):
        parts.append(np.load(f"{prefix}.{kind.split(':')[1]}.npz")["emb"])
    if kind.startswith("stack:"):
        parts.append(np.load(f"{prefix}.{kind.split(':')[1]}.npz")["emb"])
        parts.append(evalx.shipped_logit(d)[:, None])
    if kind == "feats" or kind.startswith("both:"):
        parts.append(d["feats"])
    d["x"] = np.hstack(parts).astype(np.float64)
    return d


def gain_interval(d, s, n=1000, seed=7):
    """95 % interval of (probe - shipped) face and video AUC, resampling the sources."""
    rng = np.random.default_rng(seed)
    sources = np.unique(d["source"])
    by_source = {u: np.where(d["source"] == u)[0] for u in sources}
    clip_source = {c: d["source"][i] for i, c in enumerate(d["clip"])}
    vsrc = np.array([clip_source.get(c, "") for c in d["vclip"]])
    gains = []
    for _ in range(n):
        pick = rng.choice(sources, len(sources))
        rows = np.concatenate([by_source[u] for u in pick])
        vrows = np.concatenate([np.where(vsrc == u)[0] for u in pick])
        y = d["label"][rows]
        if y.min() == y.max():
            continue
        sub = {
            "label": y,
            "clip": np.concatenate([np.char.add(d["clip"][by_source[u]], f"#{k}") for k, u in enumerate(pick)]),
            "vclip": np.concatenate([np.char.add(d["vclip"][vsrc == u], f"#{k}") for k, u in enumerate(pick)]),
            "vlabel": d["vlabel"][vrows],
        }
        if sub["vlabel"].min() == sub["vlabel"].max():
            continue
        a = evalx.aucs(sub, s[rows])
        b = evalx.aucs(sub, d["score"][rows])
        gains.append((a[0] - b[0], a[1] - b[1]))
    g = np.array(gains)
    return np.percentile(g, 2.5, 0), np.percentile(g, 97.5, 0)


def main():
    kind = sys.argv[1]
    sep = sys.argv.index("--")
    train = [load(p, kind) for p in sys.argv[2:sep]]
    tests = [(p, load(p, kind)) for p in sys.argv[sep + 1 :]]
    x = np.vstack([d["x"] for d in train])
    y = np.concatenate([d["label"] for d in train])
    g = np.concatenate([[f"{i}:{s}" for s in d["source"]] for i, d in enumerate(train)])
    fill = np.nanmean(x, 0)
    fill[np.isnan(fill)] = 0

    def fix(m):
        m = m.copy()
        i = np.where(np.isnan(m))
        m[i] = fill[i[1]]
        return m

    x = fix(x)
    best = None
    for c in [1e-4, 1e-3, 1e-2, 1e-1, 1]:
        oof = np.zeros(len(y))
        for tr, va in GroupKFold(5).split(x, y, g):
            m = make_pipeline(StandardScaler(), LogisticRegression(C=c, max_iter=2000))
            m.fit(x[tr], y[tr])
            oof[va] = m.decision_function(x[va])
        auc = roc_auc_score(y, oof)
        print(f"C={c:g} out-of-fold face AUC {auc:.3f}")
        if best is None or auc > best[0]:
            best = (auc, c)
    m = make_pipeline(StandardScaler(), LogisticRegression(C=best[1], max_iter=2000)).fit(x, y)
    print(f"{kind}: dims {x.shape[1]}, train rows {len(y)}, C={best[1]:g}")
    for p, d in tests:
        s = m.decision_function(fix(d["x"]))
        fa, va = evalx.aucs(d, s)
        sa, sv = evalx.aucs(d, d["score"])
        lo, hi = gain_interval(d, s)
        print(
            f"  {p}: probe face/video AUC {fa:.3f}/{va:.3f}   shipped {sa:.3f}/{sv:.3f}   "
            f"gain {fa - sa:+.3f} [{lo[0]:+.3f}, {hi[0]:+.3f}] / {va - sv:+.3f} [{lo[1]:+.3f}, {hi[1]:+.3f}]"
        )
        np.save(f"{p}.probe-{kind.replace(':', '-')}.npy", s)
        # Unfitted fusion with the shipped model: the sum of the two z-scored logits (each
        # standardised over the test set's rows; no labels used), at two weights.
        fused = [evalx.aucs(d, evalx.summed_with_shipped(d, s, w)) for w in (0.5, 1.0)]
        print(f"    fused with shipped (w 0.5 / 1): face {fused[0][0]:.3f} / {fused[1][0]:.3f}, video {fused[0][1]:.3f} / {fused[1][1]:.3f}")


if __name__ == "__main__":
    main()
