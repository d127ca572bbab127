"""Saturating addition of two integer streams of the same scale: clip(a + b, out_min, out_max).

The residual stream's requantizer after an addition of same-scale int8 values is exactly this
clip; an addition whose result is added again before the requantizer keeps the full width
(out_min/out_max then span every sum)."""
from __future__ import annotations

import numpy as np

from .base import Layer


class AddStreams(Layer):
    kind = "add"

    def execute(self, node, g, inputs):
        a, b = inputs
        return [np.clip(a + b, int(node.attrs["out_min"]), int(node.attrs["out_max"]))]
