"""Folding: PE/SIMD per layer, chosen from the board's resources and a target frame rate.

The dataflow's frame period is the cycles of its slowest layer. For a target period T, every
layer gets the least parallelism (PE x SIMD lanes) whose cycles are <= T, or up to twice that
where it saves block RAM, so no layer is much faster than it needs to be. Without a target,
the fastest T whose estimated LUT, BRAM and DSP use stay within the budget (85 % of LUT and
BRAM, all DSPs; FIFOs included) is found by bisection on T.
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


def fold_to_cycles(g: HwGraph, target: int) -> None:
    """Give every layer the least parallelism that meets `target` cycles (or its most);
    among foldings with at most MAX_EXTRA_LANES times that parallelism, the one with the
    fewest block RAMs."""
    for node in g.nodes:
        layer = layer_of(node)
        if not layer.fold_params:
            continue
        combos = _combos(layer, node, g)
        meeting = []
        for c in combos:
            node.attrs.update(c)
            if layer.cycles(node, g) <= target:
                meeting.append(c)
        if not meeting:   # cannot reach the target: fully parallel
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
        res = estimate(g)
        cyc = frame_cycles(g)
        if cyc > target:
            b = bottleneck(g)
            raise FoldingError(
                f"--target-fps {target_fps:g} needs {target} cycles per frame at "
                f"{board.clock_mhz:g} MHz, but layer '{b.name}' ({b.kind}) takes {cyc} even "
                f"fully parallel (at most {clock / fastest:.1f} FPS)")
        bad = over_budget(res, board)
        if bad:
            raise FoldingError(f"--target-fps {target_fps:g} does not fit {board.name}: "
                               f"{'; '.join(bad)}. Lower the target, or omit it for the "
                               "fastest design that fits")
        return FoldingResult(cyc, res, target, "target")
    # Fastest that fits: bisect on the period between fully parallel and fully folded.
    lo, hi = fastest, slowest
    fold_to_cycles(g, hi)
    if over_budget(estimate(g), board):
        raise FoldingError(f"even fully folded, the design does not fit {board.name}: "
                           f"{'; '.join(over_budget(estimate(g), board))}")
    limit = "fully parallel"
    while lo < hi:
        mid = (lo + hi) // 2
        fold_to_cycles(g, mid)
        bad = over_budget(estimate(g), board)
        if bad:
            lo = mid + 1
            limit = bad[0].split()[0]
        else:
            hi = min(mid, frame_cycles(g))
    fold_to_cycles(g, hi)
    return FoldingResult(frame_cycles(g), estimate(g), None,
                         limit if hi > fastest else "fully parallel")
