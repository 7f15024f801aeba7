"""A finetune.py network (OUT.pt) -> ONNX for seamscan, with ImageNet normalisation inside.

usage: export_onnx.py OUT.pt model.onnx [--size 160] [--check CROPS.npz] [--unclipped]

The graph takes `rgb`: float32 [n, 3, size, size], RGB pixel values 0-255 of the centre
square of the crop that finetune.py evaluates, and gives `logit`: [n, 1]. Batch norm is
folded by the exporter (eval mode). With --check, the ONNX graph (ONNX Runtime) and
PyTorch score the first 64 crops of CROPS.npz and their largest difference is printed.
With --unclipped, the last ReLU6 (before the pooling) is left out of the network, so that the
head reads the features pooled before their clip (ceiling.py, unclipped.py); the weights are
the same.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from finetune import MEAN, STD, prepare, trained  # noqa: E402


class Normalised(torch.nn.Module):
    """0-255 RGB in, ImageNet normalisation, then the network."""

    def __init__(self, net):
        super().__init__()
        self.net = net
        self.register_buffer("mean", torch.tensor(MEAN * 255).view(1, 3, 1, 1))
        self.register_buffer("std", torch.tensor(STD * 255).view(1, 3, 1, 1))

    def forward(self, rgb):
        return self.net((rgb - self.mean) / self.std)


def main():
    a = argparse.ArgumentParser()
    a.add_argument("pt")
    a.add_argument("onnx")
    a.add_argument("--size", type=int, default=160)
    a.add_argument("--check")
    a.add_argument("--unclipped", action="store_true")
    args = a.parse_args()
    net = trained(args.pt)
    if args.unclipped:
        net.features[18][2] = torch.nn.Identity()  # Conv2dNormActivation(320, 1280)'s ReLU6
    model = Normalised(net).eval()
    x = torch.zeros(1, 3, args.size, args.size)
    torch.onnx.export(
        model, x, args.onnx, input_names=["rgb"], output_names=["logit"], opset_version=16,
        dynamic_axes={"rgb": {0: "n"}, "logit": {0: "n"}}, dynamo=False,
    )
    print(f"wrote {args.onnx}")
    if args.check:
        import onnxruntime

        crops = np.load(args.check)["crops"][:64]
        # prepare() normalises; undo it to get the 0-255 centre squares the graph takes.
        norm = prepare(crops, args.size)
        rgb = ((norm * STD + MEAN) * 255).transpose(0, 3, 1, 2).astype(np.float32)
        with torch.no_grad():
            want = net(torch.from_numpy(norm.transpose(0, 3, 1, 2).copy()))[:, 0].numpy()
        got = onnxruntime.InferenceSession(args.onnx).run(None, {"rgb": rgb})[0][:, 0]
        print(f"ONNX Runtime vs PyTorch on {len(crops)} crops: largest difference {np.abs(got - want).max():.2e}")


if __name__ == "__main__":
    main()
