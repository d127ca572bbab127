"""Channel concatenation of streams of equal H x W and dtype: per pixel, the channels of
input 0, then input 1, ..."""
from __future__ import annotations

import numpy as np

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import divisors


class Concat(Layer):
    kind = "concat"

    def execute(self, node, g, inputs):
        return [np.concatenate(inputs, axis=-1)]

    def fold_space(self, node, g):
        # each input's channels must split into whole words
        common = None
        for i in node.inputs:
            d = set(divisors(g.tensors[i].channels))
            common = d if common is None else common & d
        return {"pe": sorted(common)}

    def estimate(self, node, g):
        # hw/concat.sv: the input select, a LUT6 per output bit for up to four inputs (one
        # more per three further inputs); the output skid buffer, a LUT per bit; the select
        # and 16-bit beat counters, about 30 LUTs. Yosys 0.23: 46 LUTs / 36 FFs for 8 bits
        # and two inputs, 47 for three, 49 for four, 62 for 16 bits, 95 for 32 bits and
        # three inputs, 159 for 64 bits, 131 for 32 bits and five inputs
        width = self.fold(node, "pe") * bitwidth(g, node.outputs[0])
        select = -(-(len(node.inputs) - 1) // 3)
        return Resources(lut=30 + (1 + select) * width, ff=20 + 2 * width)
