"""XNOR-popcount matrix-vector-threshold unit: the binary convolution.

Input: bit vectors of length K (bit 1 = +1), one per output pixel (from the sliding window).
Weights: bits [C_out, K]. The +-1 dot product is 2P - K with P = popcount(xnor(x, w)); the
unit emits P through its output stage (BN, alpha, PReLU and the requantizer folded into
thresholds or the two-piece requantizer, flow/layers/requant.py) or, without one, P itself.
Folding: PE output channels and SIMD input bits per cycle.
The golden model packs the bits into uint64 words and counts with numpy's bitwise_count.
"""
from __future__ import annotations

import math

import numpy as np

from .base import MatrixVectorUnit
from .base import Resources
from .base import adder_tree_cost
from .base import rom_cost
from .base import weight_rom
from .requant import apply_output_stage
from .requant import output_stage_cost
from .thresholding import output_stage_x_bits


def pack_bits(bits: np.ndarray) -> np.ndarray:
    """{0,1} [..., K] -> uint64 [..., ceil(K/64)], zero-padded (zeros xor zeros count 0)."""
    bits = np.asarray(bits, dtype=np.uint8)
    k = bits.shape[-1]
    words = math.ceil(k / 64)
    padded = np.zeros(bits.shape[:-1] + (words * 64,), dtype=np.uint8)
    padded[..., :k] = bits
    return np.packbits(padded, axis=-1, bitorder="little").view(np.uint64)


def xnor_popcount(x_bits: np.ndarray, w_bits: np.ndarray) -> np.ndarray:
    """P[..., o] = #{k : x[..., k] == w[o, k]} for x [..., K] and w [O, K] in {0, 1}."""
    k = x_bits.shape[-1]
    xp, wp = pack_bits(x_bits), pack_bits(w_bits)
    flat = xp.reshape(-1, 1, xp.shape[-1])
    mism = np.empty((flat.shape[0], wp.shape[0]), dtype=np.int64)
    step = max(1, (1 << 22) // max(1, wp.size))   # bound the temporary to ~32 MB
    for i in range(0, flat.shape[0], step):
        mism[i:i + step] = np.bitwise_count(flat[i:i + step] ^ wp[None]).sum(-1)
    return (k - mism).reshape(x_bits.shape[:-1] + (wp.shape[0],))


def accumulator_bits(k: int) -> int:
    return max(1, math.ceil(math.log2(k + 1)))


# Bits of a lane's XNORs counted per registered partial popcount (hw/xnor_popcount_mvtu.sv,
# POPCOUNT_GROUP): the group counts are summed by an adder tree (hw/adder_tree.sv). Measured with
# Yosys and flow/measure/timing.py on hg-hpm-z2's PE 2 x SIMD 48 unit: one count over 48 bits
# 10.6 ns (12 levels; 93 MHz), groups of 24 8.8 ns, of 12 7.2 ns (6 levels) with 226 lane
# LUTs against 236 ungrouped.
POPCOUNT_GROUP = 12


def popcount_ffs(simd: int) -> int:
    """Flip-flops of one lane's registered partial popcounts (groups of POPCOUNT_GROUP)."""
    return math.ceil(simd / POPCOUNT_GROUP) * accumulator_bits(min(simd, POPCOUNT_GROUP))


def popcount_luts(simd: int) -> int:
    """LUTs of one lane's XNORs and popcount tree over `simd` bits (the XNOR absorbed). Yosys
    gets worse than one LUT per bit as the tree grows: about 1 per bit at SIMD 12-18, 1.5 at
    27, 2.6 at 54 on hg-hpm-z2; beyond the measured range the growth is taken as
    logarithmic, as a compressor tree's is."""
    per_bit = min(0.4 + 0.04 * simd, 1.2 + 0.3 * math.log2(max(simd, 1)))
    return math.ceil(simd * per_bit)


class XnorMVTU(MatrixVectorUnit):
    kind = "xnor_mvtu"

    def execute(self, node, g, inputs):
        return [apply_output_stage(node, xnor_popcount(inputs[0], node.arrays["weights"]))]

    def sum_operands(self, node, g):
        return math.ceil(self.fold(node, "simd") / POPCOUNT_GROUP)

    def estimate(self, node, g):
        cout, k = node.arrays["weights"].shape
        pe, simd = self.fold(node, "pe"), self.fold(node, "simd")
        acc = accumulator_bits(k)
        x_bits = output_stage_x_bits(node, g)
        # The adder tree's LUTs are in popcount_luts, which was fitted to Yosys' whole lanes
        # (group counts and their sum): counted again, hg-hpm-paper's 54 units for the
        # ZCU104 came out 9 % over Yosys' 113,737 LUTs, without 4.5 %. Its registers are not.
        tree = adder_tree_cost(self.sum_operands(node, g),
                               accumulator_bits(min(simd, POPCOUNT_GROUP)), x_bits,
                               self.sum_stages(node, g))
        lanes = Resources(lut=pe * (popcount_luts(simd) + 2 * acc),
                          ff=pe * (acc + popcount_ffs(simd) + tree.ff))
        weights = rom_cost(*weight_rom(node, g, self.weight_bits))
        # control: Yosys found 92 LUTs / 99 FFs in all for hg-hpm-tiny's smallest unit. With
        # 60 LUTs here (and the read-ahead FIFO at its measured cost) hg-hpm-z2's 54 units came
        # out at 20,497 against Yosys' 18,752, each 23-38 over where the ROM is block RAM:
        # 40 gives 19,417 (+3.5 %)
        return (Resources(lut=40, ff=60) + lanes + weights + self.input_buffers(node, g, 1)
                + output_stage_cost(node, g, x_bits, pe, cout)
                + self.output_queue(node, g))
