"""Folding: PE/SIMD per layer, chosen from the board's resources and a target frame rate.

The frame period is the cycles of the slowest layer, or the input pace where that is slower.
For a target period T, every layer gets the least parallelism (PE x SIMD lanes) that meets its
cycle budget, or up to twice that where it is cheaper (fold_cost), so no layer is much faster
than it needs to be.

A layer's budget is T, except for latency: a layer of a low hourglass level, folded to take
all of T for its few pixels, needs a large part of T before its first output row, and the
levels above wait for it while their skip links fill. The FIFO depths that sustain the period
then hold several frames (flow/planning/fifo_depths.py), more block RAM than a small board has. So a
layer with fewer output pixels than the layer with the most may emit its pixels at most
`slowdown` times slower than that one (fifo_depths.layer_budget). slowdown = None is the plain
frame-rate folding. Two more knobs trade resources where block RAM is short: weight ROMs go to
LUTs, layer by layer, the fewest LUTs per BRAM36 freed first (place_weight_roms, node
attribute weight_rom; and if that is not enough, all ROMs up to a larger size:
g.meta["rom_lut_bits"], layers/base.weight_rom), and the input may be fed slower than the
slowest layer's period (g.meta["frame_period"]): fewer frames in flight, shallower FIFOs.

`--target-fps` folds for that period and refuses, naming the layer or the resource, what no
folding reaches. `--max` (the default) finds the fastest period whose estimated LUT and BRAM
stay within 85 % of the board and DSPs within 100 % (FIFOs included): the estimate is not
monotone in the period (memories switch between LUTRAM and BRAM, FIFO depths change), so the
periods are searched on a geometric grid: every eighth point, then by bisection below the
fastest of those that fits, then the grid points just below the bisection's answer. For each period the least parallel design that fits is
taken: layers folded for the period before faster, the largest slowdown first, weights in
block RAM first.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ..boards import Board
from ..hwgraph import HwGraph
from ..layers import Resources
from .fifo_depths import fifo_depths
from .fit import UTILIZATION_BUDGET
from .fit import FitError
from .fit import check_memory
from .fit import memory_bound
from .fifo_depths import frame_period
from .fifo_depths import layer_budget
from .fifo_depths import most_pixels
from .fifo_depths import planned_fifo
from .fifo_depths import planned_fifo_cost
from ..layers import layer_of
from ..layers.base import MatrixVectorUnit
from ..layers.base import rom_cost
from ..layers.base import weight_rom
from ..layers.width_converter import converters_cost



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


def slowdowns(g: HwGraph) -> list[int | None]:
    """The latency foldings tried, least parallel first: none, then ratios 2^k down to 1."""
    most = max(g.tensors[n.outputs[0]].pixels for n in g.nodes)
    least = min(g.tensors[n.outputs[0]].pixels for n in g.nodes)
    top = 1 << max(0, math.ceil(math.log2(most / least)) - 1)
    return [None] + [top >> k for k in range(top.bit_length())]


def fold_cost(res: Resources, board: Board | None) -> float:
    """What a layer's folding costs: its share of the board's LUTs, BRAMs and DSPs added up
    (without a board, its block RAMs). Spreading lanes over PE rather than SIMD saves block
    RAM (narrow weight words fit LUTs) but costs a requantizer DSP per PE lane, and the
    PYNQ-Z2 has 220 DSPs: the choice must see all three."""
    if board is None:
        return res.bram36
    return res.lut / board.lut + res.bram36 / board.bram36 + res.dsp / board.dsp


def fold_to_cycles(g: HwGraph, target: int, slowdown: int | None = None,
                   board: Board | None = None) -> None:
    """Give every layer the least parallelism that meets its budget (or its most); among
    foldings with at most MAX_EXTRA_LANES times that parallelism, the cheapest
    (fold_cost). Records the slowdown in the graph (the FIFO analysis paces layers by it)
    and drops any input pace and weight ROM placement set before: the frame period is the
    slowest layer's."""
    g.meta["slowdown"] = slowdown
    g.meta.pop("frame_period", None)
    g.meta.pop("uram_fifos", None)   # placed for the old folding (place_fifos_in_uram)
    for node in g.nodes:   # placed for the old folding (place_weight_roms)
        node.attrs.pop("weight_rom", None)
    most = most_pixels(g)
    choices: dict[str, list[dict]] = {}   # node -> the foldings that meet its budget
    for node in g.nodes:
        layer = layer_of(node)
        if not layer.fold_params:
            continue
        budget = layer_budget(node, g, target, slowdown, most)
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
        choices[node.name] = [c for c in meeting
                              if math.prod(c.values()) <= MAX_EXTRA_LANES * least]
        # the converters in front of the node depend on its folding too
        _pick(g, node, choices[node.name], board, [node])
    # The pass above folds each layer before its readers, so the converters behind it were
    # not seen: a sliding window at SIMD 2 fed an MVTU at SIMD 27 through a 2-to-27 gearbox
    # (hg-hpm-z2 at 400,000 cycles on pynq-z2: ten of them, 760 of 3,206 converter LUTs;
    # this pass brought the converters to 2,972). Once more, each
    # layer with its readers' foldings known, the converters on both sides counted.
    for node in g.nodes:
        if len(choices.get(node.name, ())) > 1:
            readers = [r for o in node.outputs for r in g.consumers(o)]
            _pick(g, node, choices[node.name], board, [node, *readers])


