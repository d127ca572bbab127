"""The golden model checked against the graphs it comes from: FINN's graph, and the source.

1. FINN/qonnx execution of the FINN graph it was lowered from (`compare_with_finn`): every
   stream that holds a FINN tensor exactly (the lowering's probes: value = (a*code + b)/div)
   code for code; each output through its dequantization, as integers: round((finn - bias) /
   scale) must equal the golden code (the 8-bit layers accumulate exactly in hardware, while
   the FINN graph sums scaled floats). A difference is a fault of the lowering.
2. The user's source (`compare_with_source`, `compare_with_module`): the source QONNX executed
   by qonnx (onnxruntime per node), and the Brevitas module in PyTorch, on the same frames
   (the codes given to each as `InputEncoding.to_float`), every output code. Where they
   differ, the first activation quantizer of the source (in its order) whose codes differ
   from the hardware stream that holds them is named as the user named it, with the values
   there and the cause where it is known: a value within float rounding of a code's edge,
   which the source computes in float32 in another order than the hardware's exact integers
   (FINN moves a weight scale behind its conv; PyTorch sums a conv in another order than
   onnxruntime).
"""
from __future__ import annotations

import warnings
from dataclasses import dataclass
from dataclasses import field

import numpy as np

from .. import golden
from ..encoding import InputEncoding
from ..hwgraph import HwGraph


@dataclass
class Comparison:
    streams_checked: int = 0
    mismatches: list[str] = field(default_factory=list)
    outputs: dict = field(default_factory=dict)      # hw output -> golden codes [N, H, W, C]
    contexts: list = field(default_factory=list)     # FINN's full execution context per frame


def encoding_of(g: HwGraph) -> InputEncoding:
    return InputEncoding.from_dict(g.meta["input_encoding"])


def golden_frames(g: HwGraph, n: int, seed: int = 0) -> np.ndarray:
    """n random frames of input codes [N, C, H, W] (int64), uniform over the input
    quantizer's codes."""
    enc = encoding_of(g)
    lo, hi = enc.code_range
    c, h, w = enc.shape
    return np.random.default_rng(seed).integers(lo, hi + 1, (n, c, h, w), dtype=np.int64)


def execute_graph(model, floats: np.ndarray, on_frame=None) -> list[dict]:
    """qonnx execution (onnxruntime per standard node) of each frame [C, H, W] of `floats`,
    full contexts."""
    from qonnx.core.onnx_exec import execute_onnx

    iname = model.graph.input[0].name
    ctxs = []
    with warnings.catch_warnings():
        # qonnx notes that MultiThreshold outputs 0..255 under an INT8 annotation (FINN
        # writes the -128 as the next Add): expected, not an error.
        warnings.simplefilter("ignore")
        for x in floats:
            ctxs.append(execute_onnx(model, {iname: x[None].astype(np.float32)},
                                     return_full_exec_context=True))
            if on_frame:
                on_frame()
    return ctxs


def _env(g: HwGraph, codes: np.ndarray) -> dict:
    return golden.execute(g, {g.inputs[0]: golden.images_to_stream(codes)}, keep_all=True)


def compare_with_finn(g: HwGraph, model, codes: np.ndarray, on_frame=None) -> Comparison:
    res = Comparison()
    res.contexts = execute_graph(model, encoding_of(g).to_float(codes), on_frame)
    ctxs = res.contexts
    env = _env(g, codes)
    for hw, (finn_name, a, b, div) in sorted(g.meta.get("probes", {}).items()):
        if hw not in env or finn_name not in ctxs[0]:
            continue     # a stream the transformations removed
        ref = np.concatenate([c[finn_name] for c in ctxs])
        val = ((a * env[hw].astype(np.float64) + b) / div).astype(np.float32)
        res.streams_checked += 1
        if not np.array_equal(val.transpose(0, 3, 1, 2), ref):
            bad = np.mean(val.transpose(0, 3, 1, 2) != ref)
            res.mismatches.append(f"stream '{hw}' (FINN tensor '{finn_name}'): "
                                  f"{bad:.2%} of values differ")
    refs = {out: np.concatenate([c[g.dequant[out]["source"]] for c in ctxs])
            for out in g.outputs}
    for out, codes_ref in output_codes(g, refs).items():
        res.streams_checked += 1
        if not np.array_equal(codes_ref, env[out]):
            res.mismatches.append(f"output '{out}': {np.mean(codes_ref != env[out]):.2%} of "
                                  "integer outputs differ")
        res.outputs[out] = env[out]
    return res


