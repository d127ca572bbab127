"""Transformations of the hardware graph, one per class (the shape of FINN's Transformation):
`apply(g)` changes the graph in place and returns whether it changed anything. Each keeps the
graph's integer function exactly (the tests check it with the golden model).
"""
from __future__ import annotations

import numpy as np

from ..hwgraph import HwGraph
from ..hwgraph import HwNode
from ..hwgraph import HwTensor
from ..hwgraph import Transformation
from ..hwgraph import apply_all
from ..layers.thresholding import apply_thresholds

# A threshold unit is compared against identity/clip over its whole input range when that
# range is at most this wide.
CHECK_RANGE_MAX = 1 << 16


def _rewire(g: HwGraph, old: str, new: str) -> None:
    """Every reader of stream `old` reads `new` instead."""
    for n in g.nodes:
        n.inputs = [new if i == old else i for i in n.inputs]
    g.outputs = [new if o == old else o for o in g.outputs]
    if old in g.dequant:
        g.dequant[new] = g.dequant.pop(old)


def _threshold_function(node: HwNode, g: HwGraph):
    """(domain, outputs [C, D]) of a threshold node over its input's code range, or None."""
    t = g.tensors[node.inputs[0]]
    lo, hi = t.code_range()
    if int(hi.max()) - int(lo.min()) + 1 > CHECK_RANGE_MAX:
        return None
    dom = np.arange(int(lo.min()), int(hi.max()) + 1, dtype=np.int64)
    x = np.broadcast_to(dom[:, None], (dom.size, t.channels))
    out = apply_thresholds(x, node.arrays["thresholds"], node.arrays["flip"],
                           int(node.attrs["base"]))
    return dom, out.T


class RemoveIdentityThresholds(Transformation):
    """A threshold unit that maps every input code to itself (the input quantizer of uint8
    pixels) is dropped."""

    def apply(self, g):
        for n in g.nodes:
            if n.kind != "threshold":
                continue
            f = _threshold_function(n, g)
            if f is None or not np.array_equal(f[1], np.broadcast_to(f[0], f[1].shape)):
                continue
            g.nodes.remove(n)
            _rewire(g, n.outputs[0], n.inputs[0])
            del g.tensors[n.outputs[0]]
            return True
        return False


def _sole_reader_of(g: HwGraph, n: HwNode, kinds: tuple[str, ...]) -> HwNode | None:
    """The producer of n's input if it is of one of `kinds` and n is its stream's only reader."""
    p = g.producer(n.inputs[0])
    if p is None or p.kind not in kinds or len(g.consumers(n.inputs[0])) != 1 \
            or n.inputs[0] in g.outputs:
        return None
    return p


def _absorb(g: HwGraph, producer: HwNode, n: HwNode) -> None:
    """`producer` now writes n's output itself; n and the stream between them go."""
    del g.tensors[producer.outputs[0]]
    producer.outputs = [n.outputs[0]]
    g.nodes.remove(n)


class AbsorbThresholdsIntoMVTU(Transformation):
    """MVTU -> threshold becomes one matrix-vector-threshold unit when the accumulator stream
    has no other reader."""

    def apply(self, g):
        for n in g.nodes:
            p = _sole_reader_of(g, n, ("xnor_mvtu", "int_mvtu")) if n.kind == "threshold" \
                else None
            if p is None or "thresholds" in p.arrays:
                continue
            p.arrays["thresholds"] = n.arrays["thresholds"]
            p.arrays["flip"] = n.arrays["flip"]
            p.attrs["base"] = n.attrs["base"]
            p.attrs["source"] = f"{p.attrs.get('source', '')}+{n.attrs.get('source', '')}"
            _absorb(g, p, n)
            return True
        return False


