"""Cut aligned face crops for every labelled face row of a seamscan eval.

usage: crops.py SCORES.parquet FEATURES_DIR OUT.npz [SIZE] [--recode LO:HI] [--recode-seed S]

Joins eval's scores.parquet (frame level: sha256, frame_index, face_index, source,
manipulated, score) with the scan's frames (path, landmarks), decodes each clip with
OpenCV (FFmpeg), and warps each face by a similarity transform from its 5 landmarks to
the ArcFace template, scaled so the template's 112-px crop fills 1/1.5 of the output
(a margin that holds the blending boundary).

With --recode LO:HI, each clip is also put through H.264 once more (the ffmpeg CLI, libx264
at synth's preset, veryfast, and a CRF drawn per clip from LO..HI by a generator seeded with
--recode-seed, in path order), and the same faces, by the same landmarks, are cut from that
decode too: `crops_recoded` and `recode_crf` (per row) beside `crops`. finetune.py --h264
trains on them.
"""
import argparse
import json
import os
import subprocess
import tempfile
from pathlib import Path

import cv2
import numpy as np
import pandas as pd
import pyarrow.dataset as ds
import pyarrow.parquet as pq

TEMPLATE = np.array(
    [[38.2946, 51.6963], [73.5318, 51.5014], [56.0252, 71.7366], [41.5493, 92.3655], [70.7299, 92.2041]],
    dtype=np.float64,
)


# The classifier's feature names, as the shipped model lists them ("radial_hf[3]" is element 3
# of the radial_hf list column).
MODEL = Path(__file__).resolve().parents[2] / "models" / "classifier.json"
FEATURES = json.loads(MODEL.read_text())["features"]
COLUMNS = list(dict.fromkeys(f.split("[")[0] for f in FEATURES))


def feature_matrix(rows):
    """The classifier's features, in its order, NaN where missing."""
    cols = []
    for f in FEATURES:
        if "[" in f:
            name, i = f[:-1].split("[")
            cols.append([v[int(i)] if v is not None else np.nan for v in rows[name]])
        else:
            cols.append(rows[f].astype(float).to_numpy())
    return np.array(cols, dtype=float).T


def umeyama(src, dst):
    """Similarity transform (2x3) taking src points to dst points, least squares."""
    ms, md = src.mean(0), dst.mean(0)
    s, d = src - ms, dst - md
    cov = d.T @ s / len(src)
    u, sig, vt = np.linalg.svd(cov)
    sign = np.sign(np.linalg.det(u @ vt))
    e = np.diag([1.0, sign])
    r = u @ e @ vt
    scale = (sig * np.diag(e)).sum() / (s**2).sum() * len(src)
    t = md - scale * r @ ms
    return np.hstack([scale * r, t[:, None]])


def read_frames(path):
    """Every frame of a clip, BGR, as OpenCV decodes it."""
    cap = cv2.VideoCapture(path)
    frames = []
    while True:
        ok, img = cap.read()
        if not ok:
            break
        frames.append(img)
    return frames


def recoded_frames(path, crf, tmp):
    """The clip put through libx264 at this CRF (every frame kept, one output frame per input
    frame), decoded again."""
    subprocess.run(
        ["ffmpeg", "-v", "error", "-y", "-i", path, "-map", "0:v:0", "-fps_mode", "passthrough",
         "-c:v", "libx264", "-preset", "veryfast", "-crf", str(crf), "-pix_fmt", "yuv420p", tmp],
        check=True,
    )
    return read_frames(tmp)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("scores")
    a.add_argument("features")
    a.add_argument("out")
    a.add_argument("size", nargs="?", type=int, default=224)
    a.add_argument("--recode", help="LO:HI: also cut the faces from each clip re-encoded at a CRF in LO..HI")
    a.add_argument("--recode-seed", type=int, default=1)
    args = a.parse_args()
    scores_path, features_dir, out, size = args.scores, args.features, args.out, args.size
    k = size / 112 / 1.5
    dst = (TEMPLATE - 56.0) * k + size / 2
    sc = pq.read_table(scores_path).to_pandas()
    vid = sc[sc.level == "video"]
    sc = sc[sc.level == "frame"]
    fr = ds.dataset(features_dir + "/frames").to_table(
        columns=["path", "sha256", "frame_index", "face_index", "landmarks"] + COLUMNS
    ).to_pandas()
    fr = fr[fr.face_index.notna()]
    fr["face_index"] = fr.face_index.astype("uint64")
    fr = fr.drop_duplicates(["sha256", "frame_index", "face_index"])
    rows = sc.merge(fr, on=["sha256", "frame_index", "face_index"], how="inner")
    assert len(rows) == len(sc), (len(rows), len(sc))
    rows = rows.sort_values(["path", "frame_index", "face_index"]).reset_index(drop=True)
    crops = np.zeros((len(rows), size, size, 3), np.uint8)
    extra = {}
    if args.recode:
        lo, hi = (int(v) for v in args.recode.split(":"))
        rng = np.random.default_rng(args.recode_seed)
        extra["crops_recoded"] = np.zeros_like(crops)
        extra["recode_crf"] = np.zeros(len(rows), np.int32)
    tmpdir = tempfile.TemporaryDirectory()
    tmp = os.path.join(tmpdir.name, "recoded.mp4")

    def cut(img, r):
        m = umeyama(np.asarray(r.landmarks, np.float64).reshape(5, 2), dst)
        return cv2.warpAffine(img, m, (size, size), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)[:, :, ::-1]

    for path, group in rows.groupby("path", sort=False):
        frames = read_frames(path)
        if args.recode:
            crf = int(rng.integers(lo, hi + 1))
            again = recoded_frames(path, crf, tmp)
            assert len(again) == len(frames), (path, len(again), len(frames))
        for i, r in group.iterrows():
            crops[i] = cut(frames[int(r.frame_index)], r)
            if args.recode:
                extra["crops_recoded"][i] = cut(again[int(r.frame_index)], r)
                extra["recode_crf"][i] = crf
    np.savez(
        out,
        **extra,
        crops=crops,
        label=rows.manipulated.to_numpy(),
        score=rows.score.to_numpy(),
        source=rows.source.to_numpy().astype(str),
        clip=rows.sha256.to_numpy().astype(str),
        feats=feature_matrix(rows),
        vclip=vid.sha256.to_numpy().astype(str),
        vlabel=vid.manipulated.to_numpy(),
        vscore=vid.score.to_numpy(),
        path=rows.path.to_numpy().astype(str),
    )
    print(f"{len(rows)} crops -> {out}")


if __name__ == "__main__":
    main()
