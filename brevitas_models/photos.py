"""Real labelled photos in the field's standard formats, read from local files (never a
download): MPII Human Pose, COCO person keypoints and 300-W / iBUG-style `.pts` folders.

Each reader turns an annotation file into Records: one person or face each, its landmarks
in the photo's pixels (0-based, pixel centres at integers), which of them are labelled,
the square crop the papers take around it and the normaliser of its protocol:

  MPII   the official mpii_human_pose_v1_u12_1.mat (RELEASE.annolist(i).annorect(j):
         objpos, scale, annopoints.point(k).{id, x, y, is_visible}, head box x1 y1 x2 y2;
         img_train) or the JSON of the common PyTorch pose repositories (a list of
         {image, center, scale, joints [16][2], joints_vis [16]}, HRNet's annot/train.json,
         valid.json, with gt_valid.mat's head boxes beside valid.json). Both are 1-based
         (MATLAB). Crop as Newell's and Bulat's code: centre objpos moved down by 15*scale
         px, a square of 200*scale*1.25 px. PCKh normaliser: the head size, 0.6 x the head
         box diagonal (MPII's evaluation), or the head segment (upper neck to head top)
         where the annotation has no head box (train.json).
  COCO   person_keypoints_*.json: 17 keypoints (x, y, v) per person, v = 0 unlabelled,
         1 labelled but occluded, 2 visible; crop: the person box's larger side x 1.25;
         crowd regions and persons without labelled keypoints are skipped (as COCO's own
         keypoint training does). PCK normaliser: the box's larger side.
  .pts   300-W / iBUG / LS3D-W / Menpo folders: every image with a .pts file of the same
         name (68 points, 1-based); crop: the landmarks' box's larger side x 1.4, centred.
         NME normaliser: the inter-ocular distance (outer eye corners).

A record that the format itself marks as unusable (a COCO crowd region, an MPII person
without joints) is skipped, and counted: `skipped` says how many and why, and every data
set prints it. Anything else that is wrong (a missing image, a malformed annotation) is an
error naming the file and the record.

Augmentation (Sec. 6.1 of 002_...): rotation +-40 deg, scale 0.7-1.3, flip with the
format's left/right permutation, all in one affine warp (landmarks.crop_matrix).
"""
from __future__ import annotations

import json
import math
import os
import sys
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path

import numpy as np
import torch
from PIL import Image

from . import data
from . import faces
from .data import DataFormatError
from .data import ProceduralDataset
from .data import landmark_item
from .landmarks import apply_matrix
from .landmarks import crop_matrix
from .landmarks import square_box
from .landmarks import warp

IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".bmp", ".ppm", ".pgm", ".tif", ".tiff")
_SEED = 0x9A7A5E7  # root of the augmentation seeds of the photo data sets


@dataclass
class Record:
    """One person or face of a photo."""
    image: Path
    joints: np.ndarray          # [K, 2] (x, y) photo pixels, 0-based; nan where unlabelled
    labelled: np.ndarray        # [K] bool
    centre: np.ndarray          # the square crop's centre (photo pixels)
    side: float                 # and its side
    norm: float                 # the protocol's normaliser, photo pixels
    where: str                  # "FILE record N (image NAME)", for messages
    norm_kind: str = ""         # which normaliser, where a format has more than one


@dataclass
class Annotations:
    records: list[Record]
    source: str                               # what was read
    norm_name: str
    skipped: dict[str, int] = field(default_factory=dict)

    def summary(self, name: str, split: str) -> str:
        n = sum(self.skipped.values())
        why = ", ".join(f"{k}: {v}" for k, v in sorted(self.skipped.items()))
        return (f"{name} {split}: {len(self.records)} records from {self.source}; "
                f"skipped {n}" + (f" ({why})" if n else ""))


@dataclass(frozen=True)
class LandmarkFormat:
    """A landmark set: its names, the left/right permutation of a mirrored photo, the lines
    drawn between landmarks in pictures and the evaluation protocol."""
    name: str
    names: tuple[str, ...]
    flip_perm: np.ndarray
    lines: tuple[tuple[int, int], ...]
    protocol: str               # "pckh" (MPII), "nme" (300-W), "pck"


