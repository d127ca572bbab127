"""A FIFO of `depth` pixels between two layers; identity on the data. Skip links get deep
ones (computed by flow/planning/fifo_depths.py) so that the joins downstream cannot deadlock.

Its memory is LUT-RAM or block RAM by size, or, where the folding placed it there (node
attribute ram_style "ultra"), UltraRAM. A URAM288 is 72 bits wide whatever the stream, so a
URAM FIFO stores words of as many elements as fill it best (`uram_word_elems`; its attribute
pe), and the generators put width converters on both sides."""
from __future__ import annotations

import math

from .base import Layer
from .base import RAM_STYLES
from .base import URAM_DEPTH
from .base import URAM_WIDTH
from .base import Resources
from .base import bitwidth
from .base import divisors
from .base import memory


def uram_word_elems(bits: int, channels: int, pe: int) -> int:
    """Elements per word of a URAM FIFO on a stream of `pe` elements of `bits` per beat: the
    stream's own beat where it fills a URAM word already, else the widest whole fraction of
    a pixel that fits 72 bits (a multiple of pe where one fits as well: a cheaper converter)."""
    if pe * bits >= URAM_WIDTH:
        return pe
    fits = [d for d in divisors(channels) if d * bits <= URAM_WIDTH]
    best = max(fits)
    multiples = [d for d in fits if d % pe == 0]
    if multiples and max(multiples) * bits * 9 >= best * bits * 8:   # within 1/9 of the best
        return max(multiples)
    return best


def uram_read_latency(words: int) -> int:
    """Registers after a URAM FIFO's memory: its output register and one more per column of
    8 cascaded blocks (Vivado's default UltraRAM column height, UG949), so the cascade can be
    pipelined at the UltraScale+ boards' 200 MHz."""
    return 1 + math.ceil(math.ceil(words / URAM_DEPTH) / 8)


def fifo_words(channels: int, pe: int, depth_pixels: int) -> int:
    """Words a FIFO of `depth_pixels` pixels holds on a stream of `pe` values per word: what
    the RTL's axis_fifo DEPTH and the HLS stream depth are (at least 2, a skid buffer)."""
    return max(2, depth_pixels * -(-channels // pe))


def fifo_memory_words(width: int, words: int) -> int:
    """Words of a LUT-RAM or block-RAM FIFO's memory (hw/axis_fifo.sv, MEM_WORDS): the next
    power of two where that takes no more memory (LUT-RAM comes in 32- and 64-word LUTs,
    block RAM in 512- to 16K-word halves), so its addresses wrap without a compare; else
    `words`. The FIFO still holds `words` at most."""
    pow2 = 1 << max(0, words - 1).bit_length()
    return pow2 if memory(width, pow2) == memory(width, words) else words


def fifo_resources(bits: int, channels: int, pe: int, depth_pixels: int,
                   style: str = "auto") -> Resources:
    """A FIFO of `depth_pixels` pixels on a stream of `pe` values of `bits` per word, in
    memory `style`: hw/axis_fifo.sv with fifo_memory_words, as the FIFO layer and the MVTUs'
    read-ahead FIFO (hw/mvtu_sequencer.sv) have it."""
    width = bits * pe
    depth = fifo_words(channels, pe, depth_pixels)
    if depth <= 2:        # a skid buffer in any style (hw/axis_fifo.sv)
        return Resources(lut=width, ff=width)
    if style == "ultra":
        lat = uram_read_latency(depth)
        # pointers and flags as below, the read pipeline and its (lat + 2)-entry output
        # queue in flip-flops, and the queue's read mux
        return (memory(width, depth, style="ultra")
                + Resources(lut=40 + width * math.ceil((lat + 2) / 4),
                            ff=45 + (2 * lat + 2) * width))
    words = fifo_memory_words(width, depth)
    mem = memory(width, words)
    if words & (words - 1) == 0:
        # two pointers that wrap by themselves, the count and the flags: Yosys 0.23 gave
        # 2 LUTs per address bit and 4 more beside the memory (and its LUT-RAM read mux),
        # within 2 LUTs for 3 to 2,048 words of 8 to 256 bits (8 to 26 LUTs: 8-10 fewer
        # than with a wrap compare at 5 to 32 words); the output register, the pointers,
        # the count and two flags in flip-flops
        aw = (words - 1).bit_length()
        return mem + Resources(lut=2 * aw + 4,
                               ff=width + 2 * aw + depth.bit_length() + 2)
    # pointers and flags, and the read mux of cascaded block RAMs: Yosys found 40-55 LUTs
    # up to one BRAM36, 100 at 4.5 and 137 at 30
    return mem + Resources(lut=40 + math.ceil(20 * math.sqrt(mem.bram36)), ff=45)


def fifo_attrs(bits: int, channels: int, stream_pe: int, depth_pixels: int,
               style: str = "auto") -> dict:
    """The attributes of a FIFO node of `depth_pixels` with words of `stream_pe` elements
    (the wider of its producer's and reader's beats: flow/planning/fifo_depths.py,
    planned_fifo), in memory `style` (RAM_STYLES): UltraRAM words may be wider still."""
    if style not in RAM_STYLES:
        raise ValueError(f"ram_style '{style}' is not one of {', '.join(RAM_STYLES)}")
    pe = uram_word_elems(bits, channels, stream_pe) if style == "ultra" else stream_pe
    return {"depth": int(depth_pixels), "pe": int(pe), "ram_style": style}


class Fifo(Layer):
    kind = "fifo"
    fold_params = ()     # its word width: attribute pe, set on insertion (fifo_attrs)

    def execute(self, node, g, inputs):
        return [inputs[0]]

    def cycles(self, node, g):
        return 0   # never the bottleneck: it moves a word per cycle at any width

    def words(self, node, g) -> int:
        return fifo_words(g.tensors[node.inputs[0]].channels, self.fold(node, "pe"),
                          int(node.attrs["depth"]))

    def estimate(self, node, g):
        t = g.tensors[node.inputs[0]]
        return fifo_resources(bitwidth(g, node.inputs[0]), t.channels, self.fold(node, "pe"),
                              int(node.attrs["depth"]), ram_style(node))


def ram_style(node) -> str:
    """A FIFO node's memory style (attribute ram_style, default "auto"), checked."""
    style = node.attrs.get("ram_style", "auto")
    if style not in RAM_STYLES:
        from ..hwgraph import GraphError

        raise GraphError(f"node '{node.name}': ram_style='{style}' is not one of "
                         f"{', '.join(RAM_STYLES)}")
    return style
