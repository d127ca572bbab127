"""Random hardware graphs for the per-layer RTL tests: `copies` independent instances of one
layer kind, each with random parameters, folding and data, side by side in one graph (one
Verilator build covers them all). Parameters are drawn within what the flow emits, and a bit
beyond (odd sizes, asymmetric padding, extreme thresholds)."""
from __future__ import annotations

import numpy as np
from qonnx.core.datatype import DataType

from flow.hwgraph import HwGraph
from flow.hwgraph import HwNode
from flow.hwgraph import HwTensor
from flow.layers import layer_of
from flow.layers.base import divisors
from flow.layers.int_mvtu import accumulator_range


def _codes(rng, dtype: str, shape) -> np.ndarray:
    dt = DataType[dtype]
    return rng.integers(int(dt.min()), int(dt.max()) + 1, size=shape, dtype=np.int64)


def _pick(rng, values):
    return values[int(rng.integers(len(values)))]


def _sorted_thresholds(rng, channels, levels, lo, hi):
    """Nondecreasing thresholds per channel, some outside [lo, hi] and some repeated."""
    T = np.sort(rng.integers(lo - 3, hi + 4, size=(channels, levels)), axis=1)
    return T.astype(np.int64)


def _uint_for(n: int) -> str:
    return f"UINT{max(1, int(n).bit_length())}"


class _Builder:
    def __init__(self, rng, frames):
        self.g = HwGraph()
        self.rng = rng
        self.frames = frames
        self.feeds: dict[str, np.ndarray] = {}

    def inp(self, name, shape, dtype):
        self.g.add_tensor(HwTensor(name, tuple(shape), dtype))
        self.g.inputs.append(name)
        self.feeds[name] = _codes(self.rng, dtype, (self.frames, *shape))
        return name

    def out(self, name, shape, dtype):
        self.g.add_tensor(HwTensor(name, tuple(shape), dtype))
        self.g.outputs.append(name)
        return name

    def node(self, name, kind, ins, outs, attrs, arrays=None):
        self.g.add_node(HwNode(name, kind, ins, outs, attrs, arrays or {}))


