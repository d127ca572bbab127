"""A binary mini-hourglass written with plain Brevitas layers, as a user brings it.

Nothing here comes from this project's model zoo (brevitas_models): it is the kind of network
flow/README.md's "Bring your own network" describes, and the tests build it end to end.

    input (uint8 image as p/255) -> 8-bit input quantizer (power-of-two scale)
    -> 8-bit 3x3 stem conv (power-of-two weight scale) -> the shared int8 requantizer
    -> hourglass: skip branch | max-pool -> binary conv -> residual binary conv + add
                  -> nearest 2x upsample ; concat(skip, up) -> binary 1x1 conv
    -> 8-bit 1x1 heatmap conv with bias

Every binary conv is BN -> sign -> pad(-1) -> XNOR conv -> BN -> PReLU, and each one's output
is requantized by the ONE shared int8 quantizer, so that adding, concatenating, pooling and
upsampling them are integer operations in hardware.

    python -m flow.examples.mini_hourglass --board pynq-z2 [--size 32] [--channels 16]
                                           [--output DIR] [--no-synth]
"""
from __future__ import annotations

import torch
import torch.nn.functional as F
from brevitas.nn import QuantConv2d
from brevitas.nn import QuantIdentity
from brevitas.quant import Int8ActPerTensorFloat
from brevitas.quant import Int8WeightPerTensorFixedPoint
from brevitas.quant import SignedBinaryActPerTensorConst
from brevitas.quant import SignedBinaryWeightPerTensorConst
from brevitas.quant import Uint8ActPerTensorFixedPoint
from torch import nn


class BinaryConv(nn.Module):
    """BN -> sign -> pad(-1) -> binary conv (+-1 weights) -> BN -> PReLU."""

    def __init__(self, cin: int, cout: int, kernel: int = 3):
        super().__init__()
        self.bn_in = nn.BatchNorm2d(cin)
        self.sign = QuantIdentity(act_quant=SignedBinaryActPerTensorConst)
        self.pad = kernel // 2
        self.conv = QuantConv2d(cin, cout, kernel, bias=False,
                                weight_quant=SignedBinaryWeightPerTensorConst)
        self.bn_out = nn.BatchNorm2d(cout)
        self.act = nn.PReLU(cout, init=0.25)

    def forward(self, x):
        x = self.sign(self.bn_in(x))
        if self.pad:
            # a +-1 activation has no zero: pad with -1
            x = F.pad(x, [self.pad] * 4, value=-1.0)
        return self.act(self.bn_out(self.conv(x)))


class MiniHourglass(nn.Module):
    def __init__(self, channels: int = 16, landmarks: int = 4, in_channels: int = 3):
        super().__init__()
        c = channels
        self.input_quant = QuantIdentity(act_quant=Uint8ActPerTensorFixedPoint)
        self.stem = QuantConv2d(in_channels, c, 3, stride=2, padding=1, bias=False,
                                weight_quant=Int8WeightPerTensorFixedPoint)
        # ONE requantizer for everything that is added, concatenated or pooled together
        self.requant = QuantIdentity(act_quant=Int8ActPerTensorFloat)
        self.skip = BinaryConv(c, c)
        self.down = BinaryConv(c, c)
        self.inner = BinaryConv(c, c)
        self.merge = BinaryConv(2 * c, c, kernel=1)
        self.head = QuantConv2d(c, landmarks, 1, bias=True,
                                weight_quant=Int8WeightPerTensorFixedPoint)

    def forward(self, x):
        q = self.requant
        x = q(self.stem(self.input_quant(x)))
        skip = q(self.skip(x))
        low = q(self.down(F.max_pool2d(x, 2)))
        low = q(low + q(self.inner(low)))
        up = F.interpolate(low, scale_factor=2, mode="nearest")
        return self.head(q(self.merge(torch.cat([skip, up], dim=1))))


def main(argv=None) -> int:
    import argparse

    from flow.build import build_brevitas
    # the class under its importable name (`python -m` runs this file as __main__), which
    # the report records
    from flow.examples.mini_hourglass import MiniHourglass as Net

    p = argparse.ArgumentParser(prog="python -m flow.examples.mini_hourglass",
                                description="build the example network (untrained, seed 0)")
    p.add_argument("--board", default="pynq-z2")
    p.add_argument("--size", type=int, default=32, help="input height and width")
    p.add_argument("--channels", type=int, default=16)
    p.add_argument("--output")
    p.add_argument("--no-synth", action="store_true", help="skip the Yosys synthesis")
    args = p.parse_args(argv)
    torch.manual_seed(0)
    return build_brevitas(Net(args.channels), (3, args.size, args.size), args.board,
                          args.output, no_synth=args.no_synth)


if __name__ == "__main__":
    raise SystemExit(main())