def _pick(g: HwGraph, node, meeting: list[dict], board: Board | None, around) -> None:
    """Fold `node` as the cheapest of `meeting` (fold_cost of the layer and the converters
    in front of the nodes `around`), fewer lanes first among equals."""
    layer = layer_of(node)
    best, best_key = None, None
    for c in meeting:
        node.attrs.update(c)
        key = (fold_cost(layer.estimate(node, g) + converters_cost(g, around), board),
               math.prod(c.values()))
        if best_key is None or key < best_key:
            best, best_key = c, key
    node.attrs.update(best)


def estimate(g: HwGraph, depths: dict[str, int] | None = None) -> Resources:
    """All layers and the width converters between them; and, while the graph has no FIFO
    layers yet, the FIFOs that the deadlock analysis will insert at this folding (their
    size depends on it; `depths` if already computed for it), in the memories placed."""
    total = converters_cost(g)
    for n in g.nodes:
        total = total + layer_of(n).estimate(n, g)
    if not any(n.kind == "fifo" for n in g.nodes):
        if depths is None:
            depths, _ = fifo_depths(g)
        for name, depth in depths.items():
            total = total + planned_fifo_cost(g, name, planned_fifo(g, name, depth))
    return total


def frame_cycles(g: HwGraph) -> int:
    """The frame period: the slowest layer's cycles, or the chosen input pace if slower."""
    return frame_period(g)


def slowest_layer(g: HwGraph):
    return max(g.nodes, key=lambda n: layer_of(n).cycles(n, g))


def bottleneck(g: HwGraph) -> dict:
    """What sets the frame period: the slowest layer, or the input pace that keeps the skip
    FIFOs within the board's block RAM."""
    n = slowest_layer(g)
    cyc = layer_of(n).cycles(n, g)
    period = frame_period(g)
    if period > cyc:
        return {"name": "input pace", "op": "fifo", "cycles": int(period),
                "note": f"the slowest, {g.describe(n)}, takes {cyc} cycles; the "
                        "folding chose to feed the input one frame per this many cycles, "
                        "the period the FIFO depths are sized for (FIFOs for a faster pace "
                        "did not fit, or it is the nearest point of the search's period "
                        "grid; flow/planning/folding.py)"}
    return {"name": n.name, "op": n.kind, "cycles": int(cyc), "origin": g.origin(n)}


def over_budget(res: Resources, board: Board) -> list[str]:
    out = []
    for what, used, avail, frac in (("LUT", res.lut, board.lut, UTILIZATION_BUDGET),
                                    ("BRAM36", res.bram36, board.bram36, UTILIZATION_BUDGET),
                                    ("URAM", res.uram, board.uram, UTILIZATION_BUDGET),
                                    ("DSP", res.dsp, board.dsp, 1.0)):
        if used > avail * frac:
            out.append(f"{what} {used:g} > {frac:.0%} of {avail}")
    return out


# Where FIFOs deep enough for the slowest layer's period do not fit, the input is fed at a
# slower pace P (cycles per frame) than the layers could go: fewer frames are in flight and the
# FIFOs are shallower. For a pace P the layers are folded for P / LAYER_SPEEDUPS[i] cycles:
# faster layers cost LUTs but shorten the latency, which is what the skip FIFOs hold.
LAYER_SPEEDUPS = (1, 2)
# The largest weight ROM put in LUTs (distributed) rather than block RAM, tried in this order
# where block RAM is short (flow/layers/base.py, weight_rom; the RTL follows the choice).
ROM_LUT_BITS_CHOICES = (4096, 16384, 65536)


@dataclass
class _Fit:
    period: int              # cycles per frame: the input pace
    target: int              # the layers' period
    slowdown: int | None
    rom_lut_bits: int
    resources: Resources
    over: list[str]          # what is over budget (empty: it fits)
    worst: float             # the largest share of the budget used


def _share(res: Resources, board: Board) -> float:
    uram = res.uram / (board.uram * UTILIZATION_BUDGET) if board.uram else \
        (math.inf if res.uram else 0.0)
    return max(res.lut / (board.lut * UTILIZATION_BUDGET),
               res.bram36 / (board.bram36 * UTILIZATION_BUDGET), res.dsp / board.dsp, uram)


