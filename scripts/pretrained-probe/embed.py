"""Pooled activations of a frozen ONNX network for every crop of a crops.py file.

usage: embed.py MODEL.onnx CROPS.npz OUT.npz --mean m,m,m --std s,s,s
                [--layout nchw|nhwc] [--bgr] [--taps name,name,...]

Each tap (an intermediate tensor, or the graph's outputs if none) is reduced per channel
to its spatial mean (and, for 4-D maps, its spatial std), and the taps are concatenated.
"""
import argparse

import numpy as np
import onnx
import onnxruntime as ort


def with_taps(model_path, taps):
    m = onnx.load(model_path)
    if not taps:
        return m.SerializeToString(), [o.name for o in m.graph.output]
    have = {o.name for o in m.graph.output}
    for t in taps:
        if t not in have:
            m.graph.output.append(onnx.helper.make_empty_tensor_value_info(t))
    return m.SerializeToString(), taps


def main():
    p = argparse.ArgumentParser()
    p.add_argument("model")
    p.add_argument("crops")
    p.add_argument("out")
    p.add_argument("--mean", default="0,0,0")
    p.add_argument("--std", default="1,1,1")
    p.add_argument("--scale", type=float, default=1.0 / 255)
    p.add_argument("--layout", default="nchw")
    p.add_argument("--bgr", action="store_true")
    p.add_argument("--taps", default="")
    p.add_argument("--batch", type=int, default=32)
    a = p.parse_args()
    taps = [t for t in a.taps.split(",") if t]
    blob, names = with_taps(a.model, taps)
    so = ort.SessionOptions()
    so.intra_op_num_threads = 2
    so.log_severity_level = 3
    sess = ort.InferenceSession(blob, so, providers=["CPUExecutionProvider"])
    inp = sess.get_inputs()[0]
    mean = np.array([float(x) for x in a.mean.split(",")], np.float32)
    std = np.array([float(x) for x in a.std.split(",")], np.float32)
    crops = np.load(a.crops)["crops"]
    feats = []
    for i in range(0, len(crops), a.batch):
        b = crops[i : i + a.batch]
        if a.bgr:
            b = b[..., ::-1]
        x = (b.astype(np.float32) * a.scale - mean) / std
        if a.layout == "nchw":
            x = x.transpose(0, 3, 1, 2)
        outs = sess.run(names, {inp.name: np.ascontiguousarray(x)})
        parts = []
        for o in outs:
            o = np.asarray(o, np.float32)
            if o.ndim == 4:
                parts += [o.mean((2, 3)), o.std((2, 3))]  # every tap used is NCHW
            else:
                parts.append(o.reshape(len(o), -1))
        feats.append(np.hstack(parts))
    f = np.vstack(feats)
    np.savez(a.out, emb=f, names=np.array(names))
    print(f"{f.shape} -> {a.out}")


if __name__ == "__main__":
    main()
