"""Landmarks on photos: crop, run the network, draw.

    python -m brevitas_models.predict photo.jpg more/*.png --preset hg-hpm-z2 --out build/predict
    python -m brevitas_models.predict face.jpg --checkpoint face.pt --box 120,80,360,330

Each photo (JPEG/PNG/..., any size, its EXIF orientation applied) is cropped and resized
as the training data is (landmarks.photo_crop: the square around --box, enlarged as the
training crops are, or the whole photo letterboxed), the network's heatmaps are decoded
(landmarks.decode_heatmaps) and the landmarks mapped back to the photo's own pixels. For
each photo OUT/<name>.landmarks.png shows them with the skeleton (or the face contour);
OUT/landmarks.json lists them (x, y in photo pixels, pixel centres at integers).

The same on an accelerator build: deploy/example.py (on the board, or off it with
--sim BUILD through the simulated overlay), with the same crop.
"""
from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

import numpy as np
import torch
from PIL import Image
from PIL import ImageOps

from .checkpoint import CheckpointError
from .checkpoint import load_checkpoint
from .checkpoint import load_preset
from .config import DEFAULT_PRESET
from .config import ConfigError
from .files import write_atomic
from .landmarks import apply_matrix
from .landmarks import decode_heatmaps
from .landmarks import draw_landmarks
from .landmarks import heatmap_to_image
from .landmarks import photo_crop
from .photos import COCO_ENLARGE
from .photos import FACE68
from .photos import landmarks_of
from .faces import CROP_ENLARGE


class PredictError(ValueError):
    """A photo or option that cannot be used; the message names it."""


def read_photo(path: str | Path) -> np.ndarray:
    """uint8 [H, W, 3] of an image file, turned upright by its EXIF orientation."""
    try:
        with Image.open(path) as im:
            return np.asarray(ImageOps.exif_transpose(im).convert("RGB"))
    except FileNotFoundError:
        raise PredictError(f"{path}: no such file") from None
    except (OSError, ValueError, Image.DecompressionBombError) as e:
        raise PredictError(f"{path}: not a readable image: {e}") from None


def parse_box(s: str) -> tuple[float, float, float, float]:
    try:
        x0, y0, x1, y1 = (float(v) for v in s.split(","))
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected X0,Y0,X1,Y1 (the box's corners in "
                                         f"pixels), got {s!r}") from None
    if not (x1 > x0 and y1 > y0):
        raise argparse.ArgumentTypeError(f"box {s!r} is empty: need X0 < X1 and Y0 < Y1")
    return x0, y0, x1, y1


@torch.no_grad()
def predict_photo(model, photo: np.ndarray, box=None, enlarge: float | None = None) -> np.ndarray:
    """[N, 2] landmarks of `model` (its .cfg: input_size, num_landmarks) on a photo, in the
    photo's pixels. `enlarge`: the box's margin (default: what the training crops used,
    1.4 for faces, 1.25 for persons)."""
    cfg = model.cfg
    fmt = landmarks_of(cfg.num_landmarks)[0]
    if enlarge is None:
        enlarge = CROP_ENLARGE if fmt is FACE68 else COCO_ENLARGE
    crop, back = photo_crop(photo, cfg.input_size, box, enlarge if box is not None else 1.0)
    x = torch.from_numpy(crop.transpose(2, 0, 1)[None].astype(np.float32) / 255)
    heat = model(x).numpy()
    pts = heatmap_to_image(decode_heatmaps(heat), cfg.input_size, heat.shape[-1])[0]
    return apply_matrix(back, pts)


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(prog="python -m brevitas_models.predict", description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("images", nargs="+", help="photos (JPEG, PNG, ...; any size)")
    src = p.add_mutually_exclusive_group()
    src.add_argument("--checkpoint", help="trained network (brevitas_models.train --out)")
    src.add_argument("--preset", help=f"a preset's shipped network (default {DEFAULT_PRESET})")
    p.add_argument("--box", type=parse_box, help="X0,Y0,X1,Y1: the person or face box "
                   "(pixel corners) in every photo; default: the whole photo")
    p.add_argument("--enlarge", type=float, help="margin around --box (default: as the "
                   "training crops: 1.25 persons, 1.4 faces)")
    p.add_argument("--out", default="build/predict", help="output folder (default %(default)s)")
    p.add_argument("--threads", type=int, default=2)
    a = p.parse_args(argv)
    torch.set_num_threads(a.threads)
    try:
        photos = [read_photo(f) for f in a.images]          # all readable before any work
        if a.checkpoint:
            model, cfg = load_checkpoint(a.checkpoint)
            source = a.checkpoint
        else:
            model, cfg, source = load_preset(a.preset or DEFAULT_PRESET)
        fmt, names, lines = landmarks_of(cfg.num_landmarks)
        out = Path(a.out)
        if out.exists() and not out.is_dir():
            raise PredictError(f"--out {out}: is a file, not a folder")
        out.mkdir(parents=True, exist_ok=True)
        results = []
        for f, photo in zip(a.images, photos):
            pts = predict_photo(model, photo, a.box, a.enlarge)
            name = Path(f).stem + ".landmarks.png"
            pic = draw_landmarks(photo, pts, lines, names)
            write_atomic(out / name, lambda tmp: pic.save(tmp, format="PNG"))
            results.append({"image": str(f), "picture": name, "size": list(photo.shape[1::-1]),
                            "box": a.box, "landmarks": np.round(pts, 2).tolist()})
            print(f"{f}: {len(pts)} landmarks -> {out / name}")
        doc = {"model": cfg.name, "source": source, "landmark_names": list(names),
               "format": fmt.name, "photos": results}
        write_atomic(out / "landmarks.json",
                     lambda tmp: Path(tmp).write_text(json.dumps(doc, indent=1) + "\n"))
    except (PredictError, CheckpointError, ConfigError, ValueError, OSError) as e:
        print(f"error: {str(e).strip().splitlines()[0]}", file=sys.stderr)
        return 2
    if source.startswith("untrained"):
        print(f"note: {source}: the landmarks are those of an untrained network")
    print(f"wrote {out / 'landmarks.json'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
