"""Multi-threshold unit: integer in, integer out, per channel.

out[c] = base + #{ i : s_c * x[c] >= T[c, i] }, s_c = -1 where flip[c] else +1; T[c] is
nondecreasing. BatchNorm + sign on the residual stream is the one-threshold case; any
monotone per-channel float function of an integer (scales, BN, PReLU, a requantizer) is one of
these. The MVTUs end in the same unit, so this is the one place the semantics are written.
"""
from __future__ import annotations

import math

import numpy as np

from .base import LUTRAM_MAX_BITS
from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import comparators
from .base import rom_cost
from .base import signed_bits


def apply_thresholds(x: np.ndarray, T: np.ndarray, flip: np.ndarray, base: int) -> np.ndarray:
    """The threshold semantics on int64 x [..., C] (channels last)."""
    x = np.where(flip.astype(bool), -x, x)
    out = np.empty(x.shape, dtype=np.int64)
    for c in range(x.shape[-1]):
        # count of thresholds <= x, T[c] sorted
        out[..., c] = np.searchsorted(T[c], x[..., c], side="right")
    return out + base


def accumulator_bounds(node, g) -> tuple[int, int]:
    """[lo, hi] of what enters the output stage: the popcount (0..K) of an XNOR unit, the
    exact dot-product range of an 8-bit unit, the input codes of a threshold layer."""
    if node.kind == "xnor_mvtu":
        return 0, int(node.arrays["weights"].shape[1])
    if node.kind == "int_mvtu":
        from .int_mvtu import dot_product_bounds

        return dot_product_bounds(node, g)
    lo, hi = g.tensors[node.inputs[0]].code_range()
    return int(np.min(lo)), int(np.max(hi))


def output_stage_x_bits(node, g) -> int:
    """Bits of what enters the output stage, as a signed number: the RTL's X_BITS of both
    MVTUs (the XNOR unit's count 0..K with a sign bit; the 8-bit unit's exact accumulator,
    its ACC_BITS), which the generator passes and the estimates size the stage by."""
    return signed_bits(*accumulator_bounds(node, g))


def live_levels(node, g) -> int:
    """Levels per channel (the mean, rounded up) whose threshold lies inside what the
    channel's s*x can reach: the others compare against a constant once the generators clamp
    them to the reach (flow/backends/hwparams.py), and synthesis removes those compares. The
    stem of hg-hpm-z2 has 111 live of its 255 levels."""
    T = node.arrays["thresholds"]
    lo, hi = accumulator_bounds(node, g)
    flip = node.arrays["flip"].astype(bool)
    reach_lo = np.where(flip, -hi, lo)[:, None]
    reach_hi = np.where(flip, -lo, hi)[:, None]
    return math.ceil(((T > reach_lo) & (T <= reach_hi)).sum(axis=1).mean())


def thresholds_cost(node, g, acc_bits: int, pe: int, channels: int) -> Resources:
    """Comparators of `pe` lanes and the threshold memories (one bank per lane)."""
    T = node.arrays.get("thresholds")
    if T is None:
        return Resources()
    levels = T.shape[1]
    # One ROM word per channel group holds every lane's `levels` thresholds (and the flip
    # bit). A ROM of a few words is constants to synthesis, folded into the compares (the
    # comparator fit includes it); else LUT-ROM or block RAM by size.
    width, depth = pe * (levels * acc_bits + 1), math.ceil(channels / pe)
    if levels > 1 and depth <= 4:
        mem = Resources()
    else:
        mem = rom_cost("distributed" if width * depth <= LUTRAM_MAX_BITS else "block",
                       width, depth)
    live = live_levels(node, g) if levels > 1 else levels
    return mem + Resources(lut=pe * comparators(acc_bits, live),
                           ff=pe * (live + 2 * acc_bits))


class Thresholding(Layer):
    kind = "threshold"

    def execute(self, node, g, inputs):
        return [apply_thresholds(inputs[0], node.arrays["thresholds"], node.arrays["flip"],
                                 int(node.attrs["base"]))]

    def pipeline_cycles(self, node, g):
        from .requant import output_stage_latency

        return output_stage_latency(node)

    def estimate(self, node, g):
        pe = self.fold(node, "pe")
        c = g.tensors[node.outputs[0]].channels
        # control and stream registers: Yosys found 14-19 LUTs and ~20 FFs per one-level unit
        # of hg-hpm-tiny in all (60 + 60 before that was measured)
        return Resources(lut=8, ff=10) + thresholds_cost(node, g, bitwidth(g, node.inputs[0]),
                                                         pe, c)
