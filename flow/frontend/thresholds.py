"""Exact thresholds of a per-channel integer -> integer function, by enumeration.

Every activation of a binary HG is "integer in, integer out, per channel": a popcount (or an
int8 residual value) goes through float scales, BatchNorm, PReLU and a quantizer and comes out
as a bipolar bit or an int8 level. Its inputs take only a few thousand values, so instead of
folding each float op into thresholds algebraically (where ties and negative BN gammas need
special cases), we evaluate the float subgraph on *every* possible input and read the
thresholds off the table. The result agrees with the float graph on every input by
construction.

Semantics (FINN's MultiThreshold): out[c] = base + sum_i (x >= T[c, i]) for an increasing
channel. A decreasing channel (e.g. BN with a negative gamma) is returned as the increasing
function of -x with `flip[c]`: then out[c] = base + sum_i (-x >= T[c, i]). For a bipolar
output the consumer can instead negate its weights of that channel.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np


class NotMonotoneError(ValueError):
    pass


@dataclass(frozen=True)
class Thresholds:
    thresholds: np.ndarray  # int64 [C, levels-1], each row nondecreasing
    base: int               # output for inputs below every threshold
    flip: np.ndarray        # bool [C]: compare -x instead of x

    def apply(self, x: np.ndarray, channel_axis: int = 1) -> np.ndarray:
        """Reference application to integer x (channels on `channel_axis`)."""
        x = np.moveaxis(np.asarray(x, dtype=np.int64), channel_axis, -1)
        x = np.where(self.flip, -x, x)
        out = self.base + (x[..., None] >= self.thresholds).sum(-1)
        return np.moveaxis(out, -1, channel_axis)


def extract_thresholds(domain: np.ndarray, table: np.ndarray, out_min: int, out_max: int,
                       name: str = "layer") -> Thresholds:
    """Thresholds reproducing `table` on `domain`.

    domain  int [D], strictly increasing: every value the input can take (e.g. the
            popcount results -K, -K+2, ..., K of a K-input XNOR dot product)
    table   int [C, D]: the output of channel c for input domain[d]
    out_min, out_max: the output range; there are out_max - out_min thresholds per channel.
    Thresholds that no input reaches are set past the end of the domain.
    """
    domain = np.asarray(domain, dtype=np.int64)
    table = np.asarray(table, dtype=np.int64)
    if domain.ndim != 1 or np.any(np.diff(domain) <= 0):
        raise ValueError(f"{name}: the input domain must be strictly increasing")
    if table.ndim != 2 or table.shape[1] != domain.size:
        raise ValueError(f"{name}: table has shape {table.shape}, expected [C, {domain.size}]")
    if table.min() < out_min or table.max() > out_max:
        raise ValueError(f"{name}: outputs {table.min()}..{table.max()} outside "
                         f"{out_min}..{out_max}")
    steps = np.diff(table, axis=1)
    inc = (steps >= 0).all(axis=1)
    dec = (steps <= 0).all(axis=1)
    flip = ~inc & dec
    bad = np.flatnonzero(~inc & ~dec)
    if bad.size:
        raise NotMonotoneError(f"{name}: channel(s) {bad[:8].tolist()} are not monotone in "
                               "their input, so no thresholds reproduce them (a negative "
                               "PReLU slope?)")
    # Decreasing channels: express as increasing functions of -x over the mirrored domain.
    neg_domain = -domain[::-1]
    levels = np.arange(out_min + 1, out_max + 1)            # threshold i reaches level i
    T = np.empty((table.shape[0], levels.size), dtype=np.int64)
    past_end = max(domain[-1], neg_domain[-1]) + 1
    for c in range(table.shape[0]):
        dom, row = (neg_domain, table[c, ::-1]) if flip[c] else (domain, table[c])
        # first input index whose output reaches each level; len(row) if none does
        idx = np.searchsorted(row, levels, side="left")
        T[c] = np.where(idx < row.size, dom[np.minimum(idx, row.size - 1)], past_end)
    return Thresholds(T, out_min, flip)


def bisect_thresholds(f, lo: int, hi: int, channels: int, out_min: int, out_max: int
                      ) -> Thresholds:
    """Thresholds of a nondecreasing integer function too wide to enumerate (the stem's
    accumulators span millions of values): for each output level, binary-search the first
    input in [lo, hi] that reaches it.

    f(x) takes int64 x of shape [channels, n] and returns the integer outputs, same shape.
    The function must be nondecreasing in x for every channel (affine with a positive
    scale, then round and clip, is); use extract_thresholds() where that is not known.
    """
    levels = np.arange(out_min + 1, out_max + 1)
    shape = (channels, levels.size)
    left = np.full(shape, lo, dtype=np.int64)        # invariant: answer in [left, right]
    right = np.full(shape, hi + 1, dtype=np.int64)   # hi + 1 = no input reaches the level
    while (left < right).any():
        mid = (left + right) // 2
        reached = np.asarray(f(np.minimum(mid, hi)), dtype=np.int64) >= levels
        reached &= mid <= hi
        right = np.where(reached, mid, right)
        left = np.where(reached, left, mid + 1)
    return Thresholds(left, out_min, np.zeros(channels, dtype=bool))
