"""Every RTL layer kind against the golden model: random parameters and data (three random
instances per build, sim/graphs.py), random tvalid gaps and tready backpressure, a reset in the
middle of a frame, a watchdog; then at full rate, where each instance must also take the
cycles per frame its layer description (flow/layers/) promises."""
from __future__ import annotations

import pytest

from flow import golden
from flow.layers import layer_of
from flow.layers.requant import seg_address
from sim.graphs import KINDS
from sim.graphs import random_graph
from sim.graphs import requant_layouts
from sim.graphs import uram_fifo_chain
from sim.graphs import wide_mvtus
from sim.harness import assert_bit_exact
from sim.harness import simulate

# Steady state may exceed the description's cycles by a little: per-frame pipeline bubbles.
CYCLE_SLACK = 1.25
CYCLE_OVERHEAD = 40


def _check_kind(kind: str, seed: int) -> None:
    g, feeds = random_graph(kind, seed)
    want = golden.execute(g, feeds)
    tag = f"{kind}-{seed}"
    r = simulate(g, feeds, tag=tag, seed=seed, valid_prob=0.6, ready_prob=0.5,
                 reset_mid_frame=True)
    assert_bit_exact(r, want, f"{tag} under backpressure")
    r = simulate(g, feeds, tag=tag, seed=seed)
    assert_bit_exact(r, want, f"{tag} at full rate")
    for node in g.nodes:
        lay = layer_of(node)
        # no layer beats one beat per cycle on any port (a FIFO's description says 0 cycles:
        # it is never the bottleneck)
        beats = [g.tensors[t].pixels * g.tensors[t].channels // lay.in_elems(node, g, i)
                 for i, t in enumerate(node.inputs)]
        beats += [g.tensors[t].pixels * g.tensors[t].channels // lay.out_elems(node, g)
                  for t in node.outputs]
        est = max([lay.cycles(node, g)] + beats)
        ends = r.frame_end[node.outputs[0]]
        sim = ends[-1] - ends[-2]
        assert sim <= CYCLE_SLACK * est + CYCLE_OVERHEAD, (
            f"{tag}: {node.name} takes {sim} cycles per frame, its description says {est}")


@pytest.mark.parametrize("kind", KINDS)
def test_layer_bit_exact(kind):
    _check_kind(kind, seed=0)


@pytest.mark.slow
@pytest.mark.parametrize("seed", [1, 2])
@pytest.mark.parametrize("kind", KINDS)
def test_layer_bit_exact_more_seeds(kind, seed):
    _check_kind(kind, seed)


def test_parallel_window_whose_padded_width_is_a_power_of_two():
    """Seed 6 draws a parallel sliding window whose padded row is 8 pixels: its line
    buffers' address is one bit narrower than the column counter (Verilator refused the
    RTL with WIDTHTRUNC before hw/sliding_window_parallel.sv indexed them with AW bits)."""
    _check_kind("sliding_window", 6)


def test_requantizer_table_layouts():
    """Both parameter table layouts of hw/requant_unit.sv, bit-exact: the segment an address
    bit up to SEG_ADDRESS_MAX_NF channel groups, both segments in one word beyond (the
    generator's choice, flow/layers/requant.seg_address)."""
    g, feeds = requant_layouts()
    layouts = {seg_address(g.tensors[n.outputs[0]].channels // int(n.attrs["pe"]))
               for n in g.nodes}
    assert layouts == {True, False}
    want = golden.execute(g, feeds)
    r = simulate(g, feeds, tag="requant-layouts", seed=0, valid_prob=0.6, ready_prob=0.5,
                 reset_mid_frame=True)
    assert_bit_exact(r, want, "requantizer layouts under backpressure")
    assert_bit_exact(simulate(g, feeds, tag="requant-layouts", seed=0), want,
                     "requantizer layouts at full rate")


def test_uram_fifo_between_width_converters():
    """A FIFO in UltraRAM at its wide words (the RTL's pipelined URAM read and output queue)
    with a converter on each side, under backpressure and at full rate."""
    g, feeds = uram_fifo_chain()
    want = golden.execute(g, feeds)
    r = simulate(g, feeds, tag="uram-fifo", seed=0, valid_prob=0.6, ready_prob=0.5,
                 reset_mid_frame=True)
    assert_bit_exact(r, want, "uram fifo under backpressure")
    assert_bit_exact(simulate(g, feeds, tag="uram-fifo", seed=0), want, "uram fifo at full rate")


def test_mvtu_adder_tree_stages():
    """MVTUs whose lanes' adder trees have one and two registered stages (hw/adder_tree.sv),
    bit-exact under backpressure, across a reset and at full rate, at the cycles per frame of
    their description (the stages add latency, not cycles)."""
    g, feeds = wide_mvtus()
    stages = {layer_of(n).sum_stages(n, g) for n in g.nodes}
    assert {1, 2} <= stages, stages
    want = golden.execute(g, feeds)
    r = simulate(g, feeds, tag="wide-mvtus", seed=0, valid_prob=0.6, ready_prob=0.5,
                 reset_mid_frame=True)
    assert_bit_exact(r, want, "adder trees under backpressure")
    r = simulate(g, feeds, tag="wide-mvtus", seed=0)
    assert_bit_exact(r, want, "adder trees at full rate")
    for node in g.nodes:
        ends = r.frame_end[node.outputs[0]]
        est = layer_of(node).cycles(node, g)
        assert ends[-1] - ends[-2] <= CYCLE_SLACK * est + CYCLE_OVERHEAD, node.name
