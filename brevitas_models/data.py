"""Procedural landmark data with exact labels: articulated 2-D stick figures.

No real data set is needed to train or test the networks: every sample is a 16-joint human
stick figure (MPII joint order) posed from random joint angles and limb lengths, drawn with
thick flat-coloured limbs over a random textured, noisy background. The joint coordinates
are the generating ones, so labels are exact, also after augmentation, which transforms
the joints *before* rendering (Sec. 6.1 of the TPAMI paper: rotation +-40 deg, scale
0.7-1.3, horizontal flip with left/right swap).

Coordinates: image pixel (u, v) has its centre at integer (x, y) = (u, v). Heatmap pixel k
covers image pixels 4k..4k+3, so its centre is image coordinate 4k + 1.5:
    heatmap = (image - 1.5) / 4
This mapping is mirror-symmetric (image x -> S-1-x  <=>  heatmap x -> H-1-x), so a flipped
sample has exactly the flipped labels.
"""
from __future__ import annotations

import functools

import numpy as np
import torch
from torch.utils.data import Dataset

JOINT_NAMES = ("r-ankle", "r-knee", "r-hip", "l-hip", "l-knee", "l-ankle", "pelvis", "thorax",
               "upper-neck", "head-top", "r-wrist", "r-elbow", "r-shoulder", "l-shoulder",
               "l-elbow", "l-wrist")
J = {name: i for i, name in enumerate(JOINT_NAMES)}

# A horizontal flip turns the person's right limbs into what looks like left limbs.
FLIP_PERM = np.array([5, 4, 3, 2, 1, 0, 6, 7, 8, 9, 15, 14, 13, 12, 11, 10])

# Which joints a dataset with num_landmarks = N uses: the first N of this list, returned in
# MPII order (so N = 16 is plain MPII). Extremities come first: they are the hardest and
# most informative joints and come in left/right pairs, so even N = 5 (the tiny presets)
# exercises side disambiguation and the flip swap.
LANDMARK_PRIORITY = ("head-top", "r-wrist", "l-wrist", "r-ankle", "l-ankle", "r-elbow",
                     "l-elbow", "r-knee", "l-knee", "upper-neck", "thorax", "pelvis",
                     "r-shoulder", "l-shoulder", "r-hip", "l-hip")

# Bones (joint a, joint b, colour). Right limbs are warm, left limbs cool, and upper and lower
# segments differ, so the side of every limb is visible in the image.
TORSO, SKIN = (235, 235, 235), (250, 205, 160)
BONES = {
    "torso": ("pelvis", "thorax", TORSO),
    "shoulders-r": ("thorax", "r-shoulder", TORSO),
    "shoulders-l": ("thorax", "l-shoulder", TORSO),
    "hips-r": ("pelvis", "r-hip", TORSO),
    "hips-l": ("pelvis", "l-hip", TORSO),
    "neck": ("thorax", "upper-neck", SKIN),
    "head": ("upper-neck", "head-top", SKIN),
    "r-thigh": ("r-hip", "r-knee", (230, 0, 230)),
    "r-shin": ("r-knee", "r-ankle", (255, 120, 180)),
    "r-upper-arm": ("r-shoulder", "r-elbow", (255, 140, 0)),
    "r-forearm": ("r-elbow", "r-wrist", (230, 0, 0)),
    "l-thigh": ("l-hip", "l-knee", (0, 190, 0)),
    "l-shin": ("l-knee", "l-ankle", (150, 255, 100)),
    "l-upper-arm": ("l-shoulder", "l-elbow", (0, 220, 220)),
    "l-forearm": ("l-elbow", "l-wrist", (0, 0, 255)),
}
# Painter's order: body first, then each side proximal-to-distal, so wrists and ankles (the
# end points of the last-drawn bones) are rarely covered.
_BODY = ("torso", "shoulders-r", "shoulders-l", "hips-r", "hips-l", "neck", "head")
_SIDE = {s: tuple(f"{s}-{b}" for b in ("thigh", "shin", "upper-arm", "forearm")) for s in "rl"}

SPLITS = {"train": 0, "val": 1, "test": 2}
_SEED = 0x5717C4  # root of every sample's seed; the split id keeps the splits disjoint

# Mean bone lengths and half widths in body heights (head-top to ankles ~ 1).
_LEN = dict(torso=0.30, neck=0.07, head=0.12, shoulder=0.11, hip=0.07,
            upper_arm=0.17, forearm=0.15, thigh=0.24, shin=0.23)