def flip_perm_from_names(names) -> np.ndarray:
    """Swap every left/right pair of names ("l-x" <-> "r-x", "left_x" <-> "right_x")."""
    index = {n: i for i, n in enumerate(names)}
    swaps = (("left_", "right_"), ("l-", "r-"))
    perm = np.arange(len(names))
    for i, n in enumerate(names):
        for a, b in swaps + tuple((b, a) for a, b in swaps):
            if n.startswith(a) and b + n[len(a):] in index:
                perm[i] = index[b + n[len(a):]]
    return perm


_J = {n: i for i, n in enumerate(data.JOINT_NAMES)}
MPII = LandmarkFormat("mpii", data.JOINT_NAMES, data.FLIP_PERM,
                      tuple((_J[a], _J[b]) for a, b, _ in data.BONES.values()), "pckh")
COCO_NAMES = ("nose", "left_eye", "right_eye", "left_ear", "right_ear", "left_shoulder",
              "right_shoulder", "left_elbow", "right_elbow", "left_wrist", "right_wrist",
              "left_hip", "right_hip", "left_knee", "right_knee", "left_ankle", "right_ankle")
# person_keypoints' own skeleton (1-based in the file)
COCO_SKELETON = ((16, 14), (14, 12), (17, 15), (15, 13), (12, 13), (6, 12), (7, 13), (6, 7),
                 (6, 8), (7, 9), (8, 10), (9, 11), (2, 3), (1, 2), (1, 3), (2, 4), (3, 5),
                 (4, 6), (5, 7))
COCO = LandmarkFormat("coco", COCO_NAMES, flip_perm_from_names(COCO_NAMES),
                      tuple((a - 1, b - 1) for a, b in COCO_SKELETON), "pck")


def _face_contour() -> tuple[tuple[int, int], ...]:
    closed = {"r-eye", "l-eye", "outer-lip", "inner-lip"}
    lines = []
    for g, r in faces.GROUPS:
        r = list(r)
        lines += list(zip(r[:-1], r[1:])) + ([(r[-1], r[0])] if g in closed else [])
    return tuple(lines) + ((30, 33),)       # the nose tip down to the base


FACE68 = LandmarkFormat("face68", faces.LANDMARK_NAMES, faces.FLIP_PERM_68, _face_contour(),
                        "nme")

# MPII's PCKh table (002_..., Table 5): parts and their joints; "total" leaves out the
# pelvis and thorax, as MPII's evaluation does.
MPII_PARTS = (("head", ("head-top", "upper-neck")), ("shoulder", ("r-shoulder", "l-shoulder")),
              ("elbow", ("r-elbow", "l-elbow")), ("wrist", ("r-wrist", "l-wrist")),
              ("hip", ("r-hip", "l-hip")), ("knee", ("r-knee", "l-knee")),
              ("ankle", ("r-ankle", "l-ankle")))
PCKH_HEAD_FACTOR = 0.6          # MPII: head size = 0.6 x the head box diagonal
NEWELL_SHIFT, NEWELL_ENLARGE, NEWELL_BOX = 15, 1.25, 200
COCO_ENLARGE = 1.25


def _num(v, what: str, where: str) -> float:
    try:
        x = float(np.asarray(v, dtype=np.float64).reshape(()))
    except (TypeError, ValueError):
        raise DataFormatError(f"{where}: {what} is not a number: {v!r}") from None
    if not math.isfinite(x):
        raise DataFormatError(f"{where}: {what} is not finite: {v!r}")
    return x


def _image_path(images: Path, name, where: str) -> Path:
    if not isinstance(name, str) or not name:
        raise DataFormatError(f"{where}: no image file name")
    return images / name


def _check_images(records: list[Record]) -> None:
    """Every record's photo exists: refused before anything is trained or evaluated."""
    for r in records:
        if not r.image.is_file():
            raise DataFormatError(f"{r.where}: image {r.image} does not exist")


# ---------------------------------------------------------------------------------------
# MPII Human Pose
# ---------------------------------------------------------------------------------------

MPII_MAT = "mpii_human_pose_v1_u12_1.mat"
MPII_VAL_EVERY = 8      # the .mat has no validation split: every 8th labelled image is one


