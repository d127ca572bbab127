"""Keep the channels [start, stop) of every pixel (the two halves of a U-Net merge)."""
from __future__ import annotations

from .base import Layer
from .base import divisors


class SliceChannels(Layer):
    kind = "slice_channels"

    def execute(self, node, g, inputs):
        return [inputs[0][..., int(node.attrs["start"]):int(node.attrs["stop"])]]

    def fold_space(self, node, g):
        a = set(divisors(g.tensors[node.inputs[0]].channels))
        return {"pe": sorted(a & set(divisors(g.tensors[node.outputs[0]].channels)))}

    def work(self, node, g):
        t = g.tensors[node.inputs[0]]
        return t.pixels * t.channels
