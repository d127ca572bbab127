"""Landmarks of a few images on the board (run on the PYNQ board, in this folder):

    python3 example.py [image.npy ...]

Each .npy file holds uint8 images [N, 3, H, W] or one [3, H, W] at the network's input size;
without files, random frames are used (which only shows the plumbing). Prints the landmarks
and the measured throughput.
"""
import sys

import numpy as np

from binhg_driver import Accelerator


def main(paths):
    with Accelerator.from_deploy(".") as acc:
        h, w, c = acc.inp["shape"]
        if paths:
            images = np.concatenate([np.load(p).reshape(-1, c, h, w) for p in paths])
        else:
            images = np.random.default_rng(0).integers(0, 256, (2, c, h, w), dtype=np.uint8)
        for i in range(0, len(images), acc.max_batch):
            for k, pts in enumerate(acc.landmarks(images[i:i + acc.max_batch]), start=i):
                print(f"image {k}: " + " ".join(f"({x:.1f}, {y:.1f})" for x, y in pts))
        t = acc.throughput()
        print(f"{t['fps']:.1f} frames/s, {t['latency_ms']:.2f} ms per call of {t['batch']}")


if __name__ == "__main__":
    main(sys.argv[1:])