def _mpii_record(image: Path, centre_1b, scale: float, joints_1b, labelled, head: float | None,
                 where: str) -> Record:
    if not scale > 0:
        raise DataFormatError(f"{where}: scale must be positive, got {scale}")
    centre = np.asarray(centre_1b, np.float64) - 1
    centre[1] += NEWELL_SHIFT * scale
    joints = np.asarray(joints_1b, np.float64) - 1
    joints[~labelled] = np.nan
    head_box = head
    if head is None:   # no head box: the head segment, upper neck to head top
        a, b = joints[_J["upper-neck"]], joints[_J["head-top"]]
        head = float(np.linalg.norm(a - b)) if labelled[[_J["upper-neck"], _J["head-top"]]].all() \
            else float("nan")
    return Record(image, joints, labelled.copy(), centre, NEWELL_BOX * scale * NEWELL_ENLARGE,
                  head, where, "head segment" if head_box is None else "head box")


def _as_list(v) -> list:
    """A MATLAB struct array as loadmat(squeeze_me=True) gives it: one struct, an array of
    them, or an empty array."""
    if isinstance(v, np.ndarray):
        return list(v.ravel())
    return [v]


def read_mpii_mat(path: Path, images: Path, split: str) -> Annotations:
    """The persons of MPII's official .mat: split "train" (img_train = 1 images, but every
    MPII_VAL_EVERY-th of them) or "val" (those); the test images' labels are withheld."""
    import scipy.io

    if split == "test":
        raise DataFormatError(f"{path}: MPII withholds the labels of its test images "
                              "(img_train = 0); evaluate on 'val' (every "
                              f"{MPII_VAL_EVERY}th training image, or the JSON valid.json)")
    try:
        rel = scipy.io.loadmat(str(path), struct_as_record=False, squeeze_me=True)["RELEASE"]
        annolist, img_train = _as_list(rel.annolist), np.atleast_1d(rel.img_train)
    except Exception as e:
        raise DataFormatError(f"{path}: not MPII's RELEASE struct (annolist, img_train): "
                              f"{type(e).__name__}: {e}") from None
    if len(annolist) != len(img_train):
        raise DataFormatError(f"{path}: {len(annolist)} annolist entries but "
                              f"{len(img_train)} img_train flags")
    records, skipped, labelled_images = [], {}, 0

    def skip(reason, counts=skipped):
        counts[reason] = counts.get(reason, 0) + 1

    for i, (ann, train_flag) in enumerate(zip(annolist, img_train)):
        if not int(train_flag):
            skip("test image, labels withheld (img_train = 0)")
            continue
        where = f"{path.name} annolist({i + 1})"
        try:
            name = ann.image.name
        except AttributeError:
            raise DataFormatError(f"{where}: no image.name") from None
        rects = [r for r in _as_list(getattr(ann, "annorect", np.empty(0)))
                 if not isinstance(r, np.ndarray)]
        persons, own = [], {}
        for j, r in enumerate(rects):
            w = f"{where}.annorect({j + 1}) (image {name})"
            pts = getattr(r, "annopoints", None)
            pts = None if isinstance(pts, np.ndarray) else pts
            if pts is None or not _as_list(getattr(pts, "point", np.empty(0))):
                skip("person without annotated joints", own)
                continue
            objpos, scale = getattr(r, "objpos", None), getattr(r, "scale", None)
            if objpos is None or isinstance(objpos, np.ndarray) or scale is None \
                    or np.size(scale) == 0:
                skip("person without objpos/scale", own)
                continue
            joints, labelled = np.zeros((16, 2)), np.zeros(16, bool)
            for p in _as_list(pts.point):
                jid = int(_num(getattr(p, "id", None), "point id", w))
                if not 0 <= jid < 16:
                    raise DataFormatError(f"{w}: point id {jid} is not an MPII joint (0..15)")
                joints[jid] = (_num(getattr(p, "x", None), f"joint {jid} x", w),
                               _num(getattr(p, "y", None), f"joint {jid} y", w))
                labelled[jid] = True
            head = None
            if all(hasattr(r, k) for k in ("x1", "y1", "x2", "y2")):
                x1, y1, x2, y2 = (_num(getattr(r, k), k, w) for k in ("x1", "y1", "x2", "y2"))
                head = PCKH_HEAD_FACTOR * math.hypot(x2 - x1, y2 - y1)
            centre = (_num(getattr(objpos, "x", None), "objpos.x", w),
                      _num(getattr(objpos, "y", None), "objpos.y", w))
            persons.append(_mpii_record(_image_path(images, name, w), centre,
                                        _num(scale, "scale", w), joints, labelled, head, w))
        # an image belongs to one split: its persons and its skipped records with it
        if persons:
            labelled_images += 1
        in_val = bool(persons) and labelled_images % MPII_VAL_EVERY == 0
        if in_val == (split == "val"):
            records += persons
            for k, v in own.items():
                skip(k) if v == 1 else skipped.update({k: skipped.get(k, 0) + v})
    return Annotations(records, f"{path} (split {split})", _mpii_norm_name(records), skipped)


