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

    def input_holdoff(self, node, g) -> int:
        """Cycles after an input row's last beat during which the upsample takes no input, at
        a beat per cycle: hw/upsample.sv keeps one row and takes the next row's words only
        where its last pass over the current row has finished with them, a pixel at a time.
        So it first sends the rest of the row's last pixel in the first pass, the passes
        between, and the last pass's first pixel. Read by the FIFO-depth analysis
        (flow/planning/fifo_depths.py, upsample_holdoff_pixels)."""
        f = int(node.attrs["factor"])
        t = g.tensors[node.inputs[0]]
        beats = t.channels // self.fold(node, "pe")          # per pixel
        return (f - 1) * beats + (f - 2) * f * t.shape[1] * beats + f * beats

    def estimate(self, node, g):
        pe, bits = self.fold(node, "pe"), bitwidth(g, node.inputs[0])
        # one input row, emitted `factor` times
        return row_buffer(node, g, node.inputs[0]) + Resources(lut=50 + 2 * pe * bits,
                                                              ff=60 + 2 * pe * bits)
