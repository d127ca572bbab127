"""Nearest-neighbour upsampling by an integer factor: every input pixel is repeated
factor x factor times (one input row is buffered and emitted `factor` times)."""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import output_grid
from .base import row_buffer


class Upsample(Layer):
    kind = "upsample"

    def execute(self, node, g, inputs):
        f = int(node.attrs["factor"])
        return [inputs[0].repeat(f, axis=1).repeat(f, axis=2)]

    def pixel_dependencies(self, node, g):
        f = int(node.attrs["factor"])
        oy, ox, w = output_grid(node, g)
        return [(oy // f) * w + ox // f]

    def pipeline_cycles(self, node, g):
        return 2        # the row memory's read, the output queue (hw/upsample.sv)

    def estimate(self, node, g):
        pe, bits = self.fold(node, "pe"), bitwidth(g, node.inputs[0])
        # one input row, emitted `factor` times
        return row_buffer(node, g, node.inputs[0]) + Resources(lut=50 + 2 * pe * bits,
                                                              ff=60 + 2 * pe * bits)
