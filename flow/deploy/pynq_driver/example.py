"""Landmarks on photos with the accelerator (run on the PYNQ board, in this folder):

    python3 example.py [photo.jpg ...] [--box X0,Y0,X1,Y1] [--out DIR]

Each photo or camera frame (JPEG, PNG, ...; any size) is letterboxed to the network's input
(or cropped to the square around --box), run on the accelerator, and its landmarks mapped
back to the photo's pixels; DIR/<name>.landmarks.png shows them with the skeleton or face
contour (DIR defaults to this folder). Without photos, sample.png (a procedural sample the
build wrote). Prints the landmarks, the accelerator's frame rate, and the frame rate of the
whole path (decode, letterbox, accelerator, drawing) on this CPU.

Off the board, from the generator's repository, the same through the simulated overlay:

    python BUILD/deploy/example.py photo.jpg --sim BUILD
"""
import argparse
import os
import sys
import time
from pathlib import Path

import numpy as np
from PIL import Image

import landmarks
from binhg_driver import Accelerator

HERE = Path(__file__).resolve().parent


def open_accelerator(sim=None, max_batch=8):
    """The accelerator of this folder: on the board its bitstream; with `sim` (a build
    folder) the build's golden model behind the simulated DMA (sim/overlay.py)."""
    if sim is None:
        return Accelerator.from_deploy(HERE, max_batch=max_batch)
    sys.path.append(os.getcwd())       # the generator's repository, for sim/
    from sim.overlay import GoldenOverlay
    from sim.overlay import sim_allocate

    return Accelerator.from_deploy(HERE, max_batch=max_batch, overlay=GoldenOverlay(sim),
                                   allocate=sim_allocate)


def draw(acc, photo, points):
    """The photo with its landmarks, as a PIL image (names and lines: accelerator.json)."""
    lm = acc.cfg.get("landmarks", {})
    return landmarks.draw_landmarks(photo, points, lm.get("lines", ()), lm.get("names", ()))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__,
                                formatter_class=argparse.RawDescriptionHelpFormatter)
    p.add_argument("photos", nargs="*", help="image files (default: sample.png)")
    p.add_argument("--box", help="X0,Y0,X1,Y1: the person or face box in every photo")
    p.add_argument("--out", default=str(HERE), help="where the pictures go")
    p.add_argument("--sim", help="off the board: the build folder to simulate")
    a = p.parse_args(argv)
    box = tuple(float(v) for v in a.box.split(",")) if a.box else None
    paths = a.photos or [str(HERE / "sample.png")]
    out = Path(a.out)
    out.mkdir(parents=True, exist_ok=True)
    with open_accelerator(a.sim) as acc:
        t0 = time.perf_counter()
        for path in paths:
            photo = np.asarray(Image.open(path).convert("RGB"))
            points = acc.landmarks_in_image(photo, box)
            picture = out / (Path(path).stem + ".landmarks.png")
            draw(acc, photo, points).save(picture)
            print(f"{path} ({photo.shape[1]} x {photo.shape[0]}): " + " ".join(
                f"({x:.1f}, {y:.1f})" for x, y in points) + f" -> {picture}")
        whole = len(paths) / (time.perf_counter() - t0)
        t = acc.throughput()
        print(f"accelerator: {t['fps']:.1f} frames/s ({t['latency_ms']:.2f} ms per call of "
              f"{t['batch']}); photo to picture: {whole:.1f} frames/s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
