"""FIFO depths from the pixel schedule keep fork-join dataflows from deadlocking.

A small cycle-stepped simulator of the dataflow (finite FIFOs, backpressure, each layer at its
own rate) runs hand-built hourglass-like graphs: with the computed depths every frame
completes; with a third of those depths the same graph deadlocks, so the test can fail.
"""
from __future__ import annotations

import math

import numpy as np
import pytest

from flow.planning.fifo_depths import IMPLICIT_DEPTH, MARGIN_ROWS, fifo_depths, planned_fifo
from flow.planning.fifo_depths import schedule
from flow.hwgraph import HwGraph, HwNode, HwTensor
from flow.layers import layer_of


def hourglass_graph(size=16, channels=4, levels=2):
    """input -> dup -> [skip] + [pool -> (recursion) -> upsample] -> add, `levels` deep."""
    g = HwGraph()
    g.add_tensor(HwTensor("input", (size, size, channels), "INT8"))
    g.inputs = ["input"]
    k = [0]

    def t(shape):
        k[0] += 1
        return g.add_tensor(HwTensor(f"t{k[0]}", shape, "INT8")).name

    def level(x, s, depth):
        skip, low = t((s, s, channels)), t((s, s, channels))
        g.add_node(HwNode(f"dup{k[0]}", "duplicate", [x], [skip, low]))
        p = t((s // 2, s // 2, channels))
        g.add_node(HwNode(f"pool{k[0]}", "maxpool", [low], [p], {"kernel": 2}))
        inner = level(p, s // 2, depth - 1) if depth > 1 else p
        u = t((s, s, channels))
        g.add_node(HwNode(f"up{k[0]}", "upsample", [inner], [u], {"factor": 2}))
        out = t((s, s, channels))
        g.add_node(HwNode(f"add{k[0]}", "add", [skip, u], [out],
                          {"out_min": -128, "out_max": 127}))
        return out

    g.outputs = [level("input", size, levels)]
    g.check()
    return g


def simulate(g: HwGraph, capacity: dict[str, int], max_cycles: int) -> int | None:
    """Cycles to push one frame through with these FIFO capacities (pixels), or None on
    deadlock. A layer emits output pixel j at most once per `ii` cycles, once it has read
    every input pixel j needs, and reads its next input pixels only as they are needed."""
    state = {}
    for n in g.nodes:
        layer = layer_of(n)
        out_px = g.tensors[n.outputs[0]].pixels
        state[n.name] = dict(deps=layer.pixel_dependencies(n, g), j=0, read=-1,
                             ii=max(1, layer.cycles(n, g) // out_px), wait=0)
    fifo = {name: 0 for name in g.tensors}            # pixels waiting on each stream
    sent_in = 0
    in_px = g.tensors[g.inputs[0]].pixels
    done_px = g.tensors[g.outputs[0]].pixels
    out_count = 0
    for cycle in range(max_cycles):
        progress = False
        if sent_in < in_px and fifo[g.inputs[0]] < capacity[g.inputs[0]]:
            fifo[g.inputs[0]] += 1
            sent_in += 1
            progress = True
        for n in g.nodes:
            s = state[n.name]
            if s["j"] >= g.tensors[n.outputs[0]].pixels:
                continue
            if s["wait"] > 0:
                s["wait"] -= 1
                progress = True
                continue
            need = max(int(d[s["j"]]) for d in s["deps"])
            # read the next needed input pixel (all inputs in lockstep)
            if s["read"] < need:
                if all(fifo[i] > 0 for i in n.inputs):
                    for i in n.inputs:
                        fifo[i] -= 1
                    s["read"] += 1
                    progress = True
                continue
            if all(fifo[o] < capacity[o] for o in n.outputs if o not in g.outputs):
                for o in n.outputs:
                    fifo[o] += 1
                s["j"] += 1
                s["wait"] = s["ii"] - 1
                progress = True
        for o in g.outputs:
            out_count += fifo[o]
            fifo[o] = 0
        if out_count >= done_px:
            return cycle + 1
        if not progress:
            return None
    return None


def capacities(g, depths):
    return {name: max(IMPLICIT_DEPTH, depths.get(name, 0)) for name in g.tensors}


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_computed_depths_complete_a_frame(levels):
    g = hourglass_graph(size=16, levels=levels)
    depths, sched = fifo_depths(g)
    assert depths, "a fork-join needs a deep skip FIFO"
    cycles = simulate(g, capacities(g, depths), max_cycles=20 * sched.period)
    assert cycles is not None, "deadlock with the computed depths"


@pytest.mark.parametrize("levels", [1, 2, 3])
def test_shallow_skip_fifos_deadlock(levels):
    g = hourglass_graph(size=16, levels=levels)
    depths, sched = fifo_depths(g)
    third = {k: max(IMPLICIT_DEPTH, v // 3) for k, v in depths.items()}
    assert simulate(g, capacities(g, third), max_cycles=20 * sched.period) is None


def test_skip_fifo_holds_the_lower_branch_latency():
    # one level on 16x16: upsampled rows 2r, 2r+1 need pooled row r, i.e. input rows up to
    # 2r+1, which arrive at the pace the add takes the skip: the skip lags about two rows.
    g = hourglass_graph(size=16, levels=1)
    depths, _ = fifo_depths(g)
    skip = g.nodes[0].outputs[0]
    s = schedule(g)
    assert 2 * 16 < s.occupancy[skip] <= 3 * 16
    assert depths[skip] == s.occupancy[skip] + math.ceil(MARGIN_ROWS * 16)   # and the margin
    assert s.latency >= s.period
    assert math.isfinite(float(np.max(s.available[g.outputs[0]])))


@pytest.mark.parametrize("producer_pe, reader_pe", [(1, 4), (4, 1), (2, 2)])
def test_fifo_words_are_the_wider_beat(producer_pe, reader_pe):
    # A skip FIFO at a narrow producer's width in front of a wide reader would hand its
    # buffered pixels over only at the producer's pace (hg-hpm-paper on zcu104 ran 1.9x
    # slower than its slowest layer): its words are the wider of the two beats.
    g = hourglass_graph(size=16, channels=4, levels=1)
    dup, add = g.nodes[0], next(n for n in g.nodes if n.kind == "add")
    dup.attrs["pe"], add.attrs["pe"] = producer_pe, reader_pe
    attrs = planned_fifo(g, dup.outputs[0], 20)
    assert attrs["pe"] == max(producer_pe, reader_pe)
    assert attrs["depth"] == 20 and attrs["ram_style"] == "auto"
