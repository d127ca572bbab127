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


# Channel groups (CHANNELS / PE) up to which hw/requant_unit.sv makes the segment an address
# bit of its parameter table (SEG_ADDRESS = 1: word {seg, nf}, 2 * 2**NF_W words); beyond,
# both segments' coefficients share a word of NF words and a LUT per coefficient bit selects
# the segment's after the read (SEG_ADDRESS = 0). The address bit saves that select while
# the doubled table fits a slice's wide multiplexers (256 words). Yosys per lane, both
# families, PE 1-4, 16-128 groups: 2-72 LUTs fewer with the address bit, except at 96
# groups on hg-hpm-z2's tables (up to 7 more); at 256 groups 3-36 more on those tables
# (flow/README.md, "Its parameter table").
SEG_ADDRESS_MAX_NF = 128


def nf_address_bits(nf: int) -> int:
    """hw/requant_unit.sv's NF_W: the bits of its channel-group address for `nf` groups."""
    return max(1, (nf - 1).bit_length())


def seg_address(nf: int) -> bool:
    """hw/requant_unit.sv's SEG_ADDRESS for `nf` channel groups: the generator sets it and
    output_stage_cost counts the layout it picks."""
    return nf <= SEG_ADDRESS_MAX_NF


def varying_bits(values: np.ndarray, bits: int) -> np.ndarray:
    """Which of the `bits` low bit positions (two's complement) are not the same in every
    value, as bools [bits]: the bits a table of `values` needs in logic, the others being
    constants to synthesis."""
    v = np.asarray(values, dtype=np.int64).ravel()
    diff = int(np.bitwise_or.reduce(v ^ v[0])) if v.size else 0
    return np.array([(diff >> b) & 1 for b in range(bits)], dtype=bool)


def coefficient_table_luts(mul: np.ndarray, add: np.ndarray, mul_bits: int, add_bits: int,
                           nf: int, seg_in_address: bool) -> int:
    """LUTs of one lane's (mul, add) table in hw/requant_unit.sv, bit by bit of the field,
    by whether the bit varies over the channels within segment 0, within segment 1, both
    or neither (a bit constant within each segment is the segment itself, no table).
    SEG_ADDRESS: a bit varying in one segment is a table of 2**NF_W words and a select
    with the other's constant, which shares the table's LUT6 up to 32 words; varying in
    both, a table of 2 * 2**NF_W words (the words past NF of each half are zeros). Both
    segments in one word: a table of NF words (the rest of 2**NF_W left undefined, which
    synthesis uses) per segment that varies, and a select per bit after the table's module
    boundary.
    Fitted to Yosys, xc7 and xcup, 16 to 256 channel groups (flow/README.md)."""
    from .base import rom_cost

    nf_w = nf_address_bits(nf)

    def table(depth: int) -> int:
        return rom_cost("distributed", 1, depth).lut

    varies = [np.concatenate([varying_bits(mul[:, s], mul_bits),
                              varying_bits(add[:, s], add_bits)]) for s in (0, 1)]
    one = int((varies[0] ^ varies[1]).sum())
    both = int((varies[0] & varies[1]).sum())
    if seg_in_address:
        return (one * (table(1 << nf_w) + (nf_w >= 6)) + both * table(2 << nf_w))
    return (one + 2 * both) * table(nf) + (mul_bits + add_bits)


def output_stage_cost(node, g, x_bits: int, pe: int, channels: int):
    """Fabric for the output stage of `pe` lanes (hw/requant_unit.sv), or the threshold unit;
    `x_bits` is the stage's input width (thresholding.output_stage_x_bits, the RTL's X_BITS).

    Per lane: the split, a LUT ROM of the channel groups; the segment's (mul, add), a LUT ROM
    in the layout seg_address picks (coefficient_table_luts) whose output registers are the
    DSP's input registers; the compare x >= split; the clip of the DSP's P register to the
    output range. Only table bits that vary over the channels cost LUTs. Against Yosys
    (xc7): hg-hpm-z2's 54 requantizers -3.6 % in total (3,122 against 3,238 LUTs, each
    within -13..+14 %); on the tables of flow/README.md -10..+24 % per lane. On xcup Yosys
    0.23 leaves the DSP's add and registers to the fabric: 24 LUTs and 57 FFs a lane more
    than counted here."""
    import math

    from .base import Resources
    from .base import rom_cost
    from .base import signed_bits
    from .thresholding import thresholds_cost

    if "rq_mul" not in node.arrays:
        return thresholds_cost(node, g, x_bits, pe, channels)
    mul, add, split = node.arrays["rq_mul"], node.arrays["rq_add"], node.arrays["rq_split"]
    mbits = signed_bits(int(mul.min()), int(mul.max()))
    abits = signed_bits(int(add.min()), int(add.max()))
    # splits beyond the accumulator's reach are clamped to it (flow/backends/hwparams.py)
    split = np.clip(split, -(1 << (x_bits - 1)), 1 << (x_bits - 1))
    sbits = signed_bits(int(split.min()), int(split.max()))
    nf = math.ceil(channels / pe)
    nf_w = nf_address_bits(nf)
    out_bits = (int(node.attrs["out_max"]) - int(node.attrs["out_min"])).bit_length()
    roms = (coefficient_table_luts(mul, add, mbits, abits, nf, seg_address(nf))
            + rom_cost("distributed", int(varying_bits(split, sbits).sum()), nf).lut)
    compare = x_bits // 2 + 2
    # the sum's bits (the RTL's SW) above the output's must all equal its sign: each output
    # bit is a function of its own bit and those
    sum_bits = max(x_bits + mbits, abits) + 1
    above = max(0, sum_bits - int(node.attrs["rq_shift"]) - out_bits)
    clip = (out_bits - 1) * math.ceil((above + 1) / 5)
    dsp_per_lane = 1 if (mbits <= 25 and x_bits <= 18) else 2
    # x, the split and the output per lane, nf and the valid bits shared; x's copy for the
    # multiply, mul, add and the sum are DSP registers
    return Resources(lut=pe * (roms + compare + clip),
                     ff=pe * (x_bits + sbits + out_bits) + nf_w + 4,
                     dsp=pe * dsp_per_lane)
