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
        return Resources(lut=20 + pe * bitwidth(g, node.inputs[0]) * len(node.outputs) // 2,
                         ff=20)
