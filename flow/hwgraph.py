"""The hardware graph: a streaming dataflow of hardware layers and the integer streams between them.

Every tensor is an NHWC stream of integer codes (shape (H, W, C) per frame) with a qonnx
DataType (BINARY bits are the {-1, +1} activations, bit 1 = +1). Every node is one hardware
layer of a kind described once in `flow/layers/`; its integer parameters (weights, thresholds)
are numpy arrays and its folding is the `pe`/`simd` attributes.

Saved as ONNX (`hw_graph.onnx`): one node per layer in the domain `binhg.hw`, scalar
parameters as attributes, arrays as tensor attributes, streams as NHWC value_info annotated
with their qonnx DataType, and the host-side dequantization of each output as metadata.
"""
from __future__ import annotations

import json
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np
import onnx
from onnx import TensorProto
from onnx import helper
from onnx import numpy_helper

DOMAIN = "binhg.hw"
# Layers the flow inserts that pass their input on unchanged (fan-outs, FIFOs, width
# converters): a message names what they carry, as the user wrote it.
CARRIERS = ("duplicate", "fifo", "width_converter")


class GraphError(ValueError):
    """A hardware graph that is not well formed; the message names the node or tensor."""


@dataclass
class HwTensor:
    name: str
    shape: tuple[int, int, int]          # (H, W, C) of one frame
    dtype: str                           # qonnx DataType name: BINARY, UINT8, INT8, INT32, ...
    # Exact per-channel range of the codes where it is narrower than the dtype (accumulators).
    lo: np.ndarray | None = None
    hi: np.ndarray | None = None

    @property
    def channels(self) -> int:
        return self.shape[2]

    @property
    def pixels(self) -> int:
        return self.shape[0] * self.shape[1]

    def code_range(self) -> tuple[np.ndarray, np.ndarray]:
        """Per-channel (lo, hi) of the integer codes."""
        from qonnx.core.datatype import DataType

        c = self.channels
        if self.lo is not None:
            return np.broadcast_to(self.lo, (c,)), np.broadcast_to(self.hi, (c,))
        dt = DataType[self.dtype]
        return (np.full(c, int(dt.min()), dtype=np.int64),
                np.full(c, int(dt.max()), dtype=np.int64))


@dataclass
class HwNode:
    name: str
    kind: str                            # key into flow.layers.KINDS
    inputs: list[str]
    outputs: list[str]
    attrs: dict = field(default_factory=dict)     # ints, floats, strings, lists of ints
    arrays: dict = field(default_factory=dict)    # name -> np.ndarray (weights, thresholds)