def _output_stage(b: _Builder, j, cout, x_lo, x_hi):
    """Random output stage: none, thresholds or the two-piece requantizer."""
    rng = b.rng
    stage = _pick(rng, ["none", "thresholds", "requant"])
    if stage == "thresholds":
        levels = _pick(rng, [1, 3, 7, 15])
        base = int(_pick(rng, [0, -(levels + 1) // 2]))
        dtype = f"INT{int(levels + 1).bit_length() + 1}" if base < 0 else _uint_for(levels)
        return dtype, {"base": base}, {
            "thresholds": _sorted_thresholds(rng, cout, levels, x_lo, x_hi),
            "flip": rng.integers(0, 2, size=cout).astype(np.int64)}
    if stage == "requant":
        return _requant(rng, cout, x_lo, x_hi)
    lo, hi = x_lo, x_hi
    return (_uint_for(hi) if lo >= 0 else f"INT{max(lo.bit_length(), hi.bit_length()) + 1}"), {}, {}


def _requant(rng, cout, x_lo, x_hi):
    """A random two-piece requantizer to int8 on accumulators in [x_lo, x_hi]: (output type,
    attrs, arrays)."""
    shift = int(rng.integers(0, 6))
    mul = rng.integers(-40, 41, size=(cout, 2))
    add = rng.integers(-3000, 3001, size=(cout, 2))
    split = rng.integers(x_lo - 2, x_hi + 3, size=cout)
    return "INT8", {"rq_shift": shift, "out_min": -128, "out_max": 127}, {
        "rq_mul": mul.astype(np.int64), "rq_add": add.astype(np.int64),
        "rq_split": split.astype(np.int64)}


def random_graph(kind: str, seed: int, copies: int = 3, frames: int = 2):
    """(graph, feeds) with `copies` random instances of `kind`."""
    rng = np.random.default_rng(seed)
    b = _Builder(rng, frames)
    for j in range(copies):
        _KIND[kind](b, j)
    b.g.topo_sort()
    b.g.check()
    for n in b.g.nodes:   # the folding drawn must be one the flow could choose
        space = layer_of(n).fold_space(n, b.g)
        for p in layer_of(n).fold_params:
            assert layer_of(n).fold(n, p) in space[p], (n.name, p)
    return b.g, b.feeds


def mixed_graph(kinds=None, seed: int = 0, copies: int = 1, frames: int = 2):
    """(graph, feeds) with `copies` random instances of each of `kinds` (default: all) side by
    side, for benches that want every module in one design."""
    rng = np.random.default_rng(seed)
    b = _Builder(rng, frames)
    j = 0
    for kind in kinds or KINDS:
        for _ in range(copies):
            _KIND[kind](b, j)
            j += 1
    b.g.topo_sort()
    b.g.check()
    return b.g, b.feeds


def _img(rng, hmax=7):
    return int(rng.integers(2, hmax + 1)), int(rng.integers(2, hmax + 1))


def _fifo(b, j):
    c = int(b.rng.integers(1, 9))
    dt = _pick(b.rng, ["BINARY", "INT8", "UINT4"])
    h, w = _img(b.rng)
    pe = _pick(b.rng, divisors(c))
    x = b.inp(f"x{j}", (h, w, c), dt)
    y = b.out(f"y{j}", (h, w, c), dt)
    b.node(f"fifo{j}", "fifo", [x], [y], {"depth": int(b.rng.integers(1, 6)), "pe": pe,
                                          "ram_style": _pick(b.rng, ["auto", "ultra"])})


def _duplicate(b, j):
    c = int(b.rng.integers(1, 9))
    dt = _pick(b.rng, ["BINARY", "INT8"])
    h, w = _img(b.rng)
    n = int(b.rng.integers(2, 4))
    x = b.inp(f"x{j}", (h, w, c), dt)
    ys = [b.out(f"y{j}_{k}", (h, w, c), dt) for k in range(n)]
    b.node(f"dup{j}", "duplicate", [x], ys, {"pe": _pick(b.rng, divisors(c))})


def _concat(b, j):
    pe = _pick(b.rng, [1, 2, 4])
    dt = _pick(b.rng, ["BINARY", "INT8"])
    h, w = _img(b.rng)
    cs = [pe * int(b.rng.integers(1, 4)) for _ in range(int(b.rng.integers(2, 4)))]
    xs = [b.inp(f"x{j}_{k}", (h, w, c), dt) for k, c in enumerate(cs)]
    y = b.out(f"y{j}", (h, w, sum(cs)), dt)
    b.node(f"concat{j}", "concat", xs, [y], {"pe": pe})


def _slice_channels(b, j):
    pe = _pick(b.rng, [1, 2, 3])
    n = int(b.rng.integers(2, 5))
    start = pe * int(b.rng.integers(0, n))
    stop = pe * int(b.rng.integers(start // pe + 1, n + 1))
    dt = _pick(b.rng, ["BINARY", "INT8"])
    h, w = _img(b.rng)
    x = b.inp(f"x{j}", (h, w, pe * n), dt)
    y = b.out(f"y{j}", (h, w, stop - start), dt)
    b.node(f"slice{j}", "slice_channels", [x], [y], {"start": start, "stop": stop, "pe": pe})


def _add(b, j):
    c = int(b.rng.integers(1, 7))
    h, w = _img(b.rng)
    da, db = _pick(b.rng, ["INT8", "INT9", "UINT4"]), _pick(b.rng, ["INT8", "INT4"])
    lo = int(DataType[da].min() + DataType[db].min())
    hi = int(DataType[da].max() + DataType[db].max())
    out_min, out_max = (-128, 127) if b.rng.random() < 0.7 else (lo, hi)
    dt = "INT8" if (out_min, out_max) == (-128, 127) else f"INT{max(lo.bit_length(), hi.bit_length()) + 1}"
    xa, xb = b.inp(f"a{j}", (h, w, c), da), b.inp(f"b{j}", (h, w, c), db)
    y = b.out(f"y{j}", (h, w, c), dt)
    b.node(f"add{j}", "add", [xa, xb], [y],
           {"out_min": out_min, "out_max": out_max, "pe": _pick(b.rng, divisors(c))})


def _maxpool(b, j):
    k = _pick(b.rng, [2, 3])
    h, w = int(b.rng.integers(k, 3 * k + 2)), int(b.rng.integers(k, 3 * k + 2))
    c = int(b.rng.integers(1, 7))
    dt = _pick(b.rng, ["INT8", "UINT4"])
    x = b.inp(f"x{j}", (h, w, c), dt)
    y = b.out(f"y{j}", (h // k, w // k, c), dt)
    b.node(f"pool{j}", "maxpool", [x], [y], {"kernel": k, "pe": _pick(b.rng, divisors(c))})


def _upsample(b, j):
    f = _pick(b.rng, [2, 3])
    h, w = _img(b.rng, 5)
    c = int(b.rng.integers(1, 7))
    dt = _pick(b.rng, ["INT8", "BINARY"])
    x = b.inp(f"x{j}", (h, w, c), dt)
    y = b.out(f"y{j}", (h * f, w * f, c), dt)
    b.node(f"up{j}", "upsample", [x], [y], {"factor": f, "pe": _pick(b.rng, divisors(c))})


def _sliding_window(b, j):
    rng = b.rng
    k = _pick(rng, [1, 2, 3, 3, 5])
    s = _pick(rng, [1, 1, 2])
    pad = [int(rng.integers(0, k)) for _ in range(4)]
    h = int(rng.integers(max(1, k - pad[0] - pad[2]), 9))
    w = int(rng.integers(max(1, k - pad[1] - pad[3]), 9))
    c = _pick(rng, [1, 2, 3, 4, 6])
    dt = _pick(rng, ["BINARY", "UINT8"])
    oh = (h + pad[0] + pad[2] - k) // s + 1
    ow = (w + pad[1] + pad[3] - k) // s + 1
    pad_code = 0 if dt == "BINARY" else int(rng.integers(0, 256))
    x = b.inp(f"x{j}", (h, w, c), dt)
    y = b.out(f"y{j}", (oh, ow, k * k * c), dt)
    # the serial form (SIMD divides C) in copy 0, the parallel one (C * P) in copy 1, either
    # in the others
    parallel = [c * p for p in divisors(k * k) if p > 1]
    use_parallel = parallel and (j == 1 or (j > 1 and rng.random() < 0.5))
    simd = _pick(rng, parallel if use_parallel else divisors(c))
    b.node(f"swg{j}", "sliding_window", [x], [y],
           {"kernel": k, "stride": s, "pad": pad, "pad_code": pad_code, "simd": simd})


def _threshold(b, j):
    rng = b.rng
    c = int(rng.integers(1, 7))
    h, w = _img(rng, 4)
    dt = _pick(rng, ["INT8", "UINT8", "INT12"])
    lo, hi = int(DataType[dt].min()), int(DataType[dt].max())
    levels = _pick(rng, [1, 1, 3, 15, 255])
    base = _pick(rng, [0, -128]) if levels == 255 else 0
    odt = ("INT8" if base else "UINT8") if levels == 255 else _uint_for(levels)
    if levels == 1 and rng.random() < 0.5:
        odt = "BINARY"
    x = b.inp(f"x{j}", (h, w, c), dt)
    y = b.out(f"y{j}", (h, w, c), odt)
    b.node(f"thr{j}", "threshold", [x], [y], {"base": base, "pe": _pick(rng, divisors(c))},
           {"thresholds": _sorted_thresholds(rng, c, levels, min(lo, -hi), max(hi, -lo)),
            "flip": rng.integers(0, 2, size=c).astype(np.int64)})


def _xnor_mvtu(b, j):
    rng = b.rng
    k = _pick(rng, [8, 9, 18, 36, 64, 72])
    cout = _pick(rng, [1, 2, 4, 6, 8])
    h, w = _img(rng, 3)
    x = b.inp(f"x{j}", (h, w, k), "BINARY")
    dt, attrs, arrays = _output_stage(b, j, cout, 0, k)
    y = b.out(f"y{j}", (h, w, cout), dt)
    b.node(f"xnor{j}", "xnor_mvtu", [x], [y],
           {**attrs, "pe": _pick(rng, divisors(cout)), "simd": _pick(rng, divisors(k))},
           {"weights": rng.integers(0, 2, size=(cout, k)).astype(np.uint8), **arrays})


def _int_mvtu(b, j):
    rng = b.rng
    k = _pick(rng, [3, 12, 27, 32])
    cout = _pick(rng, [1, 2, 4, 5])
    h, w = _img(rng, 3)
    dtin = _pick(rng, ["UINT8", "INT8"])
    x = b.inp(f"x{j}", (h, w, k), dtin)
    wts = rng.integers(-128, 128, size=(cout, k)).astype(np.int64)
    lo = np.full(k, int(DataType[dtin].min()))
    hi = np.full(k, int(DataType[dtin].max()))
    alo, ahi = accumulator_range(wts, lo, hi)
    dt, attrs, arrays = _output_stage(b, j, cout, int(alo.min()), int(ahi.max()))
    y = b.out(f"y{j}", (h, w, cout), dt)
    b.node(f"imvtu{j}", "int_mvtu", [x], [y],
           {**attrs, "pe": _pick(rng, divisors(cout)), "simd": _pick(rng, divisors(k))},
           {"weights": wts.astype(np.int8), **arrays})


_KIND = {"fifo": _fifo, "duplicate": _duplicate, "concat": _concat,
         "slice_channels": _slice_channels, "add": _add, "maxpool": _maxpool,
         "upsample": _upsample, "sliding_window": _sliding_window, "threshold": _threshold,
         "xnor_mvtu": _xnor_mvtu, "int_mvtu": _int_mvtu}
KINDS = tuple(_KIND)


def requant_layouts(seed: int = 0, frames: int = 2):
    """(graph, feeds): MVTUs with the two-piece requantizer at channel groups on both sides
    of flow/layers/requant.SEG_ADDRESS_MAX_NF, so that both parameter table layouts of
    hw/requant_unit.sv (SEG_ADDRESS 1 and 0) run: XNOR units at PE 1 and 2 (channel groups a
    power of two and not) and an 8-bit unit. Small pixels (2x2, one fold) keep them short."""
    from flow.layers.requant import SEG_ADDRESS_MAX_NF

    rng = np.random.default_rng(seed)
    b = _Builder(rng, frames)
    n = SEG_ADDRESS_MAX_NF
    for j, (kind, nf, pe) in enumerate([("xnor_mvtu", n, 1), ("xnor_mvtu", n + 1, 2),
                                        ("xnor_mvtu", 2 * n, 1), ("int_mvtu", n + 3, 1)]):
        k, cout = 9, nf * pe
        if kind == "xnor_mvtu":
            x = b.inp(f"x{j}", (2, 2, k), "BINARY")
            wts = rng.integers(0, 2, size=(cout, k)).astype(np.uint8)
            x_lo, x_hi = 0, k
        else:
            x = b.inp(f"x{j}", (2, 2, k), "INT8")
            wts = rng.integers(-128, 128, size=(cout, k)).astype(np.int64)
            alo, ahi = accumulator_range(wts, np.full(k, -128), np.full(k, 127))
            x_lo, x_hi = int(alo.min()), int(ahi.max())
            wts = wts.astype(np.int8)
        dt, attrs, arrays = _requant(rng, cout, x_lo, x_hi)
        y = b.out(f"y{j}", (2, 2, cout), dt)
        b.node(f"{kind}{j}", kind, [x], [y], {**attrs, "pe": pe, "simd": k},
               {"weights": wts, **arrays})
    b.g.topo_sort()
    b.g.check()
    return b.g, b.feeds


def wide_mvtus(seed: int = 0, frames: int = 2):
    """(graph, feeds): MVTUs whose lanes sum enough operands for registered adder-tree stages
    (hw/adder_tree.sv, flow/layers/base.sum_stages): XNOR units of 5 and 16 partial
    popcounts (the odd one out passes a level up) and 8-bit units of 27 and 4 products,
    each with two output groups and two folds, so that the accumulator restarts while the
    tree is full."""
    from flow.layers.xnor_mvtu import POPCOUNT_GROUP

    rng = np.random.default_rng(seed)
    b = _Builder(rng, frames)
    for j, (kind, operands, dtin) in enumerate([("xnor_mvtu", 5, "BINARY"),
                                                ("xnor_mvtu", 16, "BINARY"),
                                                ("int_mvtu", 27, "INT8"),
                                                ("int_mvtu", 4, "UINT8")]):
        simd = operands * POPCOUNT_GROUP if kind == "xnor_mvtu" else operands
        k, cout = 2 * simd, 4
        x = b.inp(f"x{j}", (2, 2, k), dtin)
        if kind == "xnor_mvtu":
            wts = rng.integers(0, 2, size=(cout, k)).astype(np.uint8)
            x_lo, x_hi = 0, k
        else:
            wts = rng.integers(-128, 128, size=(cout, k)).astype(np.int64)
            lo, hi = int(DataType[dtin].min()), int(DataType[dtin].max())
            alo, ahi = accumulator_range(wts, np.full(k, lo), np.full(k, hi))
            x_lo, x_hi = int(alo.min()), int(ahi.max())
            wts = wts.astype(np.int8)
        dt, attrs, arrays = _output_stage(b, j, cout, x_lo, x_hi)
        y = b.out(f"y{j}", (2, 2, cout), dt)
        b.node(f"{kind}{j}", kind, [x], [y], {**attrs, "pe": 2, "simd": simd},
               {"weights": wts, **arrays})
    b.g.topo_sort()
    b.g.check()
    return b.g, b.feeds


def uram_fifo_chain(seed: int = 0, frames: int = 2):
    """(graph, feeds): threshold (PE 1) -> a FIFO placed in UltraRAM, at the wide words the
    flow gives it (flow/layers/fifo.py: 12 two-bit values) -> maxpool (PE 3): a width
    converter on each side of the URAM FIFO, as in a built network."""
    from flow.layers.fifo import fifo_attrs

    rng = np.random.default_rng(seed)
    b = _Builder(rng, frames)
    x = b.inp("x", (6, 6, 12), "INT8")
    b.g.add_tensor(HwTensor("t", (6, 6, 12), "UINT2"))
    y = b.out("y", (3, 3, 12), "UINT2")
    b.node("thr", "threshold", [x], ["t"], {"base": 0, "pe": 1},
           {"thresholds": _sorted_thresholds(rng, 12, 3, -128, 127),
            "flip": rng.integers(0, 2, size=12).astype(np.int64)})
    b.node("fifo", "fifo", ["t"], ["t_fifo"], fifo_attrs(2, 12, 1, 7, "ultra"))
    b.g.add_tensor(HwTensor("t_fifo", (6, 6, 12), "UINT2"))
    b.node("pool", "maxpool", ["t_fifo"], [y], {"kernel": 2, "pe": 3})
    b.g.topo_sort()
    b.g.check()
    return b.g, b.feeds


# -- hourglass-shaped networks, for the frame-period tests ------------------------------------
# What the flow lowers a binarized hourglass to (flow/examples/mini_hourglass.py's hardware
# graph): an 8-bit stem (window + int_mvtu + thresholds to int8); binary convs as threshold
# (int8 -> sign) -> window -> xnor_mvtu with the int8 requantizer; max-pool or a stride-2 conv
# going down; nearest upsampling going up; skip links joined by add or concat; an 8-bit 1x1
# head. Unfolded: fold them (flow/planning/folding.py) before use.

class _Hourglass(_Builder):
    def __init__(self, rng, frames, data_rng):
        super().__init__(rng, frames)
        self.k = 0
        self.data_rng = data_rng     # the frames: the graph is the same for any count

    def inp(self, name, shape, dtype):
        self.g.add_tensor(HwTensor(name, tuple(shape), dtype))
        self.g.inputs.append(name)
        self.feeds[name] = _codes(self.data_rng, dtype, (self.frames, *shape))
        return name

    def fresh(self, stem: str) -> str:
        self.k += 1
        return f"{stem}{self.k}"

    def tensor(self, shape, dtype) -> str:
        name = self.fresh("t")
        self.g.add_tensor(HwTensor(name, tuple(shape), dtype))
        return name

    def shape(self, t):
        return self.g.tensors[t].shape

    def window(self, x, k, stride, pad_code):
        h, w, c = self.shape(x)
        p = k // 2
        oh, ow = (h + 2 * p - k) // stride + 1, (w + 2 * p - k) // stride + 1
        y = self.tensor((oh, ow, k * k * c), self.g.tensors[x].dtype)
        self.node(self.fresh("window"), "sliding_window", [x], [y],
                  {"kernel": k, "stride": stride, "pad": [p] * 4, "pad_code": pad_code})
        return y

    def binary_conv(self, x, cout, k=3, stride=1):
        """sign -> window -> XNOR conv -> int8 requantizer."""
        rng = self.rng
        h, w, c = self.shape(x)
        s = self.tensor((h, w, c), "BINARY")
        self.node(self.fresh("sign"), "threshold", [x], [s], {"base": 0},
                  {"thresholds": rng.integers(-8, 9, size=(c, 1)).astype(np.int64),
                   "flip": np.zeros(c, np.int64)})
        win = self.window(s, k, stride, 0) if k > 1 or stride > 1 else s
        kk = self.shape(win)[2]
        y = self.tensor((*self.shape(win)[:2], cout), "INT8")
        self.node(self.fresh("conv"), "xnor_mvtu", [win], [y],
                  {"rq_shift": 4, "out_min": -128, "out_max": 127},
                  {"weights": rng.integers(0, 2, size=(cout, kk)).astype(np.uint8),
                   "rq_mul": rng.integers(1, 40, size=(cout, 2)).astype(np.int64),
                   "rq_add": rng.integers(-40 * kk, 1, size=(cout, 2)).astype(np.int64),
                   "rq_split": rng.integers(0, kk + 1, size=cout).astype(np.int64)})
        return y

    def fork(self, x, n=2):
        ys = [self.tensor(self.shape(x), "INT8") for _ in range(n)]
        self.node(self.fresh("dup"), "duplicate", [x], ys, {})
        return ys

    def add(self, a, b):
        y = self.tensor(self.shape(a), "INT8")
        self.node(self.fresh("add"), "add", [a, b], [y], {"out_min": -128, "out_max": 127})
        return y

    def level(self, x, depth):
        """One hourglass level: skip | down -> convs -> (inner level) -> up; joined."""
        rng = self.rng
        h, w, c = self.shape(x)
        skip, low = self.fork(x)
        if rng.random() < 0.5:
            skip = self.binary_conv(skip, c, _pick(rng, [1, 3]))
        if rng.random() < 0.5:
            y = self.tensor((h // 2, w // 2, c), "INT8")
            self.node(self.fresh("pool"), "maxpool", [low], [y], {"kernel": 2})
            low = y
        else:
            low = self.binary_conv(low, c, 3, stride=2)
        for _ in range(int(rng.integers(1, 3))):
            if rng.random() < 0.5:                  # residual: x + conv(x)
                a, b = self.fork(low)
                low = self.add(a, self.binary_conv(b, c, _pick(rng, [1, 3, 5])))
            else:
                low = self.binary_conv(low, c, _pick(rng, [3, 5]))
        if depth > 1:
            low = self.level(low, depth - 1)
        up = self.tensor((h, w, c), "INT8")
        self.node(self.fresh("up"), "upsample", [low], [up], {"factor": 2})
        if rng.random() < 0.5:
            return self.add(skip, up)
        cat = self.tensor((h, w, 2 * c), "INT8")
        self.node(self.fresh("concat"), "concat", [skip, up], [cat], {})
        return self.binary_conv(cat, c, 1)


def hourglass_graph(seed: int = 0, frames: int = 4):
    """(graph, feeds): a random hourglass-shaped network, unfolded (every layer at its least
    parallelism): random input size and channels, stem kernel and stride, depth (1 or 2
    levels), widths, kernels (1 to 5), max-pool or stride-2 conv going down, add or concat
    joins with or without a conv on the skip, residual blocks."""
    rng = np.random.default_rng(seed)
    b = _Hourglass(rng, frames, np.random.default_rng([seed, 1]))
    depth = int(rng.integers(1, 3))
    stem_stride = _pick(rng, [1, 2])
    unit = (1 << depth) * stem_stride
    h = unit * int(rng.integers(max(1, 4 // unit), max(2, 12 // unit) + 1))
    w = unit * int(rng.integers(max(1, 4 // unit), max(2, 12 // unit) + 1))
    cin = _pick(rng, [1, 3])
    c = _pick(rng, [2, 4, 6, 8])
    x = b.inp("x", (h, w, cin), "UINT8")
    win = b.window(x, _pick(rng, [3, 5]), stem_stride, 0)
    k = b.shape(win)[2]
    wts = rng.integers(-128, 128, size=(c, k)).astype(np.int64)
    alo, ahi = accumulator_range(wts, np.zeros(k), np.full(k, 255))
    stem = b.tensor((*b.shape(win)[:2], c), "INT8")
    b.node("stem", "int_mvtu", [win], [stem], {"base": -128},
           {"weights": wts.astype(np.int8),
            "thresholds": _sorted_thresholds(rng, c, 255, int(alo.min()) // 8,
                                             int(ahi.max()) // 8),
            "flip": np.zeros(c, np.int64)})
    y = b.level(stem, depth)
    landmarks = _pick(rng, [1, 2, 3])
    out = b.out("heatmaps", (*b.shape(y)[:2], landmarks), "INT20")
    b.node("head", "int_mvtu", [y], [out], {},
           {"weights": rng.integers(-128, 128, size=(landmarks, c)).astype(np.int8)})
    b.g.topo_sort()
    b.g.check()
    return b.g, b.feeds
