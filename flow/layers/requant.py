"""Two-piece affine requantizer: the compact form of a PReLU-shaped threshold function.

    seg     = 1 if x >= split[c] else 0
    out[c]  = clip( (mul[c, seg] * x + add[c, seg]) >> shift, out_min, out_max )

(>> is an arithmetic shift, i.e. floor division by 2**shift.) A binary conv's output chain
alpha * (2P - K) -> PReLU -> 8-bit requantizer is affine on each side of the PReLU's knee, so
this needs 2 multipliers, 2 offsets and a split per channel where thresholds need 255 values.
The flow only uses it where it reproduces the thresholds on every input code
(flow/frontend/requant_fit.py checks that exhaustively), so the two forms are the same function.
"""
from __future__ import annotations

import numpy as np


def apply_requant(x: np.ndarray, mul: np.ndarray, add: np.ndarray, split: np.ndarray,
                  shift: int, out_min: int, out_max: int) -> np.ndarray:
    """The requantizer on int64 x [..., C] (channels last)."""
    x = np.asarray(x, dtype=np.int64)
    seg = (x >= split).astype(np.int64)
    c = np.arange(x.shape[-1])
    y = (mul[c, seg] * x + add[c, seg]) >> int(shift)
    return np.clip(y, out_min, out_max)


def requant_params(node) -> tuple:
    return (node.arrays["rq_mul"], node.arrays["rq_add"], node.arrays["rq_split"],
            int(node.attrs["rq_shift"]), int(node.attrs["out_min"]), int(node.attrs["out_max"]))


def apply_output_stage(node, acc: np.ndarray) -> np.ndarray:
    """What an MVTU does with its accumulators: requantizer, thresholds, or nothing."""
    from .thresholding import apply_thresholds

    if "rq_mul" in node.arrays:
        return apply_requant(acc, *requant_params(node))
    if "thresholds" in node.arrays:
        return apply_thresholds(acc, node.arrays["thresholds"], node.arrays["flip"],
                                int(node.attrs["base"]))
    return acc


def output_stage_latency(node) -> int:
    """Pipeline cycles of the output stage of an MVTU or threshold node: 4 for the
    requantizer (hw/requant_unit.sv), 3 for thresholds (hw/threshold_unit.sv), none where
    the accumulator is the output."""
    if "rq_mul" in node.arrays:
        return 4
    return 3 if "thresholds" in node.arrays else 0


def output_stage_cost(node, g, acc_bits: int, pe: int, channels: int):
    """Fabric for the output stage of `pe` lanes: one DSP multiply-add per lane and the
    per-channel parameters, or the threshold unit."""
    import math

    from .base import Resources
    from .base import memory
    from .thresholding import thresholds_cost

    if "rq_mul" not in node.arrays:
        return thresholds_cost(node, g, acc_bits, pe, channels)
    mul, add = node.arrays["rq_mul"], node.arrays["rq_add"]
    mbits = int(np.abs(mul).max()).bit_length() + 1
    abits = int(np.abs(add).max()).bit_length() + 1
    width = 2 * (mbits + abits) + acc_bits
    dsp_per_lane = 1 if (mbits <= 25 and acc_bits <= 18) else 2
    return (memory(width, math.ceil(channels / pe), pe)
            + Resources(lut=pe * (abits + 24), ff=pe * (mbits + abits + 16),
                        dsp=pe * dsp_per_lane))