def place_fifos_in_uram(g: HwGraph, board: Board, res: Resources,
                        depths: dict[str, int]) -> Resources:
    """Where block RAM is over budget and the part has UltraRAM, move FIFOs (the skip links'
    deep ones) from block RAM into UltraRAM one at a time, the most BRAM36 freed per URAM
    first, while the URAMs stay within budget (g.meta["uram_fifos"]; InsertFIFOs gives the
    FIFO node ram_style "ultra" and the RTL and HLS follow it). Weight ROMs stay out of
    UltraRAM: its contents cannot be initialised by the bitstream. Returns the new
    estimate."""
    budget = board.bram36 * UTILIZATION_BUDGET
    if res.bram36 <= budget or not board.uram:
        return res
    moves = []
    for name, depth in depths.items():
        auto = planned_fifo_cost(g, name, planned_fifo(g, name, depth, "auto"))
        if auto.bram36 <= 0:
            continue
        ultra = planned_fifo_cost(g, name, planned_fifo(g, name, depth, "ultra"))
        moves.append((-auto.bram36 / ultra.uram, name, auto, ultra))
    placed = list(g.meta.get("uram_fifos", ()))
    bram, uram = res.bram36, res.uram
    for _, name, auto, ultra in sorted(moves):
        if bram <= budget:
            break
        if uram + ultra.uram - auto.uram > board.uram * UTILIZATION_BUDGET:
            continue
        placed.append(name)
        bram += ultra.bram36 - auto.bram36
        uram += ultra.uram - auto.uram
    g.meta["uram_fifos"] = placed
    return estimate(g, depths)


def place_weight_roms(g: HwGraph, board: Board, res: Resources,
                      depths: dict[str, int] | None = None) -> Resources:
    """Where block RAM is over budget, move weight ROMs from block RAM into LUTs one layer at
    a time, the fewest LUTs per BRAM36 freed first, until it fits (node attribute
    weight_rom; the RTL follows it). Returns the new estimate."""
    budget = board.bram36 * UTILIZATION_BUDGET
    if res.bram36 <= budget:
        return res
    moves = []
    for n in g.nodes:
        layer = layer_of(n)
        if not isinstance(layer, MatrixVectorUnit):
            continue
        style, width, depth = weight_rom(n, g, layer.weight_bits)
        block = rom_cost("block", width, depth)
        if style != "block" or block.bram36 <= 0:
            continue
        luts = rom_cost("distributed", width, depth).lut - block.lut
        moves.append((luts / block.bram36, n.name, n, block.bram36))
    bram = res.bram36
    for _, _, n, freed in sorted(moves, key=lambda m: m[:2]):
        if bram <= budget:
            break
        n.attrs["weight_rom"] = "distributed"
        bram -= freed
    return estimate(g, depths)


def _try(g: HwGraph, board: Board, period: int, target: int, sd: int | None,
         rom_bits: int) -> _Fit:
    """Fold the layers for `target`, feed the input one frame per `period` (at least the
    slowest layer's cycles) and estimate, FIFOs included; where block RAM is short, move
    weight ROMs into LUTs layer by layer. The graph stays so."""
    g.meta["rom_lut_bits"] = rom_bits
    fold_to_cycles(g, target, sd, board)
    if period > frame_cycles(g):
        g.meta["frame_period"] = period
    depths, _ = fifo_depths(g)
    res = place_fifos_in_uram(g, board, estimate(g, depths), depths)
    res = place_weight_roms(g, board, res, depths)
    return _Fit(frame_cycles(g), target, sd, rom_bits, res, over_budget(res, board),
                _share(res, board))


