"""The AXI-Stream word format of every stream (hw/README.md, "Stream format"), in one place.

A stream of NHWC codes [N, H, W, C] with `elems` elements per beat of `bits` bits each becomes
N*H*W*C/elems beats; element e of a beat sits at bits [e*bits, (e+1)*bits), two's complement
for signed types. Beats are Python ints (words can be wider than 64 bits). The RTL generator,
the simulation benches and the PYNQ driver all pack and unpack through these functions (the
driver through the vectorised pack_words/unpack_words; flow/build.py copies this file into
deploy/, so it imports nothing but NumPy at module level).
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


def pack_words(codes: np.ndarray, bits: int, elems: int, word_bytes: int) -> np.ndarray:
    """NHWC integer codes -> the bytes a DMA moves: one `word_bytes`-byte little-endian word
    per beat (the beat in its low bits, zeros above), uint8 [beats, word_bytes]. Vectorised
    (the board's driver packs whole frames with it); the same layout as pack_beats."""
    codes = np.asarray(codes, dtype=np.int64)
    if codes.shape[-1] % elems:
        raise ValueError(f"{codes.shape[-1]} channels do not split into beats of {elems}")
    if bits * elems > 8 * word_bytes:
        raise ValueError(f"beats of {elems} x {bits} bits do not fit words of {word_bytes} "
                         "bytes")
    lanes = np.ascontiguousarray(codes.reshape(-1, elems) & ((1 << bits) - 1), dtype="<u8")
    # the low `bits` bits of every element, least significant first, then the words' padding
    elem_bits = np.unpackbits(lanes.view(np.uint8).reshape(len(lanes), elems, 8), axis=-1,
                              bitorder="little")[..., :bits]
    word_bits = np.zeros((len(lanes), 8 * word_bytes), dtype=np.uint8)
    word_bits[:, :bits * elems] = elem_bits.reshape(len(lanes), -1)
    return np.packbits(word_bits, axis=-1, bitorder="little")


def unpack_words(data: np.ndarray, shape: tuple[int, ...], bits: int, elems: int,
                 signed: bool) -> np.ndarray:
    """DMA bytes uint8 [beats, word_bytes] -> NHWC int64 codes of `shape`; the inverse of
    pack_words (padding bits ignored)."""
    data = np.asarray(data, dtype=np.uint8)
    n = int(np.prod(shape))
    if data.ndim != 2 or data.shape[0] * elems != n:
        raise ValueError(f"{data.shape[0] if data.ndim == 2 else '?'} words of {elems} "
                         f"elements cannot fill shape {tuple(shape)}")
    word_bits = np.unpackbits(data, axis=-1, bitorder="little")[:, :bits * elems]
    elem_bits = np.zeros((len(data), elems, 64), dtype=np.uint8)
    elem_bits[..., :bits] = word_bits.reshape(len(data), elems, bits)
    out = np.packbits(elem_bits, axis=-1, bitorder="little").view("<u8")[..., 0]
    out = out.astype(np.int64)
    if signed:
        out = np.where(out >= 1 << (bits - 1), out - (1 << bits), out)
    return out.reshape(shape)


def tdata_width(bits: int, elems: int) -> int:
    """Width of an external port: the beat rounded up to whole bytes (AXI-Stream)."""
    return -(-bits * elems // 8) * 8


def port_info(g, port: str, tensor: str, elems: int) -> dict:
    """What a driver or bench needs to know of an external port streaming `tensor` of graph
    `g` at `elems` elements per beat (the backends' accelerator.json "inputs"/"outputs")."""
    from qonnx.core.datatype import DataType

    t = g.tensors[tensor]
    dt = DataType[t.dtype]
    bits = dt.bitwidth()
    return {"port": port, "tensor": tensor, "shape": list(t.shape), "dtype": t.dtype,
            "bits": bits, "signed": bool(dt.signed()), "elems": elems,
            "tdata_width": tdata_width(bits, elems),
            "beats_per_frame": t.pixels * t.channels // elems}


def port_name(direction: str, k: int, n: int) -> str:
    """External port names of a generated top: `s_axis`/`m_axis` when it has one port that
    way (direction "s" or "m"), else `s0_axis`, `s1_axis`, ..."""
    return f"{direction}_axis" if n == 1 else f"{direction}{k}_axis"
