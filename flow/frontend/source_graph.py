"""The user's source graph, in the user's words.

Every message of the flow names a node as it is in the user's QONNX (what Netron shows them)
and, for a Brevitas export, the module it came from ('hg.low1.conv'), never the `Conv_3` or
`MultiThreshold_4` that FINN's conversion and `GiveUniqueNodeNames` make of it.

`prepare_source` cleans a QONNX graph as qonnx's `cleanup_model` does (shapes, constants,
unused tensors) but keeps the tensor and node names; FINN's conversion keeps the tensor names
of the quantizer outputs, convolutions and joins, so a FINN node is traced back to the source
node by the tensors around it (`name_finn_nodes`). The map is stored in the FINN graph's
metadata (`SOURCE_NAMES`), so checkpoints keep it.
"""
from __future__ import annotations

import json
from dataclasses import asdict
from dataclasses import dataclass

SOURCE_NAMES = "binhg_source_names"        # metadata of the FINN graph: {FINN node: origin}
QONNX_DOMAIN = "qonnx.custom_op.general"
QUANT_OPS = ("Quant", "BipolarQuant", "Trunc")
# Brevitas' export scopes below a module: the quantizer proxies, not modules a user wrote.
_PROXY_SCOPES = ("act_quant", "weight_quant", "bias_quant", "input_quant", "output_quant",
                 "export_handler")


@dataclass(frozen=True)
class Origin:
    """A node of the user's source graph: its name, op type and (Brevitas) module path."""
    node: str
    op: str
    module: str = ""

    def describe(self) -> str:
        mod = f", module '{self.module}'" if self.module else ""
        return f"'{self.node}' ({self.op}{mod})"


def module_path(node) -> str:
    """The nn.Module a Brevitas / torch.onnx export made `node` from: the dynamo exporter's
    name scopes ("pkg.torch.onnx.name_scopes"), or a TorchScript-style name '/hg/low1/Conv'."""
    meta = {p.key: p.value for p in node.metadata_props}
    scopes = meta.get("pkg.torch.onnx.name_scopes")
    if scopes:
        try:
            parts = [s for s in json.loads(scopes.replace("'", '"')) if s]
        except ValueError:
            parts = []
        # the last scope is the fx node itself; below a module, drop the quant proxies
        mods = [p for p in parts[:-1]
                if not any(seg in _PROXY_SCOPES for seg in p.split("."))]
        return mods[-1] if mods else ""
    if node.name.startswith("/") and node.name.count("/") >= 2:
        return ".".join(s for s in node.name.split("/")[1:-1] if s)
    return ""


def prepare_source(model):
    """The QONNX graph cleaned as qonnx's cleanup_model cleans it, with the names kept:
    quantizer domains fixed, shapes inferred, constants folded (not the quantizers), unused
    tensors and static inputs removed. Nodes without a name get '<op>_<first output>'."""
    from qonnx.transformation.fold_constants import FoldConstants
    from qonnx.transformation.general import GiveUniqueParameterTensors
    from qonnx.transformation.general import RemoveStaticGraphInputs
    from qonnx.transformation.general import RemoveUnusedTensors
    from qonnx.transformation.infer_shapes import InferShapes
    from qonnx.transformation.quant_constant_folding import FoldTransposeIntoQuantInit

    for node in model.graph.node:
        if node.op_type in QUANT_OPS:
            node.domain = QONNX_DOMAIN
    for t in (InferShapes(), GiveUniqueParameterTensors(),
              FoldConstants(exclude_op_types=["Quant", "BipolarQuant", "QuantizeLinear",
                                              "DequantizeLinear"]),
              FoldTransposeIntoQuantInit(), RemoveUnusedTensors(), RemoveStaticGraphInputs(),
              InferShapes()):
        model = model.transform(t)
    taken = {n.name for n in model.graph.node if n.name}
    for node in model.graph.node:
        if not node.name:
            name, k = f"{node.op_type}_{node.output[0]}", 1
            while name in taken:
                name, k = f"{node.op_type}_{node.output[0]}_{k}", k + 1
            node.name = name
            taken.add(name)
    return model


def tensor_origins(model) -> dict[str, Origin]:
    """{tensor: the source node that computes it} for every node output of `model`."""
    return {o: Origin(n.name or n.op_type, n.op_type, module_path(n))
            for n in model.graph.node for o in n.output if o}


def name_finn_nodes(finn_model, origins: dict[str, Origin]) -> dict[str, Origin]:
    """{FINN node name: source node} for the FINN graph's nodes: by a tensor the node
    writes that the source graph has; else by the first such tensor downstream (a
    MultiThreshold writes through an Add and a Mul into its quantizer's output) or upstream
    (a scale FINN moved behind a conv reads the conv's output)."""
    out: dict[str, Origin] = {}
    for node in finn_model.graph.node:
        found = _walk(finn_model, node, origins, downstream=True) or \
            _walk(finn_model, node, origins, downstream=False)
        if found is not None:
            out[node.name] = found
    return out


