"""Fit a threshold function with the two-piece affine requantizer (flow/layers/requant.py),
exactly, or say it cannot be done.

For one channel we know the output code y_j at every input code x_j of the domain. On one
piece, integers (m, o) reproduce it iff for every j

    L_j <= m * x_j + o <= U_j,   L_j = y_j * 2^S,  U_j = (y_j + 1) * 2^S - 1

(where y_j is a saturated end, that side of the band is open). The (m, o) satisfying all of
them form a convex polygon; its slope range comes from the upper hull of the points (x, L) and
the lower hull of (x, U), which have few vertices, so the fit is fast. The knee is searched
among the codes where the output passes through zero (a PReLU's knee maps to code 0).
Every result is checked on the whole domain before it is used.
"""
from __future__ import annotations

import math

import numpy as np

from ..layers.requant import apply_requant

SHIFT = 24   # fraction bits of the multipliers: enough for domains of up to ~2^12 codes


def _hull(xs: np.ndarray, ys: np.ndarray, upper: bool) -> list[tuple[int, int]]:
    """Monotone-chain upper (or lower) hull of points with increasing x."""
    pts: list[tuple[int, int]] = []
    for x, y in zip(xs.tolist(), ys.tolist()):
        while len(pts) >= 2:
            (x1, y1), (x2, y2) = pts[-2], pts[-1]
            cross = (x2 - x1) * (y - y1) - (y2 - y1) * (x - x1)
            if (cross >= 0) if upper else (cross <= 0):
                pts.pop()
            else:
                break
        pts.append((x, y))
    return pts


def _fit_piece(x: np.ndarray, y: np.ndarray, lo: int, hi: int, shift: int):
    """Integers (m, o) with clip((m*x + o) >> shift, lo, hi) == y on every point, or None."""
    if x.size == 0:
        return 0, 0
    one = 1 << shift
    if np.all(y == y[0]):
        return 0, int(y[0]) * one
    big = 1 << 62
    xs, ys = x.tolist(), y.tolist()
    # o >= max_j (L_j - m x_j), o <= min_k (U_k - m x_k); feasible m: every pair (j, k)
    # with x_k != x_j bounds m. Only hull vertices matter. Saturated ends leave a side open.
    lower = [(xv, yv * one) for xv, yv in zip(xs, ys) if yv != lo]
    upper = [(xv, (yv + 1) * one - 1) for xv, yv in zip(xs, ys) if yv != hi]
    lower_pts = _hull(np.array([p[0] for p in lower]), np.array([p[1] for p in lower]),
                      upper=True) if lower else []
    upper_pts = _hull(np.array([p[0] for p in upper]), np.array([p[1] for p in upper]),
                      upper=False) if upper else []
    m_lo, m_hi = -math.inf, math.inf
    for xj, lj in lower_pts:
        for xk, uk in upper_pts:
            if xk > xj:
                m_hi = min(m_hi, (uk - lj) / (xk - xj))
            elif xk < xj:
                m_lo = max(m_lo, (uk - lj) / (xk - xj))
            elif uk < lj:
                return None
    if m_lo > m_hi:
        return None
    m_lo = -big if m_lo == -math.inf else m_lo
    m_hi = big if m_hi == math.inf else m_hi
    mid = (m_lo + m_hi) / 2
    for m in sorted({math.ceil(m_lo), math.floor(m_hi), round(mid)}, key=lambda v: abs(v - mid)):
        if not m_lo - 1e-9 <= m <= m_hi + 1e-9:
            continue
        o_lo = max((int(lj) - m * int(xj) for xj, lj in lower_pts), default=-big)
        o_hi = min((int(uk) - m * int(xk) for xk, uk in upper_pts), default=big)
        if o_lo <= o_hi:
            o = o_lo if o_lo > -big else o_hi
            got = np.clip((m * x.astype(np.int64) + o) >> shift, lo, hi)
            if np.array_equal(got, y):
                return int(m), int(o)
    return None


def _knee_candidates(y: np.ndarray, limit: int) -> list[int]:
    """Split indices to try: a PReLU's knee maps to code 0, so it lies at an end of the run of
    zeros (the piece with the flat slope keeps the zeros): try both ends, working inwards,
    then the ends of the domain."""
    zeros = np.flatnonzero(y == 0)
    if zeros.size:
        z0, z1 = int(zeros[0]), int(zeros[-1]) + 1
    else:   # no zero: the sign change
        z0 = z1 = int(np.flatnonzero(np.sign(y) != np.sign(y[0]))[0]) if \
            (np.sign(y) != np.sign(y[0])).any() else 0
    out: list[int] = []
    for i in range(z1 - z0 + 1):
        for k in (z1 - i, z0 + i):
            if k not in out:
                out.append(k)
        if len(out) >= limit:
            break
    return out + [k for k in (0, y.size) if k not in out]


def fit_requant(domain: np.ndarray, table: np.ndarray, out_min: int, out_max: int,
                shift: int = SHIFT, max_knees: int = 64):
    """Parameters (mul [C,2], add [C,2], split [C]) reproducing `table` [C, D] on `domain`,
    or None if some channel has no such form."""
    domain = np.asarray(domain, dtype=np.int64)
    C = table.shape[0]
    mul = np.zeros((C, 2), dtype=np.int64)
    add = np.zeros((C, 2), dtype=np.int64)
    split = np.zeros(C, dtype=np.int64)
    if int(np.abs(domain).max()) >= 1 << 20:
        return None    # products would not fit comfortably in 64 bits
    for c in range(C):
        y = table[c]
        for k in _knee_candidates(y, max_knees):
            a = _fit_piece(domain[:k], y[:k], out_min, out_max, shift)
            if a is None:
                continue
            b = _fit_piece(domain[k:], y[k:], out_min, out_max, shift)
            if b is None:
                continue
            mul[c] = (a[0], b[0])
            add[c] = (a[1], b[1])
            split[c] = domain[k] if k < domain.size else domain[-1] + 1
            break
        else:
            return None
    got = apply_requant(np.broadcast_to(domain[:, None], (domain.size, C)), mul, add, split,
                        shift, out_min, out_max).T
    if not np.array_equal(got, table):
        return None
    return mul, add, split