def _mpii_norm_name(records) -> str:
    """What the PCKh normaliser of these records is (the head box where it is known)."""
    kinds = {r.norm_kind == "head segment" for r in records}
    return ("head segment (upper neck to head top; these annotations have no head boxes)"
            if kinds == {True} else f"head size ({PCKH_HEAD_FACTOR} x head box diagonal)"
            if kinds == {False} else f"head size ({PCKH_HEAD_FACTOR} x head box diagonal; "
            "the head segment where a person has no head box)")


def read_mpii_json(path: Path, images: Path, heads: Path | None = None) -> Annotations:
    """The MPII JSON of the common PyTorch pose repositories; `heads`: a gt_valid.mat
    (headboxes_src [2, 2, N], the same persons in the same order) for the PCKh head size."""
    try:
        entries = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not readable JSON: {e}") from None
    if not isinstance(entries, list):
        raise DataFormatError(f"{path}: expected a list of persons, got "
                              f"{type(entries).__name__}")
    boxes = None
    if heads is not None:
        import scipy.io

        try:
            boxes = np.asarray(scipy.io.loadmat(str(heads))["headboxes_src"], np.float64)
        except Exception as e:
            raise DataFormatError(f"{heads}: no headboxes_src: {type(e).__name__}: {e}") from None
        if boxes.shape != (2, 2, len(entries)):
            raise DataFormatError(f"{heads}: headboxes_src is {list(boxes.shape)}, "
                                  f"{path.name} has {len(entries)} persons: [2, 2, "
                                  f"{len(entries)}] expected")
    records, skipped = [], {}
    for i, e in enumerate(entries):
        where = f"{path.name} record {i}"
        if not isinstance(e, dict):
            raise DataFormatError(f"{where}: not an object")
        missing = [k for k in ("image", "center", "scale", "joints", "joints_vis") if k not in e]
        if missing:
            raise DataFormatError(f"{where}: missing {', '.join(missing)}")
        where += f" (image {e['image']})"
        try:
            joints = np.asarray(e["joints"], np.float64)
            vis = np.asarray(e["joints_vis"], np.float64)
            centre = np.asarray(e["center"], np.float64)
        except (TypeError, ValueError):
            raise DataFormatError(f"{where}: joints, joints_vis and center must be numbers") \
                from None
        if joints.shape != (16, 2) or vis.shape != (16,) or centre.shape != (2,):
            raise DataFormatError(f"{where}: joints must be [16][2], joints_vis [16] and "
                                  f"center [2]; got {list(joints.shape)}, {list(vis.shape)}, "
                                  f"{list(centre.shape)}")
        if not (np.isfinite(joints).all() and np.isfinite(centre).all()):
            raise DataFormatError(f"{where}: joints or center not finite")
        labelled = vis > 0
        if not labelled.any():
            skipped["person without annotated joints"] = \
                skipped.get("person without annotated joints", 0) + 1
            continue
        head = None
        if boxes is not None:
            head = PCKH_HEAD_FACTOR * float(np.linalg.norm(boxes[1, :, i] - boxes[0, :, i]))
        records.append(_mpii_record(_image_path(images, e["image"], where), centre,
                                    _num(e["scale"], "scale", where), joints, labelled, head,
                                    where))
    return Annotations(records, str(path), _mpii_norm_name(records), skipped)


