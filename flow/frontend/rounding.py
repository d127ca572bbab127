"""The converted graph rounds as the source graph does.

FINN's ConvertQONNXtoFINN turns an activation Quant into MultiThreshold(x >= T) with
T = (k + 1/2) * scale rounded to float32: a value exactly halfway between two codes is rounded
up, while the Quant rounds half to even (ROUND, as Brevitas and qonnx do), and a threshold
rounded to float32 can sit an ulp off the value where the Quant's float32 x / scale changes
code. With power-of-two scales such halfway values are frequent (a conv's exact output
divided by a requantizer's scale), so FINN's graph, and the hardware lowered from it, would
differ from the user's own QONNX on them.

`MatchSourceRounding` replaces each such MultiThreshold's thresholds by the exact float32
boundaries of the source Quant: T[c, k] = the least float32 x whose code
(flow/encoding.py quant_codes, computed as qonnx executes Quant) exceeds the k-th level,
found by bisection over the ordered float32 values. The converted graph then quantizes every
float32 input exactly as the source does; what remains between them is the float arithmetic
FINN reorders (a weight scale moved behind its conv), which the build's source check counts
(verify.py).
"""
from __future__ import annotations

import numpy as np
from qonnx.transformation.base import Transformation

from ..encoding import quant_codes

_MAX_KEY = 0x7F7FFFFF          # the ordered key of float32's largest finite value


def _keys_to_float(k: np.ndarray) -> np.ndarray:
    """Ordered integer keys -> float32 (key 0 is +0.0; a negative key is minus the bits of
    the magnitude)."""
    k = np.asarray(k, np.int64)
    bits = np.where(k < 0, (-k) | 0x80000000, k).astype(np.uint32)
    return bits.view(np.float32)


def exact_thresholds(scale: np.ndarray, zero_point: float, lo: int, hi: int,
                     rounding: str, levels: int) -> np.ndarray:
    """float32 thresholds [C, levels]: T[c, k] = least float32 x with code >= lo + k + 1
    (+inf where no finite x gets there, -inf where every one does)."""
    scale = np.asarray(scale, np.float32).reshape(-1, 1)
    c = scale.shape[0]
    target = lo + 1 + np.arange(levels)[None, :].repeat(c, 0)

    def code(keys):
        # the bisection probes float32's extremes, where x / scale overflows to inf (clipped)
        with np.errstate(over="ignore"):
            return quant_codes(_keys_to_float(keys), scale, zero_point, lo, hi, rounding)

    lo_k = np.full(target.shape, -_MAX_KEY, np.int64)
    hi_k = np.full(target.shape, _MAX_KEY, np.int64)
    never = code(hi_k) < target
    always = code(lo_k) >= target
    for _ in range(34):
        mid = (lo_k + hi_k) // 2
        up = code(mid) >= target
        hi_k = np.where(up, mid, hi_k)
        lo_k = np.where(up, lo_k, mid)
    t = _keys_to_float(hi_k).astype(np.float32)
    t = np.where(never, np.float32(np.inf), t)
    return np.where(always, np.float32(-np.inf), t).astype(np.float32)


class MatchSourceRounding(Transformation):
    """Thresholds of every MultiThreshold made from a source activation Quant (`records`:
    source_graph.quantizer_records, keyed by the Quant's output tensor, which FINN's
    conversion keeps as the output of the MultiThreshold's Add/Mul) = the Quant's exact
    float32 boundaries."""

    def __init__(self, records: dict[str, dict]):
        super().__init__()
        self.records = records

    def apply(self, model):
        for node in model.graph.node:
            if node.op_type != "MultiThreshold":
                continue
            rec = self._record(model, node)
            if rec is None:
                continue
            T = model.get_initializer(node.input[1])
            bits, signed, narrow = int(rec["bits"]), rec["signed"], rec["narrow"]
            if signed:
                lo = -(1 << (bits - 1)) + (1 if narrow else 0)
                hi = (1 << (bits - 1)) - 1
            else:
                lo, hi = 0, (1 << bits) - 1 - (1 if narrow else 0)
            if T.shape[1] != hi - lo:
                continue            # not the identity handler's levels: leave FINN's
            scale = np.asarray(rec["scale"], np.float32).ravel()
            if scale.size not in (1, T.shape[0]):
                continue
            new = exact_thresholds(scale if scale.size == T.shape[0] else scale[:1], float(
                np.asarray(rec["zero_point"]).ravel()[0]), lo, hi, rec["rounding"], T.shape[1])
            if new.shape[0] != T.shape[0]:
                new = np.broadcast_to(new, T.shape).copy()
            model.set_initializer(node.input[1], new)
        return model, False

    def _record(self, model, node):
        """The source Quant whose output this MultiThreshold computes (through FINN's Add
        and Mul after it), or None."""
        t, hops = node.output[0], 0
        while hops < 3:
            if t in self.records:
                return self.records[t]
            readers = model.find_consumers(t) or []
            if len(readers) != 1 or readers[0].op_type not in ("Add", "Mul"):
                return None
            t, hops = readers[0].output[0], hops + 1
        return None
