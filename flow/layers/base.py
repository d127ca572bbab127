"""What every layer kind provides, and the shared cost models (memories, comparators)."""
from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass
class Resources:
    """Estimated fabric use. bram36 counts 36 Kbit block RAMs (an 18 Kbit half is 0.5),
    uram 288 Kbit UltraRAMs (UltraScale+ only)."""
    lut: int = 0
    ff: int = 0
    bram36: float = 0.0
    dsp: int = 0
    uram: int = 0

    def __add__(self, o: "Resources") -> "Resources":
        return Resources(self.lut + o.lut, self.ff + o.ff, self.bram36 + o.bram36,
                         self.dsp + o.dsp, self.uram + o.uram)

    def to_dict(self) -> dict:
        return {"lut": int(self.lut), "ff": int(self.ff), "bram36": float(self.bram36),
                "dsp": int(self.dsp), "uram": int(self.uram)}


# A memory of at most this many bits goes to LUTRAM (64 bits per LUT), as synthesis does; the
# RTL's memories state the same rule as their ram_style (hw/sdp_ram.sv).
LUTRAM_MAX_BITS = 4096
# (width, depth) shapes of one 18 Kbit block RAM half (7-series / UltraScale+); a BRAM36 is
# two of them.
BRAM18_SHAPES = ((1, 16384), (2, 8192), (4, 4096), (9, 2048), (18, 1024), (36, 512))


def lutram_luts(width: int, depth: int) -> int:
    """LUTs of a simple dual-port LUT-RAM as Yosys maps it on 7-series: RAM32M (4 LUTs, 32
    words of 6 bits) up to 32 words, else RAM64M (4 LUTs, 64 words of 3 bits) per 64 words,
    and a read mux over the 64-word chunks. Measured: a 456 x 8 FIFO takes 24 RAM64M."""
    if depth <= 32:
        return 4 * math.ceil(width / 6)
    chunks = math.ceil(depth / 64)
    return 4 * math.ceil(width / 3) * chunks + width * math.ceil((chunks - 1) / 3)


# One UltraRAM (URAM288) of UltraScale+: 4096 words of 72 bits, one shape only (UG573: no
# aspect ratios before Versal); deeper memories cascade blocks in depth, wider ones side by
# side. Its contents cannot be initialised by the bitstream (they start at zero; Yosys 0.23's
# memory library, xilinx/urams.txt, says `init zero`), so it holds RAMs (FIFOs, line
# buffers), never a weight ROM.
URAM_WIDTH, URAM_DEPTH = 72, 4096
RAM_STYLES = ("auto", "ultra")


def uram_blocks(width: int, depth: int) -> int:
    """URAM288 blocks of a `depth` x `width` memory."""
    if width <= 0 or depth <= 0:
        return 0
    return math.ceil(width / URAM_WIDTH) * math.ceil(depth / URAM_DEPTH)


def block_ram(width: int, depth: int) -> float:
    """BRAM36 of a `depth` x `width` memory, in 18 Kbit halves of the best shape."""
    halves = min(math.ceil(width / w) * math.ceil(depth / d) for w, d in BRAM18_SHAPES)
    return halves / 2


def memory(width: int, depth: int, banks: int = 1,
           lutram_max_bits: int = LUTRAM_MAX_BITS, style: str = "auto") -> Resources:
    """`banks` independent memories of `depth` words of `width` bits: LUTRAM up to
    `lutram_max_bits`, else BRAM, as synthesis maps them; style "ultra": URAM288."""
    if width <= 0 or depth <= 0 or banks <= 0:
        return Resources()
    if style == "ultra":
        return Resources(uram=banks * uram_blocks(width, depth))
    if width * depth <= lutram_max_bits:
        return Resources(lut=banks * lutram_luts(width, depth))
    return Resources(bram36=banks * block_ram(width, depth))


# Weight ROMs of at most this many bits go to LUTs (distributed ROM), larger ones to block
# RAM, unless the folding raised the limit for the graph (g.meta["rom_lut_bits"]) or placed
# a layer's ROM itself (node attribute weight_rom) to trade LUTs for block RAM. One ROM of
# PE*SIMD*bits-wide words per MVTU, as the RTL has.
ROM_LUT_BITS = 4096
ROM_STYLES = ("distributed", "block")