def read_mpii(root: Path, split: str) -> Annotations:
    """MPII in `root`: images/ and either annot/{train,valid}.json (the PyTorch pose
    repositories' layout, gt_valid.mat beside valid.json) or mpii_human_pose_v1_u12_1.mat
    (in root or root/annot)."""
    images = root / "images"
    jname = {"train": "train.json", "val": "valid.json", "test": "valid.json"}[split]
    for d in (root / "annot", root):
        if (d / jname).is_file():
            heads = d / "gt_valid.mat" if jname == "valid.json" else None
            return read_mpii_json(d / jname, images,
                                  heads if heads is not None and heads.is_file() else None)
    for d in (root, root / "annot"):
        if (d / MPII_MAT).is_file():
            return read_mpii_mat(d / MPII_MAT, images, "val" if split == "test" else split)
    raise DataFormatError(f"{root}: no MPII annotations: expected annot/{jname} (the JSON of "
                          f"the PyTorch pose repositories) or {MPII_MAT} (MPII's own), and "
                          "the photos in images/")


# ---------------------------------------------------------------------------------------
# COCO person keypoints
# ---------------------------------------------------------------------------------------

def read_coco(path: Path, images: Path) -> Annotations:
    """Every person of a person_keypoints_*.json with at least one labelled keypoint."""
    try:
        d = json.loads(path.read_text())
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as e:
        raise DataFormatError(f"{path}: not readable JSON: {e}") from None
    if not isinstance(d, dict) or not all(isinstance(d.get(k), list)
                                          for k in ("images", "annotations", "categories")):
        raise DataFormatError(f"{path}: not a COCO file (lists 'images', 'annotations', "
                              "'categories')")
    person = [c for c in d["categories"] if isinstance(c, dict) and c.get("name") == "person"]
    if not person or list(person[0].get("keypoints", [])) != list(COCO_NAMES):
        raise DataFormatError(f"{path}: no 'person' category with COCO's 17 keypoints "
                              f"({', '.join(COCO_NAMES)})")
    pid = person[0].get("id")
    files = {}
    for k, im in enumerate(d["images"]):
        if not isinstance(im, dict) or "id" not in im or "file_name" not in im:
            raise DataFormatError(f"{path} images[{k}]: needs id and file_name")
        files[im["id"]] = im["file_name"]
    records, skipped = [], {}

    def skip(reason):
        skipped[reason] = skipped.get(reason, 0) + 1

    for k, a in enumerate(d["annotations"]):
        where = f"{path.name} annotations[{k}]"
        if not isinstance(a, dict):
            raise DataFormatError(f"{where}: not an object")
        where += f" (id {a.get('id')})"
        if a.get("category_id") != pid:
            skip("not a person")
            continue
        if a.get("iscrowd", 0):
            skip("crowd region (iscrowd = 1)")
            continue
        if a.get("image_id") not in files:
            raise DataFormatError(f"{where}: image_id {a.get('image_id')!r} is not in 'images'")
        where += f" (image {files[a['image_id']]})"
        try:
            kp = np.asarray(a.get("keypoints"), np.float64)
            box = np.asarray(a.get("bbox"), np.float64)
        except (TypeError, ValueError):
            raise DataFormatError(f"{where}: keypoints and bbox must be numbers") from None
        if kp.shape != (51,) or box.shape != (4,) or not (np.isfinite(kp).all()
                                                         and np.isfinite(box).all()):
            raise DataFormatError(f"{where}: keypoints must be 17 x (x, y, v) = 51 numbers "
                                  f"and bbox [x, y, w, h]; got {kp.size} and {box.size}")
        kp = kp.reshape(17, 3)
        if not set(np.unique(kp[:, 2])) <= {0.0, 1.0, 2.0}:
            raise DataFormatError(f"{where}: keypoint visibility must be 0, 1 or 2, got "
                                  f"{sorted(set(np.unique(kp[:, 2])))}")
        labelled = kp[:, 2] > 0
        if not labelled.any():
            skip("no labelled keypoints (num_keypoints = 0)")
            continue
        x, y, w, h = box
        if w <= 0 or h <= 0:
            raise DataFormatError(f"{where}: bbox {box.tolist()} is empty")
        centre, side = square_box(0, 0, (x, y, x + w, y + h), COCO_ENLARGE)
        joints = kp[:, :2].copy()
        joints[~labelled] = np.nan
        records.append(Record(_image_path(images, files[a["image_id"]], where), joints,
                              labelled, centre, side, float(max(w, h)), where))
    return Annotations(records, str(path), "larger side of the person box", skipped)