def _fit_at(g: HwGraph, board: Board, period: int, speedups=LAYER_SPEEDUPS) -> _Fit:
    """The least parallel design with frame period `period` that fits (weights in block
    RAM first; layers folded for the period first, then faster; least latency folding
    first: every ratio of slowdowns()), else the one closest to fitting. Leaves the graph
    folded as returned. Every ratio matters: on hg-hpm-paper for zcu104 at 1 M cycles per
    frame, ratio 4 (the only one between none and 1 the search used to try) needs 278 k
    LUTs, 32 needs 141 k (estimates)."""
    sds = slowdowns(g)
    closest = None
    for rom_bits in ROM_LUT_BITS_CHOICES:
        for speedup in speedups:
            target = max(1, period // speedup)
            for sd in sds:
                f = _try(g, board, period, target, sd, rom_bits)
                if not f.over and f.period <= period:
                    return f
                if closest is None and _logic_over(g, board, f):
                    return f     # the least parallel variant: every other one has more
                closest = f if closest is None or f.worst < closest.worst else closest
        if not any(o.startswith("BRAM") for o in closest.over):
            break   # more weights in LUTs only helps where block RAM is short
    _try(g, board, closest.period, closest.target, closest.slowdown, closest.rom_lut_bits)
    return closest


def _logic_over(g: HwGraph, board: Board, f: _Fit) -> bool:
    """Whether the layers' own logic is over budget in the design `g` is folded as: DSPs, or
    LUTs without the FIFOs and without weight ROMs in LUTs. The other variants of a period
    (faster layers, latency folding, more ROMs in LUTs) only add lanes and ROM LUTs: none
    can fit then, and the search need not try them."""
    if any(o.startswith("DSP") for o in f.over):
        return True
    if any(n.attrs.get("weight_rom") == "distributed" for n in g.nodes):
        return False
    return (any(o.startswith("LUT") for o in f.over)
            and estimate(g, depths={}).lut > board.lut * UTILIZATION_BUDGET)


# Periods tried by the search for the fastest design: a geometric grid this fine, sampled
# every COARSE_STEP points (a factor of about 1.6) before the bisection.
PERIOD_STEP = 1.06
COARSE_STEP = 8


def choose_folding(g: HwGraph, board: Board, target_fps: float | None = None,
                   what: str = "the network") -> FoldingResult:
    clock = board.clock_mhz * 1e6
    try:   # in seconds: what no folding can fit is refused before the search
        check_memory(memory_bound(g), board, what)
    except FitError as e:
        raise FoldingError(str(e)) from None
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
            b = slowest_layer(g)
            raise FoldingError(
                f"--target-fps {target_fps:g} needs {target} cycles per frame at "
                f"{board.clock_mhz:g} MHz, but {g.describe(b)} takes {cyc} even "
                f"fully parallel (at most {clock / fastest:.1f} FPS)")
        # the estimate is not monotone in the period: where the target's own period does not
        # fit, a slightly faster one may (tried down to half the target's period)
        period = target
        tried = []
        while True:
            f = _fit_at(g, board, period)
            tried.append(f)
            if not f.over or period <= max(fastest, target // 2):
                break
            period = max(fastest, int(period / PERIOD_STEP))
        if f.over:
            # the shortfall of the closest design tried, not of the last (fastest) one: at
            # hg-hpm-z2's 250 FPS on pynq-z2 the target's own period was 1,900 LUTs over,
            # the fastest tried (half the period) 15,300
            closest = min(tried, key=lambda t: t.worst)
            raise FoldingError(f"--target-fps {target_fps:g} does not fit {board.name}: "
                               f"{'; '.join(closest.over)} (FIFOs included, the closest "
                               "design tried). Lower the target, or use --max for the "
                               "fastest design that fits")
        return FoldingResult(frame_cycles(g), f.resources, target, "target", f.slowdown)
    # Fastest that fits: bisection on a geometric grid of frame periods, then the grid points
    # just below its answer (the estimate is not monotone in the period). The slowest grid
    # point is 8x the fully folded period: the input pace can shrink the FIFOs further.
    grid = [fastest]
    while grid[-1] < 8 * slowest:
        grid.append(max(grid[-1] + 1, int(grid[-1] * PERIOD_STEP)))
    fits: dict[int, _Fit] = {}

    def fit(i: int) -> bool:
        if i not in fits:
            fits[i] = _fit_at(g, board, grid[i])
        return not fits[i].over

    # Not monotone at the slow end either (a fully folded design's narrow, deep memories
    # and FIFOs can cost more than a faster one's): every COARSE_STEP-th grid point is tried,
    # and the bisection runs below the fastest of them that fits.
    coarse = [i for i in range(len(grid) - 1, -1, -COARSE_STEP) if fit(i)]
    if not coarse:
        raise FoldingError(f"even fully folded and fed at 1/8 of its rate, the design does "
                           f"not fit {board.name}: {'; '.join(fits[len(grid) - 1].over)}")
    lo, hi = max(0, min(coarse) - COARSE_STEP + 1), min(coarse)
    while lo < hi:
        mid = (lo + hi) // 2
        if fit(mid):
            hi = mid
        else:
            lo = mid + 1
    best = hi
    for i in range(max(0, hi - 3), hi):
        if fit(i):
            best = i
            break
    # what stops the next faster period: the first resource over budget there
    limit = "fully parallel" if best == 0 else (
        "search grid" if fit(best - 1) else fits[best - 1].over[0].split()[0])
    f = fits[best]
    _try(g, board, f.period, f.target, f.slowdown, f.rom_lut_bits)
    return FoldingResult(frame_cycles(g), f.resources, None, limit, f.slowdown)