def _walk(model, node, origins, downstream: bool, depth: int = 4):
    frontier = [node]
    for _ in range(depth):
        nxt = []
        for n in frontier:
            names = n.output if downstream else n.input
            for t in names:
                if t in origins:
                    return origins[t]
            for t in names:
                if downstream:
                    nxt += model.find_consumers(t) or []
                else:
                    p = model.find_producer(t)
                    if p is not None:
                        nxt.append(p)
        frontier = nxt
    return None


def save_names(finn_model, names: dict[str, Origin]) -> None:
    finn_model.set_metadata_prop(SOURCE_NAMES, json.dumps(
        {k: asdict(v) for k, v in names.items()}))


def load_names(model) -> dict[str, Origin]:
    """The map `save_names` stored in a FINN graph (empty for a graph without one)."""
    raw = model.get_metadata_prop(SOURCE_NAMES)
    return {k: Origin(**v) for k, v in json.loads(raw).items()} if raw else {}


def describe_node(node, names: dict[str, Origin]) -> str:
    """How a message names a FINN node: as the user's source node where known (and what
    FINN made of it, where that is another op: a quantizer becomes a MultiThreshold)."""
    o = names.get(node.name)
    if o is not None:
        made = f" as FINN's {node.op_type}" if node.op_type != o.op else ""
        return f"node {o.describe()}{made}"
    return f"node '{node.name or node.output[0]}' ({node.op_type})"


class ConversionError(ValueError):
    """A source graph the flow cannot take; the message names the node as the user named it
    and says what to change."""


# where a message sends the user for the rules
RULES = "flow/README.md, 'Bring your own network'"
PRE_OPS = ("Mul", "Div", "Add", "Sub")


def _scalar_const(model, node) -> tuple[int, float] | None:
    """(data input position, constant) of a node with one streamed input and one constant
    scalar, else None."""
    ins = [(i, model.get_initializer(t)) for i, t in enumerate(node.input)]
    data = [i for i, c in ins if c is None]
    consts = [c for _, c in ins if c is not None]
    if len(data) != 1 or len(consts) != 1 or consts[0].size != 1:
        return None
    return data[0], float(consts[0].ravel()[0])


def _attrs(node) -> dict:
    from onnx import helper

    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


def read_input_encoding(model, origins: dict[str, Origin]):
    """The InputEncoding (flow/encoding.py) of a prepared source graph: its one image input,
    the scalar pre-processing (Mul/Div/Add/Sub) and the quantizer that follows. Refuses,
    naming the node, an input the hardware cannot stream as integer codes."""
    from ..encoding import InputEncoding
    from ..encoding import ROUNDING_MODES
    from .convert import MAX_ACTIVATION_BITS

    inits = {i.name for i in model.graph.initializer}
    inputs = [i.name for i in model.graph.input if i.name not in inits]
    if len(inputs) != 1:
        raise ConversionError(f"the graph has {len(inputs)} inputs ({', '.join(inputs)}); the "
                              "accelerator takes one image stream")
    x = inputs[0]
    shape = model.get_tensor_shape(x)
    if shape is None or len(shape) != 4 or shape[0] != 1 or min(shape) < 1:
        raise ConversionError(f"graph input '{x}' has shape {shape}; the accelerator streams "
                              "one image [1, C, H, W] at a time (export with a batch of 1)")
    t, pre = x, []
    while True:
        readers = model.find_consumers(t) or []
        if len(readers) != 1:
            what = (", ".join(origins[r.output[0]].describe() for r in readers) if readers
                    else "nothing")
            raise ConversionError(f"graph input '{x}' is read by {what}; the hardware streams "
                                  "the codes of one input quantizer: quantize the input once, "
                                  "first (e.g. QuantIdentity(act_quant=Uint8ActPerTensorFixed"
                                  f"Point)); {RULES}")
        node = readers[0]
        sc = _scalar_const(model, node) if node.op_type in PRE_OPS else None
        if sc is None or (node.op_type in ("Div", "Sub") and sc[0] != 0):
            break
        pre.append((node.op_type, sc[1]))
        t = node.output[0]
    where = origins[node.output[0]].describe()
    if node.op_type not in ("Quant", "BipolarQuant"):
        raise ConversionError(
            f"graph input '{x}' goes unquantized into node {where}: the accelerator streams "
            "integer codes, so the first node must quantize the input (e.g. QuantIdentity("
            f"act_quant=Uint8ActPerTensorFixedPoint) before the first conv); {RULES}")
    scale = model.get_initializer(node.input[1])
    if scale is None or scale.size != 1:
        raise ConversionError(
            f"the input quantizer {where} has a {'non-constant' if scale is None else 'per-channel'}"
            " scale: the first layer multiplies the codes of one scale; use a per-tensor "
            "input quantizer")
    c, h, w = (int(v) for v in shape[1:])
    if node.op_type == "BipolarQuant":
        return _checked(InputEncoding(x, (c, h, w), origins[node.output[0]].node, 1, True,
                                      False, True, float(scale.ravel()[0]), 0.0, "ROUND",
                                      tuple(pre)), where)
    zp, bits = model.get_initializer(node.input[2]), model.get_initializer(node.input[3])
    a = _attrs(node)
    if zp is None or zp.size != 1 or float(zp.ravel()[0]) != 0.0:
        raise ConversionError(f"the input quantizer {where} has a zero point "
                              f"{'(not constant)' if zp is None else zp.ravel()[:4].tolist()}: "
                              "FINN converts quantizers of zero point 0 only; use one (e.g. "
                              "Uint8ActPerTensorFixedPoint)")
    if bits is None or bits.size != 1 or float(bits) != int(float(bits)) \
            or not 2 <= int(float(bits)) <= MAX_ACTIVATION_BITS:
        raise ConversionError(f"the input quantizer {where} has {bits} bits: the input stream "
                              f"takes integer codes of 2 to {MAX_ACTIVATION_BITS} bits (a sign "
                              "input is a BipolarQuant)")
    mode = a.get("rounding_mode", b"ROUND")
    mode = (mode.decode() if isinstance(mode, bytes) else str(mode)).upper()
    if mode not in ROUNDING_MODES:
        raise ConversionError(f"the input quantizer {where} has rounding mode '{mode}'")
    return _checked(InputEncoding(x, (c, h, w), origins[node.output[0]].node,
                                  int(float(bits)), bool(a.get("signed", 1)),
                                  bool(a.get("narrow", 0)), False, float(scale.ravel()[0]),
                                  0.0, mode, tuple(pre)), where)


