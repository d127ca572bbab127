"""A FIFO of `depth` pixels between two layers; identity on the data. Skip links get deep
ones (computed by flow/fifo_depths.py) so that the joins downstream cannot deadlock."""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import memory


def fifo_resources(bits: int, channels: int, pe: int, depth_pixels: int) -> Resources:
    """A FIFO of `depth_pixels` pixels on a stream of `pe` values of `bits` per word."""
    width = bits * pe
    depth = depth_pixels * -(-channels // pe)
    if depth <= 32:       # shift-register LUTs (SRL32)
        return Resources(lut=width, ff=width)
    return memory(width, depth) + Resources(lut=40, ff=60)


class Fifo(Layer):
    kind = "fifo"
    fold_params = ()     # its word width is its producer's: attribute pe, set on insertion

    def execute(self, node, g, inputs):
        return [inputs[0]]

    def cycles(self, node, g):
        return 0   # never the bottleneck: it moves a word per cycle at any width

    def estimate(self, node, g):
        t = g.tensors[node.inputs[0]]
        return fifo_resources(bitwidth(g, node.inputs[0]), t.channels, self.fold(node, "pe"),
                              int(node.attrs["depth"]))
