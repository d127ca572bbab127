"""The two-piece affine requantizer reproduces PReLU-shaped threshold functions exactly, and
is refused where it cannot."""
from __future__ import annotations

import numpy as np
import pytest

from flow.layers.requant import apply_requant
from flow.frontend.requant_fit import fit_requant


def prelu_requant_table(K, alpha, slopes, scale, rng=None):
    """codes of clip(round(prelu(alpha * (2P - K)) / scale)) in float32, P = 0..K."""
    p = np.arange(K + 1, dtype=np.float32)
    v = np.float32(alpha) * (2 * p - K)
    v = np.where(v >= 0, v, v * np.asarray(slopes, dtype=np.float32)[:, None])
    return np.clip(np.rint(v / np.float32(scale)), -128, 127).astype(np.int64)


@pytest.mark.parametrize("K,seed", [(24, 0), (72, 1), (288, 2), (864, 3), (2304, 4)])
def test_fits_prelu_requantizers_exactly(K, seed):
    rng = np.random.default_rng(seed)
    slopes = np.concatenate([[0.0, 0.25, 1.0], rng.uniform(0, 1.5, 13)])
    table = prelu_requant_table(K, rng.uniform(0.01, 0.2), slopes, rng.uniform(0.01, 0.1))
    dom = np.arange(K + 1)
    for shift in (8, 12, 16, 24):
        fit = fit_requant(dom, table, -128, 127, shift=shift)
        if fit is not None:
            break
    assert fit is not None
    got = apply_requant(np.broadcast_to(dom[:, None], (K + 1, len(slopes))), *fit, shift,
                        -128, 127)
    np.testing.assert_array_equal(got.T, table)


def test_decreasing_channels_fit_with_negative_multipliers():
    dom = np.arange(-50, 51)
    table = np.clip(-(dom // 3), -10, 10)[None]
    mul, add, split = fit_requant(dom, table, -10, 10, shift=12)
    assert (mul <= 0).all()
    np.testing.assert_array_equal(apply_requant(dom[:, None], mul, add, split, 12, -10, 10).T,
                                  table)


def test_three_pieces_are_refused():
    dom = np.arange(0, 60)
    y = np.where(dom < 20, dom, np.where(dom < 40, 20 + 3 * (dom - 20), 80 + (dom - 40) // 4))
    assert fit_requant(dom, np.clip(y, 0, 127)[None], 0, 127, shift=16) is None


def test_requant_semantics_by_hand():
    mul = np.array([[3, 5]]) << 4
    add = np.array([[-7, 1]]) << 4
    x = np.array([[-4], [0], [2], [9]])
    # below split 2: (3x - 7), at/above: (5x + 1); shift 4 undoes the << 4; clip to [-8, 40]
    np.testing.assert_array_equal(apply_requant(x, mul, add, np.array([2]), 4, -8, 40),
                                  [[-8], [-7], [11], [40]])
