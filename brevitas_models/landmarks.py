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


# ---------------------------------------------------------------------------------------
# Photos of any size <-> the network's square input: the one crop geometry that the data
# set readers (with the papers' augmentation), `predict` and the board driver share.
# ---------------------------------------------------------------------------------------

def square_box(width: int, height: int, box=None, enlarge: float = 1.0):
    """(centre (x, y), side) of the square crop of a `width` x `height` photo: around `box`
    (x0, y0, x1, y1), the corners of a person or face box in pixel-edge coordinates (a
    whole 640-wide photo is 0..640), or the whole photo (a letterbox); side = the box's
    larger side times `enlarge`. The centre is in pixel-centre coordinates."""
    x0, y0, x1, y1 = (0.0, 0.0, float(width), float(height)) if box is None else \
        (float(v) for v in box)
    if not (x1 > x0 and y1 > y0):
        raise ValueError(f"box {tuple(box)} is empty: need x0 < x1 and y0 < y1")
    centre = np.array([(x0 + x1) / 2 - 0.5, (y0 + y1) / 2 - 0.5])
    return centre, max(x1 - x0, y1 - y0) * float(enlarge)


def crop_matrix(centre, side: float, size: int, angle: float = 0.0, zoom: float = 1.0,
                flip: bool = False) -> np.ndarray:
    """[2, 3] affine map from photo pixels to the pixels of a size x size crop: the square
    of `side` photo pixels around `centre` fills the crop; then (augmentation, Sec. 6.1 of
    002_...) a rotation by `angle` degrees (clockwise on screen) and a scale by `zoom` about
    the crop's centre, and a horizontal mirror if `flip` (data.augment_joints' geometry; the
    caller swaps the left/right labels). Pixel centres are at integer coordinates."""
    k = size / float(side)
    c0 = (size - 1) / 2
    a = np.deg2rad(angle)
    rot = zoom * np.array([[np.cos(a), -np.sin(a)], [np.sin(a), np.cos(a)]])
    lin = rot * k
    off = c0 - lin @ np.asarray(centre, dtype=np.float64)
    m = np.concatenate([lin, off[:, None]], axis=1)
    if flip:
        m[0] = -m[0]
        m[0, 2] += size - 1
    return m


def apply_matrix(m: np.ndarray, points) -> np.ndarray:
    """[..., 2] points through a [2, 3] affine map."""
    p = np.asarray(points, dtype=np.float64)
    return p @ m[:, :2].T + m[:, 2]


def invert_matrix(m: np.ndarray) -> np.ndarray:
    """The inverse of a [2, 3] affine map (crop pixels -> photo pixels)."""
    inv = np.linalg.inv(m[:, :2])
    return np.concatenate([inv, (-inv @ m[:, 2])[:, None]], axis=1)


