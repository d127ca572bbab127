"""What must fit on chip, before any folding is searched: the one rule that `check_fit` (from
the PyTorch model's weights, before the export) and `fold` (from the hardware graph, before
the search) both apply, so that a network that cannot fit is refused in seconds, naming the
figure that does not fit and what would make it fit.

The memories of a design and where each may live:
- weights (the MVTUs' ROMs): block RAM or LUTs (a LUT6 holds 64 bits of ROM). Not UltraRAM:
  on UltraScale+ its contents cannot be initialised by the bitstream (Yosys 0.23 maps only
  zero-initialised memories to URAM288: xilinx/urams.txt `init zero`), so weights there would
  have to be written at run time, which the accelerator does not do.
- FIFOs (the skip links): UltraRAM, block RAM or LUT-RAM.

`memory_bound` bounds what every design the folding can choose needs: the weights' bits; the
FIFOs at the latency folding that needs the least of them (their depths in pixels depend on
that ratio, not on the period: every layer keeps the pace of its budget,
flow/planning/fifo_depths.py), and how many of them the UltraRAM can hold, each in whole
URAM288 blocks; the LUTs the layers take at their cheapest folding. The budget is the
folding's (85 % of every resource). A design over this bound cannot fit at any folding.
The report also sets each level's FIFOs beside an ideal schedule's (`ideal_fifo_bits`: every
layer taking no time), what no streaming schedule goes below.
"""
from __future__ import annotations

import itertools
import math
from dataclasses import dataclass

from ..boards import Board
from ..hwgraph import HwGraph
from ..layers import layer_of
from ..layers.base import MatrixVectorUnit
from ..layers.base import bitwidth

# The share of every resource a design may use (the folding's budget).
UTILIZATION_BUDGET = 0.85
BRAM36_BITS = 36 * 1024
URAM_BITS = 288 * 1024
LUT_ROM_BITS = 64          # bits of ROM (or RAM) in one LUT6, at best


class FitError(ValueError):
    """The network cannot fit the board at any folding; the message says which figure and
    what would make it fit."""


@dataclass
class MemoryNeed:
    weight_bits: int
    fifo_bits: int                 # lower bound; 0 where unknown (check_fit)
    logic_luts: int                # lower bound of the layers' LUTs; 0 where unknown
    fifo_streams: dict[str, int] | None = None     # stream -> bits, the largest first
    fifo_urams: dict[str, int] | None = None       # stream -> URAM288 blocks it would take
    slowdown: int | None = None    # the latency folding the FIFO bound is at
    # stream -> how a message names it, in the user's words (HwGraph.describe_stream)
    fifo_names: dict[str, str] | None = None

    def uram_held(self, urams: int) -> int:
        """FIFO bits that `urams` URAM288 blocks can hold: whole FIFOs, the most bits per
        block first."""
        held = 0
        fifos = sorted(((b / max(1, self.fifo_urams[k]), b, self.fifo_urams[k])
                        for k, b in (self.fifo_streams or {}).items()), reverse=True)
        for _, bits, u in fifos:
            if u <= urams:
                urams -= u
                held += bits
        return held


@dataclass
class Capacity:
    bram_bits: float
    uram_bits: float
    lut_bits: float                # LUTs left after the logic, as ROM/RAM bits

    @property
    def weights(self) -> float:
        """Where weights may live: block RAM and LUTs (not UltraRAM)."""
        return self.bram_bits + self.lut_bits

    @property
    def total(self) -> float:
        return self.bram_bits + self.uram_bits + self.lut_bits


def capacity(board: Board, logic_luts: int = 0) -> Capacity:
    b = UTILIZATION_BUDGET
    return Capacity(b * board.bram36 * BRAM36_BITS, b * board.uram * URAM_BITS,
                    max(0.0, b * board.lut - logic_luts) * LUT_ROM_BITS)


def _mib(bits: float) -> str:
    if bits < 2**17:
        return f"{bits / 2**10:.1f} Kibit"
    return f"{bits / 2**20:.2f} Mibit"


