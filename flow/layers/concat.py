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
        # an input select per beat, the channel counter and the output skid buffer: Yosys
        # found about 70 LUTs / 37 FFs for two or three int8 inputs at PE 1 on hg-hpm-z2
        pe = self.fold(node, "pe")
        bits = bitwidth(g, node.outputs[0])
        return Resources(lut=23 + 6 * pe * bits, ff=20 + 2 * pe * bits)