def weight_rom(node, g, bits: int) -> tuple[str, int, int]:
    """(style, width, depth) of an MVTU's weight ROM: style "distributed" or "block"."""
    cout, k = node.arrays["weights"].shape
    pe, simd = int(node.attrs.get("pe", 1)), int(node.attrs.get("simd", 1))
    width, depth = pe * simd * bits, (cout // pe) * (k // simd)
    placed = node.attrs.get("weight_rom")
    if placed is not None:
        if placed not in ROM_STYLES:
            from ..hwgraph import GraphError

            raise GraphError(f"node '{node.name}': weight_rom='{placed}' is not one of "
                             f"{', '.join(ROM_STYLES)}")
        return placed, width, depth
    limit = int(g.meta.get("rom_lut_bits", ROM_LUT_BITS))
    return ("distributed" if width * depth <= limit else "block"), width, depth


def rom_cost(style: str, width: int, depth: int) -> Resources:
    """A ROM in LUTs: a LUT6 holds 64 words of one bit, MUXF7/F8 join four of them and a LUT
    per four more beyond (Yosys: 64 x 512 bits in 551 LUT6s + 57 others); else block RAM."""
    if style == "block":
        return memory(width, depth) if width * depth > LUTRAM_MAX_BITS else \
            Resources(bram36=0.5)
    per_bit = math.ceil(depth / 64)
    if per_bit > 4:
        per_bit += math.ceil(per_bit / 4)
    return Resources(lut=width * per_bit, ff=width)


def comparators(bits: int, levels: int) -> int:
    """LUTs of one lane of a threshold unit (hw/threshold_unit.sv): `levels` compares of a
    `bits`-bit accumulator in parallel (the live levels: thresholds out of the accumulator's
    reach are constants) and the thermometer decode of their results. One compare takes
    about bits/2 LUTs beside its carry chain. With many levels the thresholds of a channel
    group are constants to synthesis (a ROM of at most 4 words) and the compares shrink:
    Yosys gave hg-hpm-z2's stem (111 live levels of 255 on a 21-bit accumulator, 22-bit
    compares, 6 lanes, 4 channel groups) 1,015 LUTs and 1,416 CARRY4 for its threshold unit,
    1.52 LUTs per live level and lane, about (bits + 1) / 14 (`python -m flow.measure.synth`
    on the build's RTL, per-module figures of the int_mvtu_0 instance)."""
    if levels <= 0:
        return 0
    if levels == 1:
        return max(1, math.ceil(bits / 2) + 1)
    return math.ceil(levels * (bits + 1) / 14)


def signed_bits(lo: int, hi: int) -> int:
    """Fewest two's complement bits holding every integer in [lo, hi]."""
    b = 1
    while not (-(1 << (b - 1)) <= lo and hi <= (1 << (b - 1)) - 1):
        b += 1
    return b


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def row_buffer(node, g, tensor: str) -> Resources:
    """One image row of `tensor` in `pe`-value words (pooling and upsampling keep one)."""
    t = g.tensors[tensor]
    pe = int(node.attrs.get("pe", 1))
    return memory(pe * bitwidth(g, tensor), math.ceil(t.shape[1] * t.channels / pe))


def output_grid(node, g) -> tuple[np.ndarray, np.ndarray, int]:
    """(oy, ox) of every output pixel in raster order, and the input's width."""
    oh, ow, _ = g.tensors[node.outputs[0]].shape
    oy, ox = np.divmod(np.arange(oh * ow), ow)
    return oy, ox, g.tensors[node.inputs[0]].shape[1]


def bitwidth(g, tensor: str) -> int:
    from qonnx.core.datatype import DataType

    return DataType[g.tensors[tensor].dtype].bitwidth()


class Layer:
    """A hardware layer kind. Subclasses set `kind` and `fold_params` and implement the rest.

    execute(): the exact integer semantics on NHWC int64 codes [N, H, W, C] of every input;
    returns one array per output. cycles(): cycles per frame at the node's folding (the
    initiation interval of the pipelined unit; fill latency is not counted). estimate():
    fabric use at that folding.
    """

    kind = ""
    fold_params: tuple[str, ...] = ("pe",)

    def execute(self, node, g, inputs: list[np.ndarray]) -> list[np.ndarray]:
        raise NotImplementedError

    def fold_space(self, node, g) -> dict[str, list[int]]:
        """Legal values of each folding parameter (the unfolded value is the largest)."""
        return {"pe": divisors(g.tensors[node.outputs[0]].channels)}

    def fold(self, node, name: str) -> int:
        return int(node.attrs.get(name, 1))

    def in_elems(self, node, g, i: int = 0) -> int:
        """Elements per beat on input `i` (the stream word width the hardware reads)."""
        return self.fold(node, "pe")

    def out_elems(self, node, g) -> int:
        """Elements per beat on every output."""
        return self.fold(node, "pe")

    def work(self, node, g) -> int:
        """Elements (channel values) streamed per frame by one lane; cycles = work / lanes."""
        t = g.tensors[node.outputs[0]]
        return t.pixels * t.channels

    def cycles(self, node, g) -> int:
        lanes = 1
        for p in self.fold_params:
            lanes *= self.fold(node, p)
        return math.ceil(self.work(node, g) / lanes)

    def pixel_dependencies(self, node, g) -> list[np.ndarray]:
        """Per input: for every output pixel (raster order), the index of the last input
        pixel it needs. Pixel-wise layers need the same pixel; windows and resamplers
        override this. Read by the FIFO-depth analysis."""
        n = g.tensors[node.outputs[0]].pixels
        return [np.arange(n) for _ in node.inputs]

    def read_walk(self, node, g) -> np.ndarray:
        """When the layer reads each input pixel of a frame (raster order), as a share of its
        frame time: evenly here. A layer that spends part of its frame on steps that read
        nothing (a window walking its padding) says where, so that the FIFO analysis gives
        its producer room to run ahead meanwhile. Read by the FIFO-depth analysis."""
        n = g.tensors[node.inputs[0]].pixels
        return np.arange(n) / n

    def emit_walk(self, node, g) -> np.ndarray:
        """When the layer can emit each output pixel of a frame, as a share of its frame
        time: evenly here (read_walk's counterpart for the output)."""
        n = g.tensors[node.outputs[0]].pixels
        return np.arange(n) / n

    def pipeline_cycles(self, node, g) -> int:
        """Cycles from the last input beat a pixel needs to its first output beat, beyond
        the cycles per pixel: the RTL's pipeline registers (each hw/ module's header says
        its latency). Here the output register or skid buffer of a pixel-wise module. The
        FIFO analysis adds it on every path: where a pixel takes a few cycles (a small
        frame), a join's short input waits whole pixels for the long one's pipelines."""
        return 1

    def estimate(self, node, g) -> Resources:
        bits = bitwidth(g, node.outputs[0])
        pe = self.fold(node, "pe")
        # an output register and skid buffer per stream: Yosys found 29 LUTs / 19 FFs for an
        # 8-bit add, 68 / 37 for a concat of hg-hpm-tiny
        return Resources(lut=20 + 3 * pe * bits, ff=10 + 2 * pe * bits)


def sum_stages(operands: int) -> int:
    """Registered stages of an adder tree over `operands` (hw/adder_tree.sv): a register after
    every second level of two-input adders, and at most one level left above the last one,
    which the MVTU's accumulator adds in its own cycle. So no cycle has more than two adders
    in a row. By Yosys and flow/measure/timing.py (UltraScale+ -2) on hg-hpm-paper's stem
    lane of 21 products: in one cycle 9.6 ns, 18 levels; registered so, off the unit's
    longest path (tests/test_timing.py). The written-out sum before it (a carry-save tree)
    was 7.5-7.9 ns on that network's MVTUs for the ZCU104."""
    levels = math.ceil(math.log2(operands)) if operands > 1 else 0
    return levels // 2


def adder_tree_cost(operands: int, in_bits: int, out_bits: int, stages: int) -> Resources:
    """LUTs and FFs of one adder tree (hw/adder_tree.sv): an adder of w bits is w LUTs in
    front of a carry chain; the registered levels' sums are FFs."""
    lut = ff = 0
    n, w = operands, min(in_bits, out_bits)
    level = 0
    while n > 1:
        level += 1
        pairs, n = n // 2, math.ceil(n / 2)
        w = min(w + 1, out_bits)
        lut += pairs * w
        if level % 2 == 0 and level <= 2 * stages:
            ff += n * w
    return Resources(lut=lut, ff=ff)


class MatrixVectorUnit(Layer):
    """What the XNOR and 8-bit MVTUs share: weights [C_out, K], PE output channels and SIMD
    inputs per cycle, C_out * K multiply-accumulates per output pixel."""

    fold_params = ("pe", "simd")
    weight_bits = 1

    def fold_space(self, node, g):
        cout, k = node.arrays["weights"].shape
        return {"pe": divisors(cout), "simd": divisors(k)}

    def work(self, node, g):
        cout, k = node.arrays["weights"].shape
        return g.tensors[node.outputs[0]].pixels * cout * k

    def in_elems(self, node, g, i=0):
        return self.fold(node, "simd")

    def sum_operands(self, node, g) -> int:
        """Operands of a lane's adder tree (hw/adder_tree.sv): what stage 2 registers per lane."""
        raise NotImplementedError

    def sum_stages(self, node, g) -> int:
        """Registered stages of a lane's adder tree (the RTL's SUM_STAGES)."""
        return sum_stages(self.sum_operands(node, g))

    def pipeline_cycles(self, node, g):
        # read-ahead and ROM read, stage 2 (products or partial popcounts), the adder tree's
        # stages, accumulator (hw/int_mvtu.sv, xnor_popcount_mvtu.sv), the output stage, then
        # the output queue
        from .requant import output_stage_latency

        return 4 + self.sum_stages(node, g) + output_stage_latency(node)

    def output_queue_depth(self, node, g) -> int:
        """Entries of the output queue (the RTL's OUT_QUEUE), which are the unit's credits
        (hw/mvtu_sequencer.sv): a result holds one from its group's last step to the cycle
        the consumer takes it, at least pipeline_cycles + 1 cycles, and a group is issued
        every SF cycles; one more so that a consumer taking every beat never waits."""
        sf = node.arrays["weights"].shape[1] // self.fold(node, "simd")
        return max(2, math.ceil((self.pipeline_cycles(node, g) + 1) / sf) + 1)

    def output_queue(self, node, g) -> Resources:
        """The output queue (hw/axis_output_queue.sv: LUT-RAM words of PE outputs, read
        asynchronously) and the credit counter."""
        width = self.fold(node, "pe") * bitwidth(g, node.outputs[0])
        return Resources(lut=lutram_luts(width, self.output_queue_depth(node, g)) + 12, ff=12)

    def read_ahead_words(self, node, g) -> int:
        """Words of the one-pixel read-ahead FIFO that keeps the producer streaming while
        output groups 1..NF-1 replay the vector buffer (hw/mvtu_sequencer.sv: DEPTH
        max(SF, 2)); 0 where there are no such groups and so no FIFO."""
        from .fifo import fifo_words

        cout, k = node.arrays["weights"].shape
        if cout // self.fold(node, "pe") == 1:
            return 0
        return fifo_words(k, self.fold(node, "simd"), 1)

    def input_buffers(self, node, g, bits: int) -> Resources:
        """The input vector buffer (replayed for output groups 1..NF-1) and the read-ahead
        FIFO (read_ahead_words), an axis_fifo like the FIFO layer's."""
        from .fifo import fifo_resources

        cout, k = node.arrays["weights"].shape
        simd = self.fold(node, "simd")
        buf = memory(simd * bits, k // simd)
        if self.read_ahead_words(node, g):
            buf = buf + fifo_resources(bits, k, simd, 1)
        return buf


def check_fold(layer: Layer, node, g) -> None:
    """A folding the layer cannot have (e.g. from a hand-edited checkpoint) names the node."""
    from ..hwgraph import GraphError

    space = layer.fold_space(node, g)
    for p in layer.fold_params:
        v = layer.fold(node, p)
        if v not in space[p]:
            raise GraphError(f"node '{node.name}' ({node.kind}): {p}={v} is not one of "
                             f"{space[p]}")