_HALF_WIDTH = 0.03
_MIN_HALF_WIDTH_PX = 0.8  # > sqrt(2)/2: the pixel nearest to a bone end is always painted


def _dir(theta: float) -> np.ndarray:
    """Unit vector at angle theta from straight down (+y), positive towards image right."""
    return np.array([np.sin(theta), np.cos(theta)])


def random_pose(rng: np.random.Generator) -> np.ndarray:
    """[16, 2] joints (x right, y down) in body heights, pelvis at the origin.

    The person faces the camera, so their right side is on the image left; the flip
    augmentation produces the mirrored poses.
    """
    L = {k: v * rng.uniform(0.8, 1.15) for k, v in _LEN.items()}
    p = np.zeros((16, 2))
    lean = np.clip(rng.normal(0.0, 0.15), -0.4, 0.4)
    up = _dir(np.pi + lean)
    p[J["thorax"]] = p[J["pelvis"]] + L["torso"] * up
    p[J["upper-neck"]] = p[J["thorax"]] + L["neck"] * _dir(np.pi + lean + rng.normal(0, 0.2))
    p[J["head-top"]] = p[J["upper-neck"]] + L["head"] * _dir(np.pi + lean + rng.normal(0, 0.3))
    right = np.array([-up[1], up[0]])  # image-right, perpendicular to the torso
    for side, out in (("r", -1.0), ("l", 1.0)):  # `out`: sign of the outward rotation
        # Limb lengths vary per side too, as foreshortening does in real images.
        k = rng.uniform(0.8, 1.15, size=4)
        p[J[f"{side}-shoulder"]] = p[J["thorax"]] + out * L["shoulder"] * right
        p[J[f"{side}-hip"]] = p[J["pelvis"]] + out * L["hip"] * right
        arm = lean + out * rng.uniform(-0.35, 2.8)       # down .. raised above the head
        fore = arm + rng.uniform(-2.5, 2.5)              # elbow bends either way in 2-D
        thigh = lean + out * rng.uniform(-0.35, 1.0)
        shin = thigh + rng.uniform(-1.6, 1.6)
        p[J[f"{side}-elbow"]] = p[J[f"{side}-shoulder"]] + k[0] * L["upper_arm"] * _dir(arm)
        p[J[f"{side}-wrist"]] = p[J[f"{side}-elbow"]] + k[1] * L["forearm"] * _dir(fore)
        p[J[f"{side}-knee"]] = p[J[f"{side}-hip"]] + k[2] * L["thigh"] * _dir(thigh)
        p[J[f"{side}-ankle"]] = p[J[f"{side}-knee"]] + k[3] * L["shin"] * _dir(shin)
    return p


@functools.lru_cache(maxsize=8)
def _grid(size: int) -> tuple[np.ndarray, np.ndarray]:
    ys, xs = np.mgrid[0:size, 0:size].astype(np.float64)
    return xs, ys


def _segment_mask(size: int, a: np.ndarray, b: np.ndarray, r: float) -> np.ndarray:
    """Pixels within distance r of segment a-b (a capsule: a thick line with round ends)."""
    xs, ys = _grid(size)
    ab = b - a
    t = ((xs - a[0]) * ab[0] + (ys - a[1]) * ab[1]) / max(float(ab @ ab), 1e-12)
    t = np.clip(t, 0.0, 1.0)
    dx, dy = xs - (a[0] + t * ab[0]), ys - (a[1] + t * ab[1])
    return dx * dx + dy * dy <= r * r


def _background(rng: np.random.Generator, size: int) -> np.ndarray:
    """[S, S, 3] in [0, 1]: smooth colour field + random stripes + pixel noise + clutter."""
    g = int(rng.integers(2, 6))
    coarse = rng.uniform(0.0, 0.8, (g, g, 3))
    # Separable bilinear upsampling of the coarse grid.
    t = np.linspace(0, g - 1, size)
    i0 = np.minimum(t.astype(int), g - 2)
    w = (t - i0)[:, None, None]
    rows = coarse[i0] * (1 - w) + coarse[i0 + 1] * w                     # [S, g, 3]
    img = rows[:, i0] * (1 - w.transpose(1, 0, 2)) + rows[:, i0 + 1] * w.transpose(1, 0, 2)
    xs, ys = _grid(size)
    for _ in range(int(rng.integers(0, 3))):
        theta, period = rng.uniform(0, np.pi), rng.uniform(2.5, size / 2)
        wave = np.sin(2 * np.pi * (xs * np.cos(theta) + ys * np.sin(theta)) / period
                      + rng.uniform(0, 2 * np.pi))
        img += rng.uniform(0.05, 0.2) * wave[..., None] * rng.uniform(-1, 1, 3)
    img += rng.normal(0.0, rng.uniform(0.01, 0.08), img.shape)
    # Clutter: a few random bars, so that "a thick coloured line" alone is not a joint.
    for _ in range(int(rng.integers(0, 4))):
        a, b = rng.uniform(0, size - 1, (2, 2))
        img[_segment_mask(size, a, b, rng.uniform(0.6, 0.05 * size + 0.6))] = rng.uniform(0, 1, 3)
    return np.clip(img, 0.0, 1.0)


