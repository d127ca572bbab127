"""The input encoding: how the accelerator's input stream holds the source model's input.

The one home of that rule (NumPy only, so that any stage, and a board, can read it). A source graph takes a float tensor x of shape [1, C, H, W]; its first quantizer maps
it to integer codes

    q = clip(round(pre(x) / scale + zero_point))        (pre: scalar Mul/Div/Add/Sub, if any)

and the hardware streams q, as a `bits`-bit stream (q in {0, 1}, the sign bit, for a bipolar
quantizer). `flow/frontend/source_graph.py` reads these fields from the user's graph and
refuses a graph whose first node does not quantize the input; everything else reads them
from here:

- `to_float(q)`: a float x the source graph maps to exactly q (the golden frames are fed to
  the source graph, FINN's graph and the Brevitas module as these floats);
- `quantize(x)`: the codes the source graph computes from x, in float32 as qonnx executes
  it (what the driver sends for floats a user's own pre-processing made);
- camera pixels: uint8 p is taken as x = p / 255 (torchvision's ToTensor convention, and this
  project's training data), then quantized: `pixels_to_codes`.
"""
from __future__ import annotations

from dataclasses import asdict
from dataclasses import dataclass

import numpy as np

# uint8 camera pixels p are the float input p / PIXEL_DIVISOR (float32 division)
PIXEL_DIVISOR = 255.0


@dataclass(frozen=True)
class InputEncoding:
    tensor: str                      # the source graph's input
    shape: tuple                     # (C, H, W)
    quantizer: str                   # the source node that quantizes it (the user's name)
    bits: int
    signed: bool
    narrow: bool
    bipolar: bool                    # sign(x): codes 0 (-1) and 1 (+1)
    scale: float
    zero_point: float
    rounding: str = "ROUND"
    pre: tuple = ()                  # ((op, constant), ...): Mul, Div, Add, Sub on x first

    # -- the codes ----------------------------------------------------------------------------
    @property
    def code_range(self) -> tuple[int, int]:
        if self.bipolar:
            return 0, 1
        if self.signed:
            lo = -(1 << (self.bits - 1)) + (1 if self.narrow else 0)
            return lo, (1 << (self.bits - 1)) - 1
        return 0, (1 << self.bits) - 1 - (1 if self.narrow else 0)

    @property
    def dtype(self) -> str:
        """The input stream's qonnx DataType name."""
        if self.bipolar:
            return "BINARY"
        return f"{'INT' if self.signed else 'UINT'}{self.bits}"

    @property
    def pre_affine(self) -> tuple[float, float]:
        """(m, c) with pre(x) = m * x + c (exactly, in real arithmetic)."""
        m, c = 1.0, 0.0
        for op, k in self.pre:
            k = float(k)
            if op == "Mul":
                m, c = m * k, c * k
            elif op == "Div":
                m, c = m / k, c / k
            elif op == "Add":
                c += k
            elif op == "Sub":
                c -= k
        return m, c

    def view(self) -> tuple[float, float, float]:
        """(a, b, div) with x = (a * q + b) / div: the code's value in the source graph's
        input (float64 arithmetic, rounded once to float32)."""
        m, c = self.pre_affine
        if self.bipolar:                        # +-scale: 2q - 1 times scale
            return 2.0 * self.scale, -self.scale - c, m
        return self.scale, -self.zero_point * self.scale - c, m

    def to_float(self, codes) -> np.ndarray:
        """float32 inputs x that the source graph quantizes to exactly `codes`."""
        a, b, div = self.view()
        return ((a * np.asarray(codes, dtype=np.float64) + b) / div).astype(np.float32)

    def quantize(self, x) -> np.ndarray:
        """The source graph's codes of float inputs x (float32 throughout, as qonnx executes
        Mul/Div/Add/Sub and then Quant / BipolarQuant), as int64."""
        y = np.asarray(x, dtype=np.float32)
        for op, k in self.pre:
            k = np.float32(k)
            y = {"Mul": np.multiply, "Div": np.divide, "Add": np.add,
                 "Sub": np.subtract}[op](y, k).astype(np.float32)
        if self.bipolar:
            return (y >= 0).astype(np.int64)
        lo, hi = self.code_range
        return quant_codes(y, np.float32(self.scale), np.float32(self.zero_point), lo, hi,
                           self.rounding)

    def pixels_to_codes(self, pixels) -> np.ndarray:
        """uint8 camera pixels p (taken as x = p / 255) -> the input codes."""
        p = np.asarray(pixels)
        return self.quantize(p.astype(np.float32) / np.float32(PIXEL_DIVISOR))

    def check_grid(self) -> int | None:
        """The first code q that the source graph does not map back to q from to_float(q),
        or None: every code is a point of the grid the hardware streams."""
        lo, hi = self.code_range
        q = np.arange(lo, hi + 1)
        back = self.quantize(self.to_float(q))
        bad = np.flatnonzero(back != q)
        return int(q[bad[0]]) if bad.size else None

    # -- storage ------------------------------------------------------------------------------
    def to_dict(self) -> dict:
        d = asdict(self)
        d["shape"] = list(self.shape)
        d["pre"] = [[op, float(k)] for op, k in self.pre]
        return d

    @classmethod
    def from_dict(cls, d: dict) -> "InputEncoding":
        d = dict(d)
        d["shape"] = tuple(int(v) for v in d["shape"])
        d["pre"] = tuple((str(op), float(k)) for op, k in d.get("pre", ()))
        return cls(**d)


def _half_up(x):
    return np.sign(x) * np.floor(np.abs(x) + 0.5)


def _half_down(x):
    return np.sign(x) * np.ceil(np.abs(x) - 0.5)


def quant_codes(x, scale, zero_point, lo: int, hi: int, rounding: str = "ROUND") -> np.ndarray:
    """A QONNX Quant's integer codes of float32 x, computed as qonnx executes it: x / scale
    + zero_point in float32, clipped to [lo, hi], then rounded (int64)."""
    y = (np.asarray(x, np.float32) / np.asarray(scale, np.float32)
         + np.asarray(zero_point, np.float32)).astype(np.float32)
    y = np.where(y > hi, np.float32(hi), y)
    y = np.where(y < lo, np.float32(lo), y)
    return _ROUNDING[rounding.upper()](y).astype(np.int64)


# qonnx's rounding modes (qonnx.custom_op.general.intquant.resolve_rounding_mode)
_ROUNDING = {"ROUND": np.round, "HALF_EVEN": np.round, "CEIL": np.ceil, "FLOOR": np.floor,
             "UP": lambda x: np.sign(x) * np.ceil(np.abs(x)), "DOWN": np.fix,
             "HALF_UP": _half_up, "HALF_DOWN": _half_down}
ROUNDING_MODES = tuple(_ROUNDING)
