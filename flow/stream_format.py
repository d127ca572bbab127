"""The AXI-Stream word format of every stream (hw/README.md, "Stream format"), in one place.

A stream of NHWC codes [N, H, W, C] with `elems` elements per beat of `bits` bits each becomes
N*H*W*C/elems beats; element e of a beat sits at bits [e*bits, (e+1)*bits), two's complement
for signed types. Beats are Python ints (words can be wider than 64 bits). The RTL generator,
the simulation benches and the PYNQ driver all pack and unpack through these functions.
"""
from __future__ import annotations

import numpy as np


def pack_beats(codes: np.ndarray, bits: int, elems: int) -> list[int]:
    """NHWC integer codes -> beats (ints), raster order, channels split into `elems` groups."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape[-1] % elems:
        raise ValueError(f"{codes.shape[-1]} channels do not split into beats of {elems}")
    lanes = (codes.reshape(-1, elems) & ((1 << bits) - 1)).astype(object)
    shifts = [e * bits for e in range(elems)]
    return [sum(int(v) << s for v, s in zip(row, shifts)) for row in lanes]


def unpack_beats(beats: list[int], shape: tuple[int, ...], bits: int, elems: int,
                 signed: bool) -> np.ndarray:
    """Beats -> NHWC int64 codes of `shape` ([N, H, W, C]); the inverse of pack_beats."""
    n = int(np.prod(shape))
    if len(beats) * elems != n:
        raise ValueError(f"{len(beats)} beats of {elems} elements cannot fill shape {shape}")
    mask = (1 << bits) - 1
    out = np.array([(b >> (e * bits)) & mask for b in beats for e in range(elems)],
                   dtype=np.int64)
    if signed:
        out = np.where(out >= 1 << (bits - 1), out - (1 << bits), out)
    return out.reshape(shape)


def tdata_width(bits: int, elems: int) -> int:
    """Width of an external port: the beat rounded up to whole bytes (AXI-Stream)."""
    return -(-bits * elems // 8) * 8
