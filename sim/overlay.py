"""Simulated PYNQ overlays: the part of PYNQ's API the deploy/ driver uses (`allocate`, an
overlay with an AXI DMA whose send/recv channels `transfer` and `wait`), backed by a build's
hardware instead of a board, so the driver runs end to end off the board.

    ol = GoldenOverlay(build_dir)      # the golden model of hw_graph.onnx: fast
    ol = VerilatorOverlay(build_dir)   # the build's rtl/ in Verilator: cycle-accurate, slow
    acc = Accelerator.from_deploy(build_dir / "deploy", overlay=ol, allocate=sim_allocate)

The DMA moves bytes exactly as the board's would (words of `dma_word_bytes` per beat, an S2MM
transfer ending at the TLAST of each output frame), and `wait()` raises where the board's DMA
would hang or fail.
"""
from __future__ import annotations

import json
from pathlib import Path

import numpy as np

from flow.golden import execute
from flow.hwgraph import HwGraph
from flow.backends.stream_format import pack_words
from flow.backends.stream_format import unpack_words


class SimDmaError(RuntimeError):
    """A transfer the real DMA could not complete (it would hang or be refused)."""


class SimBuffer(np.ndarray):
    """pynq.allocate's buffer, in host memory: an ndarray with the PynqBuffer methods."""

    live: set[int] = set()     # ids of buffers not yet freed, for leak checks

    def flush(self):
        pass

    def invalidate(self):
        pass

    def freebuffer(self):
        SimBuffer.live.discard(id(self))

    close = freebuffer

    @property
    def physical_address(self) -> int:
        return self.ctypes.data


def sim_allocate(shape, dtype="u4", **kwargs) -> SimBuffer:
    buf = np.zeros(shape, dtype=dtype).view(SimBuffer)
    SimBuffer.live.add(id(buf))
    return buf


class _Channel:
    def __init__(self, dma, name):
        self.dma, self.name = dma, name
        self.pending = None      # (buffer, start, nbytes) not yet moved
        self.active = False      # a transfer started and not yet waited for

    def transfer(self, array, start=0, nbytes=0):
        if id(array) not in SimBuffer.live:
            raise SimDmaError(f"{self.name}: transfer from a buffer that is not allocated")
        nbytes = nbytes or array.nbytes - start
        if nbytes > self.dma.buffer_max_size:
            raise SimDmaError(f"{self.name}: {nbytes} bytes exceed the DMA's "
                              f"{self.dma.buffer_max_size}")
        if start + nbytes > array.nbytes:
            raise SimDmaError(f"{self.name}: bytes {start}..{start + nbytes} lie beyond the "
                              f"{array.nbytes}-byte buffer")
        self.pending, self.active = (array, start, nbytes), True

    def wait(self):
        if not self.active:
            raise SimDmaError(f"{self.name}: wait() without a transfer")
        if self is self.dma.recvchannel:
            self.dma._receive()
        elif self.pending is not None:
            self.dma._consume()
        self.pending, self.active = None, False


class SimDMA:
    """Simple-mode AXI DMA: MM2S (sendchannel) feeds the accelerator, S2MM (recvchannel)
    takes its output. As on the board, an S2MM transfer ends at TLAST, i.e. after one output
    frame; the length register has 26 bits, as the block design sets."""

    buffer_max_size = (1 << 26) - 1

    def __init__(self, overlay):
        self.overlay = overlay
        self.sendchannel = _Channel(self, "sendchannel")
        self.recvchannel = _Channel(self, "recvchannel")
        self._frames: list[np.ndarray] = []     # output frames not yet received

    def _consume(self):
        """The accelerator takes what MM2S sends (frames of output queue up)."""
        src, s0, sn = self.sendchannel.pending
        data = np.frombuffer(src.tobytes(), dtype=np.uint8)[s0:s0 + sn]
        self._frames += self.overlay._process(data)
        self.sendchannel.pending = None

    def _receive(self):
        if self.sendchannel.pending is not None:
            self._consume()
        if not self._frames:
            raise SimDmaError("recvchannel.wait(): no input was sent, so no output frame "
                              "comes; the board's DMA would wait forever")
        dst, d0, dn = self.recvchannel.pending
        frame = self._frames.pop(0)
        if dn < len(frame):
            raise SimDmaError(f"recvchannel: a {dn}-byte transfer is shorter than the "
                              f"{len(frame)}-byte frame before TLAST; the board's DMA would "
                              "stop with an internal error")
        dst.view(np.uint8).reshape(-1)[d0:d0 + len(frame)] = frame


class _Overlay:
    """What both simulated overlays share: the build's config, its graph, the DMA."""

    def __init__(self, build_dir):
        d = Path(build_dir)
        self.cfg = json.loads((d / "deploy" / "accelerator.json").read_text())
        self.build_id = self.cfg["build_id"]
        self.graph = HwGraph.load(d / "hw_graph.onnx")
        self.build_dir = d
        setattr(self, self.cfg["dma"], SimDMA(self))
        # what pynq.Overlay reads from the .hwh about the DMA's streams
        self.ip_dict = {self.cfg["dma"]: {"type": "xilinx.com:ip:axi_dma:7.1", "parameters": {
            "C_M_AXIS_MM2S_TDATA_WIDTH": str(8 * self.cfg["input"]["dma_word_bytes"]),
            "C_S_AXIS_S2MM_TDATA_WIDTH": str(8 * self.cfg["output"]["dma_word_bytes"])}}}

    def _process(self, data: np.ndarray) -> list[np.ndarray]:
        """Bytes sent -> the bytes of each output frame."""
        ip, op = self.cfg["input"], self.cfg["output"]
        word = ip["dma_word_bytes"]
        frame = ip["beats_per_frame"] * word
        if len(data) % frame:
            raise SimDmaError(f"{len(data)} bytes sent are not whole frames of {frame} bytes")
        n = len(data) // frame
        codes = unpack_words(data.reshape(-1, word), (n, *ip["shape"]), ip["bits"],
                             ip["elems"], ip["signed"])
        out = self._run(codes)
        return [pack_words(f[None], op["bits"], op["elems"], op["dma_word_bytes"]).reshape(-1)
                for f in out]

    def _run(self, codes: np.ndarray) -> np.ndarray:
        raise NotImplementedError


class GoldenOverlay(_Overlay):
    """The accelerator as its golden model (flow/golden.py): the fast simulated backend."""

    def _run(self, codes):
        g = self.graph
        return execute(g, {g.inputs[0]: codes})[g.outputs[0]]


class VerilatorOverlay(_Overlay):
    """The build's rtl/ compiled by Verilator and streamed by the cocotb bench: every frame
    the driver sends goes through the cycle-accurate RTL."""

    def __init__(self, build_dir, cache=None):
        super().__init__(build_dir)
        from sim.harness import build

        self._built = build(self.graph, "accelerator", cache=cache)

    def _run(self, codes):
        from sim.harness import simulate

        g = self.graph
        r = simulate(g, {g.inputs[0]: codes}, built=self._built, tag="driver")
        return r.outputs[g.outputs[0]]
