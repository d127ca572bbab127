"""The watchdog and the FIFO-depth analysis on real RTL: a skip link whose FIFO is too shallow
deadlocks, and the bench names the join that stalls; the depth flow/planning/fifo_depths.py computes
for the same graph streams every frame."""
from __future__ import annotations

import numpy as np
import pytest

from flow import golden
from flow.planning.fifo_depths import fifo_depths
from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.planning.fifo_depths import InsertFIFOs
from flow.hwgraph import apply_all
from sim.harness import SimError
from sim.harness import assert_bit_exact
from sim.harness import simulate

H, W, C = 6, 6, 4


def skip_link_graph() -> HwGraph:
    """x -> duplicate -> (3x3 binary conv) + (skip) -> add: the conv branch needs two rows
    before its first pixel, so the skip branch must hold them."""
    rng = np.random.default_rng(0)
    g = HwGraph()
    for name, shape, dt in [("x", (H, W, C), "BINARY"), ("d0", (H, W, C), "BINARY"),
                            ("d1", (H, W, C), "BINARY"), ("win", (H, W, 9 * C), "BINARY"),
                            ("conv", (H, W, C), "UINT6"), ("y", (H, W, C), "UINT7")]:
        g.add_tensor(HwTensor(name, shape, dt))
    g.inputs, g.outputs = ["x"], ["y"]
    g.add_node(HwNode("dup", "duplicate", ["x"], ["d0", "d1"], {"pe": 1}))
    g.add_node(HwNode("window", "sliding_window", ["d1"], ["win"],
                      {"kernel": 3, "stride": 1, "pad": [1, 1, 1, 1], "pad_code": 0, "simd": 2}))
    g.add_node(HwNode("conv", "xnor_mvtu", ["win"], ["conv"], {"pe": 2, "simd": 6},
                      {"weights": rng.integers(0, 2, (C, 9 * C)).astype(np.uint8)}))
    g.add_node(HwNode("join", "add", ["d0", "conv"], ["y"],
                      {"out_min": 0, "out_max": 127, "pe": 1}))
    return g


def test_shallow_skip_fifo_deadlocks_and_the_watchdog_names_the_join():
    g = skip_link_graph()
    depths, _ = fifo_depths(g)
    assert depths.get("d0", 0) > 2
    apply_all(g, [InsertFIFOs({"d0": 1})])
    x = np.random.default_rng(1).integers(0, 2, (1, H, W, C))
    with pytest.raises(SimError, match=r"deadlock.*Stalled layer\(s\): 'join'"):
        simulate(g, {"x": x}, tag="deadlock", watchdog=3000)


def test_computed_skip_fifo_depth_streams_every_frame():
    g = skip_link_graph()
    depths, _ = fifo_depths(g)
    apply_all(g, [InsertFIFOs(depths)])
    x = np.random.default_rng(2).integers(0, 2, (3, H, W, C))
    r = simulate(g, {"x": x}, tag="skip", seed=5, valid_prob=0.7, ready_prob=0.6,
                 reset_mid_frame=True)
    assert_bit_exact(r, golden.execute(g, {"x": x}), "skip link")
