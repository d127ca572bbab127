"""Sliding-window generator (im2col on a stream): pads, buffers k lines, emits k*k*C windows.

Output pixel (oy, ox) is the vector x[oy*s + ky - pad_top, ox*s + kx - pad_left, c] in
(ky, kx, c) order, with `pad_code` outside the image. Binary activations pad with code 0,
which is the value -1: a +-1 activation has no zero (see README, "Padding").
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
        y = np.clip(oy * s + k - 1 - top, 0, h - 1)
        x = np.clip(ox * s + k - 1 - left, 0, w - 1)
        return [y * w + x]

    def in_elems(self, node, g, i=0):
        return self.fold(node, "simd")

    def out_elems(self, node, g):
        return self.fold(node, "simd")

    def fold_space(self, node, g):
        return {"simd": divisors(g.tensors[node.inputs[0]].channels)}

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
        # k lines of the padded input, SIMD channels per word. The buffer has no ram_style:
        # Yosys put those of more than 2,048 bits (2,376 and up) in block RAM and those of
        # 1,728 and less in LUT-RAM on hg-hpm-z2.
        buf = memory(simd * bits, math.ceil((k * w * xin.channels) / simd),
                     lutram_max_bits=2048)
        # control, counters and the window register: 150-180 LUTs on every z2 window
        return buf + Resources(lut=150 + math.ceil(simd * bits * k / 2),
                               ff=90 + 2 * simd * bits)