@dataclass
class HwGraph:
    nodes: list[HwNode] = field(default_factory=list)
    tensors: dict[str, HwTensor] = field(default_factory=dict)
    inputs: list[str] = field(default_factory=list)
    outputs: list[str] = field(default_factory=list)
    # Per output: how the host turns codes into the model's values (value = scale*code + bias,
    # per channel) and which tensor of the source graph it stands for.
    dequant: dict[str, dict] = field(default_factory=dict)
    meta: dict = field(default_factory=dict)

    # -- structure ---------------------------------------------------------------------------
    def add_tensor(self, t: HwTensor) -> HwTensor:
        if t.name in self.tensors:
            raise GraphError(f"tensor '{t.name}' defined twice")
        self.tensors[t.name] = t
        return t

    def add_node(self, node: HwNode) -> HwNode:
        if any(n.name == node.name for n in self.nodes):
            raise GraphError(f"node '{node.name}' defined twice")
        self.nodes.append(node)
        return node

    def node(self, name: str) -> HwNode:
        for n in self.nodes:
            if n.name == name:
                return n
        raise GraphError(f"no node '{name}'")

    def producer(self, tensor: str) -> HwNode | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[HwNode]:
        return [n for n in self.nodes if tensor in n.inputs]

    # -- the user's names -------------------------------------------------------------------
    def _behind_carriers(self, node: HwNode | None) -> HwNode | None:
        """`node`, or where a layer the flow inserted (CARRIERS) has no source of its own,
        the first layer behind it that is not one (None: the graph input)."""
        while node is not None and node.kind in CARRIERS and not node.attrs.get("source"):
            node = self.producer(node.inputs[0])
        return node

    def origin(self, node: HwNode) -> str:
        """The user's source node(s) `node` was lowered from, as flow/frontend/source_graph.py
        names them ("'Conv_3' (Conv, module 'hg.low1.conv')"; a conv and its merged
        activation joined by ' + '). A layer the flow inserted (CARRIERS) names the source of
        what it carries. Empty where unknown (a graph built by hand)."""
        node = self._behind_carriers(node)
        src = node.attrs.get("source") if node is not None else None
        if not src:
            return ""
        names = self.meta.get("source_names", {})
        return " + ".join(dict.fromkeys(names.get(s, f"'{s}'") for s in src.split("+") if s))

    def describe(self, node: HwNode) -> str:
        """How a message names a layer: its name and kind, and where it comes from."""
        o = self.origin(node)
        return f"layer '{node.name}' ({node.kind}" + (f", from {o})" if o else ")")

    def describe_stream(self, tensor: str) -> str:
        """How a message names a stream: what writes it and what reads it, in the user's
        words (a skip link from the output of 'Add_2' to 'Add_9')."""
        p = self._behind_carriers(self.producer(tensor))
        src = (self.origin(p) or f"'{p.name}'") if p is not None else "the input"
        readers = []
        todo = list(self.consumers(tensor))
        while todo:             # past the inserted layers, to the layers the user wrote
            c = todo.pop(0)
            if c.kind in CARRIERS and not c.attrs.get("source"):
                todo += [r for o in c.outputs for r in self.consumers(o)]
            else:
                readers.append(self.origin(c) or f"'{c.name}'")
        dst = ", ".join(dict.fromkeys(readers)) or "the output"
        return f"'{tensor}' (from {src} to {dst})"

    def fresh_name(self, base: str) -> str:
        taken = set(self.tensors) | {n.name for n in self.nodes}
        if base not in taken:
            return base
        i = 1
        while f"{base}_{i}" in taken:
            i += 1
        return f"{base}_{i}"

    def topo_sort(self) -> None:
        """Order nodes so every node comes after the producers of its inputs."""
        ready = set(self.inputs)
        pending = list(self.nodes)
        ordered = []
        while pending:
            progress = False
            for n in list(pending):
                if all(i in ready for i in n.inputs):
                    ordered.append(n)
                    ready.update(n.outputs)
                    pending.remove(n)
                    progress = True
            if not progress:
                raise GraphError("cycle or dangling input at node(s) "
                                 + ", ".join(n.name for n in pending[:5]))
        self.nodes = ordered

    def check(self) -> None:
        """Every stream has one producer (or is a graph input) and one consumer (or is a
        graph output): the shape a streaming dataflow needs (fan-out goes via duplicate)."""
        produced = {t: None for t in self.inputs}
        for n in self.nodes:
            for o in n.outputs:
                if o in produced:
                    raise GraphError(f"stream '{o}' has two producers")
                produced[o] = n.name
        used: dict[str, list[str]] = {}
        for n in self.nodes:
            for i in n.inputs:
                if i not in produced:
                    raise GraphError(f"node '{n.name}' reads '{i}', which nothing produces")
                used.setdefault(i, []).append(n.name)
        for t in produced:
            readers = used.get(t, []) + (["<output>"] if t in self.outputs else [])
            if len(readers) != 1:
                raise GraphError(f"stream '{t}' has {len(readers)} readers ({', '.join(readers)})"
                                 "; a stream must have exactly one")

    def count_kinds(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for n in self.nodes:
            out[n.kind] = out.get(n.kind, 0) + 1
        return out

    # -- ONNX --------------------------------------------------------------------------------
    def to_onnx(self) -> onnx.ModelProto:
        nodes = []
        for n in self.nodes:
            attrs = {k: v for k, v in n.attrs.items()}
            onode = helper.make_node(n.kind, n.inputs, n.outputs, name=n.name, domain=DOMAIN,
                                     **attrs)
            for k, arr in n.arrays.items():
                onode.attribute.append(helper.make_attribute(
                    k, numpy_helper.from_array(np.ascontiguousarray(arr), name=k)))
            nodes.append(onode)

        def vi(name):
            t = self.tensors[name]
            return helper.make_tensor_value_info(name, TensorProto.FLOAT, [1, *t.shape])

        graph = helper.make_graph(
            nodes, "hw_graph", [vi(i) for i in self.inputs], [vi(o) for o in self.outputs],
            value_info=[vi(t) for t in self.tensors if t not in self.inputs + self.outputs])
        for t in self.tensors.values():
            ann = onnx.TensorAnnotation(tensor_name=t.name)
            ann.quant_parameter_tensor_names.append(
                onnx.StringStringEntryProto(key="finn_datatype", value=t.dtype))
            graph.quantization_annotation.append(ann)
        model = helper.make_model(graph, producer_name="binhg-fpga",
                                  opset_imports=[helper.make_opsetid("", 17),
                                                 helper.make_opsetid(DOMAIN, 1)])
        ranges = {t.name: [np.broadcast_to(t.lo, (t.channels,)).tolist(),
                           np.broadcast_to(t.hi, (t.channels,)).tolist()]
                  for t in self.tensors.values() if t.lo is not None}
        dq = {k: {kk: (np.asarray(vv).tolist() if isinstance(vv, np.ndarray) else vv)
                  for kk, vv in v.items()} for k, v in self.dequant.items()}
        for key, val in (("dequant", dq), ("code_ranges", ranges), ("meta", self.meta)):
            model.metadata_props.append(onnx.StringStringEntryProto(key=key,
                                                                   value=json.dumps(val)))
        return model

    def save(self, path: str | Path) -> None:
        from brevitas_models.files import write_bytes_atomic

        write_bytes_atomic(path, self.to_onnx().SerializeToString())

    @classmethod
    def load(cls, path: str | Path) -> "HwGraph":
        model = onnx.load(str(path))
        g = cls()
        props = {p.key: json.loads(p.value) for p in model.metadata_props}
        dtypes = {}
        for ann in model.graph.quantization_annotation:
            for e in ann.quant_parameter_tensor_names:
                if e.key == "finn_datatype":
                    dtypes[ann.tensor_name] = e.value
        ranges = props.get("code_ranges", {})
        for v in [*model.graph.input, *model.graph.output, *model.graph.value_info]:
            dims = [d.dim_value for d in v.type.tensor_type.shape.dim][1:]
            lo, hi = (np.array(r, dtype=np.int64) for r in ranges[v.name]) \
                if v.name in ranges else (None, None)
            g.tensors[v.name] = HwTensor(v.name, tuple(dims), dtypes[v.name], lo, hi)
        g.inputs = [v.name for v in model.graph.input]
        g.outputs = [v.name for v in model.graph.output]
        for on in model.graph.node:
            if on.domain != DOMAIN:
                raise GraphError(f"node '{on.name}' ({on.op_type}) is not a hardware layer")
            attrs, arrays = {}, {}
            for a in on.attribute:
                if a.type == onnx.AttributeProto.TENSOR:
                    arrays[a.name] = numpy_helper.to_array(a.t)
                else:
                    v = helper.get_attribute_value(a)
                    attrs[a.name] = v.decode() if isinstance(v, bytes) else \
                        (list(v) if a.type == onnx.AttributeProto.INTS else v)
            g.nodes.append(HwNode(on.name, on.op_type, list(on.input), list(on.output),
                                  attrs, arrays))
        g.dequant = {k: {kk: (np.array(vv) if isinstance(vv, list) else vv)
                         for kk, vv in v.items()} for k, v in props.get("dequant", {}).items()}
        g.meta = props.get("meta", {})
        return g


class Transformation:
    """One change of the hardware graph (the shape of FINN's Transformation): `apply(g)`
    changes `g` in place and returns whether it changed anything; it must keep the graph's
    integer function exactly."""

    def apply(self, g: HwGraph) -> bool:
        raise NotImplementedError


def apply_all(g: HwGraph, transformations) -> HwGraph:
    """Apply each transformation until it changes nothing, then restore topological order."""
    for t in transformations:
        while t.apply(g):
            pass
    g.topo_sort()
    return g
