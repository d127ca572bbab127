"""FIFO depths that keep the stitched dataflow free of deadlock.

A skip link forks (duplicate) and re-joins (add, concat) after the other branch has gone
through pooling, line buffers and upsampling: the join waits for the slow branch while the
fast one keeps producing. If the fast branch's FIFO fills, the fork stalls, the slow branch
starves, and the design deadlocks. So each stream needs a FIFO as deep as the most pixels
that can be waiting on it.

We compute that from a pixel-level schedule. The input arrives at one frame per period; every
layer keeps the pace of its cycle budget (the period, or less for a low-resolution layer
folded for latency: `layer_budget`), reads input pixel i no earlier than it arrives, and
emits output pixel j once the last input pixel it needs (the layer kind's
`pixel_dependencies`) has been read. Joins read their inputs in lockstep. A layer that could
go faster than its pace stalls in hardware instead (its FIFO fills); the hardware, taking
every step as early as the FIFOs allow, is never later than a schedule that fits them, so
the depths below are deadlock-free and sustain the period. (Letting every layer run at its
own pace instead shortens nothing that matters and makes bursts that need deep FIFOs
downstream.) With that schedule,

    occupancy(stream) = max_i  #{pixels produced by the time the reader takes pixel i} - i

and a FIFO of at least that depth never blocks its producer, so the schedule (and the
frame) completes. Streams whose occupancy exceeds the small handshake buffer every
connection has get an explicit FIFO layer of that depth.

The schedule covers several frames back to back, the input arriving at one frame per period,
until the pipeline is full: when the network's latency is several periods (a layer of a low
hourglass level, folded to take the whole period for its few pixels, delays the level above
by a large part of a period), a skip link holds pixels of several frames at once. Depths
computed from one frame alone let the skip FIFO fill and the input stall, and the measured
frame period then grew to the latency (hg-hpm-tiny: 74,054 simulated cycles per frame against
12,544). Depths from the full pipeline sustain the period; their cost in block RAM is what
makes the folding (flow/planning/folding.py) fold low-resolution layers for latency, or, where even
that does not fit, feed the input at a slower pace than the slowest layer's period (the
graph's meta "frame_period"): the FIFOs then hold fewer frames.

Two things a pixel-level schedule misses where a pixel takes only a few cycles (small frames,
fast foldings), both in the layer descriptions:
- pipelines: a layer emits a pixel `pipeline_cycles` after its last input (the RTL's
  registers), and a width converter adds CONVERTER_LATENCY; at 2 cycles a pixel a join's
  short input waits whole pixels for the long one (a user network ran at 2,042 cycles a frame
  for 512 estimated, its concat's direct input without a FIFO);
- walks: a parallel sliding window steps through the padded image a pixel per cycle, so it
  reads nothing during the padding rows and sends a row's windows in a burst (`read_walk`,
  `emit_walk`); the FIFOs around it let its producer and its reader keep their pace
  meanwhile (hg-hpm-tiny's --max design ran at 2,500 cycles a frame for 2,048 estimated; with
  them, at 2,048). A graph input gets no FIFO: its DMA waits and then sends a beat a cycle.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from ..hwgraph import HwGraph
from ..hwgraph import HwNode
from ..hwgraph import HwTensor
from ..hwgraph import Transformation
from ..layers import layer_of
from ..layers.base import Resources
from ..layers.base import bitwidth
from ..layers.fifo import fifo_attrs
from ..layers.fifo import fifo_resources
from ..layers.width_converter import CONVERTER_LATENCY
from ..layers.width_converter import conversions_by_reader
from ..layers.width_converter import stream_elems
from ..layers.width_converter import width_converter_cost

# Every connection is a 2-deep handshake buffer (skid buffer) in the RTL anyway: two words.
IMPLICIT_DEPTH = 2


def implicit_words(g: HwGraph, stream: str) -> int:
    """Words a stream holds without a FIFO layer: the IMPLICIT_DEPTH of its handshake
    buffer, but one for an output of a duplicate. A duplicate offers one beat to all its
    outputs and takes the next only when every output has taken it, so an output whose
    reader waits holds that beat and stops its siblings: a residual add waiting on its
    1x1 branch, whose MVTU needs the pixel's second word from the duplicate's other output,
    deadlocked with a 2-word skip (random hourglasses 20 and 27 of
    sim/test_hourglass_period.py)."""
    p = g.producer(stream)
    return 1 if p is not None and p.kind == "duplicate" else IMPLICIT_DEPTH


def needs_fifo(g: HwGraph, stream: str, pixels: int) -> bool:
    """Whether `pixels` waiting on `stream` (the schedule's occupancy) need a FIFO: more
    than IMPLICIT_DEPTH pixels; or, into an add, more words than the stream holds by itself
    (implicit_words), where a pixel of C channels at E elements per beat is C/E words: the
    add's other input may need the whole pixel first (an MVTU reads all K inputs before its
    first output), so its skip holds that pixel. (A concat reads its inputs in turn and has
    its own rule, CONCAT_SKEW.) Counted in pixels, random hourglasses of
    sim/test_hourglass_period.py deadlocked (a 1x1 residual conv at PE 1 beside its 8-channel
    skip; a 2-channel skip holding 2 pixels). A graph input needs none: the DMA that feeds
    it is no paced producer but waits while the reader cannot take a beat and then gives one
    a cycle, so what the schedule sees waiting on it (a window walking its padding) waits in
    memory."""
    if stream in g.inputs:
        return False
    if pixels > IMPLICIT_DEPTH:
        return True
    t = g.tensors[stream]
    joins = any(c.kind == "add" for c in g.consumers(stream))
    words = pixels * -(-t.channels // stream_elems(g, stream))
    return joins and words > implicit_words(g, stream)


@dataclass
class Schedule:
    period: int                          # cycles per frame (frame_period)
    frames: int                          # frames scheduled back to back
    available: dict[str, np.ndarray]     # stream -> cycle at which each pixel is produced
    occupancy: dict[str, int]            # stream -> most pixels waiting on it
    latency: int                         # cycle at which frame 0's last output pixel is produced


def _asap(earliest: np.ndarray, steps: np.ndarray) -> np.ndarray:
    """t[i] = max(earliest[i], t[i-1] + (steps[i] - steps[i-1])), in closed form."""
    return np.maximum.accumulate(earliest - steps) + steps


def _per_frame(per_pixel: np.ndarray, frames: int, frame_step) -> np.ndarray:
    """One frame's per-pixel values repeated for `frames` frames back to back, frame f's
    shifted by f * frame_step."""
    return (per_pixel[None, :] + frame_step * np.arange(frames)[:, None]).ravel()


def most_pixels(g: HwGraph) -> int:
    """The most output pixels any layer has (latency folding's reference)."""
    return max(g.tensors[n.outputs[0]].pixels for n in g.nodes)


def layer_budget(node, g: HwGraph, period: int, slowdown: int | None,
                 most: int | None = None) -> int:
    """Cycles a layer may take per frame at frame period `period`: the period, or, with
    latency folding (flow/planning/folding.py), period * min(1, slowdown * its pixels / the most
    pixels any layer has: `most`, most_pixels(g) if not given)."""
    if slowdown is None:
        return period
    if most is None:
        most = most_pixels(g)
    px = g.tensors[node.outputs[0]].pixels
    return max(1, min(period, period * slowdown * px // most))


def frame_period(g: HwGraph) -> int:
    """Cycles per frame: the slowest layer's, or the input pace the folding chose when FIFOs
    that sustain the slowest layer's period do not fit (g.meta["frame_period"])."""
    return max(max(layer_of(n).cycles(n, g) for n in g.nodes),
               int(g.meta.get("frame_period", 0)))


def _schedule(g: HwGraph, frames: int, paced: bool = True, ideal: bool = False) -> Schedule:
    """paced: the input arrives at one frame per period and every layer keeps the pace of its
    budget (the FIFO analysis); else the input comes as fast as the port takes it (one beat
    per cycle) and every layer runs at its own speed (one frame through an idle pipeline,
    as the full-rate bench streams it). ideal: one frame through layers that take no time at
    all, every pixel emitted as soon as its inputs have arrived (time counted in input
    pixels), the least any folding can make the joins wait."""
    period = frame_period(g) if not ideal else g.tensors[g.inputs[0]].pixels
    avail: dict[str, np.ndarray] = {}
    reads: dict[str, np.ndarray] = {}
    most = most_pixels(g)
    converted = conversions_by_reader(g)
    for name in g.inputs:
        px = g.tensors[name].pixels
        per_pixel = (period / px if paced      # the DMA feeds at the frame rate
                     else g.tensors[name].channels / stream_elems(g, name))
        avail[name] = np.arange(frames * px) * per_pixel
    for node in g.nodes:
        layer = layer_of(node)
        in_px = g.tensors[node.inputs[0]].pixels
        out_px = g.tensors[node.outputs[0]].pixels
        # a layer keeps the pace of its budget (the period, or less for a layer of a low level
        # folded for latency), and takes cycles / pixels per pixel once it has its input
        cycles = layer.cycles(node, g)
        if ideal:
            pace = 0.0
        elif paced:
            pace = max(cycles, layer_budget(node, g, period, g.meta.get("slowdown"), most))
        else:
            pace = cycles
        # lockstep read of every input, each after the converter in front of it if any
        earliest = np.max([avail[i] + (CONVERTER_LATENCY if not ideal and (node.name, j)
                                       in converted else 0)
                           for j, i in enumerate(node.inputs)], axis=0)
        # the layer's own walk through its input, frame after frame, spread over its pace
        r = _asap(earliest, _per_frame(layer.read_walk(node, g), frames, 1) * pace)
        for i in node.inputs:
            reads[i] = r
        latency = cycles / out_px + layer.pipeline_cycles(node, g) if not ideal else 0.0
        # frame f's output pixel j needs frame f's input pixels: dependencies shifted per frame
        deps = [_per_frame(d, frames, in_px) for d in layer.pixel_dependencies(node, g)]
        ready = np.max([r[d] for d in deps], axis=0) + latency
        t = _asap(ready, _per_frame(layer.emit_walk(node, g), frames, 1) * pace)
        for o in node.outputs:
            avail[o] = t
    occupancy = {}
    # Ideal layers emit in bursts (a row of an upsampled branch at one instant); only what
    # was produced strictly before a read waits because of the schedule, not the burst.
    side = "left" if ideal else "right"
    for name, p in avail.items():
        if name in reads:
            produced = np.searchsorted(p, reads[name], side=side)
            occupancy[name] = int(np.max(produced - np.arange(p.size)))
    first = max(float(avail[o][g.tensors[o].pixels - 1]) for o in g.outputs)
    return Schedule(period, frames, avail, occupancy, int(np.ceil(first)))


def schedule(g: HwGraph) -> Schedule:
    """The schedule of enough frames for the pipeline to be full: one more frame than the
    first frame's latency spans periods, plus one to see that no occupancy still grows."""
    one = _schedule(g, 1)
    frames = int(np.ceil(one.latency / one.period)) + 2
    return _schedule(g, frames)


def latency_estimate(g: HwGraph) -> int:
    """Cycles from a frame's first input beat to its last output pixel, the pipeline idle
    before: the pixel-level schedule with the input offered as fast as the port takes it and
    every layer at its own speed. A model (handshakes are not in it): the --max designs for
    pynq-z2 of hg-hpm-tiny 24,669 against 20,845 simulated (+18.3 %), of hg-unet-tiny 22,168
    against 18,653 (+18.8 %). (The paced schedule above, the FIFO analysis's, spreads every layer over
    its budget and gave 170,711 for hg-hpm-tiny, 1.6 times the simulation.)"""
    return _schedule(g, 1, paced=False).latency


# Two channel slices of one stream joined again (a U-Net merge adds the halves) deliver a
# pixel's beats at different times: one slice passes the first half of every pixel while the
# other drops it. The pixel-level schedule cannot see that, and the RTL's handshake buffers
# hold a beat or two, not pixels, so a join input that comes from a channel slice gets a FIFO
# one pixel deeper than its occupancy (measured: hg-unet-tiny deadlocks without it).
JOIN_SKEW = 1

# A concat reads its inputs one after another, a pixel of each in turn, where the schedule
# reads them in lockstep. An input whose producer spreads a pixel over its whole pixel time (an
# MVTU at PE 1 emits a channel every K/SIMD cycles) then takes that whole time on top of the
# other inputs' beats: on zcu104, hg-hpm-z2's first concat (24 + 12 + 12 channels at PE 1,
# 48 cycles per pixel) took 81. A pixel more on such an input lets its producer run ahead
# while the concat reads the others; where the producer's time per pixel and the other
# inputs' beats fit the period's time per pixel anyway, it is not needed (pynq-z2's z2 design).
CONCAT_SKEW = 1


def concat_skewed(g: HwGraph, node, tensor: str, period: int) -> bool:
    """Whether concat `node` needs a pixel of slack on input `tensor` (CONCAT_SKEW)."""
    lay = layer_of(node)
    px = g.tensors[node.outputs[0]].pixels
    others = sum(g.tensors[t].channels / lay.in_elems(node, g, j)
                 for j, t in enumerate(node.inputs) if t != tensor)
    p = g.producer(tensor)
    spread = layer_of(p).cycles(p, g) / px if p is not None else 0
    return others + spread > period / px


# An upsample keeps one input row (hw/upsample.sv) and takes the next row's words only as its
# last pass over the current one finishes with them: for its `input_holdoff` cycles after a
# row's last beat it takes nothing. A producer that emits the next row meanwhile stalls, and
# an MVTU, whose only output buffer is its output register, stalls as a whole. Where the
# producer has no time to spare for that wait, the pixel schedule (an upsample at the pace of
# its producer) does not see it: random hourglass 69 of sim/test_hourglass_period.py (an
# 8-channel conv at PE 1 taking the whole period, a beat every 9 cycles, into a 2x upsample
# of a 3x2 level, 24 cycles of hold-off a row) ran at 483 cycles per frame for 432, 17 lost
# on each of the 3 rows; with a pixel of FIFO on the upsample's input, at 432.
def upsample_holdoff_pixels(g: HwGraph, node, period: int) -> int:
    """Pixels of FIFO on upsample `node`'s input that let its producer keep its pace while
    the upsample takes no input: what the producer emits in the hold-off, at its own speed;
    0 where a graph input feeds it (the DMA waits) or the producer's cycles and the hold-off
    of every row fit the period."""
    tensor = node.inputs[0]
    p = g.producer(tensor)
    if p is None:
        return 0
    hold = layer_of(node).input_holdoff(node, g)
    t = g.tensors[tensor]
    cycles = layer_of(p).cycles(p, g)
    if cycles + t.shape[0] * hold <= period:
        return 0
    return math.ceil(hold * t.pixels / max(1, cycles))


# The schedule is a pixel-level model, and optimistic at a residual join (add): where its skip
# FIFO holds just the schedule's occupancy, the join loses cycles that the schedule does not
# see. On hg-hpm-z2 for pynq-z2 (slowest layer 802,816 cycles per frame) the design ran at
# 1,057,626; found with sim/fullrate.py's stream probes and by simulating prefixes of the
# graph, the first HPM block's residual add ran at its model again with 12 more pixels on its
# skip FIFO (4 were not enough), and the whole design ran at exactly 802,816 with half an
# image row more on every FIFO into an add (as with a whole row). FIFOs into concats needed
# nothing more.
MARGIN_ROWS = 0.5


def fifo_depths(g: HwGraph) -> tuple[dict[str, int], Schedule]:
    """Streams that need more than the implicit buffer, with their depth in pixels: the
    schedule's occupancy, MARGIN_ROWS image rows more into an add, a pixel more where a
    concat would wait on a slow input or (from a channel slice) into any join, and into an
    upsample what its producer emits while the upsample takes no input."""
    s = schedule(g)
    depths = {k: v for k, v in s.occupancy.items() if needs_fifo(g, k, v)}
    for k, v in depths.items():
        # the margin is for skips of whole pixels (MARGIN_ROWS); a FIFO only for a pixel's
        # words (needs_fifo) ran at its model without it
        if v > IMPLICIT_DEPTH and any(c.kind == "add" for c in g.consumers(k)):
            depths[k] += math.ceil(MARGIN_ROWS * g.tensors[k].shape[1])
    def beyond_occupancy(stream: str, pixels: int) -> None:
        depths[stream] = max(depths.get(stream, 0), s.occupancy.get(stream, 0) + pixels)

    for n in g.nodes:
        if len(n.inputs) > 1:
            for i in n.inputs:
                p = g.producer(i)
                if p is not None and p.kind == "slice_channels":
                    beyond_occupancy(i, JOIN_SKEW)
                if n.kind == "concat" and concat_skewed(g, n, i, s.period):
                    beyond_occupancy(i, CONCAT_SKEW)
        if n.kind == "upsample":
            extra = upsample_holdoff_pixels(g, n, s.period)
            if extra:
                beyond_occupancy(n.inputs[0], extra)
    return depths, s


def planned_fifo(g: HwGraph, stream: str, depth: int, style: str | None = None) -> dict:
    """The attributes of the FIFO of `depth` pixels on `stream`: in memory `style`, by
    default in UltraRAM where the folding placed it there (g.meta["uram_fifos"],
    flow/planning/folding.py), else LUT-RAM or block RAM by size (flow/layers/fifo.py).

    Its words are as wide as the wider of the producer's and the reader's beats, so that
    the width converter between them sits on the narrow side and the FIFO takes and gives a
    whole beat per cycle. At the producer's width in front of a wider reader, the converter
    after the FIFO would give the reader its buffered pixels only at the producer's pace: a
    concat reads its inputs one after another, each within its share of a pixel's time, so
    on hg-hpm-paper for zcu104 (PE 2 concats of 128 + 64 + 64 channels whose skip inputs
    came through PE-1 FIFOs) the design ran at 1,015,808 cycles per frame; with these
    words, 868,352 (its slowest layer takes 524,288)."""
    t = g.tensors[stream]
    if style is None:
        style = "ultra" if stream in g.meta.get("uram_fifos", ()) else "auto"
    return fifo_attrs(bitwidth(g, stream), t.channels,
                      max(stream_elems(g, stream), _reader_elems(g, stream)), depth, style)


def _reader_elems(g: HwGraph, stream: str) -> int:
    """Elements per beat that the one reader of `stream` takes from it."""
    reader = g.consumers(stream)[0]
    return layer_of(reader).in_elems(reader, g, reader.inputs.index(stream))


def planned_fifo_cost(g: HwGraph, stream: str, attrs: dict) -> Resources:
    """What a FIFO with `attrs` (planned_fifo) on `stream` of a graph without FIFO layers
    costs: its own memory and logic, and the width converters its word width adds around it
    (a URAM FIFO's wide words) instead of the one between producer and reader."""
    t = g.tensors[stream]
    bits, have, pe = bitwidth(g, stream), stream_elems(g, stream), int(attrs["pe"])
    cost = fifo_resources(bits, t.channels, pe, int(attrs["depth"]), attrs["ram_style"])
    if pe != have:
        want = _reader_elems(g, stream)
        cost = (cost + width_converter_cost(bits, have, pe) + width_converter_cost(bits, pe, want)
                + _negated(width_converter_cost(bits, have, want)))
    return cost


def _negated(r: Resources) -> Resources:
    return Resources(-r.lut, -r.ff, -r.bram36, -r.dsp, -r.uram)


class InsertFIFOs(Transformation):
    """A FIFO on every stream whose depth (in pixels) is given in `depths` {stream: depth},
    with the word width and memory of planned_fifo."""

    def __init__(self, depths: dict[str, int]):
        self.depths = dict(depths)

    def apply(self, g):
        for name, depth in sorted(self.depths.items()):
            t = g.tensors[name]
            attrs = planned_fifo(g, name, depth)     # before the reader is rewired
            o = g.fresh_name(f"{name}_fifo")
            g.add_tensor(HwTensor(o, t.shape, t.dtype, t.lo, t.hi))
            for r in g.consumers(name):
                r.inputs = [o if i == name else i for i in r.inputs]
            g.add_node(HwNode(g.fresh_name(f"fifo_{name}"), "fifo", [name], [o], attrs))
        changed = bool(self.depths)
        self.depths = {}
        return changed