def output_codes(g: HwGraph, refs: dict) -> dict:
    """Float outputs {hw output: [N, C, H, W]} as the integer codes the hardware streams:
    round((value - bias) / scale) per channel, [N, H, W, C]."""
    out = {}
    for name, ref in refs.items():
        dq = g.dequant[name]
        r = np.asarray(ref, np.float64).transpose(0, 2, 3, 1)
        out[name] = np.rint((r - dq["bias"]) / dq["scale"]).astype(np.int64)
    return out


@dataclass
class SourceDiff:
    """The golden model's output codes against a source's, and where they part."""
    reference: str                  # what was compared, in words
    compared: int = 0               # output codes compared
    differing: int = 0
    outputs: dict = field(default_factory=dict)   # source output -> {differing, of}
    first_node: str = ""            # the first source node whose codes differ (user's words)
    detail: str = ""                # where, the values, the cause
    # the first difference is a value within float rounding of a code's edge: what
    # --accept-rounding may accept (any other difference fails the build regardless)
    rounding_tie: bool = False

    @property
    def equal(self) -> bool:
        return self.differing == 0

    def summary(self) -> str:
        if self.equal:
            return f"{self.reference}: all {self.compared} output codes equal"
        s = (f"{self.reference}: {self.differing} of {self.compared} output codes "
             f"({self.differing / self.compared:.2%}) differ")
        if self.first_node:
            s += f"; the first node whose codes differ is {self.first_node}"
        return s + (f": {self.detail}" if self.detail else "")

    def to_dict(self) -> dict:
        return {"reference": self.reference, "compared": self.compared,
                "differing": self.differing, "equal": self.equal, "outputs": self.outputs,
                **({"first_node": self.first_node, "detail": self.detail,
                    "rounding_tie": self.rounding_tie} if not self.equal else {})}


def _compare_outputs(g: HwGraph, env: dict, refs: dict, diff: SourceDiff) -> None:
    for name, codes in output_codes(g, refs).items():
        bad = int(np.count_nonzero(codes != env[name]))
        diff.compared += codes.size
        diff.differing += bad
        diff.outputs[g.dequant[name]["source"]] = {"differing": bad, "of": int(codes.size)}


def _first_differing(g: HwGraph, env: dict, values_of) -> tuple[str, tuple, np.ndarray,
                                                                  np.ndarray] | None:
    """The first source quantizer output (the lowering's `quantizer_codes`, in source
    order) whose codes in `values_of(tensor)` ([N, C, H, W] floats, or None where unknown)
    differ from the golden stream that holds them: (tensor, first element (n, c, y, x),
    source codes, golden codes), or None."""
    for tensor, q in g.meta.get("quantizer_codes", {}).items():
        if q["stream"] not in env:
            continue
        src = values_of(tensor)
        if src is None:
            continue
        scale = np.asarray(q["scale"])[None, :, None, None]
        offset = np.asarray(q["offset"])[None, :, None, None]
        src_codes = np.rint((np.asarray(src, np.float64) - offset) / scale).astype(np.int64)
        hw = env[q["stream"]].transpose(0, 3, 1, 2)
        bad = np.argwhere(src_codes != hw)
        if len(bad):
            return tensor, tuple(int(v) for v in bad[0]), src_codes, hw
    return None


