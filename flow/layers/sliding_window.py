"""Sliding-window generator (im2col on a stream): pads, buffers k lines, emits k*k*C windows.

Output pixel (oy, ox) is the vector x[oy*s + ky - pad_top, ox*s + kx - pad_left, c] in
(ky, kx, c) order, with `pad_code` outside the image. Binary activations pad with code 0,
which is the value -1: a +-1 activation has no zero (see README, "Padding").

Folding: SIMD elements per beat. SIMD dividing C is the serial form (hw/sliding_window.sv):
SIMD channels in and out per beat, a window in k*k*C/SIMD beats. SIMD = C*P, P dividing k*k,
is the parallel form (hw/sliding_window_parallel.sv, as FINN's parallel-window generator): a
pixel in per beat, P window pixels out per beat, the whole window at P = k*k; the walk over
the padded image takes a pixel per cycle. A layer whose channels are few (the stem's 3) can
then take its window in 1 to k beats instead of k*k.
"""
from __future__ import annotations

import math

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from .base import Layer
from .base import Resources
from .base import bitwidth
from .base import divisors
from .base import memory
from .base import output_grid


# The serial form's line buffer (hw/sliding_window.sv) goes to LUT-RAM up to this many bits:
# the same limit as in its estimate below.
LINE_BUFFER_LUTRAM_BITS = 2048
# LUTs the split address saves (Yosys 0.23, z2 windows): 40-50 beside a block-RAM buffer,
# 11-22 beside a LUT-RAM one; a buffer that grows by more LUT-RAM than this keeps its rows
# back to back.
SPLIT_ADDRESS_LUTS = 12


