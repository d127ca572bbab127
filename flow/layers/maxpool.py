"""Max-pooling k x k, stride k, on an integer stream (the residual stream's scale is
positive, so the max of the codes is the code of the max)."""
from __future__ import annotations

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import output_grid
from .base import row_buffer


class MaxPool(Layer):
    kind = "maxpool"

    def execute(self, node, g, inputs):
        x = inputs[0]
        k = int(node.attrs["kernel"])
        n, h, w, c = x.shape
        return [x[:, :h // k * k, :w // k * k].reshape(n, h // k, k, w // k, k, c).max((2, 4))]

    def pixel_dependencies(self, node, g):
        k = int(node.attrs["kernel"])
        oy, ox, w = output_grid(node, g)
        return [(oy * k + k - 1) * w + ox * k + k - 1]

    def work(self, node, g):
        t = g.tensors[node.inputs[0]]
        return t.pixels * t.channels

    def estimate(self, node, g):
        pe, bits = self.fold(node, "pe"), bitwidth(g, node.inputs[0])
        # one output row of running maxima
        return row_buffer(node, g, node.outputs[0]) + Resources(lut=60 + 3 * pe * bits,
                                                               ff=80 + 2 * pe * bits)
