"""Stream word widths and the width converters between them: the one place that decides how
many elements a stream carries per beat and where a converter goes.

A stream carries what its producer writes per beat (`stream_elems`); a graph input is sized to
its reader, so the port needs no converter. Where a reader takes a different number of
elements per beat, the RTL and HLS generators put a converter in front of it
(hw/stream_width_converter.sv, hls/stream_width_converter.hpp), exactly the ones
`width_conversions` lists. They are not graph nodes, but they cost fabric (105 of them took
4,520 LUTs of hg-hpm-z2's 53,324 on pynq-z2), so the estimate and the folding count them from
here too.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Resources
from .base import bitwidth


# Cycles a beat takes through a converter: its input register and output skid buffer
# (hw/stream_width_converter.sv).
CONVERTER_LATENCY = 2


@dataclass(frozen=True)
class WidthConversion:
    tensor: str
    reader: str        # the node that reads the converted stream
    port: int          # which of the reader's inputs
    bits: int          # bits per element
    in_elems: int      # elements per beat the producer writes
    out_elems: int     # elements per beat the reader takes


def stream_elems(g, tensor: str) -> int:
    """Elements per beat of `tensor` as its producer writes it; a graph input's port is
    sized to its reader."""
    from . import layer_of

    p = g.producer(tensor)
    if p is not None:
        return layer_of(p).out_elems(p, g)
    readers = g.consumers(tensor)
    if not readers:
        return 1
    return layer_of(readers[0]).in_elems(readers[0], g, readers[0].inputs.index(tensor))


def width_conversions(g, nodes=None) -> list[WidthConversion]:
    """Every converter the generators insert; only those in front of `nodes` if given."""
    from . import layer_of

    out = []
    for node in (g.nodes if nodes is None else nodes):
        lay = layer_of(node)
        for j, t in enumerate(node.inputs):
            have, want = stream_elems(g, t), lay.in_elems(node, g, j)
            if have != want:
                out.append(WidthConversion(t, node.name, j, bitwidth(g, t), have, want))
    return out


def conversions_by_reader(g) -> dict[tuple[str, int], WidthConversion]:
    """The converters keyed by (reader node, input position): what the generators insert."""
    return {(c.reader, c.port): c for c in width_conversions(g)}


def width_converter_cost(bits: int, in_elems: int, out_elems: int) -> Resources:
    """Fabric of one converter, by its three structures (fitted to Yosys synth_xilinx of
    hg-hpm-z2's 105 converters: gather, split and gearbox, each within about 10 %)."""
    if in_elems == out_elems:
        return Resources()
    iw, ow = in_elems * bits, out_elems * bits
    if out_elems % in_elems == 0:
        # gather R beats: load-enabled slots (a decoder LUT each) into a skid buffer
        r = out_elems // in_elems
        return Resources(lut=ow + r + 4 + math.ceil(math.log2(r)),
                         ff=(r - 1) * iw + 2 * ow + math.ceil(math.log2(r)) + 1)
    if in_elems % out_elems == 0:
        # split into R pieces: an R:1 piece mux (two inputs per LUT6 with MUXF7/8)
        r = in_elems // out_elems
        return Resources(lut=ow * (1 + math.ceil((r - 1) / 2)) + 4 + math.ceil(math.log2(r)),
                         ff=iw + 2 * ow + math.ceil(math.log2(r)) + 1)
    # gearbox: a shift register of IN + OUT + min - 1 elements with a movable landing slot
    gb = (in_elems + out_elems + min(in_elems, out_elems) - 1) * bits
    return Resources(lut=2 * gb + 16, ff=gb + 2 * ow)


def converters_cost(g, nodes=None) -> Resources:
    """All converters of the graph (or those in front of `nodes`)."""
    total = Resources()
    for c in width_conversions(g, nodes):
        total = total + width_converter_cost(c.bits, c.in_elems, c.out_elems)
    return total
