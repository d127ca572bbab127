"""Lower a FINN-ONNX graph (after ConvertQONNXtoFINN) to the hardware graph.

The idea: every tensor of the FINN graph that the accelerator carries is held by an integer
hardware stream. For each FINN tensor we track a `View`: which hardware stream holds it and
how its float value follows from the integer code there:

    value = chain( (a * code + b) / div )

where a*code + b is exact in float32 (a bipolar activation is 2*bit - 1, an XNOR dot product
is 2*popcount - K) and `chain` is the list of per-channel float nodes of the FINN graph that
came after (scales, BatchNorm, PReLU, ...). Structural nodes (Conv, MaxPool, Resize, Concat,
Add, Slice, Pad) become hardware layers on the codes. A MultiThreshold ends a chain: we run
the chain and the MultiThreshold with onnxruntime/qonnx on *every* code the stream can hold
(or bisect where there are millions) and read off exact integer thresholds
(flow/frontend/thresholds.py). So scales, BN, PReLU and requantizers are absorbed into thresholds, and
the hardware graph computes what the FINN graph computes, code for code.

Anything the hardware cannot do raises LoweringError naming the node as the user's source
graph names it (source_graph.py keeps the map from FINN's renamed nodes), and what to change.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import replace

import numpy as np
import onnx
from onnx import TensorProto
from onnx import helper
from onnx import numpy_helper

from ..hwgraph import HwGraph
from ..hwgraph import HwNode
from ..hwgraph import HwTensor
from ..layers.int_mvtu import accumulator_range
from .source_graph import RULES
from .source_graph import describe_node
from .source_graph import load_names
from .thresholds import NotMonotoneError
from .thresholds import Thresholds
from .thresholds import bisect_thresholds
from .thresholds import extract_thresholds

# Enumerate the input domain up to this many codes; bisect beyond (the 8-bit layers'
# accumulators span millions of values).
ENUMERATE_MAX = 1 << 16
ELEMENTWISE = ("Mul", "Div", "Add", "Sub", "BatchNormalization", "PRelu", "Relu",
               "LeakyRelu")
SUPPORTED = ("MultiThreshold", "Conv", "MaxPool", "Resize", "Concat", "Slice", "Pad",
             "Identity") + ELEMENTWISE


class LoweringError(ValueError):
    """A FINN graph the hardware cannot implement; the message names the node."""


@dataclass(frozen=True)
class ChainOp:
    """One per-channel float node of the FINN graph, with its constants."""
    op_type: str
    data_pos: int                      # which input is the data path
    consts: tuple                      # ((input position, np.ndarray), ...)
    attrs: tuple                       # ((name, value), ...)
    source: str                        # FINN node name, for messages

    def same_as(self, o: "ChainOp") -> bool:
        return (self.op_type == o.op_type and self.data_pos == o.data_pos
                and self.attrs == o.attrs and len(self.consts) == len(o.consts)
                and all(p == q and a.shape == b.shape and np.array_equal(a, b)
                        for (p, a), (q, b) in zip(self.consts, o.consts)))

    def positive_scalar_mul(self) -> bool:
        return (self.op_type == "Mul" and len(self.consts) == 1
                and self.consts[0][1].size == 1 and float(self.consts[0][1].ravel()[0]) > 0)


@dataclass(frozen=True)
class View:
    hw: str
    a: float = 1.0
    b: float = 0.0
    div: float = 1.0
    chain: tuple = ()
    pad: tuple | None = None           # pending Pad: (top, left, bottom, right, code)

    def exact_values(self, codes: np.ndarray) -> np.ndarray:
        return ((self.a * codes.astype(np.float64) + self.b) / self.div).astype(np.float32)

    def same_value_map(self, o: "View") -> bool:
        return (self.a == o.a and self.b == o.b and self.div == o.div
                and len(self.chain) == len(o.chain)
                and all(x.same_as(y) for x, y in zip(self.chain, o.chain)))


def dtype_for(lo: int, hi: int) -> str:
    """Smallest qonnx integer DataType holding [lo, hi]."""
    lo, hi = int(lo), int(hi)
    if lo >= 0:
        return "BINARY" if hi <= 1 else f"UINT{max(1, hi.bit_length())}"
    return f"INT{max(hi.bit_length(), (-lo - 1).bit_length()) + 1}"


class _Lowerer:
    def __init__(self, model, on_node=None):
        self.m = model                 # qonnx ModelWrapper of the FINN graph
        self.names = load_names(model)     # FINN node -> the user's source node
        self.on_node = on_node or (lambda: None)
        self.g = HwGraph()
        self.views: dict[str, View] = {}
        self.absorbed: set[str] = set()
        self.probes: dict[str, tuple] = {}
        self.opset = max((o.version for o in model.model.opset_import
                          if o.domain in ("", "ai.onnx")), default=17)
        self.counter: dict[str, int] = {}

    # -- helpers ------------------------------------------------------------------------------
    def err(self, node, msg: str) -> LoweringError:
        return LoweringError(f"{describe_node(node, self.names)}: {msg}")

    def init(self, name: str):
        return None if not name else self.m.get_initializer(name)

    def view(self, node, name: str, allow_pad: bool = False) -> View:
        if name not in self.views:
            raise self.err(node, f"input '{name}' is not a stream the hardware carries (a "
                           "constant, or produced by an unsupported node)")
        v = self.views[name]
        if v.pad is not None and not allow_pad:
            raise self.err(node, "reads a padded tensor; only a convolution may consume the "
                           "output of a Pad")
        return v

    def shape_hwc(self, name: str) -> tuple[int, int, int]:
        s = self.m.get_tensor_shape(name)
        if s is None or len(s) != 4 or s[0] != 1:
            raise LoweringError(f"tensor '{name}' has shape {s}; the hardware streams "
                                "[1, C, H, W] feature maps")
        return (int(s[2]), int(s[3]), int(s[1]))

    def new_tensor(self, base: str, shape, lo, hi) -> str:
        lo_a, hi_a = np.asarray(lo, dtype=np.int64), np.asarray(hi, dtype=np.int64)
        name = self.g.fresh_name(base)
        exact = lo_a.ndim > 0 and (lo_a.min() != lo_a.max() or hi_a.min() != hi_a.max())
        self.g.add_tensor(HwTensor(name, tuple(shape), dtype_for(lo_a.min(), hi_a.max()),
                                   lo_a if exact else None, hi_a if exact else None))
        return name

    def new_node(self, kind: str, inputs, outputs, source: str, attrs=None, arrays=None):
        i = self.counter.get(kind, 0)
        self.counter[kind] = i + 1
        attrs = dict(attrs or {})
        attrs["source"] = source
        return self.g.add_node(HwNode(f"{kind}_{i}", kind, list(inputs), list(outputs), attrs,
                                      dict(arrays or {})))

    def set_view(self, finn_name: str, v: View) -> None:
        self.views[finn_name] = v
        if not v.chain and v.pad is None:
            self.probes.setdefault(v.hw, (finn_name, v.a, v.b, v.div))

    # -- float chains -------------------------------------------------------------------------
    def eval_chain(self, chain: tuple, values: np.ndarray) -> np.ndarray:
        """Apply the FINN nodes of `chain` to float32 values [C, n] with onnxruntime."""
        if not chain:
            return values
        import onnxruntime as ort

        c, n = values.shape
        nodes, inits = [], []
        cur = "x"
        for k, op in enumerate(chain):
            ins = [None] * (1 + len(op.consts))
            ins[op.data_pos] = cur
            for pos, arr in op.consts:
                nm = f"c{k}_{pos}"
                inits.append(numpy_helper.from_array(np.asarray(arr), nm))
                ins[pos] = nm
            out = f"t{k}"
            nodes.append(helper.make_node(op.op_type, ins, [out], **dict(op.attrs)))
            cur = out
        graph = helper.make_graph(
            nodes, "chain", [helper.make_tensor_value_info("x", TensorProto.FLOAT, [1, c, n, 1])],
            [helper.make_tensor_value_info(cur, TensorProto.FLOAT, None)], initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = min(model.ir_version, 10)
        so = ort.SessionOptions()
        so.graph_optimization_level = ort.GraphOptimizationLevel.ORT_DISABLE_ALL
        sess = ort.InferenceSession(model.SerializeToString(), so,
                                    providers=["CPUExecutionProvider"])
        return sess.run(None, {"x": values.reshape(1, c, n, 1).astype(np.float32)})[0][0, :, :, 0]

    def chain_op(self, node) -> ChainOp:
        consts, data = [], []
        for pos, name in enumerate(node.input):
            if not name:
                continue
            arr = self.init(name)
            if arr is None:
                data.append(pos)
            else:
                consts.append((pos, np.asarray(arr)))
        if len(data) != 1:
            raise self.err(node, "an elementwise node needs exactly one streamed input and "
                           "constant parameters")
        attrs = tuple(sorted((a.name, helper.get_attribute_value(a)) for a in node.attribute))
        for pos, arr in consts:
            if arr.size > 1 and not (arr.ndim == 4 and arr.shape[0] == 1
                                     and arr.shape[2:] == (1, 1)) and not (
                    node.op_type == "BatchNormalization" and arr.ndim == 1):
                raise self.err(node, f"constant of shape {list(arr.shape)} is not per-channel; "
                               "the hardware folds only per-channel or scalar parameters")
        return ChainOp(node.op_type, data[0], tuple(consts), attrs, node.name)

    def thresholds_for(self, node, v: View, lo, hi, n_levels: int) -> Thresholds:
        """Exact thresholds of codes -> MultiThreshold(chain(value(code))) count."""
        from qonnx.custom_op.general.multithreshold import multithreshold

        T_mt = self.init(node.input[1])
        c = lo.size

        def f(codes: np.ndarray) -> np.ndarray:
            vals = self.eval_chain(v.chain, v.exact_values(codes))
            cnt = multithreshold(vals[None, :, :, None], T_mt)
            return np.rint(cnt[0, :, :, 0]).astype(np.int64)

        glo, ghi = int(lo.min()), int(hi.max())
        try:
            if ghi - glo + 1 <= ENUMERATE_MAX:
                dom = np.arange(glo, ghi + 1, dtype=np.int64)
                return extract_thresholds(dom, f(np.broadcast_to(dom, (c, dom.size)).copy()),
                                          0, n_levels, name=node.name)
            # Too wide to enumerate: bisect, per channel in the direction it grows, after a
            # sampled check that the function is monotone.
            sample = np.unique(np.linspace(glo, ghi, 4097).round().astype(np.int64))
            tab = f(np.broadcast_to(sample, (c, sample.size)).copy())
            steps = np.diff(tab, axis=1)
            flip = ~(steps >= 0).all(1)
            bad = flip & ~(steps <= 0).all(1)
            if bad.any():
                raise NotMonotoneError(f"channel(s) {np.flatnonzero(bad)[:8].tolist()} are not "
                                       "monotone in the accumulator")
            m = max(abs(glo), abs(ghi))
            sgn = np.where(flip, -1, 1)[:, None]
            t = bisect_thresholds(lambda x: f(sgn * x), -m, m, c, 0, n_levels)
            return Thresholds(t.thresholds, 0, flip)
        except NotMonotoneError as e:
            raise self.err(node, f"{e}; thresholds need a monotone function per channel "
                           "(keep PReLU slopes >= 0)") from None

    # -- node handlers ------------------------------------------------------------------------
    def run(self) -> HwGraph:
        from .convert import read_encoding

        gin = self.m.graph.input[0].name
        h, w, c = self.shape_hwc(gin)
        enc = read_encoding(self.m)
        if enc is None or enc.tensor != gin:
            raise LoweringError(f"the FINN graph does not say how its input '{gin}' is "
                                "encoded: convert it with flow.frontend.convert.convert_to_finn")
        # The input stream holds the codes of the source's input quantizer
        # (flow/encoding.py): the graph input is (a * code + b) / div.
        self.g.add_tensor(HwTensor("input", (h, w, c), enc.dtype))
        self.g.inputs = ["input"]
        a, b, div = enc.view()
        self.views[gin] = View("input", a=a, b=b, div=div)
        for node in self.m.graph.node:
            if node.output[0] in self.absorbed:
                continue
            if node.op_type not in SUPPORTED:
                raise self.err(node, "not supported by the hardware flow; supported ops: "
                               + ", ".join(SUPPORTED) + f" ({RULES})")
            getattr(self, f"on_{node.op_type}")(node)
            self.on_node()
        for out in self.m.graph.output:
            self.finish_output(out.name)
        self.g.meta["input_encoding"] = enc.to_dict()
        self.g.meta["quantizer_codes"] = self.quantizer_codes()
        self.g.meta["source_names"] = {k: v.describe() for k, v in self.names.items()}
        # saved with the graph, so the build can check it against FINN after every step
        self.g.meta["probes"] = {k: list(v) for k, v in self.probes.items()}
        return self.g

    def on_Identity(self, node):
        self.views[node.output[0]] = self.view(node, node.input[0], allow_pad=True)

    def _elementwise(self, node):
        v = self.view(node, next(i for i in node.input if i and self.init(i) is None))
        op = self.chain_op(node)
        # An integer offset on an exact integer tensor moves the code's offset, nothing else.
        if (node.op_type in ("Add", "Sub") and not v.chain and len(op.consts) == 1
                and op.consts[0][1].size == 1 and op.data_pos == 0):
            k = float(op.consts[0][1].ravel()[0])
            if k == round(k):
                b = v.b + (k if node.op_type == "Add" else -k) * v.div
                self.set_view(node.output[0], replace(v, b=b))
                return
        self.views[node.output[0]] = replace(v, chain=v.chain + (op,))

    on_Mul = on_Div = on_Sub = on_BatchNormalization = on_PRelu = on_Relu = \
        on_LeakyRelu = _elementwise

    def on_Add(self, node):
        """Add of a constant: elementwise; of two streams: a hardware add."""
        if any(self.init(i) is not None for i in node.input):
            return self._elementwise(node)
        va, vb = (self.view(node, i) for i in node.input)
        # same scale and chain; the offsets b may differ (they add up)
        if not (replace(va, b=0.0).same_value_map(replace(vb, b=0.0))
                and all(op.positive_scalar_mul() for op in va.chain)):
            raise self.err(node, "adds tensors of different scales; the hardware adds integer "
                           "streams of one scale (the shared residual quantizer)")
        ta, tb = self.g.tensors[va.hw], self.g.tensors[vb.hw]
        if ta.shape != tb.shape:
            raise self.err(node, f"operand shapes {ta.shape} and {tb.shape} differ")
        (la, ha), (lb, hb) = ta.code_range(), tb.code_range()
        lo, hi = int(la.min() + lb.min()), int(ha.max() + hb.max())
        out = self.new_tensor("add_out", ta.shape, lo, hi)
        self.new_node("add", [va.hw, vb.hw], [out], node.name,
                      {"out_min": lo, "out_max": hi})
        self.set_view(node.output[0], View(out, va.a, va.b + vb.b, va.div, va.chain))

    def on_MultiThreshold(self, node):
        v = self.view(node, node.input[0])
        t = self.g.tensors[v.hw]
        lo, hi = t.code_range()
        n_levels = int(self.init(node.input[1]).shape[1])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        out_scale = float(attrs.get("out_scale", 1.0))
        out_bias = float(attrs.get("out_bias", 0.0))
        if attrs.get("data_layout", b"NCHW") not in (b"NCHW", "NCHW"):
            raise self.err(node, "expects the NCHW layout FINN gives after ConvertQONNXtoFINN")
        th = self.thresholds_for(node, v, lo, hi, n_levels)
        base, out_name, a, b = 0, node.output[0], out_scale, out_bias
        # FINN writes a signed quantizer as MultiThreshold(0..2^n-1) then Add(-2^(n-1)):
        # take the offset into the unit's base so the stream carries the signed code.
        consumers = self.m.find_consumers(node.output[0]) or []
        if len(consumers) == 1 and consumers[0].op_type == "Add" and out_scale == 1.0 \
                and out_bias == 0.0:
            k = [self.init(i) for i in consumers[0].input if self.init(i) is not None]
            if len(k) == 1 and k[0].size == 1 and float(k[0].ravel()[0]) == round(
                    float(k[0].ravel()[0])):
                base = int(round(float(k[0].ravel()[0])))
                out_name = consumers[0].output[0]
                self.absorbed.add(out_name)
        out = self.new_tensor("thr_out", t.shape, base, base + n_levels)
        self.new_node("threshold", [v.hw], [out], node.name, {"base": base},
                      {"thresholds": th.thresholds, "flip": th.flip.astype(np.uint8)})
        self.set_view(node.output[0], View(out, a, b - base * a))
        if out_name != node.output[0]:          # the absorbed Add's output is the code itself
            self.set_view(out_name, View(out))

    def on_Pad(self, node):
        v = self.view(node, node.input[0])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        if attrs.get("mode", b"constant") not in (b"constant", "constant"):
            raise self.err(node, "only constant padding is supported")
        pads = self.init(node.input[1])
        value = float(self.init(node.input[2])) if len(node.input) > 2 and node.input[2] else 0.0
        if pads is None or len(pads) != 8 or any(pads[i] for i in (0, 1, 4, 5)):
            raise self.err(node, "pads must be constant and only spatial")
        code = self._pad_code(node, v, value)
        _, t, l, _, _, bt, r = (int(p) for p in pads[1:])
        self.views[node.output[0]] = replace(v, pad=(t, l, bt, r, code))

    def _pad_code(self, node, v: View, value: float) -> int:
        if not all(op.positive_scalar_mul() for op in v.chain):
            raise self.err(node, "pads a tensor that is not an integer stream times a scale")
        pre = value / float(np.prod([op.consts[0][1] for op in v.chain])) if v.chain else value
        code = (pre * v.div - v.b) / v.a
        lo, hi = self.g.tensors[v.hw].code_range()
        if code != round(code) or not lo.min() <= code <= hi.max():
            raise self.err(node, f"padding value {value:g} is not a value the padded tensor "
                           f"can hold ({self.g.tensors[v.hw].dtype} codes): "
                           + self._pad_hint(v, value, int(lo.min()), int(hi.max())))
        return int(round(code))

    def _pad_hint(self, v: View, value: float, lo: int, hi: int) -> str:
        """Which pad values work: the values of the codes nearest the one asked for."""
        scale = float(np.prod([op.consts[0][1] for op in v.chain])) if v.chain else 1.0

        def val(code: int) -> float:
            return float(scale * (v.a * code + v.b) / v.div)

        if self.g.tensors[v.hw].dtype == "BINARY":
            return ("a +-1 activation has no zero: pad binary activations with -1 "
                    "(F.pad(x, p, value=-1.0) after the sign, as the rules say) or +1")
        want = (value / scale * v.div - v.b) / v.a
        near = sorted({int(np.clip(np.floor(want), lo, hi)), int(np.clip(np.ceil(want), lo, hi))})
        z = -v.b / v.a
        zero = [int(z)] if z == round(z) and lo <= z <= hi else []
        return (f"pad with one of its values {val(lo):g}, {val(lo + 1):g}, ... {val(hi):g} "
                f"(a step of {val(lo + 1) - val(lo):g}); nearest to {value:g}: "
                + " or ".join(f"{val(c):g}" for c in near)
                + (f"; 0 is one (code {zero[0]})" if zero and value != 0 else ""))

    def on_Conv(self, node):
        v = self.view(node, node.input[0], allow_pad=True)
        W = self.init(node.input[1])
        if W is None:
            raise self.err(node, "weights must be constant")
        if len(node.input) > 2 and node.input[2]:
            # FINN's conversion extracts conv biases into an Add after the conv
            raise self.err(node, "has a bias input left after FINN's conversion; convert "
                           "with flow.frontend.convert.convert_to_finn")
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        k = int(W.shape[2])
        if W.shape[2] != W.shape[3] or attrs.get("group", 1) != 1 or \
                any(d != 1 for d in attrs.get("dilations", [1, 1])):
            raise self.err(node, f"a {W.shape[2]}x{W.shape[3]} kernel, group "
                           f"{attrs.get('group', 1)}, dilation {list(attrs.get('dilations', [1, 1]))}"
                           ": the hardware builds square kernels (1x1 to 7x7 and more), "
                           "ungrouped and undilated")
        strides = attrs.get("strides", [1, 1])
        if strides[0] != strides[1]:
            raise self.err(node, f"strides {list(strides)}: the hardware builds equal "
                           "strides in both directions")
        s = int(strides[0])
        pads = [int(p) for p in attrs.get("pads", [0, 0, 0, 0])]
        if v.pad is not None:
            if any(pads):
                raise self.err(node, "both an explicit Pad and conv padding")
            pad, pad_code = [v.pad[0], v.pad[1], v.pad[2], v.pad[3]], v.pad[4]
        else:
            pad = [pads[0], pads[1], pads[2], pads[3]]
            pad_code = self._pad_code(node, v, 0.0) if any(pad) else 0
        src = self.g.tensors[v.hw]
        cout, cin = int(W.shape[0]), int(W.shape[1])
        if cin != src.channels:
            raise self.err(node, f"weights expect {cin} input channels, stream has "
                           f"{src.channels}")
        oh, ow, _ = self.shape_hwc(node.output[0])
        x = v.hw
        if k > 1 or s > 1 or any(pad):
            lo, hi = src.code_range()
            win = self.new_tensor("swg_out", (oh, ow, k * k * cin), np.tile(lo, k * k),
                                  np.tile(hi, k * k))
            self.new_node("sliding_window", [x], [win], node.name,
                          {"kernel": k, "stride": s, "pad": pad, "pad_code": pad_code})
            x = win
        # weights in the sliding window's (ky, kx, c) order
        Wf = np.asarray(W).transpose(0, 2, 3, 1).reshape(cout, -1)
        K = Wf.shape[1]
        values = set(np.unique(Wf).tolist())
        if src.dtype == "BINARY" and (v.a, v.b, v.div) == (2.0, -1.0, 1.0) and not v.chain:
            if not values <= {-1.0, 1.0}:
                raise self.err(node, "a binary activation meets weights that are not +-1 "
                               f"(values {sorted(values)[:4]}...); binary convs need sign "
                               "weights with the scale after the conv")
            acc = self.new_tensor("popcount", (oh, ow, cout), 0, K)
            self.new_node("xnor_mvtu", [x], [acc], node.name, {},
                          {"weights": (Wf > 0).astype(np.uint8)})
            self.set_view(node.output[0], View(acc, a=2.0, b=float(-K)))
            return
        if not np.all(Wf == np.round(Wf)) or np.abs(Wf).max() > 127:
            raise self.err(node, "weights are neither +-1 (binary) nor 8-bit integers: "
                           "quantize them (QuantConv2d with a binary or an 8-bit weight "
                           "quantizer)")
        if v.b != 0 or not all(op.positive_scalar_mul() for op in v.chain):
            raise self.err(node, "an 8-bit conv whose input is not an integer stream times "
                           "one positive scale (a per-channel scale, a BN or an offset before "
                           "it): put its input quantizer right before it")
        if src.dtype == "BINARY":
            raise self.err(node, "8-bit weights on a binary stream are not supported")
        lo, hi = src.code_range()
        alo, ahi = accumulator_range(Wf, np.tile(lo, k * k), np.tile(hi, k * k))
        acc = self.new_tensor("acc", (oh, ow, cout), alo, ahi)
        self.new_node("int_mvtu", [x], [acc], node.name, {},
                      {"weights": Wf.astype(np.int8)})
        # conv(s * x) = s * conv(x): the input's scales move behind the accumulator
        a_op = ChainOp("Mul", 0, ((1, np.asarray(np.float32(v.a / v.div))),), (), node.name)
        chain = ((a_op,) if (v.a, v.div) != (1.0, 1.0) else ()) + v.chain
        self.set_view(node.output[0], View(acc, chain=chain))

    def on_MaxPool(self, node):
        v = self.view(node, node.input[0])
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        k = list(attrs.get("kernel_shape", []))
        if len(k) != 2 or k[0] != k[1] or list(attrs.get("strides", k)) != k or \
                any(attrs.get("pads", [0] * 4)) or attrs.get("ceil_mode", 0):
            raise self.err(node, "only k x k pooling with stride k and no padding")
        if v.a <= 0 or not all(op.positive_scalar_mul() for op in v.chain):
            raise self.err(node, "max-pooling needs an increasing code-to-value map")
        t = self.g.tensors[v.hw]
        oh, ow, c = self.shape_hwc(node.output[0])
        out = self.new_tensor("pool_out", (oh, ow, c), *t.code_range())
        self.new_node("maxpool", [v.hw], [out], node.name, {"kernel": int(k[0])})
        self.set_view(node.output[0], replace(v, hw=out))

    def on_Resize(self, node):
        import onnxruntime as ort

        v = self.view(node, node.input[0])
        t = self.g.tensors[v.hw]
        oh, ow, c = self.shape_hwc(node.output[0])
        f = oh // t.shape[0]
        if oh != f * t.shape[0] or ow != f * t.shape[1] or f < 1:
            raise self.err(node, f"resize {t.shape[:2]} -> {(oh, ow)} is not by an integer "
                           "factor")
        # The node must repeat pixels: check it on an index image with onnxruntime.
        idx = np.arange(t.shape[0] * t.shape[1], dtype=np.float32).reshape(1, 1, *t.shape[:2])
        ins = [helper.make_tensor_value_info("x", TensorProto.FLOAT, list(idx.shape))]
        inits = []
        names = ["x"]
        for i, nm in enumerate(node.input[1:], 1):
            arr = self.init(nm) if nm else None
            if arr is None:
                names.append("")
                continue
            if i == 2 and arr.size == 4:
                arr = np.asarray(arr, dtype=np.float32)
            elif i == 3:
                arr = np.array([1, 1, oh, ow], dtype=np.int64)
            inits.append(numpy_helper.from_array(np.asarray(arr), f"p{i}"))
            names.append(f"p{i}")
        rn = onnx.NodeProto()
        rn.CopyFrom(node)
        del rn.input[:]
        rn.input.extend(names)
        del rn.output[:]
        rn.output.append("y")
        model = helper.make_model(helper.make_graph(
            [rn], "r", ins, [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
            initializer=inits), opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = min(model.ir_version, 10)
        y = ort.InferenceSession(model.SerializeToString(),
                                 providers=["CPUExecutionProvider"]).run(None, {"x": idx})[0]
        if not np.array_equal(y[0, 0], idx[0, 0].repeat(f, 0).repeat(f, 1)):
            raise self.err(node, "is not a nearest-neighbour pixel repetition")
        out = self.new_tensor("up_out", (oh, ow, c), *t.code_range())
        self.new_node("upsample", [v.hw], [out], node.name, {"factor": f})
        self.set_view(node.output[0], replace(v, hw=out))

    def on_Concat(self, node):
        attrs = {a.name: helper.get_attribute_value(a) for a in node.attribute}
        vs = [self.view(node, i) for i in node.input]
        if attrs.get("axis") not in (1, -3):
            raise self.err(node, "only channel concatenation is supported")
        if not all(vs[0].same_value_map(x) for x in vs[1:]):
            raise self.err(node, "concatenates tensors of different scales")
        ts = [self.g.tensors[x.hw] for x in vs]
        lo = np.concatenate([t.code_range()[0] for t in ts])
        hi = np.concatenate([t.code_range()[1] for t in ts])
        oh, ow, c = self.shape_hwc(node.output[0])
        out = self.new_tensor("concat_out", (oh, ow, c), lo, hi)
        self.new_node("concat", [x.hw for x in vs], [out], node.name)
        self.set_view(node.output[0], replace(vs[0], hw=out))

    def on_Slice(self, node):
        v = self.view(node, node.input[0])
        starts, ends = self.init(node.input[1]), self.init(node.input[2])
        axes = self.init(node.input[3]) if len(node.input) > 3 and node.input[3] else None
        steps = self.init(node.input[4]) if len(node.input) > 4 and node.input[4] else None
        if starts is None or ends is None or axes is None or list(axes) not in ([1], [-3]) \
                or (steps is not None and list(steps) != [1]):
            raise self.err(node, "only a constant slice of channels with step 1")
        t = self.g.tensors[v.hw]
        start = int(starts[0])
        stop = min(int(ends[0]), t.channels)
        lo, hi = t.code_range()
        out = self.new_tensor("slice_out", (*t.shape[:2], stop - start), lo[start:stop],
                              hi[start:stop])
        self.new_node("slice_channels", [v.hw], [out], node.name,
                      {"start": start, "stop": stop})
        self.set_view(node.output[0], replace(v, hw=out))

    def affine_of(self, v: View):
        """(scale, bias) per channel with value = scale * code + bias, read off the chain
        on three codes, or None where the chain is not affine."""
        t = self.g.tensors[v.hw]
        codes = (np.array([0, 1 << 10, 1 << 9], dtype=np.int64)[None, :]
                 .repeat(t.channels, 0))
        vals = self.eval_chain(v.chain, v.exact_values(codes)).astype(np.float64)
        bias, scale = vals[:, 0], (vals[:, 1] - vals[:, 0]) / (1 << 10)
        if not np.allclose(vals[:, 2], bias + (1 << 9) * scale, rtol=1e-3,
                           atol=1e-5 * max(np.abs(vals).max(), 1e-30)):
            return None
        return scale, bias

    def finish_output(self, name: str) -> None:
        v = self.views.get(name)
        if v is None:
            raise LoweringError(f"graph output '{name}' is not computed by the hardware")
        aff = self.affine_of(v)
        if aff is None:
            raise LoweringError(f"graph output '{name}' is not an affine function of the "
                                "hardware's integer output")
        if v.hw in self.g.outputs:
            raise LoweringError(f"graph outputs '{self.g.dequant[v.hw]['source']}' and "
                                f"'{name}' are the same tensor; export it once")
        self.g.outputs.append(v.hw)
        self.g.dequant[v.hw] = {"source": name, "scale": aff[0], "bias": aff[1]}

    def quantizer_codes(self) -> dict:
        """{source quantizer output: {stream, scale, offset}} for every activation
        quantizer of the source graph whose output the hardware holds as codes (value =
        scale * code + offset per channel): where the build's source check looks for the
        first stream that differs (verify.py)."""
        from .convert import QUANT_OUTPUTS

        out = {}
        for name in json.loads(self.m.get_metadata_prop(QUANT_OUTPUTS) or "[]"):
            v = self.views.get(name)
            if v is None or v.pad is not None:
                continue
            aff = self.affine_of(v)
            if aff is not None:
                out[name] = {"stream": v.hw, "scale": aff[0].tolist(),
                             "offset": aff[1].tolist()}
        return out


def lower_to_hw(model, on_node=None) -> HwGraph:
    """The hardware graph of a FINN-ONNX model (qonnx ModelWrapper). Its meta["probes"]
    says which stream holds which FINN tensor exactly: {stream: [tensor, a, b, div]}.
    `on_node()` is called after each FINN node (progress)."""
    from qonnx.transformation.infer_shapes import InferShapes

    model = model.transform(InferShapes())
    if len(model.graph.input) != 1:
        raise LoweringError(f"the graph has {len(model.graph.input)} inputs; the accelerator "
                            "takes one image stream")
    return _Lowerer(model, on_node).run()