def check_memory(need: MemoryNeed, board: Board, what: str) -> dict:
    """Refuse (FitError) what cannot fit `board` at any folding; else the figures."""
    cap = capacity(board, need.logic_luts)
    b = UTILIZATION_BUDGET
    luts = (f"LUTs as ROM ({b:.0%} of {board.lut:,} LUTs"
            + (f" less the {need.logic_luts:,} the layers need at least" if need.logic_luts
               else "") + f", 64 bits each: {_mib(cap.lut_bits)})")
    in_uram = need.uram_held(int(b * board.uram)) if need.fifo_bits else 0
    rest = need.fifo_bits - in_uram
    info = {"weight_bits": int(need.weight_bits), "fifo_bits_lower_bound": int(need.fifo_bits),
            "fifo_bits_uram_holds": int(in_uram), "logic_luts_lower_bound": int(need.logic_luts),
            "capacity_bits": {"bram": int(cap.bram_bits), "uram": int(cap.uram_bits),
                              "lut": int(cap.lut_bits)}}
    if need.weight_bits > cap.weights:
        uram = (f"; its {board.uram} UltraRAMs ({_mib(cap.uram_bits)}) cannot hold weights: "
                "UltraRAM is not initialised by the bitstream, weights there would have to be "
                "loaded at run time, which this accelerator does not do" if board.uram else "")
        raise FitError(
            f"{what} does not fit board '{board.name}': its weights need "
            f"{_mib(need.weight_bits)}, but {board.part} holds at most "
            f"{_mib(cap.weights)} of weight ROMs: block RAM ({b:.0%} of {board.bram36} BRAM36 "
            f"= {_mib(cap.bram_bits)}) and {luts}{uram}. Short by "
            f"{_mib(need.weight_bits - cap.weights)}. Use fewer channels (weights grow with "
            "their square), a smaller preset, or a board with more block RAM.")
    if need.weight_bits + rest > cap.weights:
        top = ""
        if need.fifo_streams:
            big = list(need.fifo_streams.items())[:3]
            named = need.fifo_names or {}
            top = " (the largest: " + "; ".join(
                f"{named.get(k, repr(k))} {_mib(v)}" for k, v in big) + ")"
        held = (f"; {board.uram} UltraRAMs at {b:.0%} hold {_mib(in_uram)} of them in whole "
                "URAM288 blocks" if board.uram else "; the part has no UltraRAM")
        short = need.weight_bits + rest - cap.weights
        raise FitError(
            f"{what} does not fit board '{board.name}': the skip links' FIFOs need at least "
            f"{_mib(need.fifo_bits)} at any folding{top}{held}. The other "
            f"{_mib(rest)} and the weights ({_mib(need.weight_bits)}) need "
            f"{_mib(need.weight_bits + rest)} of block RAM ({_mib(cap.bram_bits)}) and "
            f"{luts}. Short by {_mib(short)}. The skip FIFOs hold about a frame of every "
            "hourglass level: a smaller input resolution or fewer channels shrinks them, or a "
            "board with more on-chip RAM; buffering the skip links in DDR (not implemented) "
            f"would move {need.fifo_bits / 8 / 2**20:.2f} MiB per frame each way.")
    return info


def weight_bits(g: HwGraph) -> int:
    """Bits of every MVTU's weights (their ROMs hold exactly these)."""
    return sum(int(n.arrays["weights"].size) * layer_of(n).weight_bits
               for n in g.nodes if isinstance(layer_of(n), MatrixVectorUnit))


def ideal_fifo_bits(g: HwGraph) -> dict[str, int]:
    """Per stream that must buffer more than a handshake's worth: the bits an ideal schedule
    holds on it (flow/planning/fifo_depths.py, _schedule(ideal=True)), the largest first."""
    from .fifo_depths import _schedule
    from .fifo_depths import needs_fifo

    s = _schedule(g, 1, ideal=True)
    out = {}
    for name, occ in s.occupancy.items():
        if name in g.tensors and needs_fifo(g, name, occ):
            t = g.tensors[name]
            out[name] = occ * t.channels * bitwidth(g, name)
    return dict(sorted(out.items(), key=lambda kv: -kv[1]))


def logic_luts(g: HwGraph) -> int:
    """LUTs of the layers at each one's cheapest folding with its weights in block RAM: no
    folding of the graph uses fewer (width converters and FIFOs come on top)."""
    total = 0
    for n in g.nodes:
        layer = layer_of(n)
        if n.kind == "fifo":
            continue
        saved = {k: n.attrs[k] for k in (*layer.fold_params, "weight_rom") if k in n.attrs}
        space = layer.fold_space(n, g)
        best = math.inf
        if isinstance(layer, MatrixVectorUnit):
            n.attrs["weight_rom"] = "block"
        for vals in itertools.product(*(space[p] for p in layer.fold_params)):
            n.attrs.update(zip(layer.fold_params, vals))
            best = min(best, layer.estimate(n, g).lut)
        n.attrs.pop("weight_rom", None)
        n.attrs.update(saved)
        total += 0 if best is math.inf else int(best)
    return total


def scheduled_fifos(g: HwGraph) -> tuple[dict[str, int], int | None]:
    """The FIFO depths (stream -> pixels) at the latency folding whose FIFOs hold the fewest
    bits, and that ratio: the least any design of the folding search has. Depths do not
    depend on the period, only on the ratio; they are taken with every layer fully
    parallel, where the layers' own latency is the least. The graph's folding is restored."""
    from .fifo_depths import fifo_depths
    from .folding import fold_to_cycles
    from .folding import slowdowns

    saved = ([(n, dict(n.attrs)) for n in g.nodes], dict(g.meta))
    best, best_bits = ({}, None), None
    try:
        for sd in slowdowns(g):
            fold_to_cycles(g, 1, sd)
            depths, _ = fifo_depths(g)
            bits = sum(d * g.tensors[k].channels * bitwidth(g, k) for k, d in depths.items())
            if best_bits is None or bits < best_bits:
                best, best_bits = (depths, sd), bits
    finally:
        for n, attrs in saved[0]:
            n.attrs = attrs
        g.meta = saved[1]
    return best


def memory_bound(g: HwGraph) -> MemoryNeed:
    from .fifo_depths import planned_fifo
    from .fifo_depths import planned_fifo_cost

    depths, sd = scheduled_fifos(g)
    bits = {k: d * g.tensors[k].channels * bitwidth(g, k) for k, d in depths.items()}
    urams = {k: planned_fifo_cost(g, k, planned_fifo(g, k, d, "ultra")).uram
             for k, d in depths.items()}
    bits = dict(sorted(bits.items(), key=lambda kv: -kv[1]))
    names = {k: g.describe_stream(k) for k in list(bits)[:3]}
    return MemoryNeed(weight_bits(g), sum(bits.values()), logic_luts(g), bits, urams, sd,
                      names)
