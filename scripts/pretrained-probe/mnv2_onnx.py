"""torchvision MobileNetV2 ImageNet weights (legacy .pth, read without torch) -> ONNX.

usage: mnv2_onnx.py mobilenet_v2-b0353104.pth out.onnx
Block outputs are named b0..b18 so that embed.py can tap them.
"""
import collections
import pickle
import struct
import sys

import numpy as np
import onnx
from onnx import TensorProto, helper, numpy_helper


class Storage:
    def __init__(self, key, dtype):
        self.key, self.dtype, self.data = key, dtype, None


class Tensor:
    def __init__(self, storage, offset, size, stride):
        self.storage, self.offset, self.size, self.stride = storage, offset, size, stride

    def array(self):
        a = self.storage.data
        item = a.itemsize
        return np.lib.stride_tricks.as_strided(
            a[self.offset :], shape=self.size, strides=[s * item for s in self.stride]
        ).copy()


DTYPES = {"FloatStorage": np.float32, "LongStorage": np.int64}


def load_legacy(path):
    storages = {}
    with open(path, "rb") as f:
        pickle.load(f)  # magic
        pickle.load(f)  # protocol
        pickle.load(f)  # sys info

        class U(pickle.Unpickler):
            def find_class(self, mod, name):
                if name == "_rebuild_tensor_v2":
                    return lambda st, off, size, stride, *rest: Tensor(st, off, size, stride)
                if name in DTYPES:
                    return DTYPES[name]
                if name == "OrderedDict":
                    return collections.OrderedDict
                return super().find_class(mod, name)

            def persistent_load(self, pid):
                _, dtype, key, _loc, _size = pid[:5]
                if key not in storages:
                    storages[key] = Storage(key, dtype)
                return storages[key]

        state = U(f).load()
        keys = pickle.load(f)
        for k in keys:
            (n,) = struct.unpack("<q", f.read(8))
            st = storages[k]
            st.data = np.frombuffer(f.read(n * np.dtype(st.dtype).itemsize), dtype=st.dtype)
    return {k: v.array() for k, v in state.items() if isinstance(v, Tensor)}


def build(w, out):
    nodes, inits = [], []

    def init(name, arr):
        inits.append(numpy_helper.from_array(arr.astype(np.float32), name))
        return name

    def conv_bn(x, prefix_conv, prefix_bn, stride, groups, relu, name):
        wt = w[prefix_conv + ".weight"]
        g, b = w[prefix_bn + ".weight"], w[prefix_bn + ".bias"]
        m, v = w[prefix_bn + ".running_mean"], w[prefix_bn + ".running_var"]
        scale = g / np.sqrt(v + 1e-5)
        wf = wt * scale[:, None, None, None]
        bf = b - m * scale
        k = wt.shape[2]
        y = name + ("_pre" if relu else "")
        nodes.append(
            helper.make_node(
                "Conv",
                [x, init(name + ".w", wf), init(name + ".b", bf)],
                [y],
                strides=[stride, stride],
                pads=[k // 2] * 4,
                group=groups,
            )
        )
        if relu:
            nodes.append(helper.make_node("Clip", [y, init(name + ".lo", np.array(0.0)), init(name + ".hi", np.array(6.0))], [name]))
        return name

    x = conv_bn("input", "features.0.0", "features.0.1", 2, 1, True, "b0")
    settings = [(1, 16, 1, 1), (6, 24, 2, 2), (6, 32, 3, 2), (6, 64, 4, 2), (6, 96, 3, 1), (6, 160, 3, 2), (6, 320, 1, 1)]
    cin, i = 32, 1
    for t, c, n, s in settings:
        for j in range(n):
            stride = s if j == 0 else 1
            p = f"features.{i}.conv"
            h = x
            hid = cin * t
            if t == 1:
                h = conv_bn(h, p + ".0.0", p + ".0.1", stride, hid, True, f"b{i}_dw")
                h = conv_bn(h, p + ".1", p + ".2", 1, 1, False, f"b{i}_pw")
            else:
                h = conv_bn(h, p + ".0.0", p + ".0.1", 1, 1, True, f"b{i}_ex")
                h = conv_bn(h, p + ".1.0", p + ".1.1", stride, hid, True, f"b{i}_dw")
                h = conv_bn(h, p + ".2", p + ".3", 1, 1, False, f"b{i}_pw")
            if stride == 1 and cin == c:
                nodes.append(helper.make_node("Add", [x, h], [f"b{i}"]))
            else:
                nodes.append(helper.make_node("Identity", [h], [f"b{i}"]))
            x, cin, i = f"b{i}", c, i + 1
    x = conv_bn(x, "features.18.0", "features.18.1", 1, 1, True, "b18")
    nodes.append(helper.make_node("GlobalAveragePool", [x], ["pool"]))
    nodes.append(helper.make_node("Flatten", ["pool"], ["flat"]))
    nodes.append(
        helper.make_node("Gemm", ["flat", init("fc.w", w["classifier.1.weight"]), init("fc.b", w["classifier.1.bias"])], ["logits"], transB=1)
    )
    g = helper.make_graph(
        nodes,
        "mobilenet_v2",
        [helper.make_tensor_value_info("input", TensorProto.FLOAT, ["N", 3, 224, 224])],
        [helper.make_tensor_value_info("logits", TensorProto.FLOAT, ["N", 1000])],
        inits,
    )
    m = helper.make_model(g, opset_imports=[helper.make_opsetid("", 13)])
    onnx.checker.check_model(m)
    onnx.save(m, out)


if __name__ == "__main__":
    w = load_legacy(sys.argv[1])
    print(len(w), "tensors")
    build(w, sys.argv[2])
