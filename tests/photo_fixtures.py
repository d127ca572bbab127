"""Small labelled photo sets written by the tests themselves in the standard formats: the
procedural stick figures and faces (exact labels) pasted into larger, non-square photos
and annotated as MPII (.mat and JSON), COCO person_keypoints and 300-W .pts files."""
from __future__ import annotations

import json
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from PIL import Image

from brevitas_models.data import JOINT_NAMES
from brevitas_models.data import StickFigureDataset
from brevitas_models.data import render
from brevitas_models.faces import SyntheticFaceDataset
from brevitas_models.faces import render_face
from brevitas_models.photos import COCO_NAMES

J = {n: i for i, n in enumerate(JOINT_NAMES)}
PHOTO_W, PHOTO_H, FIGURE_PX, OFFSET = 208, 160, 160, (24, -8)


@dataclass
class Person:
    image: str
    joints: np.ndarray      # [16, 2] 0-based photo pixels, the generator's truth
    head_box: tuple         # x1, y1, x2, y2 (0-based corners of the head)


def figure_photos(n: int, folder: Path, seed: int = 0) -> list[Person]:
    """n PNG photos of PHOTO_W x PHOTO_H, each a stick figure (rendered at FIGURE_PX and
    pasted at OFFSET over grey noise)."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = StickFigureDataset(FIGURE_PX, 16, "val", seed + n)
    rng = np.random.default_rng(seed)
    people = []
    for i in range(seed, seed + n):
        joints, half_width, r = ds.sample_joints(i)
        fig = render(joints, FIGURE_PX, max(half_width, 2.5), r)
        photo = rng.integers(60, 120, (PHOTO_H, PHOTO_W, 3)).astype(np.uint8)
        ox, oy = OFFSET
        photo[max(oy, 0):oy + FIGURE_PX, ox:ox + FIGURE_PX] = fig[max(-oy, 0):PHOTO_H - oy]
        name = f"fig{i:03d}.png"
        Image.fromarray(photo).save(folder / name)
        pj = joints + np.array(OFFSET, float)
        top, neck = pj[J["head-top"]], pj[J["upper-neck"]]
        r_head = 0.5 * np.linalg.norm(top - neck)
        lo, hi = np.minimum(top, neck) - r_head, np.maximum(top, neck) + r_head
        people.append(Person(name, pj, (*lo, *hi)))
    return people


def newell_centre_scale(p: Person) -> tuple[np.ndarray, float]:
    """objpos (0-based) and scale (person height / 200) as MPII's annotators give them."""
    lo, hi = p.joints.min(0), p.joints.max(0)
    return (lo + hi) / 2, float((hi - lo).max()) / 200


def write_mpii_json(people: list[Person], path: Path, unlabelled=()) -> Path:
    """The PyTorch pose repositories' MPII JSON (1-based); joints in `unlabelled` (person
    index, joint) are written as they do: joints_vis 0 and (x, y) = (-1, -1)... well, 0."""
    out = []
    for k, p in enumerate(people):
        c, s = newell_centre_scale(p)
        joints = p.joints + 1
        vis = np.ones(16)
        for pk, j in unlabelled:
            if pk == k:
                joints[j], vis[j] = 0, 0
        out.append({"joints_vis": vis.astype(int).tolist(), "joints": joints.tolist(),
                    "image": p.image, "scale": s, "center": (c + 1).tolist()})
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(out))
    return path


def write_gt_valid(people: list[Person], path: Path) -> Path:
    import scipy.io

    boxes = np.stack([np.array(p.head_box).reshape(2, 2) + 1 for p in people], axis=-1)
    scipy.io.savemat(str(path), {"headboxes_src": boxes})
    return path


def _struct_array(rows: list[dict]) -> np.ndarray:
    """A 1 x n MATLAB struct array (what annolist, annorect and point are in the .mat)."""
    names = list(rows[0]) if rows else ["x"]
    arr = np.zeros((1, len(rows)), dtype=[(k, object) for k in names])
    for i, r in enumerate(rows):
        for k in names:
            arr[0, i][k] = r[k]
    return arr


def write_mpii_mat(people: list[Person], path: Path, extra_unlabelled: bool = True) -> Path:
    """MPII's RELEASE struct: one image per person (img_train = 1), plus, with
    `extra_unlabelled`, a test image (img_train = 0) and an image whose second person has
    no annopoints (both skipped by the reader)."""
    import scipy.io

    annolist, img_train = [], []
    for k, p in enumerate(people):
        c, s = newell_centre_scale(p)
        x1, y1, x2, y2 = np.array(p.head_box) + 1
        points = _struct_array([{"id": j, "x": float(p.joints[j, 0] + 1),
                                 "y": float(p.joints[j, 1] + 1),
                                 "is_visible": ("1" if j % 3 else 1) if j % 5 else np.zeros(0)}
                                for j in range(16)])
        rect = {"x1": x1, "y1": y1, "x2": x2, "y2": y2, "annopoints": {"point": points},
                "scale": s, "objpos": {"x": float(c[0] + 1), "y": float(c[1] + 1)}}
        rects = [rect]
        if extra_unlabelled and k == 0:
            rects.append({"x1": 1.0, "y1": 1.0, "x2": 5.0, "y2": 5.0, "annopoints": np.zeros(0),
                          "scale": 1.0, "objpos": {"x": 10.0, "y": 10.0}})
        annolist.append({"image": {"name": p.image}, "annorect": _struct_array(rects),
                         "frame_sec": np.zeros(0), "vididx": np.zeros(0)})
        img_train.append(1)
    if extra_unlabelled:
        annolist.append({"image": {"name": "test-image.jpg"},
                         "annorect": _struct_array([{"scale": 1.0,
                                                     "objpos": {"x": 5.0, "y": 5.0}}]),
                         "frame_sec": np.zeros(0), "vididx": np.zeros(0)})
        img_train.append(0)
    release = {"annolist": _struct_array(annolist), "img_train": np.array([img_train]),
               "version": "12", "single_person": np.array([[1]] * len(img_train), dtype=object),
               "act": _struct_array([{"cat_name": "", "act_name": "", "act_id": -1}
                                     for _ in img_train]), "video_list": np.zeros(0)}
    path.parent.mkdir(parents=True, exist_ok=True)
    scipy.io.savemat(str(path), {"RELEASE": release})
    return path