def _rounding_cause(src_model, tensor: str, where: tuple, src_ctx: dict,
                    other_ctx: dict | None, other: str) -> tuple[str, bool]:
    """Why the source quantizer writing `tensor` gives another code at `where` than the
    hardware: the value it quantizes, in the source and (where known) as `other` computes
    it, and whether it lies within float rounding of a code's edge."""
    node = src_model.find_producer(tensor)
    if node is None or node.op_type not in ("Quant", "BipolarQuant"):
        return "", False
    n, c, y, x = where
    xin = node.input[0]
    v_src = float(src_ctx[xin][0, c, y, x]) if xin in src_ctx else None
    v_oth = (float(other_ctx[xin][0, c, y, x])
             if other_ctx is not None and xin in other_ctx else None)
    at = f"frame {n}, channel {c}, pixel (y={y}, x={x})"
    if v_src is None:
        return f"at {at}", False
    if node.op_type == "BipolarQuant":
        edge, pos = 0.0, v_src
        unit = max(abs(v_src), 1e-30)
        near = abs(v_src) <= 1e-5 * max(abs(v_oth or 0.0), 1e-30) or (
            v_oth is not None and (v_src >= 0) != (v_oth >= 0))
    else:
        s = np.asarray(src_model.get_initializer(node.input[1]), np.float64).ravel()
        scale = s[c] if s.size > 1 else s[0]
        pos = v_src / scale
        edge = np.floor(pos) + 0.5
        unit = 1.0
        near = abs(pos - edge) < 1e-3
    vals = f"the value it quantizes is {v_src!r} in the source"
    if v_oth is not None:
        vals += f" and {v_oth!r} in {other}"
    if near:
        cause = (f"{vals}: within float rounding of the edge between two codes "
                 f"({pos:.7g} {'codes' if unit == 1.0 else ''}, edge {edge:g}), so the order "
                 "of the float arithmetic before it decides the code. The hardware computes "
                 "the layers before it in exact integers; make the source's arithmetic exact "
                 "too (power-of-two scales for the weights before it: binary weights +-1 or "
                 "+-2^k, FixedPoint 8-bit weight quantizers), or accept float-rounding "
                 "differences with --accept-rounding")
    else:
        cause = (f"{vals} ({pos:.7g}{' codes' if unit == 1.0 else ''}): not a rounding tie, "
                 "so the computation before it differs; check the rules for what the flow "
                 "builds (flow/README.md, 'Bring your own network')")
    return f"at {at}, {cause}", bool(near)


def compare_with_source(g: HwGraph, source_model, codes: np.ndarray, origins: dict,
                        reference: str, finn_contexts: list | None = None) -> SourceDiff:
    """The golden model against qonnx execution of the source QONNX (prepared: cleaned with
    its names kept) on the same frames. `origins` names the source's nodes
    (source_graph.tensor_origins); `finn_contexts`, when given, is FINN's execution of the
    same frames (it computes the hardware's values in float)."""
    env = _env(g, codes)
    ctxs = execute_graph(source_model, encoding_of(g).to_float(codes))
    diff = SourceDiff(reference)
    refs = {out: np.concatenate([c[g.dequant[out]["source"]] for c in ctxs])
            for out in g.outputs}
    _compare_outputs(g, env, refs, diff)
    if diff.equal:
        return diff
    first = _first_differing(g, env, lambda t: (np.concatenate([c[t] for c in ctxs])
                                               if t in ctxs[0] else None))
    if first is None:
        diff.detail = ("no quantizer before the outputs differs: the outputs' own float "
                       "computation differs from the hardware's exact one by more than half "
                       "a code")
        return diff
    tensor, (n, c, y, x), src_codes, hw = first
    o = origins.get(tensor)
    diff.first_node = o.describe() if o else f"the quantizer of '{tensor}'"
    share = np.mean(src_codes != hw)
    cause, diff.rounding_tie = _rounding_cause(source_model, tensor, (n, c, y, x), ctxs[n],
                            finn_contexts[n] if finn_contexts else None, "FINN's graph")
    diff.detail = (f"{share:.2%} of its codes differ; the first {cause} (source code "
                   f"{src_codes[n, c, y, x]}, hardware {hw[n, c, y, x]})")
    return diff


