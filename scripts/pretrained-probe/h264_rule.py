"""The rule written before the H.264 run (docs/model.md, "The H.264 recipe on all people: the
run that decides"), applied to seamscan's own figures: three `seamscan eval --rescore --score
stacked --baseline models/classifier.json --by crf` reports, of held-out sets 3, 4 and 5.

usage: h264_rule.py SET3-REPORT SET4-REPORT SET5-REPORT   (each a directory with metrics.parquet)

The candidate replaces the stacked option if, on each of sets 4 and 5, both AUC gains over
the classifier are above zero, at most 1 % of real faces are `manipulated`, no real video is,
and the CRF-35 face-AUC drop is at most 0.05; and on set 3 both gains are above zero. It
becomes the default score if it also passes, on set 3, the default's rule: at most 1 % of
real faces `manipulated`, at most 1 real video of its 120, a CRF-35 face-AUC drop of at most
0.05. `manipulated` counts are scores at or above the stack's thresholds (eval's confusion
matrix), before the glimpse rule. Prints each figure and condition; exits 0 whatever the
outcome (2 on a report it cannot read).
"""
import os
import sys

import pyarrow.parquet as pq


def fail(message):
    print(f"h264_rule.py: {message}", file=sys.stderr)
    sys.exit(2)


def figures(report):
    try:
        rows = pq.read_table(os.path.join(report, "metrics.parquet")).to_pylist()
    except OSError as e:
        fail(f"{report}: {e}")
    by = {(r["level"], r["subset"]): r for r in rows}
    try:
        face, video = by[("frame", "all")], by[("video", "all")]
        face35 = by[("frame", "crf=35")]
    except KeyError as e:
        fail(f"{report}: no {e} row in metrics.parquet (was eval run with --by crf?)")
    for r in (face, video):
        if r["auc_baseline"] is None:
            fail(f"{report}: no baseline AUC (was eval run with --baseline?)")
    real = lambda r: int(r["false_positive"] + r["true_negative"])  # noqa: E731
    return {
        "face_auc": face["auc"],
        "video_auc": video["auc"],
        "face_gain": face["auc"] - face["auc_baseline"],
        "video_gain": video["auc"] - video["auc_baseline"],
        "face_gain_interval": (face["auc_gain_low"], face["auc_gain_high"]),
        "video_gain_interval": (video["auc_gain_low"], video["auc_gain_high"]),
        "real_faces": real(face),
        "real_faces_manipulated": int(face["false_positive"]),
        "real_videos": real(video),
        "real_videos_manipulated": int(video["false_positive"]),
        "crf35_face_drop": face["auc"] - face35["auc"],
    }


def interval(i):
    return "" if i[0] is None else f" [{i[0]:+.3f}, {i[1]:+.3f}]"


def main():
    if len(sys.argv) != 4:
        print(__doc__, file=sys.stderr)
        sys.exit(2)
    sets = dict(zip(("set 3", "set 4", "set 5"), (figures(p) for p in sys.argv[1:])))
    checks = []  # (set, condition, passed, for the default only)
    for name, f in sets.items():
        print(f"{name}: face / video AUC {f['face_auc']:.3f} / {f['video_auc']:.3f}; gain over the classifier "
              f"{f['face_gain']:+.3f}{interval(f['face_gain_interval'])} / "
              f"{f['video_gain']:+.3f}{interval(f['video_gain_interval'])}; CRF-35 face drop {f['crf35_face_drop']:.3f}; "
              f"real faces manipulated {f['real_faces_manipulated']} of {f['real_faces']}, "
              f"real videos manipulated {f['real_videos_manipulated']} of {f['real_videos']}")
        checks.append((name, "face gain > 0", f["face_gain"] > 0, False))
        checks.append((name, "video gain > 0", f["video_gain"] > 0, False))
        faces_ok = f["real_faces_manipulated"] <= 0.01 * f["real_faces"]
        drop_ok = f["crf35_face_drop"] <= 0.05
        if name == "set 3":
            checks.append((name, "real faces manipulated <= 1 %", faces_ok, True))
            checks.append((name, "real videos manipulated <= 1", f["real_videos_manipulated"] <= 1, True))
            checks.append((name, "CRF-35 face drop <= 0.05", drop_ok, True))
        else:
            checks.append((name, "real faces manipulated <= 1 %", faces_ok, False))
            checks.append((name, "no real video manipulated", f["real_videos_manipulated"] == 0, False))
            checks.append((name, "CRF-35 face drop <= 0.05", drop_ok, False))
    for name, what, ok, default_only in checks:
        print(f"  {'pass' if ok else 'FAIL'}  {name}: {what}{' (for the default)' if default_only else ''}")
    option = all(ok for _, _, ok, d in checks if not d)
    default = option and all(ok for _, _, ok, _ in checks)
    print(f"replaces the stacked option: {'yes' if option else 'no'}")
    print(f"becomes the default score: {'yes' if default else 'no'}")


if __name__ == "__main__":
    main()