class AbsorbClipIntoAdd(Transformation):
    """add -> threshold where the threshold is clip(x, L, H) on the sum's range (the shared
    residual requantizer after a same-scale addition) becomes a saturating add."""

    def apply(self, g):
        for n in g.nodes:
            p = _sole_reader_of(g, n, ("add",)) if n.kind == "threshold" else None
            f = _threshold_function(n, g) if p is not None else None
            if f is None:
                continue
            dom, out = f
            lo, hi = int(out.min()), int(out.max())
            if not np.array_equal(out, np.broadcast_to(np.clip(dom, lo, hi), out.shape)):
                continue
            p.attrs["out_min"], p.attrs["out_max"] = lo, hi
            _absorb(g, p, n)
            return True
        return False


class InsertDuplicateStreams(Transformation):
    """A stream read by several layers (skip links) gets a duplicate layer: in a streaming
    dataflow every stream has exactly one reader."""

    def apply(self, g):
        for name, t in list(g.tensors.items()):
            readers = g.consumers(name)
            n_out = len(readers) + (1 if name in g.outputs else 0)
            if n_out < 2:
                continue
            outs = []
            for k, r in enumerate(readers):
                o = g.fresh_name(f"{name}_dup{k}")
                g.add_tensor(HwTensor(o, t.shape, t.dtype, t.lo, t.hi))
                r.inputs = [o if i == name else i for i in r.inputs]
                outs.append(o)
            if name in g.outputs:
                o = g.fresh_name(f"{name}_dup_out")
                g.add_tensor(HwTensor(o, t.shape, t.dtype, t.lo, t.hi))
                _rewire(g, name, o)
                outs.append(o)
            g.add_node(HwNode(g.fresh_name(f"duplicate_{name}"), "duplicate", [name], outs))
            return True
        return False


class ThresholdsToRequant(Transformation):
    """An MVTU's many-level thresholds (an 8-bit requantizer: 255 per channel) become the
    two-piece affine requantizer where that reproduces them on every accumulator value,
    with the fewest fraction bits that do (so the multiplier fits one DSP)."""

    MIN_LEVELS = 16      # below this, thresholds are as cheap as a multiplier

    def apply(self, g):
        from .requant_fit import SHIFT
        from .requant_fit import fit_requant

        changed = False
        for n in g.nodes:
            T = n.arrays.get("thresholds")
            if n.kind not in ("xnor_mvtu", "int_mvtu") or T is None \
                    or T.shape[1] < self.MIN_LEVELS:
                continue
            if n.kind == "xnor_mvtu":
                dom = np.arange(0, n.arrays["weights"].shape[1] + 1, dtype=np.int64)
            else:
                lo, hi = self._acc_range(n, g)
                if hi - lo + 1 > CHECK_RANGE_MAX:
                    continue
                dom = np.arange(lo, hi + 1, dtype=np.int64)
            base = int(n.attrs["base"])
            table = apply_thresholds(np.broadcast_to(dom[:, None], (dom.size, T.shape[0])), T,
                                     n.arrays["flip"], base).T
            lo_out, hi_out = base, base + T.shape[1]
            for shift in range(8, SHIFT + 1, 2):
                fit = fit_requant(dom, table, lo_out, hi_out, shift=shift)
                if fit is not None:
                    break
            if fit is None:
                continue
            for k in ("thresholds", "flip"):
                del n.arrays[k]
            del n.attrs["base"]
            n.arrays["rq_mul"], n.arrays["rq_add"], n.arrays["rq_split"] = fit
            n.attrs.update(rq_shift=shift, out_min=lo_out, out_max=hi_out)
            changed = True
        return changed

    @staticmethod
    def _acc_range(n, g):
        from ..layers.int_mvtu import accumulator_range

        lo, hi = g.tensors[n.inputs[0]].code_range()
        a, b = accumulator_range(n.arrays["weights"], lo, hi)
        return int(a.min()), int(b.max())


def streamline(g: HwGraph) -> HwGraph:
    """Fold every threshold unit that can be folded into its producer, and give the MVTUs
    the compact requantizer where it is exact."""
    return apply_all(g, [RemoveIdentityThresholds(), AbsorbThresholdsIntoMVTU(),
                         AbsorbClipIntoAdd(), ThresholdsToRequant()])
