"""Nearest-neighbour upsampling by an integer factor: every input pixel is repeated
factor x factor times (one input row is buffered and emitted `factor` times)."""
from __future__ import annotations

import math

import numpy as np

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import memory


class Upsample(Layer):
    kind = "upsample"

    def execute(self, node, g, inputs):
        f = int(node.attrs["factor"])
        return [inputs[0].repeat(f, axis=1).repeat(f, axis=2)]

    def pixel_dependencies(self, node, g):
        f = int(node.attrs["factor"])
        w = g.tensors[node.inputs[0]].shape[1]
        oh, ow, _ = g.tensors[node.outputs[0]].shape
        oy, ox = np.divmod(np.arange(oh * ow), ow)
        return [(oy // f) * w + ox // f]

    def estimate(self, node, g):
        pe = self.fold(node, "pe")
        t = g.tensors[node.inputs[0]]
        bits = bitwidth(g, node.inputs[0])
        row = memory(pe * bits, math.ceil(t.shape[1] * t.channels / pe))
        return row + Resources(lut=50 + 2 * pe * bits, ff=60 + 2 * pe * bits)
