"""Stream width converters: where a stream's producer writes a different number of elements per
beat than its reader takes, the RTL and HLS generators put a converter between them
(hw/stream_width_converter.sv, hls/stream_width_converter.hpp). They are not graph nodes, but
they cost fabric (105 of them took 4,520 LUTs of hg-hpm-z2's 53,324 on pynq-z2), so the
estimate and the folding count them from here.
"""
from __future__ import annotations

import math
from dataclasses import dataclass

from .base import Resources
from .base import bitwidth


@dataclass(frozen=True)
class WidthConversion:
    tensor: str
    reader: str        # the node that reads the converted stream
    bits: int          # bits per element
    in_elems: int      # elements per beat the producer writes
    out_elems: int     # elements per beat the reader takes


def width_conversions(g, nodes=None) -> list[WidthConversion]:
    """Every converter the generators insert (graph inputs are sized to their reader, so
    they need none); only those in front of `nodes` if given."""
    from . import layer_of

    out = []
    for node in (g.nodes if nodes is None else nodes):
        lay = layer_of(node)
        for j, t in enumerate(node.inputs):
            p = g.producer(t)
            if p is None:
                continue
            have, want = layer_of(p).out_elems(p, g), lay.in_elems(node, g, j)
            if have != want:
                out.append(WidthConversion(t, node.name, bitwidth(g, t), have, want))
    return out


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
