"""The shipped classifier and the appearance network stacked: a logistic regression of the
face label on their two logits, fitted on one calibration set, and verdict thresholds from
that set's real faces and videos; then both applied unchanged to the test sets.

usage: stack.py CALIBRATION.npz CAL_LOGITS.npy -- TEST.npz TEST_LOGITS.npy [...] [--json OUT.json]

CALIBRATION.npz / TEST.npz: crops.py files (labels, the shipped model's scores, clips, paths);
*_LOGITS.npy: the appearance network's logit of each of their face rows (finetune.py's
OUT.SET.npy, the PyTorch twin of models/appearance.onnx). Thresholds: the 95th and 99th
percentiles of the real face scores and of the real video scores (the `suspicious` and
`manipulated` false-alarm targets of `seamscan train`).
"""
import json
import os
import sys

import numpy as np
from sklearn.linear_model import LogisticRegression

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import evalx  # noqa: E402
import probe  # noqa: E402

SUSPICIOUS_FPR, MANIPULATED_FPR, TOP = 0.05, 0.01, 0.25


def design(d, logits):
    return np.stack([evalx.shipped_logit(d), logits], 1)


def stacked(fit, d, logits):
    w, b = fit
    z = design(d, logits) @ w + b
    return 1 / (1 + np.exp(-z))


def main():
    args = sys.argv[1:]
    out_json = None
    if "--json" in args:
        i = args.index("--json")
        out_json = args[i + 1]
        del args[i : i + 2]
    cal, cal_logits = dict(np.load(args[0])), np.load(args[1])
    tests = [(args[i], dict(np.load(args[i])), np.load(args[i + 1])) for i in range(3, len(args), 2)]
    lr = LogisticRegression(C=1e6, max_iter=1000).fit(design(cal, cal_logits), cal["label"])
    fit = (lr.coef_[0], lr.intercept_[0])
    s = stacked(fit, cal, cal_logits)
    vs = evalx.video_scores(cal["clip"], s, cal["vclip"], TOP)
    real_v = vs[(cal["vlabel"] == 0) & ~np.isnan(vs)]
    real_f = s[cal["label"] == 0]
    t = {
        "frame_suspicious": float(np.quantile(real_f, 1 - SUSPICIOUS_FPR)),
        "frame_manipulated": float(np.quantile(real_f, 1 - MANIPULATED_FPR)),
        "video_suspicious": float(np.quantile(real_v, 1 - SUSPICIOUS_FPR)),
        "video_manipulated": float(np.quantile(real_v, 1 - MANIPULATED_FPR)),
    }
    mean_app = float(cal_logits.mean())
    print(f"fitted on {args[0]}: {len(s)} face rows, {len(cal['vclip'])} videos ({len(real_v)} real)")
    print(f"  log-odds = {fit[0][0]:.4f} * classifier logit + {fit[0][1]:.4f} * appearance logit + {fit[1]:.4f}")
    print("  thresholds: " + ", ".join(f"{k} {v:.4f}" for k, v in t.items()))
    result = dict(
        classifier_weight=float(fit[0][0]), appearance_weight=float(fit[0][1]), bias=float(fit[1]),
        appearance_mean=mean_app, thresholds=t, tests={},
    )
    for name, d, logits in tests:
        s = stacked(fit, d, logits)
        sa, sv = evalx.aucs(d, d["score"])
        fa, va = evalx.aucs(d, s)
        lo, hi = probe.gain_interval(d, s)
        vs = evalx.video_scores(d["clip"], s, d["vclip"], TOP)
        rf, rv = s[d["label"] == 0], vs[(d["vlabel"] == 0) & ~np.isnan(vs)]
        sub, m = evalx.crf_subset(d, 35)
        ca, cv = evalx.aucs(sub, s[m])
        csa, csv = evalx.aucs(sub, d["score"][m])
        fam = int((rf >= t["frame_manipulated"]).sum())
        fas = int((rf >= t["frame_suspicious"]).sum())
        vam = int((rv >= t["video_manipulated"]).sum())
        vas = int((rv >= t["video_suspicious"]).sum())
        print(f"  {name}: shipped face/video AUC {sa:.3f}/{sv:.3f}; stacked {fa:.3f}/{va:.3f}, "
              f"gain {fa - sa:+.3f} [{lo[0]:+.3f}, {hi[0]:+.3f}] / {va - sv:+.3f} [{lo[1]:+.3f}, {hi[1]:+.3f}]")
        print(f"    CRF 35 only ({m.sum()} faces): shipped {csa:.3f}/{csv:.3f} (drop {sa - csa:+.3f}/{sv - csv:+.3f}), "
              f"stacked {ca:.3f}/{cv:.3f} (drop {fa - ca:+.3f}/{va - cv:+.3f})")
        print(f"    real faces at or above manipulated/suspicious: {fam}/{fas} of {len(rf)}; "
              f"real videos: {vam}/{vas} of {len(rv)}")
        result["tests"][name] = dict(
            face_auc=fa, video_auc=va, shipped_face_auc=sa, shipped_video_auc=sv, crf35_face_auc=ca,
            crf35_video_auc=cv, real_faces=len(rf), real_faces_manipulated=fam, real_faces_suspicious=fas,
            real_videos=len(rv), real_videos_manipulated=vam, real_videos_suspicious=vas,
        )
    if out_json:
        with open(out_json, "w") as f:
            json.dump(result, f, indent=1)


if __name__ == "__main__":
    main()
