"""Exact threshold extraction by enumeration (flow/frontend/thresholds.py)."""
from __future__ import annotations

import numpy as np
import pytest
import torch

from brevitas_models import build_model, get_preset
from flow.frontend.thresholds import NotMonotoneError, extract_thresholds


def test_random_monotone_tables_are_reproduced():
    rng = np.random.default_rng(0)
    domain = np.arange(-36, 37, 2)                       # popcounts of a 36-input dot product
    inc = np.cumsum(rng.integers(0, 3, (6, domain.size)), axis=1) - 20
    dec = -np.cumsum(rng.integers(0, 3, (3, domain.size)), axis=1) + 20
    table = np.clip(np.vstack([inc, dec]), -128, 127)
    th = extract_thresholds(domain, table, -128, 127)
    assert th.thresholds.shape == (9, 255)
    assert th.flip.tolist() == [False] * 6 + [True] * 3
    out = th.apply(np.broadcast_to(domain, (2, 9, domain.size)), channel_axis=1)
    np.testing.assert_array_equal(out[0], table)


def test_constant_and_saturated_channels():
    domain = np.arange(-4, 5)
    table = np.array([[1] * 9, [-1] * 9, [-1, -1, -1, -1, 1, 1, 1, 1, 1]])
    th = extract_thresholds(domain, table, -1, 1)
    np.testing.assert_array_equal(th.apply(np.tile(domain, (3, 1)), channel_axis=0), table)


def test_non_monotone_channel_is_named():
    with pytest.raises(NotMonotoneError, match=r"conv7: channel\(s\) \[1\]"):
        extract_thresholds(np.arange(3), np.array([[0, 1, 2], [0, 2, 1]]), 0, 2, name="conv7")


def test_binary_unit_with_prelu_and_requant_is_exact():
    """Popcount -> alpha -> PReLU -> shared int8 requant of a real trained-looking unit."""
    cfg = get_preset("hg-hpm-tiny")
    torch.manual_seed(0)
    m = build_model(cfg)
    unit = m.pre2.conv1
    with torch.no_grad():
        unit.act.weight.uniform_(0.05, 0.9)             # PReLU slopes must stay positive
        m.train()
        m(torch.rand(4, 3, cfg.input_size, cfg.input_size))   # initialise the residual scale
        m.eval()
        k = unit.conv.in_channels * 9
        domain = np.arange(-k, k + 1, 2)
        alpha = unit.conv.quant_weight().scale.detach()
        acc = torch.tensor(domain, dtype=torch.float32).reshape(1, 1, -1, 1)
        acc = acc.expand(1, unit.conv.out_channels, -1, 1)
        y = m.res_quant(unit.act(acc * alpha))
        table = torch.round(y / m.res_quant.act_quant.scale()).squeeze(-1)[0].numpy()
    th = extract_thresholds(domain, table.astype(np.int64), -128, 127, name="pre2.conv1")
    assert not th.flip.any()
    out = th.apply(np.broadcast_to(domain, table.shape), channel_axis=0)
    np.testing.assert_array_equal(out, table)


def test_bn_sign_with_negative_gamma_flips():
    """BN -> sign on the int8 residual stream, one channel with a negative gamma."""
    bn = torch.nn.BatchNorm2d(3).eval()
    with torch.no_grad():
        bn.weight.copy_(torch.tensor([1.0, -0.5, 2.0]))
        bn.bias.copy_(torch.tensor([0.1, 0.2, -0.3]))
        bn.running_mean.copy_(torch.tensor([0.3, -1.2, 0.0]))
    scale = 0.05
    domain = np.arange(-128, 128)
    x = torch.tensor(domain * scale, dtype=torch.float32).reshape(1, 1, -1, 1).expand(1, 3, -1, 1)
    with torch.no_grad():
        table = torch.where(bn(x) >= 0, 1, 0).squeeze(-1)[0].numpy()   # sign, bit 1 = +1
    th = extract_thresholds(domain, table, 0, 1)
    assert th.flip.tolist() == [False, True, False]
    np.testing.assert_array_equal(th.apply(np.broadcast_to(domain, (3, 256)), 0), table)


def test_bisection_matches_enumeration_on_a_requantizer():
    """round(acc * scale) clipped to int8, per channel, as the stem's requantizer."""
    from flow.frontend.thresholds import bisect_thresholds

    scales = np.array([0.013, 0.1, 1 / 64, 2.5])
    lo, hi = -3000, 3000

    def requant(x):
        return np.clip(np.round(x * scales[:, None]), -128, 127).astype(np.int64)

    domain = np.arange(lo, hi + 1)
    table = requant(np.broadcast_to(domain, (4, domain.size)))
    by_bisection = bisect_thresholds(requant, lo, hi, 4, -128, 127)
    by_enumeration = extract_thresholds(domain, table, -128, 127)
    np.testing.assert_array_equal(by_bisection.apply(table * 0 + domain, 0), table)
    reached = by_enumeration.thresholds <= hi     # unreached levels may differ past the end
    np.testing.assert_array_equal(by_bisection.thresholds[reached],
                                  by_enumeration.thresholds[reached])


def test_backends_refuse_decreasing_thresholds():
    """hw/threshold_unit.sv decodes the compares as a thermometer code (and the golden model
    counts with searchsorted): a channel whose thresholds decrease is refused, named."""
    from flow.backends.hwparams import output_stage
    from flow.hwgraph import HwNode

    T = np.array([[-3, 0, 5], [1, 1, 2], [4, 2, 7]])
    node = HwNode("thr", "threshold", ["x"], ["y"], {"base": 0},
                  {"thresholds": T, "flip": np.zeros(3, np.int64)})
    with pytest.raises(ValueError, match=r"node 'thr'.*channel\(s\) \[2\] decrease"):
        output_stage(node, -10, 10)
    node.arrays["thresholds"] = np.sort(T, axis=1)
    assert output_stage(node, -10, 10).levels == 3
