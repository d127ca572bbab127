"""A FIFO of `depth` pixels between two layers; identity on the data. Skip links get deep
ones (computed by flow/planning/fifo_depths.py) so that the joins downstream cannot deadlock."""
from __future__ import annotations

import math

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import memory


def fifo_words(channels: int, pe: int, depth_pixels: int) -> int:
    """Words a FIFO of `depth_pixels` pixels holds on a stream of `pe` values per word: what
    the RTL's axis_fifo DEPTH and the HLS stream depth are (at least 2, a skid buffer)."""
    return max(2, depth_pixels * -(-channels // pe))


def fifo_resources(bits: int, channels: int, pe: int, depth_pixels: int) -> Resources:
    """A FIFO of `depth_pixels` pixels on a stream of `pe` values of `bits` per word."""
    width = bits * pe
    depth = fifo_words(channels, pe, depth_pixels)
    if depth <= 32:       # shift-register LUTs (SRL32)
        return Resources(lut=width, ff=width)
    mem = memory(width, depth)
    # pointers and flags, and the read mux of cascaded block RAMs: Yosys found 40-55 LUTs
    # up to one BRAM36, 100 at 4.5 and 137 at 30
    return mem + Resources(lut=40 + math.ceil(20 * math.sqrt(mem.bram36)), ff=45)


class Fifo(Layer):
    kind = "fifo"
    fold_params = ()     # its word width is its producer's: attribute pe, set on insertion

    def execute(self, node, g, inputs):
        return [inputs[0]]

    def cycles(self, node, g):
        return 0   # never the bottleneck: it moves a word per cycle at any width

    def words(self, node, g) -> int:
        return fifo_words(g.tensors[node.inputs[0]].channels, self.fold(node, "pe"),
                          int(node.attrs["depth"]))

    def estimate(self, node, g):
        t = g.tensors[node.inputs[0]]
        return fifo_resources(bitwidth(g, node.inputs[0]), t.channels, self.fold(node, "pe"),
                              int(node.attrs["depth"]))
