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
        # more per three further inputs); the output skid buffer, a LUT per bit; the input
        # and beat counters, the beat counter as wide as the largest input's beats per pixel
        # (bw bits): 5 + inputs + 3 bw / 2 LUTs. Yosys 0.23 within 2 LUTs of it from 1 to 64
        # bits, 2 to 4 inputs and 2 to 1,024 beats (34 LUTs / 27 FFs on each of hg-hpm-z2's
        # 17 concats: 8 bits, three inputs of 24, 24 and 48 beats)
        pe = self.fold(node, "pe")
        width = pe * bitwidth(g, node.outputs[0])
        beats = max(g.tensors[i].channels // pe for i in node.inputs)
        bw = max(1, (beats - 1).bit_length())
        n = len(node.inputs)
        select = -(-(n - 1) // 3)
        return Resources(lut=5 + n + -(-3 * bw // 2) + (1 + select) * width,
                         ff=bw + max(1, (n - 1).bit_length()) + 3 + 2 * width)