def module_outputs(module, floats: np.ndarray, paths: set[str] = frozenset()):
    """The module's outputs on each frame (a list per graph output, [N, C, H, W]) and, for
    each module path in `paths`, its (input, output) per call, frame by frame in call order:
    {path: [[(in, out), ...] per frame]}."""
    import torch

    calls: dict[str, list] = {p: [] for p in paths}
    hooks = []
    for name, m in module.named_modules():
        if name in paths:
            def hook(mod, args, out, name=name):
                if isinstance(out, torch.Tensor) and args and isinstance(args[0], torch.Tensor):
                    calls[name][-1].append((args[0].detach().numpy().copy(),
                                            out.detach().numpy().copy()))
            hooks.append(m.register_forward_hook(hook))
    outs: list[list[np.ndarray]] = []
    was = module.training
    module.eval()
    try:
        with torch.no_grad():
            for x in floats:
                for p in calls:
                    calls[p].append([])
                y = module(torch.from_numpy(x[None].astype(np.float32)))
                ys = list(y) if isinstance(y, (tuple, list)) else [y]
                outs.append([t.detach().numpy() for t in ys])
    finally:
        for h in hooks:
            h.remove()
        module.train(was)
    per_output = [np.concatenate([o[k] for o in outs]) for k in range(len(outs[0]))]
    return per_output, calls


def compare_with_module(g: HwGraph, module, codes: np.ndarray, source_model, origins: dict,
                        reference: str) -> SourceDiff:
    """The golden model against the Brevitas module in PyTorch on the same frames. Where
    they differ, the module's quantizer calls (forward hooks, matched in call order to the
    source graph's quantizer nodes of the same module path) locate the first one whose
    codes differ."""
    env = _env(g, codes)
    floats = encoding_of(g).to_float(codes)
    order = [t for t in g.meta.get("quantizer_codes", {}) if t in origins]
    paths = {origins[t].module for t in order if origins[t].module}
    outs, calls = module_outputs(module, floats, paths)
    diff = SourceDiff(reference)
    if len(outs) != len(g.outputs):
        diff.compared, diff.differing = 1, 1
        diff.detail = (f"the module returns {len(outs)} outputs, the graph has "
                       f"{len(g.outputs)}")
        return diff
    _compare_outputs(g, env, dict(zip(g.outputs, outs)), diff)
    if diff.equal:
        return diff
    # the k-th source quantizer node of a module path is the module's k-th call
    nth: dict[str, int] = {}
    call_of = {}
    for t in order:
        p = origins[t].module
        if p:
            call_of[t] = (p, nth.get(p, 0))
            nth[p] = nth.get(p, 0) + 1

    def values(t):
        if t not in call_of:
            return None
        p, k = call_of[t]
        per_frame = calls.get(p, [])
        if not per_frame or any(len(f) != nth[p] for f in per_frame):
            return None          # calls and nodes do not match one to one
        return np.concatenate([f[k][1] for f in per_frame])

    first = _first_differing(g, env, values)
    if first is None:
        diff.detail = ("no quantizer before the outputs differs: PyTorch's float output "
                       "differs from the hardware's exact one by more than half a code")
        return diff
    tensor, (n, c, y, x), src_codes, hw = first
    p, k = call_of[tensor]
    diff.first_node = (f"module '{p}' (call {k + 1} of {nth[p]}; node "
                       f"{origins[tensor].describe()} of its QONNX export)")
    xin = calls[p][n][k][0][0, c, y, x]
    node = source_model.find_producer(tensor)
    detail = f"{np.mean(src_codes != hw):.2%} of its codes differ"
    if node is not None and node.op_type == "Quant":
        s = np.asarray(source_model.get_initializer(node.input[1]), np.float64).ravel()
        pos = float(xin) / (s[c] if s.size > 1 else s[0])
        tie = abs(pos - (np.floor(pos) + 0.5)) < 1e-3
        diff.rounding_tie = bool(tie)
        detail += (f"; the first at frame {n}, channel {c}, pixel (y={y}, x={x}): PyTorch "
                   f"quantizes {float(xin)!r} ({pos:.7g} codes) to {src_codes[n, c, y, x]}, "
                   f"the hardware has {hw[n, c, y, x]}"
                   + (": within float rounding of the edge between two codes, so PyTorch's "
                      "order of float arithmetic decides (it sums convolutions and applies "
                      "BatchNorm in another order than onnxruntime and the hardware's exact "
                      "integers); make the arithmetic before it exact (power-of-two weight "
                      "scales, no float op between a conv and its requantizer but PReLU / "
                      "ReLU), or accept float-rounding differences with --accept-rounding"
                      if tie else ""))
    diff.detail = detail
    return diff