# MPII joint -> COCO keypoint; the nose is the middle of the head segment; eyes and ears
# are not drawn, so they are unlabelled (v = 0)
_MPII_OF_COCO = {"left_shoulder": "l-shoulder", "right_shoulder": "r-shoulder",
                 "left_elbow": "l-elbow", "right_elbow": "r-elbow", "left_wrist": "l-wrist",
                 "right_wrist": "r-wrist", "left_hip": "l-hip", "right_hip": "r-hip",
                 "left_knee": "l-knee", "right_knee": "r-knee", "left_ankle": "l-ankle",
                 "right_ankle": "r-ankle"}


def coco_truth(p: Person) -> tuple[np.ndarray, np.ndarray]:
    """([17, 2] COCO keypoints, [17] labelled) of a figure."""
    kp, lab = np.zeros((17, 2)), np.zeros(17, bool)
    for i, n in enumerate(COCO_NAMES):
        if n in _MPII_OF_COCO:
            kp[i], lab[i] = p.joints[J[_MPII_OF_COCO[n]]], True
    kp[0] = (p.joints[J["head-top"]] + p.joints[J["upper-neck"]]) / 2
    lab[0] = True
    return kp, lab


def write_coco(people: list[Person], path: Path, occluded=("left_hip",)) -> Path:
    """person_keypoints JSON: one person per photo (keypoints in `occluded` get v = 1), plus a
    crowd region and a person without keypoints (both skipped by the reader)."""
    images, anns = [], []
    for k, p in enumerate(people):
        images.append({"id": 100 + k, "file_name": p.image, "width": PHOTO_W,
                       "height": PHOTO_H})
        kp, lab = coco_truth(p)
        v = np.where(lab, 2, 0)
        for n in occluded:
            v[COCO_NAMES.index(n)] = 1
        lo, hi = p.joints.min(0) - 4, p.joints.max(0) + 4
        trip = np.concatenate([np.where(lab[:, None], kp, 0), v[:, None]], 1)
        anns.append({"id": 1000 + k, "image_id": 100 + k, "category_id": 1, "iscrowd": 0,
                     "keypoints": trip.ravel().tolist(), "num_keypoints": int(lab.sum()),
                     "bbox": [*lo.tolist(), *(hi - lo).tolist()],
                     "area": float(np.prod(hi - lo))})
    anns.append({"id": 1, "image_id": 100, "category_id": 1, "iscrowd": 1,
                 "keypoints": [0] * 51, "num_keypoints": 0, "bbox": [0, 0, 50, 50], "area": 1})
    anns.append({"id": 2, "image_id": 100, "category_id": 1, "iscrowd": 0,
                 "keypoints": [0] * 51, "num_keypoints": 0, "bbox": [0, 0, 30, 60], "area": 1})
    cats = [{"id": 1, "name": "person", "supercategory": "person",
             "keypoints": list(COCO_NAMES), "skeleton": [[16, 14], [14, 12]]}]
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"images": images, "annotations": anns, "categories": cats}))
    return path


def write_pts(points0: np.ndarray, path: Path) -> Path:
    """An iBUG .pts file (1-based) of 0-based points."""
    rows = "\n".join(f"{x + 1:.6f} {y + 1:.6f}" for x, y in points0)
    path.write_text(f"version: 1\nn_points: {len(points0)}\n{{\n{rows}\n}}\n")
    return path


def face_photos(n: int, folder: Path, seed: int = 0, size: int = 128) -> list[np.ndarray]:
    """n procedural faces as JPEG-free PNG photos of (size + 40) x size with .pts files;
    returns their [68, 2] 0-based landmarks."""
    folder.mkdir(parents=True, exist_ok=True)
    ds = SyntheticFaceDataset(size, 68, "val", seed + n)
    out = []
    for i in range(seed, seed + n):
        lm, parts, scale, rng = ds.sample(i)
        face = render_face(lm, parts, scale, size, rng)
        photo = np.full((size, size + 40, 3), 90, np.uint8)
        photo[:, 40:] = face
        lm = lm + [40, 0]
        Image.fromarray(photo).save(folder / f"face{i:03d}.png")
        write_pts(lm, folder / f"face{i:03d}.pts")
        out.append(lm)
    return out