def render(joints: np.ndarray, size: int, half_width: float,
           rng: np.random.Generator) -> np.ndarray:
    """Draw a figure with [16, 2] image-pixel joints; returns uint8 [S, S, 3]."""
    img = np.round(_background(rng, size) * 255).astype(np.uint8)
    hw = max(half_width, _MIN_HALF_WIDTH_PX)
    sides = ("r", "l") if rng.random() < 0.5 else ("l", "r")  # random depth order
    for name in _BODY + _SIDE[sides[0]] + _SIDE[sides[1]]:
        a, b, colour = BONES[name]
        width = 2 * hw if name == "torso" else hw
        img[_segment_mask(size, joints[J[a]], joints[J[b]], width)] = colour
        if name == "head":  # a head disc around the head segment, up to the head-top
            c = (joints[J[a]] + joints[J[b]]) / 2
            r = max(0.45 * float(np.linalg.norm(joints[J[b]] - joints[J[a]])), hw)
            img[_segment_mask(size, c, c, r)] = colour
    return img


def augment_joints(joints: np.ndarray, size: int, angle: float, zoom: float,
                   flip: bool, flip_perm: np.ndarray | None = None) -> np.ndarray:
    """Rotate by `angle` degrees (clockwise on screen, y down) and scale by `zoom` about the
    image centre, then optionally mirror horizontally. A mirrored person's right limbs
    look like left limbs, so a flip also swaps the left/right labels: row i of the result
    is mirrored row flip_perm[i] (default FLIP_PERM, the 16 MPII joints)."""
    a = np.deg2rad(angle)
    c, s = np.cos(a), np.sin(a)
    centre = np.full(2, (size - 1) / 2)
    out = (joints - centre) @ (zoom * np.array([[c, s], [-s, c]])) + centre
    if flip:
        out[:, 0] = (size - 1) - out[:, 0]
        out = out[FLIP_PERM if flip_perm is None else flip_perm]
    return out


def gaussian_heatmaps(joints: np.ndarray, visible: np.ndarray, size: int,
                      sigma: float) -> np.ndarray:
    """[N, size, size] unnormalized Gaussians (peak 1) at sub-pixel joints; 0 if invisible."""
    xs, ys = _grid(size)
    d2 = (xs[None] - joints[:, 0, None, None]) ** 2 + (ys[None] - joints[:, 1, None, None]) ** 2
    return np.exp(-d2 / (2 * sigma ** 2)) * visible[:, None, None]


class DataFormatError(ValueError):
    """An annotation file or image that cannot be read; the message names file and record."""


