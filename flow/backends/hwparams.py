"""Fixed-width parameters of a layer's integer semantics, shared by the RTL and HLS backends.

The layer descriptions (flow/layers/) define what a unit computes on unbounded integers; a
backend needs the same function at fixed widths: the accumulator's range, and the output
stage's tables clamped to what the accumulator can reach (which counts the same) with the
fewest two's complement bits that hold them.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from ..hwgraph import HwNode
from ..layers.base import signed_bits


@dataclass
class OutputStage:
    """`kind` "none" (the accumulator itself), "thresholds" or "requant"; the arrays are per
    output channel and clamped to the accumulator's reach; *_bits are their widths."""
    kind: str
    levels: int = 1
    thresholds: np.ndarray | None = None     # [C, levels]
    flip: np.ndarray | None = None           # [C] bool
    t_bits: int = 2
    base: int = 0
    mul: np.ndarray | None = None            # [C, 2]
    add: np.ndarray | None = None            # [C, 2]
    split: np.ndarray | None = None          # [C]
    mul_bits: int = 2
    add_bits: int = 2
    split_bits: int = 2
    shift: int = 0
    out_min: int = 0
    out_max: int = 0


def output_stage(node: HwNode, x_lo: int, x_hi: int) -> OutputStage:
    """The output stage of an MVTU / threshold node whose accumulator spans [x_lo, x_hi]."""
    if "rq_mul" in node.arrays:
        mul, add = node.arrays["rq_mul"], node.arrays["rq_add"]
        # a split outside the accumulator's range means one segment everywhere: clamp it
        split = np.clip(node.arrays["rq_split"], x_lo, x_hi + 1)
        return OutputStage(
            "requant", mul=mul, add=add, split=split,
            mul_bits=signed_bits(int(mul.min()), int(mul.max())),
            add_bits=signed_bits(int(add.min()), int(add.max())),
            split_bits=signed_bits(int(split.min()), int(split.max())),
            shift=int(node.attrs["rq_shift"]), out_min=int(node.attrs["out_min"]),
            out_max=int(node.attrs["out_max"]))
    if "thresholds" in node.arrays:
        T, flip = node.arrays["thresholds"], node.arrays["flip"].astype(bool)
        falling = np.flatnonzero((np.diff(T, axis=1) < 0).any(axis=1)) if T.shape[1] > 1 else []
        if len(falling):
            # the golden model counts them as sorted and hw/threshold_unit.sv decodes their
            # compares as a thermometer code
            raise ValueError(f"node '{node.name}': the thresholds of channel(s) "
                             f"{falling[:8].tolist()} decrease; each channel's thresholds "
                             "must be nondecreasing")
        # s*x spans [-x_hi, -x_lo] on flipped channels: thresholds beyond the reachable
        # values are clamped to one past the end, which counts the same
        lo, hi = min(x_lo, -x_hi), max(x_hi, -x_lo)
        return OutputStage("thresholds", levels=T.shape[1], thresholds=np.clip(T, lo, hi + 1),
                           flip=flip, t_bits=signed_bits(lo, hi + 1),
                           base=int(node.attrs["base"]))
    return OutputStage("none")
