"""Fan-out: one stream in, the same stream on every output (a skip link's branch point).
A word is passed on when every output has accepted it."""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .base import bitwidth


class Duplicate(Layer):
    kind = "duplicate"

    def execute(self, node, g, inputs):
        return [inputs[0].copy() for _ in node.outputs]

    def estimate(self, node, g):
        pe = self.fold(node, "pe")
        # per output a valid flag held until accepted: Yosys found 16 LUTs / 21 FFs for two
        # int8 outputs and 19 / 22 for three
        return Resources(lut=10 + 3 * len(node.outputs)
                         + pe * bitwidth(g, node.inputs[0]) * len(node.outputs) // 16,
                         ff=20 + len(node.outputs) - 2)