def line_buffer_pitch(simd: int, bits: int, channels: int, width: int, kernel: int,
                      stride: int) -> int:
    """ROW_PITCH of hw/sliding_window.sv: words per row of its line buffer of kernel + stride
    rows of `width` pixels, `channels // simd` words each. The power of two at or above a
    row's words where the memory takes no more block RAM and at most SPLIT_ADDRESS_LUTS more
    LUTs: the read address is then {row slot, beat column}, without the modular sum over
    the whole buffer and the writer's address counter; else 0, rows back to back."""
    row = width * (channels // simd)
    if row < 2:
        return 0
    rows = kernel + stride
    pitch = 1 << (row - 1).bit_length()
    lines = memory(simd * bits, rows * row, lutram_max_bits=LINE_BUFFER_LUTRAM_BITS)
    split = memory(simd * bits, rows * pitch, lutram_max_bits=LINE_BUFFER_LUTRAM_BITS)
    fits = split.bram36 <= lines.bram36 and split.lut - lines.lut <= SPLIT_ADDRESS_LUTS
    return pitch if fits else 0


class SlidingWindow(Layer):
    kind = "sliding_window"
    fold_params = ("simd",)

    def execute(self, node, g, inputs):
        x = inputs[0]
        k, s = int(node.attrs["kernel"]), int(node.attrs["stride"])
        t, l, b, r = (int(v) for v in node.attrs["pad"])
        x = np.pad(x, ((0, 0), (t, b), (l, r), (0, 0)),
                   constant_values=int(node.attrs["pad_code"]))
        win = sliding_window_view(x, (k, k), axis=(1, 2))[:, ::s, ::s]   # N, OH, OW, C, ky, kx
        n, oh, ow, c = win.shape[:4]
        return [np.ascontiguousarray(win.transpose(0, 1, 2, 4, 5, 3)).reshape(n, oh, ow, -1)]

    def pixel_dependencies(self, node, g):
        k, s = int(node.attrs["kernel"]), int(node.attrs["stride"])
        top, left = int(node.attrs["pad"][0]), int(node.attrs["pad"][1])
        h = g.tensors[node.inputs[0]].shape[0]
        oy, ox, w = output_grid(node, g)
        y = oy * s + k - 1 - top
        x = ox * s + k - 1 - left
        if self.parallel(node, g):
            # the walk reaches the window's bottom-right pixel in raster order of the padded
            # image: below the image, only after the frame's last pixel
            last = np.minimum(y * w + np.minimum(x, w - 1), h * w - 1)
            return [np.where(y >= h, h * w - 1, last)]
        return [np.clip(y, 0, h - 1) * w + np.clip(x, 0, w - 1)]

    def parallel(self, node, g) -> bool:
        """The parallel form: more than a pixel's channels per output beat."""
        return self.fold(node, "simd") > g.tensors[node.inputs[0]].channels

    def in_elems(self, node, g, i=0):
        return min(self.fold(node, "simd"), g.tensors[node.inputs[0]].channels)

    def out_elems(self, node, g):
        return self.fold(node, "simd")

    def fold_space(self, node, g):
        c = g.tensors[node.inputs[0]].channels
        k = int(node.attrs["kernel"])
        serial = divisors(c)
        if k == 1 or any(int(p) >= k for p in node.attrs["pad"]):
            return {"simd": serial}
        return {"simd": serial + [c * p for p in divisors(k * k) if p > 1]}

    def _padded(self, node, g) -> tuple[int, int]:
        h, w, _ = g.tensors[node.inputs[0]].shape
        t, l, b, r = (int(v) for v in node.attrs["pad"])
        return h + t + b, w + l + r

    def cycles(self, node, g):
        if not self.parallel(node, g):
            return super().cycles(node, g)
        # a padded pixel per cycle, and where a window's beats outlast the stride's steps,
        # the walk waits for them before the next window of the row
        k, s = int(node.attrs["kernel"]), int(node.attrs["stride"])
        oh, ow, _ = g.tensors[node.outputs[0]].shape
        beats = k * k * g.tensors[node.inputs[0]].channels // self.fold(node, "simd")
        hp, wp = self._padded(node, g)
        return hp * wp + oh * (ow - 1) * max(0, beats - s)

    def read_walk(self, node, g):
        if not self.parallel(node, g):
            return super().read_walk(node, g)
        # the walk steps through the padded image a pixel per cycle and reads only inside
        # it: the rows of padding between two frames take time without reading (k7's 7x7
        # window on a 16x16 input fed at 2 cycles a pixel ran 744 cycles a frame, not 512,
        # until its producer could run ahead through them)
        h, w, _ = g.tensors[node.inputs[0]].shape
        t, left = int(node.attrs["pad"][0]), int(node.attrs["pad"][1])
        hp, wp = self._padded(node, g)
        y, x = np.divmod(np.arange(h * w), w)
        return ((y + t) * wp + x + left) / (hp * wp)

    def emit_walk(self, node, g):
        if not self.parallel(node, g):
            return super().emit_walk(node, g)
        # a window leaves where the walk reaches its bottom-right pixel: a row's windows in a
        # burst of one per step (per stride) that a slower reader takes from a FIFO, so the
        # walk does not wait on it (k7: 676 cycles a frame without, at 512 per the estimate)
        k, s = int(node.attrs["kernel"]), int(node.attrs["stride"])
        hp, wp = self._padded(node, g)
        oy, ox, _ = output_grid(node, g)
        return ((oy * s + k - 1) * wp + ox * s + k - 1) / (hp * wp)

    def pipeline_cycles(self, node, g):
        # read issue, memory read, output queue (hw/sliding_window.sv); the parallel form's
        # line-buffer read, window and hold registers (hw/sliding_window_parallel.sv)
        return 3

    def work(self, node, g):
        # Emits k*k*C values per output pixel; reading the input is never the slower side
        # for stride <= k.
        return g.tensors[node.outputs[0]].pixels * g.tensors[node.outputs[0]].channels

    def estimate(self, node, g):
        k = int(node.attrs["kernel"])
        simd = self.fold(node, "simd")
        xin = g.tensors[node.inputs[0]]
        bits = bitwidth(g, node.inputs[0])
        w = xin.shape[1] + sum(int(v) for v in node.attrs["pad"][1::2])
        if self.parallel(node, g):
            pw = xin.channels * bits
            beats = k * k * xin.channels // simd
            # k-1 line buffers of a padded row; the window and hold registers; the beat mux
            # and the output skid buffer
            lines = memory(pw, w, banks=k - 1, lutram_max_bits=2048)
            return lines + Resources(lut=60 + simd * bits * math.ceil((beats - 1) / 2)
                                     + k * k * pw // 4,
                                     ff=60 + 2 * k * k * pw + 2 * simd * bits)
        # Control: counters, the reader's and writer's distances, the read and write
        # addresses and the 3-entry output queue. They grow with the address bits of the
        # R = k + stride rows the RTL buffers, by more where rows lie back to back (a
        # modular address sum and a write address counter) than at a power-of-two pitch
        # (line_buffer_pitch); the queue and the window's beat with the beat's width.
        # Yosys 0.23 on the 20 distinct z2 windows: within 11 % each in LUTs (6,946 for
        # 6,951 over the 52), within 10 % in flip-flops (5,370 for 5,297).
        s = int(node.attrs["stride"])
        c = xin.channels
        pitch = line_buffer_pitch(simd, bits, c, xin.shape[1], k, s)
        words = (k + s) * (pitch or xin.shape[1] * c // simd)
        # the line buffer as the RTL declares it: k + stride rows of the unpadded input at
        # the pitch. It has no ram_style: Yosys put those of more than 2,048 bits (2,376
        # and up) in block RAM and those of 1,728 and less in LUT-RAM on hg-hpm-z2. (The
        # estimate counted k padded rows before: the stem's 1,152 x 24 buffer, 1.5
        # BRAM36 in Yosys, as 1.0.)
        buf = memory(simd * bits, words, lutram_max_bits=LINE_BUFFER_LUTRAM_BITS)
        aw = math.ceil(math.log2(max(2, words)))
        lut = (70 + 5 * aw if pitch else 26 + 13 * aw) + math.ceil(simd * bits * k / 2)
        ff = 38 + (11 * aw) // 2 + 3 * simd * bits + (0 if pitch else aw)
        return buf + Resources(lut=lut, ff=ff)
