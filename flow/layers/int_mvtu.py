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
from .base import adder_tree_cost
from .base import bitwidth
from .base import rom_cost
from .base import weight_rom
from .requant import apply_output_stage
from .requant import output_stage_cost
from .thresholding import output_stage_x_bits


def accumulator_range(weights: np.ndarray, lo: np.ndarray, hi: np.ndarray):
    """Exact per-output-channel range of sum_k w[o,k] * x[k] for x[k] in [lo[k], hi[k]]."""
    w = weights.astype(np.int64)
    a, b = w * lo[None, :], w * hi[None, :]
    return np.minimum(a, b).sum(1), np.maximum(a, b).sum(1)


def dot_product_bounds(node, g) -> tuple[int, int]:
    """[lo, hi] of an 8-bit unit's accumulator over every input code and output channel: its
    width (signed_bits) is the RTL's ACC_BITS and the HLS accumulator type."""
    lo, hi = g.tensors[node.inputs[0]].code_range()
    w = node.arrays["weights"]
    k = w.shape[1]
    alo, ahi = accumulator_range(w, np.broadcast_to(lo, (k,)), np.broadcast_to(hi, (k,)))
    return int(alo.min()), int(ahi.max())


class IntMVTU(MatrixVectorUnit):
    kind = "int_mvtu"
    weight_bits = 8

    def execute(self, node, g, inputs):
        w = node.arrays["weights"].astype(np.int64)
        return [apply_output_stage(node, inputs[0].astype(np.int64) @ w.T)]

    def sum_operands(self, node, g):
        return self.fold(node, "simd")

    def product_bits(self, node, g) -> int:
        """Width of one exact product (the RTL's PRODUCT_BITS): the input as a signed number
        (one bit more, so unsigned inputs fit) times a signed int8 weight."""
        return bitwidth(g, node.inputs[0]) + 1 + self.weight_bits

    def estimate(self, node, g):
        cout, k = node.arrays["weights"].shape
        pe, simd = self.fold(node, "pe"), self.fold(node, "simd")
        abits = bitwidth(g, node.inputs[0])
        acc = output_stage_x_bits(node, g)     # the RTL's ACC_BITS
        # one DSP per product, the products summed by an adder tree
        tree = adder_tree_cost(simd, self.product_bits(node, g), acc, self.sum_stages(node, g))
        lanes = Resources(lut=pe * (acc + tree.lut), ff=pe * (acc + simd * 16 + tree.ff),
                          dsp=pe * simd)
        weights = rom_cost(*weight_rom(node, g, self.weight_bits))
        # control and the input register: about 40 LUTs beside the lanes, weights and
        # buffers. Yosys (`python -m flow.measure.synth` on hg-hpm-z2's RTL for pynq-z2 at
        # 6c316ae, folded at 840,000 cycles per frame) gave its heatmap layer (PE 1, SIMD 2,
        # 20-bit accumulator) 370 LUTs and its stem (PE 6, SIMD 3, 255 thresholds) 1,939;
        # this says 408 and 1,956 (the old 60 LUTs and fixed 24/32-bit accumulators: 440
        # and 2,984)
        return (Resources(lut=40 + simd * abits, ff=100) + lanes + weights
                + self.input_buffers(node, g, abits) + output_stage_cost(node, g, acc, pe, cout)
                + self.output_queue(node, g))