def warp(image: np.ndarray, m: np.ndarray, size: int) -> np.ndarray:
    """The size x size crop of a uint8 photo [H, W, C] (or [H, W]) under the affine map `m`
    of crop_matrix: bilinear, black outside the photo. A crop that shrinks the photo by k > 2
    first averages k x k blocks of it (k = floor of the shrink factor), so that small crops of
    large photos are not aliased."""
    img = np.asarray(image)
    if img.dtype != np.uint8 or img.ndim not in (2, 3):
        raise ValueError(f"image must be uint8 [H, W] or [H, W, C], got {img.dtype} "
                         f"{img.shape}")
    grey = img.ndim == 2
    if grey:
        img = img[..., None]
    h, w = img.shape[:2]
    inv = invert_matrix(m)                            # crop pixel -> photo pixel
    shrink = float(np.sqrt(abs(np.linalg.det(inv[:, :2]))))
    f = int(shrink // 1) if shrink > 2 else 1
    src = img.astype(np.float32)
    if f > 1:
        # Only the part of the photo the crop sees, in whole f x f blocks, the blocks on the
        # grid of the crop's top-left corner (so a crop of a photo blown up f times is the
        # original exactly); black beyond the photo.
        corners = apply_matrix(inv, [[-1, -1], [size, -1], [-1, size], [size, size]])
        lo, hi = corners.min(0), corners.max(0)
        anchor = apply_matrix(inv, [-0.5, -0.5]) + 0.5        # its pixel-edge coordinates
        x0, y0 = np.floor(anchor - f * np.ceil(np.maximum(anchor - lo, 0) / f)).astype(int)
        nx, ny = (np.ceil((hi + 1 - [x0, y0]) / f)).astype(int)
        if x0 + nx * f <= 0 or y0 + ny * f <= 0 or x0 >= w or y0 >= h:
            return np.zeros((size, size) + (() if grey else (img.shape[2],)), np.uint8)
        region = np.zeros((ny * f, nx * f, src.shape[2]), np.float32)
        sx0, sy0 = max(x0, 0), max(y0, 0)
        sx1, sy1 = min(x0 + nx * f, w), min(y0 + ny * f, h)
        region[sy0 - y0:sy1 - y0, sx0 - x0:sx1 - x0] = src[sy0:sy1, sx0:sx1]
        src = region.reshape(ny, f, nx, f, -1).mean(axis=(1, 3))
        # reduced pixel q has its centre at photo pixel f*q + (f-1)/2 + (x0, y0)
        inv = np.concatenate([inv[:, :2] / f, ((inv[:, 2] - [x0, y0] - (f - 1) / 2) / f)
                              [:, None]], axis=1)
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    px = inv[0, 0] * xs + inv[0, 1] * ys + inv[0, 2] + 1     # +1: the zero border below
    py = inv[1, 0] * xs + inv[1, 1] * ys + inv[1, 2] + 1
    pad = np.pad(src, ((1, 1), (1, 1), (0, 0)))
    hp, wp = pad.shape[:2]
    px, py = np.clip(px, 0, wp - 1), np.clip(py, 0, hp - 1)
    ix, iy = np.minimum(px.astype(int), wp - 2), np.minimum(py.astype(int), hp - 2)
    fx, fy = (px - ix)[..., None], (py - iy)[..., None]
    out = ((pad[iy, ix] * (1 - fx) + pad[iy, ix + 1] * fx) * (1 - fy)
           + (pad[iy + 1, ix] * (1 - fx) + pad[iy + 1, ix + 1] * fx) * fy)
    out = np.clip(np.rint(out), 0, 255).astype(np.uint8)
    return out[..., 0] if grey else out


def photo_crop(image: np.ndarray, size: int, box=None, enlarge: float = 1.0):
    """(the network's size x size input from a uint8 photo [H, W, 3] of any size, the
    [2, 3] map from that input's pixels back to the photo's): the square around `box`
    (square_box) or, without one, the whole photo letterboxed (black bars)."""
    h, w = np.asarray(image).shape[:2]
    centre, side = square_box(w, h, box, enlarge)
    m = crop_matrix(centre, side, size)
    return warp(image, m, size), invert_matrix(m)


def _side(name: str) -> int:
    """+1 for a subject's left landmark, -1 for a right one, 0 on the midline."""
    n = name.lower()
    return 1 if n.startswith(("l-", "left")) else -1 if n.startswith(("r-", "right")) else 0


def draw_landmarks(image: np.ndarray, points: np.ndarray, lines=(), names=(),
                   title: str = ""):
    """A PIL image of the photo with the landmarks (dots) and the lines between them
    (skeleton or face contour): the subject's right side red, left blue, midline green.
    PIL is imported here only: the board driver needs NumPy alone."""
    from PIL import Image
    from PIL import ImageDraw

    img = Image.fromarray(np.asarray(image, dtype=np.uint8)).convert("RGB")
    d = ImageDraw.Draw(img)
    pts = np.asarray(points, dtype=np.float64)
    k = max(img.size) / 400
    colour = {-1: (255, 60, 40), 1: (40, 120, 255), 0: (40, 220, 80)}
    side = [_side(names[i]) if i < len(names) else 0 for i in range(len(pts))]
    for a, b in lines:
        if a < len(pts) and b < len(pts):
            s = side[a] if side[a] == side[b] else 0
            d.line([tuple(pts[a]), tuple(pts[b])], fill=colour[s], width=max(1, round(2 * k)))
    r = max(1.5, 2.5 * k)
    for (x, y), s in zip(pts, side):
        d.ellipse([x - r, y - r, x + r, y + r], fill=colour[s], outline=(0, 0, 0))
    if title:
        d.text((4, 4), title, fill=(255, 255, 255))
    return img
