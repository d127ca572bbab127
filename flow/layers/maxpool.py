"""Max-pooling k x k, stride k, on an integer stream (the residual stream's scale is
positive, so the max of the codes is the code of the max)."""
from __future__ import annotations

import math

import numpy as np

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import memory


class MaxPool(Layer):
    kind = "maxpool"

    def execute(self, node, g, inputs):
        x = inputs[0]
        k = int(node.attrs["kernel"])
        n, h, w, c = x.shape
        return [x[:, :h // k * k, :w // k * k].reshape(n, h // k, k, w // k, k, c).max((2, 4))]

    def pixel_dependencies(self, node, g):
        k = int(node.attrs["kernel"])
        w = g.tensors[node.inputs[0]].shape[1]
        oh, ow, _ = g.tensors[node.outputs[0]].shape
        oy, ox = np.divmod(np.arange(oh * ow), ow)
        return [(oy * k + k - 1) * w + ox * k + k - 1]

    def work(self, node, g):
        t = g.tensors[node.inputs[0]]
        return t.pixels * t.channels

    def estimate(self, node, g):
        pe = self.fold(node, "pe")
        t = g.tensors[node.outputs[0]]
        bits = bitwidth(g, node.inputs[0])
        # one output row of running maxima
        row = memory(pe * bits, math.ceil(t.shape[1] * t.channels / pe))
        return row + Resources(lut=60 + 3 * pe * bits, ff=80 + 2 * pe * bits)