def landmark_item(image: np.ndarray, joints_img: np.ndarray, visible: np.ndarray,
                  norm_img: float, sigma: float) -> dict[str, torch.Tensor]:
    """The item dict every data set returns (see StickFigureDataset) from a uint8 [S, S, 3]
    image, its [N, 2] landmarks and the normaliser in image pixels, and which landmarks
    have a target (`visible`; the others get an empty heatmap and are not scored)."""
    s = image.shape[0]
    joints = (np.nan_to_num(np.asarray(joints_img, np.float64)) - 1.5) / 4
    visible = np.asarray(visible, dtype=bool)
    heatmaps = gaussian_heatmaps(joints, visible, s // 4, sigma)
    return dict(
        image=torch.from_numpy(image.transpose(2, 0, 1).astype(np.float32) / 255),
        heatmaps=torch.from_numpy(heatmaps.astype(np.float32)),
        joints=torch.from_numpy(joints.astype(np.float32)),
        visible=torch.from_numpy(visible),
        norm=torch.tensor(float(norm_img) / 4, dtype=torch.float32),
    )


class ProceduralDataset(Dataset):
    """What every procedural landmark data set shares: a split of `length` items, item i
    always the same sample (its generator seeded by [seed_root, split, i]), and with
    augment=True a rotation, scale and flip per item and epoch (Sec. 6.1 of 002_...): call
    set_epoch(e) (train() does) for fresh augmentations."""

    seed_root = _SEED
    split_ids = SPLITS  # split name -> the seed component that keeps splits disjoint

    def __init__(self, input_size: int, split: str, length: int, augment: bool, sigma: float):
        if split not in self.split_ids:
            raise ValueError(f"split must be one of {', '.join(self.split_ids)}, got {split!r}")
        if input_size % 4:
            raise ValueError(f"input_size must be divisible by 4, got {input_size}")
        self.input_size, self.heatmap_size = input_size, input_size // 4
        self.split, self.length, self.augment, self.sigma = split, length, augment, sigma
        self.epoch = 0

    def set_epoch(self, epoch: int) -> None:
        self.epoch = epoch

    def __len__(self) -> int:
        return self.length

    def sample_rng(self, index: int) -> np.random.Generator:
        """The generator of item `index` (its pose/shape, background and rendering)."""
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        return np.random.default_rng([self.seed_root, self.split_ids[self.split], index])

    def augmentation(self, index: int) -> tuple[float, float, bool]:
        """(rotation in degrees, scale, flip) of item `index` in the current epoch."""
        aug = np.random.default_rng([self.seed_root, self.split_ids[self.split], index,
                                     self.epoch, 1])
        return aug.uniform(-40, 40), aug.uniform(0.7, 1.3), bool(aug.random() < 0.5)


class StickFigureDataset(ProceduralDataset):
    """Deterministic procedural stick figures; item i of a split is always the same sample.

    Items are dicts of tensors:
      image      float32 [3, S, S] in [0, 1], multiples of 1/255 (it is a uint8 image)
      heatmaps   float32 [N, S/4, S/4] Gaussian targets in [0, 1] (zero for joints outside)
      joints     float32 [N, 2] (x, y) in heatmap pixels (see the module docstring)
      visible    bool [N]: the joint lies inside the image
      norm       float32 []: the PCK/NME normalizer in heatmap pixels: here the larger side
                 of the 16-joint bounding box (see metrics.py for why not the head size)

    The N = num_landmarks joints are the first N of LANDMARK_PRIORITY, in MPII order;
    `joint_ids` / `joint_names` name them.
    """

    norm_name = "larger side of the 16-joint bounding box"

    def __init__(self, input_size: int, num_landmarks: int, split: str = "train",
                 length: int = 1000, augment: bool = False, sigma: float = 1.0):
        if not 1 <= num_landmarks <= 16:
            raise ValueError(f"num_landmarks must be in 1..16, got {num_landmarks}")
        super().__init__(input_size, split, length, augment, sigma)
        self.joint_ids = np.array(sorted(J[n] for n in LANDMARK_PRIORITY[:num_landmarks]))
        self.joint_names = tuple(JOINT_NAMES[i] for i in self.joint_ids)

    def sample_joints(self, index: int) -> tuple[np.ndarray, float, np.random.Generator]:
        """All 16 joints in image pixels, the limb half width, and the rendering RNG."""
        rng = self.sample_rng(index)
        s = self.input_size
        pose = random_pose(rng)
        # Fit the un-augmented figure into 55-75 % of the frame at a random position, so
        # that scaling by 1.3 and rotating keeps it mostly inside.
        lo, hi = pose.min(0), pose.max(0)
        scale = rng.uniform(0.55, 0.75) * (s - 1) / (hi - lo).max()
        slack = (s - 1) - scale * (hi - lo)
        joints = (pose - lo) * scale + slack * rng.uniform(0.2, 0.8, 2)
        if self.augment:
            angle, zoom, flip = self.augmentation(index)
            joints = augment_joints(joints, s, angle, zoom, flip)
            scale *= zoom
        return joints, _HALF_WIDTH * scale, rng

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        joints_img, half_width, rng = self.sample_joints(index)
        image = render(joints_img, self.input_size, half_width, rng)
        s = self.input_size
        inside = ((joints_img >= -0.5) & (joints_img < s - 0.5)).all(1)
        ids = self.joint_ids
        return landmark_item(image, joints_img[ids], inside[ids],
                             (joints_img.max(0) - joints_img.min(0)).max(), self.sigma)
