"""FIFO depths that keep the stitched dataflow free of deadlock.

A skip link forks (duplicate) and re-joins (add, concat) after the other branch has gone
through pooling, line buffers and upsampling: the join waits for the slow branch while the
fast one keeps producing. If the fast branch's FIFO fills, the fork stalls, the slow branch
starves, and the design deadlocks. So each stream needs a FIFO as deep as the most pixels
that can be waiting on it.

We compute that from a pixel-level schedule of one frame. Every layer runs at the frame rate
(its rate slowed to the period of the slowest layer, which a real layer does by stalling, so
the schedule is one the hardware can follow), reads input pixel i no earlier than it
arrives, and emits output pixel j once the last input pixel it needs (the layer kind's
`pixel_dependencies`) has been read. Joins read their inputs in lockstep. With that
schedule,

    occupancy(stream) = max_i  #{pixels produced by the time the reader takes pixel i} - i

and a FIFO of at least that depth never blocks its producer, so the schedule (and the
frame) completes. Streams whose occupancy exceeds the small handshake buffer every
connection has get an explicit FIFO layer of that depth.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from .hwgraph import HwGraph
from .layers import layer_of

# Every connection is a 2-deep handshake buffer (skid buffer) in the RTL anyway.
IMPLICIT_DEPTH = 2


@dataclass
class Schedule:
    period: int                          # cycles per frame (slowest layer)
    available: dict[str, np.ndarray]     # stream -> cycle at which each pixel is produced
    occupancy: dict[str, int]            # stream -> most pixels waiting on it
    latency: int                         # cycle at which the last output pixel is produced


def _asap(earliest: np.ndarray, ii: float) -> np.ndarray:
    """t[i] = max(earliest[i], t[i-1] + ii), in closed form."""
    steps = np.arange(earliest.size) * ii
    return np.maximum.accumulate(earliest - steps) + steps


def schedule(g: HwGraph) -> Schedule:
    period = max(layer_of(n).cycles(n, g) for n in g.nodes)
    avail: dict[str, np.ndarray] = {}
    reads: dict[str, np.ndarray] = {}
    for name in g.inputs:
        px = g.tensors[name].pixels
        avail[name] = np.arange(px) * (period / px)       # the DMA feeds at the frame rate
    for node in g.nodes:
        layer = layer_of(node)
        in_px = g.tensors[node.inputs[0]].pixels
        out_px = g.tensors[node.outputs[0]].pixels
        ii_in, ii_out = period / in_px, period / out_px
        # lockstep read of every input
        earliest = np.max([avail[i] for i in node.inputs], axis=0)
        r = _asap(earliest, ii_in)
        for i in node.inputs:
            reads[i] = r
        latency = layer.cycles(node, g) / out_px
        deps = layer.pixel_dependencies(node, g)
        ready = np.max([r[d] for d in deps], axis=0) + latency
        t = _asap(ready, ii_out)
        for o in node.outputs:
            avail[o] = t
    occupancy = {}
    for name, p in avail.items():
        if name in reads:
            produced = np.searchsorted(p, reads[name], side="right")
            occupancy[name] = int(np.max(produced - np.arange(p.size)))
    last = max(float(avail[o][-1]) for o in g.outputs)
    return Schedule(period, avail, occupancy, int(np.ceil(last)))


# Two channel slices of one stream joined again (a U-Net merge adds the halves) deliver a
# pixel's beats at different times: one slice passes the first half of every pixel while the
# other drops it. The pixel-level schedule cannot see that, and the RTL's handshake buffers
# hold a beat or two, not pixels, so a join input that comes from a channel slice gets a FIFO
# one pixel deeper than its occupancy (measured: hg-unet-tiny deadlocks without it).
JOIN_SKEW = 1


def fifo_depths(g: HwGraph) -> tuple[dict[str, int], Schedule]:
    """Streams that need more than the implicit buffer, with their depth in pixels."""
    s = schedule(g)
    depths = {k: v for k, v in s.occupancy.items() if v > IMPLICIT_DEPTH}
    for n in g.nodes:
        if len(n.inputs) > 1:
            for i in n.inputs:
                p = g.producer(i)
                if p is not None and p.kind == "slice_channels":
                    depths[i] = max(depths.get(i, 0), s.occupancy.get(i, 0) + JOIN_SKEW)
    return depths, s
