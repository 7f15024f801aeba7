#!/usr/bin/env python3
"""Reference crops and logits of the appearance network, for crates/appearance/tests/reference.rs.

For one frame of each of three sample clips, the face that onnxruntime's CenterFace found
(crates/faces/tests/fixtures/centerface_reference.json) is cut as scripts/pretrained-probe
cuts it for training: OpenCV's warpAffine onto the ArcFace template (224 px, margin 1.5,
bilinear, BORDER_REFLECT), INTER_AREA to 183 px, the centre 160-px square. Each crop is
written as a PNG, and its logit from onnxruntime on models/appearance.onnx goes in the JSON.
Frames are decoded with the ffmpeg CLI (rgb24), as centerface-reference.py does.

usage: appearance-reference.py MODEL.onnx SAMPLES_DIR CENTERFACE_REFERENCE.json OUT_DIR
Python packages: scripts/pretrained-probe/requirements.txt and Pillow (centerface-reference.py's
decoding module imports it). Written with opencv-python-headless 5.1.0.95 and onnxruntime
1.32.0 (recorded in the JSON).
"""
import importlib.util
import json
import os
import sys

import cv2
import numpy as np
import onnxruntime as ort

HERE = os.path.dirname(os.path.abspath(__file__))
FACES = [("single_face.mp4", 0), ("WolfgangLanger_Pexels.mp4", 2), ("carphone_pristine.mp4", 4)]  # (clip, n-th frame)


def load(name, path):
    spec = importlib.util.spec_from_file_location(name, path)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def main():
    model, samples, reference, out = sys.argv[1:5]
    decode = load("centerface_reference", f"{HERE}/centerface-reference.py").frames
    crops = load("crops", f"{HERE}/pretrained-probe/crops.py")
    clips = {c["file"]: c for c in json.load(open(reference))["clips"]}
    session = ort.InferenceSession(model)
    os.makedirs(out, exist_ok=True)
    faces = []
    for name, nth in FACES:
        clip = clips[name]
        img = decode(f"{samples}/{name}", clip["every"], nth + 1)[nth]
        landmarks = clip["frames"][nth]["faces"][0]["landmarks"]
        dst = (crops.TEMPLATE - 56.0) * (224 / 112 / 1.5) + 112
        m = crops.umeyama(np.asarray(landmarks, np.float64).reshape(5, 2), dst)
        crop = cv2.warpAffine(img, m, (224, 224), flags=cv2.INTER_LINEAR, borderMode=cv2.BORDER_REFLECT)
        crop = cv2.resize(crop, (183, 183), interpolation=cv2.INTER_AREA)[11:171, 11:171]
        png = f"{os.path.splitext(name)[0]}-{clip['frames'][nth]['index']}.png"
        cv2.imwrite(f"{out}/{png}", crop[:, :, ::-1])
        x = crop.transpose(2, 0, 1)[None].astype(np.float32)
        logit = float(session.run(None, {"rgb": x})[0][0, 0])
        faces.append(dict(file=name, every=clip["every"], nth=nth, landmarks=landmarks, crop=png, logit=logit))
        print(f"{png}: logit {logit:.4f}")
    meta = dict(model=os.path.basename(model), onnxruntime=ort.__version__, opencv=cv2.__version__, faces=faces)
    with open(f"{out}/appearance_reference.json", "w") as f:
        json.dump(meta, f, indent=1)


if __name__ == "__main__":
    main()
