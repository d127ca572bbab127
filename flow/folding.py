"""Folding: PE/SIMD per layer, chosen from the board's resources and a target frame rate.

The dataflow's frame period is the cycles of its slowest layer. For a target period T, every
layer gets the least parallelism (PE x SIMD lanes) that meets its cycle budget, or up to twice
that where it saves block RAM, so no layer is much faster than it needs to be.

A layer's budget is T, except for latency: a layer of a low hourglass level, folded to take
all of T for its few pixels, needs a large part of T before its first output row, and the
levels above wait for it while their skip links fill. The FIFO depths that sustain the period
then hold several frames (flow/fifo_depths.py), more block RAM than a small board has. So a
layer with fewer output pixels than the layer with the most may emit its pixels at most
`slowdown` times slower than that one: its budget is T * min(1, slowdown * pixels / most
pixels). slowdown = None is the plain frame-rate folding. For each period the largest slowdown
that fits is taken (the least parallelism); low-resolution layers are cheap to unfold.

`--target-fps` folds for that period and refuses, naming the layer or the resource, what no
folding reaches. `--max` (the default) finds the fastest period whose estimated LUT and BRAM
stay within 85 % of the board and DSPs within 100 % (FIFOs included): the estimate is not
monotone in the period (memories switch between LUTRAM and BRAM, FIFO depths change), so the
periods are searched on a geometric grid by bisection and then the grid points just below the
bisection's answer are tried too.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from .boards import Board
from .hwgraph import HwGraph
from .layers import Resources
from .fifo_depths import fifo_depths
from .hwtransforms import stream_pe
from .layers import layer_of
from .layers.base import bitwidth
from .layers.fifo import fifo_resources

UTILIZATION_BUDGET = 0.85


class FoldingError(ValueError):
    pass


@dataclass
class FoldingResult:
    cycles_per_frame: int
    resources: Resources
    target_cycles: int | None
    limited_by: str          # what stopped a faster design: "target", a resource, or a layer
    slowdown: int | None     # the latency folding's ratio (None: plain frame-rate folding)


def _combos(layer, node, g):
    space = layer.fold_space(node, g)
    names = list(layer.fold_params)
    combos = [dict(zip(names, vals)) for vals in itertools.product(*(space[p] for p in names))]
    # least parallelism first; among equals, wide SIMD (fewer weight banks) first
    combos.sort(key=lambda c: (math.prod(c.values()), -c.get("simd", 0)))
    return combos


# A layer may get up to this many times the lanes it needs, if that saves block RAM (wider
# weight words pack BRAMs better); never more.
MAX_EXTRA_LANES = 2


def layer_budget(node, g, target: int, slowdown: int | None) -> int:
    """Cycles a layer may take per frame at period `target` (see the module docstring)."""
    if slowdown is None:
        return target
    most = max(g.tensors[n.outputs[0]].pixels for n in g.nodes)
    px = g.tensors[node.outputs[0]].pixels
    return max(1, min(target, target * slowdown * px // most))


def slowdowns(g: HwGraph) -> list[int | None]:
    """The latency foldings tried, least parallel first: none, then ratios 2^k down to 1."""
    most = max(g.tensors[n.outputs[0]].pixels for n in g.nodes)
    least = min(g.tensors[n.outputs[0]].pixels for n in g.nodes)
    top = 1 << max(0, math.ceil(math.log2(most / least)) - 1)
    return [None] + [top >> k for k in range(top.bit_length())]


def fold_to_cycles(g: HwGraph, target: int, slowdown: int | None = None) -> None:
    """Give every layer the least parallelism that meets its budget (or its most); among
    foldings with at most MAX_EXTRA_LANES times that parallelism, the one with the fewest
    block RAMs."""
    for node in g.nodes:
        layer = layer_of(node)
        if not layer.fold_params:
            continue
        budget = layer_budget(node, g, target, slowdown)
        combos = _combos(layer, node, g)
        meeting = []
        for c in combos:
            node.attrs.update(c)
            if layer.cycles(node, g) <= budget:
                meeting.append(c)
        if not meeting:   # cannot reach the budget: fully parallel
            node.attrs.update(combos[-1])
            continue
        least = math.prod(meeting[0].values())
        best, best_key = None, None
        for c in meeting:
            lanes = math.prod(c.values())
            if lanes > MAX_EXTRA_LANES * least:
                break
            node.attrs.update(c)
            key = (layer.estimate(node, g).bram36, lanes)
            if best_key is None or key < best_key:
                best, best_key = c, key
        node.attrs.update(best)


def estimate(g: HwGraph) -> Resources:
    """All layers; and, while the graph has no FIFO layers yet, the FIFOs that the
    deadlock analysis will insert at this folding (their size depends on it)."""
    total = Resources()
    for n in g.nodes:
        total = total + layer_of(n).estimate(n, g)
    if not any(n.kind == "fifo" for n in g.nodes):
        depths, _ = fifo_depths(g)
        for name, depth in depths.items():
            t = g.tensors[name]
            total = total + fifo_resources(bitwidth(g, name), t.channels, stream_pe(g, name),
                                           depth)
    return total


def frame_cycles(g: HwGraph) -> int:
    return max(layer_of(n).cycles(n, g) for n in g.nodes)


def bottleneck(g: HwGraph):
    return max(g.nodes, key=lambda n: layer_of(n).cycles(n, g))


def over_budget(res: Resources, board: Board) -> list[str]:
    out = []
    for what, used, avail, frac in (("LUT", res.lut, board.lut, UTILIZATION_BUDGET),
                                    ("BRAM36", res.bram36, board.bram36, UTILIZATION_BUDGET),
                                    ("DSP", res.dsp, board.dsp, 1.0)):
        if used > avail * frac:
            out.append(f"{what} {used:g} > {frac:.0%} of {avail}")
    return out


def _fit_at(g: HwGraph, board: Board, target: int):
    """Fold for period `target` with the largest slowdown that fits the board; returns
    (slowdown, resources, []) or, when none fits, (None, resources, what is over budget) of
    the attempt that was over by the least."""
    best = None
    for sd in slowdowns(g):
        fold_to_cycles(g, target, sd)
        res = estimate(g)
        bad = over_budget(res, board)
        if not bad:
            return sd, res, []
        worst = max(_utilization(res, board))
        if best is None or worst < best[0]:
            best = (worst, sd, res, bad)
    _, sd, res, bad = best
    fold_to_cycles(g, target, sd)
    return sd, res, bad


def _utilization(res: Resources, board: Board) -> tuple[float, float, float]:
    return (res.lut / (board.lut * UTILIZATION_BUDGET),
            res.bram36 / (board.bram36 * UTILIZATION_BUDGET), res.dsp / board.dsp)


# Periods tried by the search for the fastest design: a geometric grid this fine.
PERIOD_STEP = 1.06


def choose_folding(g: HwGraph, board: Board, target_fps: float | None = None
                   ) -> FoldingResult:
    clock = board.clock_mhz * 1e6
    fold_to_cycles(g, 1)
    fastest = frame_cycles(g)
    fold_to_cycles(g, 1 << 62)
    slowest = frame_cycles(g)
    if target_fps is not None:
        if target_fps <= 0:
            raise FoldingError(f"--target-fps {target_fps:g}: must be positive")
        target = max(1, int(clock // target_fps))
        fold_to_cycles(g, target)
        cyc = frame_cycles(g)
        if cyc > target:
            b = bottleneck(g)
            raise FoldingError(
                f"--target-fps {target_fps:g} needs {target} cycles per frame at "
                f"{board.clock_mhz:g} MHz, but layer '{b.name}' ({b.kind}) takes {cyc} even "
                f"fully parallel (at most {clock / fastest:.1f} FPS)")
        sd, res, bad = _fit_at(g, board, target)
        if bad:
            raise FoldingError(f"--target-fps {target_fps:g} does not fit {board.name}: "
                               f"{'; '.join(bad)}. Lower the target, or use --max for the "
                               "fastest design that fits")
        return FoldingResult(frame_cycles(g), res, target, "target", sd)
    # Fastest that fits: bisection on a geometric grid of periods, then the grid points
    # just below its answer (the estimate is not monotone in the period).
    grid = [fastest]
    while grid[-1] < slowest:
        grid.append(min(slowest, max(grid[-1] + 1, int(grid[-1] * PERIOD_STEP))))
    fits = {}

    def fit(i):
        if i not in fits:
            sd, res, bad = _fit_at(g, board, grid[i])
            fits[i] = (sd, res, bad)
        return not fits[i][2]

    if not fit(len(grid) - 1):
        raise FoldingError(f"even fully folded, the design does not fit {board.name}: "
                           f"{'; '.join(fits[len(grid) - 1][2])}")
    lo, hi = 0, len(grid) - 1
    while lo < hi:
        mid = (lo + hi) // 2
        if fit(mid):
            hi = mid
        else:
            lo = mid + 1
    best = hi
    for i in range(max(0, hi - 4), hi):
        if fit(i):
            best = i
            break
    # what stops the next faster period: the first resource over budget there
    if best == 0:
        limit = "fully parallel"
    else:
        limit = "search grid" if fit(best - 1) else fits[best - 1][2][0].split()[0]
    sd, res, _ = fits[best]
    fold_to_cycles(g, grid[best], sd)
    return FoldingResult(frame_cycles(g), res, None, limit, sd)