def read_coco_root(root: Path, split: str) -> Annotations:
    """COCO in `root`: annotations/person_keypoints_<set>.json and the photos in <set>/ (or
    images/<set>/); train: the set named train*, val and test: the one named val* (COCO's
    test sets have no public labels)."""
    want = "train" if split == "train" else "val"
    found = sorted(p for d in (root / "annotations", root)
                   for p in d.glob(f"person_keypoints_{want}*.json"))
    if not found:
        raise DataFormatError(f"{root}: no annotations/person_keypoints_{want}*.json")
    path = found[0]
    name = path.stem[len("person_keypoints_"):]
    images = next((d for d in (root / name, root / "images" / name) if d.is_dir()), root / name)
    return read_coco(path, images)


# ---------------------------------------------------------------------------------------
# .pts folders: 300-W, iBUG, LS3D-W, Menpo
# ---------------------------------------------------------------------------------------

def parse_pts(text: str, where: str = "pts") -> np.ndarray:
    """[n, 2] (x, y) of a .pts file, as written (iBUG files are 1-based)."""
    lines = [ln.strip() for ln in text.splitlines() if ln.strip()]
    if "{" not in lines or "}" not in lines or lines.index("}") < lines.index("{"):
        raise DataFormatError(f"{where}: not a .pts file (no '{{' ... '}}' block)")
    header = dict(ln.split(":", 1) for ln in lines[:lines.index("{")] if ":" in ln)
    if "n_points" not in header:
        raise DataFormatError(f"{where}: no 'n_points:' header")
    try:
        n = int(header["n_points"])
        rows = [ln.split() for ln in lines[lines.index("{") + 1:lines.index("}")]]
        pts = np.array([[float(v) for v in r[:2]] for r in rows if len(r) >= 2])
    except ValueError as e:
        raise DataFormatError(f"{where}: {e}") from None
    if len(rows) != n or pts.shape != (n, 2):
        raise DataFormatError(f"{where}: .pts file declares {n} points but has {len(rows)}")
    if not np.isfinite(pts).all():
        raise DataFormatError(f"{where}: points not finite")
    return pts


def face_record(image: Path, pts_1b: np.ndarray, where: str) -> Record:
    if pts_1b.shape != (faces.NUM_LANDMARKS, 2):
        raise DataFormatError(f"{where}: {len(pts_1b)} points, the 300-W format has "
                              f"{faces.NUM_LANDMARKS}")
    lm = pts_1b - 1
    centre, side = faces.crop_box(lm)
    a, b = faces.OUTER_EYE_CORNERS
    return Record(image, lm, np.ones(len(lm), bool), centre, side,
                  float(np.linalg.norm(lm[a] - lm[b])), where)


def read_pts_files(pts_files: list[Path], source: str) -> Annotations:
    records = []
    for p in sorted(pts_files):
        where = str(p)
        try:
            text = p.read_text()
        except (OSError, UnicodeDecodeError) as e:
            raise DataFormatError(f"{where}: not readable: {e}") from None
        images = [q for q in p.parent.glob(p.stem + ".*") if q.suffix.lower() in IMAGE_SUFFIXES]
        if not images:
            raise DataFormatError(f"{where}: no image beside it ({p.stem} with one of "
                                  f"{', '.join(IMAGE_SUFFIXES)})")
        records.append(face_record(sorted(images)[0], parse_pts(text, where), where))
    if not records:
        raise DataFormatError(f"{source}: no .pts files")
    return Annotations(records, source, faces.NORM_NAME)


# 300-W's folders: train = afw + the trainsets of helen and lfpw; val = the common subset
# (the testsets of helen and lfpw); test = the full set (common + ibug, the challenging one).
_300W_SPLITS = {"train": ("afw", "trainset"), "val": ("testset",), "test": ("testset", "ibug")}


def read_300w(root: Path, split: str) -> Annotations:
    """A 300-W folder (afw/, helen/{trainset,testset}/, lfpw/{trainset,testset}/, ibug/), or
    any folder of .pts files with train/ val/ test/ subfolders (LS3D-W, Menpo, your own)."""
    if not root.is_dir():
        raise DataFormatError(f"{root}: not a folder")
    own = root / split
    if own.is_dir():
        return read_pts_files(list(own.rglob("*.pts")), f"{own}")
    keys = _300W_SPLITS[split]
    files = [p for p in root.rglob("*.pts")
             if any(k in p.relative_to(root).parts[:-1] for k in keys)]
    if not files:
        raise DataFormatError(f"{root}: no {split} faces: expected a {split}/ folder, or the "
                              f"300-W folders {', '.join(keys)} with .pts files")
    return read_pts_files(files, f"{root} ({split}: {', '.join(keys)})")