def _checked(enc, where: str):
    bad = enc.check_grid()
    if bad is not None:
        x = float(enc.to_float([bad])[0])
        raise ConversionError(
            f"the input quantizer {where} does not map its own grid back: code {bad} is the "
            f"input {x!r}, which it quantizes to {int(enc.quantize([x])[0])}; the hardware "
            "streams the codes, so every code must be an input value the graph keeps (scale "
            f"{enc.scale!r}, pre-processing {list(enc.pre)})")
    return enc


def quantizer_records(model) -> dict[str, dict]:
    """{output tensor: parameters} of every activation Quant of a prepared source graph
    (scale as an array, zero point, bits, signed, narrow, rounding mode): the semantics the
    converted graph's thresholds must reproduce (rounding.py)."""
    out = {}
    for node in model.graph.node:
        if node.op_type != "Quant" or model.get_initializer(node.input[0]) is not None:
            continue
        scale, zp, bits = (model.get_initializer(node.input[i]) for i in (1, 2, 3))
        if scale is None or zp is None or bits is None:
            continue
        a = _attrs(node)
        mode = a.get("rounding_mode", b"ROUND")
        out[node.output[0]] = {
            "scale": scale.astype("float32"), "zero_point": zp.astype("float32"),
            "bits": float(bits), "signed": bool(a.get("signed", 1)),
            "narrow": bool(a.get("narrow", 0)),
            "rounding": (mode.decode() if isinstance(mode, bytes) else str(mode)).upper()}
    return out


def weight_bits_of(model) -> int:
    """The bits of every quantized weight of a QONNX graph (elements times bit width; 1
    for BipolarQuant): what the on-chip weight memories hold."""
    total = 0
    for node in model.graph.node:
        w = model.get_initializer(node.input[0]) if node.op_type in ("Quant", "BipolarQuant") \
            else None
        if w is None:
            continue
        bits = 1.0 if node.op_type == "BipolarQuant" else \
            float(model.get_initializer(node.input[3]))
        total += int(w.size * bits)
    return total


def export_brevitas(module, input_shape: tuple, path) -> None:
    """The user's Brevitas module as QONNX at `path` (Brevitas export_qonnx on a random input
    of [1, *input_shape], eval mode), its node names and module scopes kept: no cleanup
    that renames them (prepare_source cleans it when it is read)."""
    import contextlib
    import io
    import warnings

    import torch
    from brevitas.export import export_qonnx

    was = module.training
    module.eval()
    try:
        with warnings.catch_warnings(), contextlib.redirect_stdout(io.StringIO()):
            warnings.simplefilter("ignore")      # torch.onnx narrates every phase
            export_qonnx(module, input_t=torch.rand(1, *input_shape), export_path=str(path))
    finally:
        module.train(was)
