"""Saturating addition of two integer streams of the same scale: clip(a + b, out_min, out_max).

The residual stream's requantizer after an addition of same-scale int8 values is exactly this
clip; an addition whose result is added again before the requantizer keeps the full width
(out_min/out_max then span every sum)."""
from __future__ import annotations

import numpy as np

from .base import Layer
from .base import Resources
from .base import bitwidth


class AddStreams(Layer):
    kind = "add"

    def execute(self, node, g, inputs):
        a, b = inputs
        return [np.clip(a + b, int(node.attrs["out_min"]), int(node.attrs["out_max"]))]

    def estimate(self, node, g):
        # the adder with its clip and an output register: 29 LUTs / 19 FFs for int8 at PE 1
        pe = self.fold(node, "pe")
        bits = bitwidth(g, node.outputs[0])
        return Resources(lut=5 + 3 * pe * bits, ff=3 + 2 * pe * bits)