def read_pts_folder(root: Path, split: str) -> Annotations:
    """Every .pts face under `root`, whatever the split (a folder of your own photos)."""
    if not root.is_dir():
        raise DataFormatError(f"{root}: not a folder")
    return read_pts_files(list(root.rglob("*.pts")), str(root))


# ---------------------------------------------------------------------------------------
# The data sets
# ---------------------------------------------------------------------------------------

def load_photo(path: Path, where: str = "") -> np.ndarray:
    """uint8 [H, W, 3] of an image file (grey, palette, CMYK and alpha made RGB)."""
    try:
        with Image.open(path) as im:
            return np.asarray(im.convert("RGB"))
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise DataFormatError(f"{where + ': ' if where else ''}image {path} is not readable: "
                              f"{e}") from None


class PhotoDataset(ProceduralDataset):
    """Crops of labelled photos (Records), with the contract of data.StickFigureDataset.

    Subclasses name the format and read(root, split). `length`: at most the first this
    many records (None: all). `skipped` is the reader's count of records it left out.
    """

    fmt: LandmarkFormat
    seed_root = _SEED
    needs_root = True
    data_name = "photos"

    def __init__(self, input_size: int, num_landmarks: int, split: str = "train",
                 length: int | None = None, augment: bool = False, sigma: float = 1.0,
                 root: str | os.PathLike | None = None, log=None):
        if root is None:
            raise ValueError(f"data set '{self.data_name}' reads local files: give the "
                             "folder (--data-root DIR)")
        if split not in self.split_ids:
            raise ValueError(f"split must be one of {', '.join(self.split_ids)}, got {split!r}")
        k = len(self.fmt.names)
        self.joint_ids = self.select(num_landmarks)
        self.joint_names = tuple(self.fmt.names[i] for i in self.joint_ids)
        ann = self.read(Path(root).expanduser(), split)
        if not ann.records:
            raise DataFormatError(f"{ann.source}: no usable records ({ann.summary(self.data_name, split)})")
        assert all(r.joints.shape == (k, 2) for r in ann.records)
        _check_images(ann.records)
        self.records = ann.records[:length] if length is not None else ann.records
        self.norm_name, self.skipped, self.source = ann.norm_name, ann.skipped, ann.source
        super().__init__(input_size, split, len(self.records), augment, sigma)
        (log or (lambda s: print(s, file=sys.stderr)))(ann.summary(self.data_name, split))

    @property
    def protocol(self) -> str:
        return self.fmt.protocol

    @classmethod
    def select(cls, num_landmarks: int) -> np.ndarray:
        """The landmarks of the format a network of `num_landmarks` heatmaps predicts."""
        k = len(cls.fmt.names)
        if num_landmarks != k:
            raise ValueError(f"data set '{cls.data_name}' has {k} landmarks; num_landmarks "
                             f"must be {k}, got {num_landmarks}")
        return np.arange(k)

    def read(self, root: Path, split: str) -> Annotations:
        raise NotImplementedError

    def crop(self, index: int) -> tuple[np.ndarray, np.ndarray, np.ndarray, float]:
        """(uint8 crop [S, S, 3], all K landmarks in crop pixels, labelled [K], norm in crop
        pixels) of item `index`, augmented if the data set is; flipped rows swapped."""
        r = self.records[index]
        s = self.input_size
        angle, zoom, flip = self.augmentation(index) if self.augment else (0.0, 1.0, False)
        m = crop_matrix(r.centre, r.side, s, angle, zoom, flip)
        image = warp(load_photo(r.image, r.where), m, s)
        pts, lab = apply_matrix(m, r.joints), r.labelled
        if flip:
            pts, lab = pts[self.fmt.flip_perm], lab[self.fmt.flip_perm]
        return image, pts, lab, r.norm * zoom * s / r.side

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        if not 0 <= index < self.length:
            raise IndexError(f"index {index} out of range for length {self.length}")
        image, pts, lab, norm = self.crop(index)
        s = self.input_size
        ids = self.joint_ids
        inside = lab & ((pts >= -0.5) & (pts < s - 0.5)).all(1)
        return landmark_item(image, pts[ids], inside[ids], norm, self.sigma)


