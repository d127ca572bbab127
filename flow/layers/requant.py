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


def varying_bits(values: np.ndarray) -> int:
    """Bit positions (two's complement) that are not the same in every value: the bits a
    table of `values` needs in logic, the others being constants to synthesis."""
    v = np.asarray(values, dtype=np.int64).ravel()
    if v.size == 0:
        return 0
    diff = np.bitwise_or.reduce(v ^ v[0])
    return bin(int(diff) & ((1 << 64) - 1)).count("1")


def output_stage_cost(node, g, acc_bits: int, pe: int, channels: int):
    """Fabric for the output stage of `pe` lanes (hw/requant_unit.sv), or the threshold unit.

    Per lane: the split, a LUT ROM of the channel groups; the segment's (mul, add), a LUT ROM
    twice as deep (address {seg, nf}, 2**NF_W words per segment) whose output registers are
    the DSP's input registers; the compare x >= split; the clip of the DSP's P register to
    the output range. Only table bits that vary over the channels cost LUTs. Fitted to
    Yosys on hg-hpm-z2 (u_xnor_mvtu_0, 7, 8, 11, 37, 39, 53: NF 24, 48 and 96, PE 1 and 2)."""
    import math

    from .base import Resources
    from .base import rom_cost
    from .thresholding import thresholds_cost

    if "rq_mul" not in node.arrays:
        return thresholds_cost(node, g, acc_bits, pe, channels)
    mul, add, split = node.arrays["rq_mul"], node.arrays["rq_add"], node.arrays["rq_split"]
    mbits = int(np.abs(mul).max()).bit_length() + 1
    abits = int(np.abs(add).max()).bit_length() + 1
    # splits beyond the accumulator's reach are clamped to it (flow/backends/hwparams.py)
    split = np.clip(split, -(1 << (acc_bits - 1)), 1 << (acc_bits - 1))
    sbits = int(np.abs(split).max()).bit_length() + 1
    nf = math.ceil(channels / pe)
    nf_w = max(1, (nf - 1).bit_length())
    out_bits = (int(node.attrs["out_max"]) - int(node.attrs["out_min"])).bit_length()
    roms = (rom_cost("distributed", varying_bits(mul) + varying_bits(add), 2 << nf_w).lut
            + rom_cost("distributed", min(varying_bits(split), sbits), nf).lut)
    compare = acc_bits // 2 + 2
    # the sum's bits above the output's must all equal its sign: each output bit is a
    # function of its own bit and those. (x is at most a bit wider than acc_bits: the XNOR
    # unit's count gets a sign bit.)
    sum_bits = max(acc_bits + 1 + mbits, abits) + 1
    above = max(0, sum_bits - int(node.attrs["rq_shift"]) - out_bits)
    clip = (out_bits - 1) * math.ceil((above + 1) / 5)
    dsp_per_lane = 1 if (mbits <= 25 and acc_bits <= 18) else 2
    # x, the split and the output per lane, nf and the valid bits shared; x's copy for the
    # multiply, mul, add and the sum are DSP registers
    return Resources(lut=pe * (roms + compare + clip),
                     ff=pe * (acc_bits + sbits + out_bits) + nf_w + 4,
                     dsp=pe * dsp_per_lane)
