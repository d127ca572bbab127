"""Heatmaps -> landmarks, in NumPy only: the one decoder the training metrics and the board
driver (flow/build.py copies this file into deploy/) both use.

Coordinates are (x, y) with pixel centres at integers. Heatmap pixel k covers image pixels
s*k .. s*k + s-1 (s = input size / heatmap size, 4 for the HG), so its centre is image
coordinate s*k + (s-1)/2 (brevitas_models/data.py draws the labels the same way).
"""
from __future__ import annotations

import numpy as np


def decode_heatmaps(h: np.ndarray) -> np.ndarray:
    """[B, N, H, W] heatmaps -> [B, N, 2] float32 (x, y) in heatmap pixels: the argmax, moved
    1/4 pixel towards the larger neighbour along each axis (Newell et al.), a cheap sub-pixel
    refinement; no shift on the border, where a neighbour is missing."""
    h = np.asarray(h, dtype=np.float32)
    if h.ndim != 4:
        raise ValueError(f"heatmaps must be [B, N, H, W], got shape {h.shape}")
    b, n, hh, ww = h.shape
    flat = h.reshape(b, n, hh * ww)
    idx = flat.argmax(-1)
    y, x = np.divmod(idx, ww)

    def at(yy, xx):
        lin = np.clip(yy, 0, hh - 1) * ww + np.clip(xx, 0, ww - 1)
        return np.take_along_axis(flat, lin[..., None], -1)[..., 0]

    dx = np.sign(at(y, x + 1) - at(y, x - 1)) * ((x > 0) & (x < ww - 1))
    dy = np.sign(at(y + 1, x) - at(y - 1, x)) * ((y > 0) & (y < hh - 1))
    return np.stack([x + 0.25 * dx, y + 0.25 * dy], axis=-1).astype(np.float32)


def heatmap_to_image(xy: np.ndarray, input_size: int, heatmap_size: int) -> np.ndarray:
    """Heatmap-pixel coordinates -> input-image pixel coordinates."""
    s = input_size / heatmap_size
    return (np.asarray(xy, dtype=np.float32) * s + (s - 1) / 2).astype(np.float32)