class MpiiDataset(PhotoDataset):
    """MPII Human Pose (read_mpii). With num_landmarks N < 16, the N joints of
    data.LANDMARK_PRIORITY, as the stick figures (for the small presets)."""
    fmt, data_name = MPII, "mpii"

    @classmethod
    def select(cls, num_landmarks: int) -> np.ndarray:
        if not 1 <= num_landmarks <= 16:
            raise ValueError(f"MPII has 16 joints; num_landmarks must be in 1..16, got "
                             f"{num_landmarks}")
        return np.array(sorted(_J[n] for n in data.LANDMARK_PRIORITY[:num_landmarks]))

    def read(self, root, split):
        return read_mpii(root, split)


class CocoDataset(PhotoDataset):
    """COCO person keypoints (read_coco_root)."""
    fmt, data_name = COCO, "coco"

    def read(self, root, split):
        return read_coco_root(root, split)


class Faces300W(PhotoDataset):
    """300-W and folders like it (read_300w)."""
    fmt, data_name = FACE68, "300w"

    def read(self, root, split):
        return read_300w(root, split)


class PtsFolder(PhotoDataset):
    """Every .pts face of a folder, for any split (read_pts_folder)."""
    fmt, data_name = FACE68, "pts"

    def read(self, root, split):
        return read_pts_folder(root, split)


def format_of(ds) -> LandmarkFormat | None:
    """The landmark format of a data set (the procedural ones included), if it has one."""
    if isinstance(ds, PhotoDataset):
        return ds.fmt
    if isinstance(ds, data.StickFigureDataset):
        return MPII
    if len(getattr(ds, "joint_names", ())) == faces.NUM_LANDMARKS:
        return FACE68
    return None


def landmarks_of(num_landmarks: int) -> tuple[LandmarkFormat, tuple[str, ...], tuple]:
    """What a network with this many heatmaps predicts, as the data sets define it: (its
    format, the names of its landmarks, the lines between them, indexed 0..N-1). 68: the
    iBUG face; 17: COCO; 1..16: MPII's joints (all 16, or the stick figures' choice); any
    other number: points "0", "1", ... without lines."""
    if num_landmarks == len(FACE68.names):
        return FACE68, FACE68.names, FACE68.lines
    if num_landmarks == len(COCO.names):
        return COCO, COCO.names, COCO.lines
    if 1 <= num_landmarks <= 16:
        ids = [int(i) for i in MpiiDataset.select(num_landmarks)]
        at = {j: k for k, j in enumerate(ids)}
        lines = tuple((at[a], at[b]) for a, b in MPII.lines if a in at and b in at)
        return MPII, tuple(MPII.names[i] for i in ids), lines
    # a network of another landmark set: numbered points, no lines, no flip
    names = tuple(str(i) for i in range(num_landmarks))
    return LandmarkFormat("custom", names, np.arange(num_landmarks), (), "pck"), names, ()


def sample_photo(num_landmarks: int, input_size: int, upscale: int = 4) -> np.ndarray:
    """A photo-like sample for a network's demos (deploy/sample.png): item 0 of the
    procedural test split at the network's input size (a face for 68 landmarks, else a
    stick figure), blown up `upscale` times and set in a 4:3 frame, so that letterboxing it
    back to the input size is part of the demo. uint8 RGB [S*u, S*u*4/3 (about), 3]."""
    if num_landmarks == faces.NUM_LANDMARKS:
        item = faces.SyntheticFaceDataset(input_size, num_landmarks, "test", 1)[0]
    else:
        item = data.StickFigureDataset(input_size, 16, "test", 1)[0]
    img = np.rint(item["image"].numpy().transpose(1, 2, 0) * 255).astype(np.uint8)
    big = img.repeat(upscale, 0).repeat(upscale, 1)
    s = big.shape[0]
    pad = s // 6
    frame = np.empty((s, s + 2 * pad, 3), np.uint8)
    frame[:] = big.reshape(-1, 3).mean(0).astype(np.uint8)
    frame[:, pad:pad + s] = big
    return frame
