"""A FIFO of `depth` pixels between two layers; identity on the data. Skip links get deep
ones (computed by flow/fifo_depths.py) so that the joins downstream cannot deadlock."""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import memory


class Fifo(Layer):
    kind = "fifo"

    def execute(self, node, g, inputs):
        return [inputs[0]]

    def cycles(self, node, g):
        return 0   # never the bottleneck: it moves a word per cycle at any width

    def estimate(self, node, g):
        t = g.tensors[node.inputs[0]]
        width = t.channels * bitwidth(g, node.inputs[0])
        depth = int(node.attrs["depth"])
        if depth <= 32:       # shift-register LUTs (SRL32)
            return Resources(lut=width, ff=width)
        return memory(width, depth) + Resources(lut=40, ff=60)
