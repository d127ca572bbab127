"""8-bit matrix-vector(-threshold) unit: the first and last layers.

Input: integer vectors of length K (uint8 pixels or the int8 residual stream). Weights: int8
[C_out, K]. acc = sum_k w[o, k] * x[k] exactly (int32); then thresholds (the stem's
requantizer) or, without thresholds, acc itself is streamed out (the heatmap layer: the host
applies scale and bias). One DSP per multiply-accumulate lane.
"""
from __future__ import annotations

import numpy as np

from .base import MatrixVectorUnit
from .base import Resources
from .base import bitwidth
from .base import rom_cost
from .base import weight_rom
from .requant import apply_output_stage
from .requant import output_stage_cost


def accumulator_range(weights: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Exact per-output-channel range of sum_k w[o,k] * x[k] for x[k] in [lo[k], hi[k]]."""
    w = weights.astype(np.int64)
    a, b = w * lo[None, :], w * hi[None, :]
    return np.minimum(a, b).sum(1), np.maximum(a, b).sum(1)


class IntMVTU(MatrixVectorUnit):
    kind = "int_mvtu"
    weight_bits = 8

    def execute(self, node, g, inputs):
        w = node.arrays["weights"].astype(np.int64)
        return [apply_output_stage(node, inputs[0].astype(np.int64) @ w.T)]

    def estimate(self, node, g):
        cout, k = node.arrays["weights"].shape
        pe, simd = self.fold(node, "pe"), self.fold(node, "simd")
        abits = bitwidth(g, node.inputs[0])
        acc = 32 if "thresholds" not in node.arrays and "rq_mul" not in node.arrays else 24
        lanes = Resources(lut=pe * (simd * 2 + acc), ff=pe * (acc + simd * 16), dsp=pe * simd)
        weights = rom_cost(*weight_rom(node, g, self.weight_bits))
        # control and the input register: about 60 LUTs beside the lanes, weights and
        # buffers of hg-hpm-z2's heatmap layer (392 in all)
        return (Resources(lut=60 + simd * abits, ff=150) + lanes + weights
                + self.input_buffers(node, g, abits) + output_stage_cost(node, g, acc, pe, cout))
