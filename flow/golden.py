"""NumPy golden model of the hardware graph: every layer with the integer semantics of its kind
(flow/layers/), on NHWC int64 codes, frame batches at once. The RTL and HLS backends are
proven against this, and this against FINN/qonnx execution of the graph it was lowered from.
"""
from __future__ import annotations

import numpy as np

from .hwgraph import GraphError
from .hwgraph import HwGraph
from .layers import layer_of


def execute(g: HwGraph, feeds: dict[str, np.ndarray], keep_all: bool = False
            ) -> dict[str, np.ndarray]:
    """Run the graph on NHWC integer codes {input name: [N, H, W, C]}.

    Returns the outputs (or, with keep_all, every stream). Every stream is checked against
    its declared shape and code range, so a layer that overflows its type names itself.
    """
    env: dict[str, np.ndarray] = {}
    for name in g.inputs:
        if name not in feeds:
            raise GraphError(f"no data for graph input '{name}'")
        x = np.asarray(feeds[name])
        _check(g, name, x, "graph input")
        env[name] = x.astype(np.int64)
    last_use = {i: k for k, n in enumerate(g.nodes) for i in n.inputs}
    for k, node in enumerate(g.nodes):
        outs = layer_of(node).execute(node, g, [env[i] for i in node.inputs])
        for name, val in zip(node.outputs, outs):
            _check(g, name, val, f"node '{node.name}' ({node.kind})")
            env[name] = val
        if not keep_all:   # free streams nobody reads any more
            for i in node.inputs:
                if last_use[i] == k and i not in g.outputs:
                    env.pop(i, None)
    return env if keep_all else {o: env[o] for o in g.outputs}


def _check(g: HwGraph, name: str, x: np.ndarray, where: str) -> None:
    t = g.tensors[name]
    if x.ndim != 4 or tuple(x.shape[1:]) != tuple(t.shape):
        raise GraphError(f"{where}: stream '{name}' has shape {tuple(x.shape[1:])}, "
                         f"expected (H, W, C) = {tuple(t.shape)}")
    lo, hi = t.code_range()
    if x.size and (np.any(x < lo) or np.any(x > hi)):
        raise GraphError(f"{where}: stream '{name}' holds codes {x.min()}..{x.max()} outside "
                         f"its type {t.dtype} / range {lo.min()}..{hi.max()}")


def images_to_stream(images: np.ndarray) -> np.ndarray:
    """uint8 images [N, C, H, W] (or one [C, H, W]) -> the input stream's NHWC codes."""
    images = np.asarray(images)
    if images.ndim == 3:
        images = images[None]
    return images.transpose(0, 2, 3, 1).astype(np.int64)


def dequantize(g: HwGraph, name: str, codes: np.ndarray) -> np.ndarray:
    """Output codes [N, H, W, C] -> the model's float values [N, C, H, W] (float32, as the
    source graph computes them: code * scale + bias per channel)."""
    dq = g.dequant[name]
    scale = np.asarray(dq["scale"], dtype=np.float32)
    bias = np.asarray(dq["bias"], dtype=np.float32)
    return (codes.astype(np.float32) * scale + bias).transpose(0, 3, 1, 2)


def run_images(g: HwGraph, images: np.ndarray) -> dict[str, np.ndarray]:
    """uint8 images [N, C, H, W] -> {output: integer codes [N, H, W, C]}."""
    return execute(g, {g.inputs[0]: images_to_stream(images)})


def compare_outputs(got: dict[str, np.ndarray], want: dict[str, np.ndarray],
                    backend: str = "RTL") -> str | None:
    """None when every output code of a backend equals the golden model's; else a message
    naming the first differing element (frame, pixel, channel) and both values."""
    for name, w in want.items():
        g = got[name]
        bad = np.argwhere(g != w)
        if len(bad):
            f, y, x, c = bad[0]
            return (f"output '{name}' differs from the golden model in {len(bad)} of {w.size} "
                    f"elements; first at frame {f}, pixel (y={y}, x={x}), channel {c}: "
                    f"{backend} {g[f, y, x, c]}, golden {w[f, y, x, c]}")
    return None
