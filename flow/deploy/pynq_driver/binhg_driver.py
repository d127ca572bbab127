"""Driver of a binhg landmark accelerator on PYNQ (copied into a build's deploy/ folder).

    from binhg_driver import Accelerator
    with Accelerator.from_deploy(".") as acc:          # loads accelerator.bit on the board
        points = acc.landmarks(images)                  # uint8 [N, 3, H, W] -> [N, J, 2]
        points = acc.landmarks_in_image(photo)          # uint8 [H, W, 3], any size -> [J, 2]

Weights-independent: everything build-specific is in accelerator.json beside it. The images
are packed into the accelerator's stream format (stream_format.py), sent by the AXI DMA, and
the heatmap stream that comes back is unpacked, dequantized and decoded (landmarks.py). Needs
only NumPy; `pynq` is imported when a board overlay is opened, so the same code drives the
simulated overlays of sim/overlay.py off the board.
"""
from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

import landmarks
import stream_format


class DriverError(ValueError):
    """Bad input to the driver, or an overlay that is not this build's."""


def _count(value, name: str, lo: int = 1, hi: int | None = None) -> int:
    """A whole number in [lo, hi] (not a bool, not a float), else DriverError naming it."""
    if isinstance(value, bool) or not isinstance(value, (int, np.integer)) or value < lo or (
            hi is not None and value > hi):
        want = f"{lo} to {hi}" if hi is not None else f"at least {lo}"
        raise DriverError(f"{name} must be a whole number {want}, not {value!r}")
    return int(value)


def check_config(cfg, where: str = "accelerator.json") -> dict:
    """accelerator.json, field by field, before anything uses it: DriverError naming the
    field at fault (a truncated or hand-edited file must not fail later as a KeyError or a
    wrong image)."""
    def need(ok, field: str, what: str):
        if not ok:
            raise DriverError(f"{where}: field '{field}' {what}; copy the deploy/ folder of "
                              "the build again")

    need(isinstance(cfg, dict), "(top level)", "must be an object")
    for key in ("build_id", "dma", "bitfile"):
        need(isinstance(cfg.get(key), str) and cfg[key], key, "must be a non-empty string")
    # opened beside this file: a plain file name, never a path
    need("/" not in cfg["bitfile"] and "\\" not in cfg["bitfile"]
         and not cfg["bitfile"].startswith("."), "bitfile", "must be a plain file name")
    for side in ("input", "output"):
        p = cfg.get(side)
        need(isinstance(p, dict), side, "must be an object")

        def whole(key, lo=1, hi=None):
            v = p.get(key)
            need(not isinstance(v, bool) and isinstance(v, int) and v >= lo
                 and (hi is None or v <= hi), f"{side}.{key}",
                 f"must be a whole number {lo} to {hi}" if hi else f"must be a whole number "
                 f">= {lo}")
            return v

        shape = p.get("shape")
        need(isinstance(shape, list) and len(shape) == 3 and all(
            isinstance(v, int) and not isinstance(v, bool) and v >= 1 for v in shape),
            f"{side}.shape", "must be [height, width, channels] of positive whole numbers")
        bits, elems = whole("bits", 1, 63), whole("elems")
        need(isinstance(p.get("signed"), bool), f"{side}.signed", "must be true or false")
        need(shape[2] % elems == 0, f"{side}.elems", f"must divide the {shape[2]} channels")
        need(whole("beats_per_frame") * elems == shape[0] * shape[1] * shape[2],
             f"{side}.beats_per_frame", f"must be {shape[0] * shape[1] * shape[2] // elems} "
             f"(shape {shape} at {elems} elements a beat)")
        need(bits * elems <= 8 * whole("dma_word_bytes", 1, 128), f"{side}.dma_word_bytes",
             f"must hold a beat of {elems} x {bits} bits")
    c = cfg["output"]["shape"][2]
    for key in ("scale", "bias"):
        v = cfg["output"].get(key)
        need(isinstance(v, list) and len(v) == c and all(
            isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x)
            for x in v), f"output.{key}", f"must be a list of {c} finite numbers, one per "
            "output channel")
    return cfg


class Accelerator:
    """One accelerator overlay and its DMA buffers for up to `max_batch` frames a call."""

    def __init__(self, overlay, allocate, config: dict, max_batch: int = 8):
        self._bufs = []
        self.cfg = check_config(config)
        self.overlay = overlay
        max_batch = _count(max_batch, "max_batch")
        theirs = getattr(overlay, "build_id", None)
        if theirs is not None and theirs != config["build_id"]:
            raise DriverError(f"the overlay is build {theirs}, this driver's accelerator.json "
                              f"is build {config['build_id']}: use the deploy/ folder of the "
                              "build that made the overlay")
        self.dma = getattr(overlay, config["dma"], None)
        if self.dma is None:
            raise DriverError(f"the overlay has no DMA named '{config['dma']}' (this build's "
                              "block design has one): is it the overlay of another design?")
        self.inp, self.out = config["input"], config["output"]
        # On the board the overlay's .hwh says how wide this DMA's streams are
        params = (getattr(overlay, "ip_dict", None) or {}).get(config["dma"], {}).get(
            "parameters", {})
        for key, p in (("C_M_AXIS_MM2S_TDATA_WIDTH", self.inp),
                       ("C_S_AXIS_S2MM_TDATA_WIDTH", self.out)):
            if key in params and int(params[key]) != 8 * p["dma_word_bytes"]:
                raise DriverError(f"the overlay's DMA has {key} = {params[key]}, this build's "
                                  f"needs {8 * p['dma_word_bytes']}: is it the overlay of "
                                  "another build?")
        self.max_batch = max_batch
        sizes = [max_batch * p["beats_per_frame"] * p["dma_word_bytes"]
                 for p in (self.inp, self.out)]
        limit = getattr(self.dma, "buffer_max_size", None)
        if limit is not None and max(sizes) > limit:
            per = max(p["beats_per_frame"] * p["dma_word_bytes"] for p in (self.inp, self.out))
            raise DriverError(f"max_batch={max_batch} needs {max(sizes)} bytes per DMA "
                              f"transfer, more than the DMA's {limit}; at most "
                              f"{max(1, limit // per)} frames a call")
        try:
            for p in (self.inp, self.out):
                self._bufs.append(allocate(
                    shape=(max_batch * p["beats_per_frame"], p["dma_word_bytes"]),
                    dtype=np.uint8))
        except Exception:
            self.close()        # nothing left allocated when the second buffer fails
            raise
        self.in_buf, self.out_buf = self._bufs

    @classmethod
    def from_deploy(cls, deploy_dir=".", max_batch: int = 8, overlay=None, allocate=None):
        """The accelerator of a deploy/ folder: its bitstream through pynq.Overlay on the
        board, or the given `overlay` and `allocate` (e.g. a simulated one)."""
        d = Path(deploy_dir)
        path = d / "accelerator.json"
        try:
            cfg = json.loads(path.read_text())
        except OSError as e:
            raise DriverError(f"cannot read {path}: {e.strerror or e}") from None
        except ValueError as e:            # JSONDecodeError, UnicodeDecodeError
            raise DriverError(f"{path} is not valid JSON (truncated?): {e}") from None
        cfg = check_config(cfg, str(path))
        _count(max_batch, "max_batch")
        if overlay is None:
            bit = d / cfg["bitfile"]
            if not bit.is_file():
                raise DriverError(f"{bit} is missing: this build made no bitstream (see "
                                  f"{d / 'README.md'}); on a machine without the board, pass a "
                                  "simulated overlay")
            try:
                from pynq import Overlay
                from pynq import allocate as pynq_allocate

                overlay, allocate = Overlay(str(bit)), pynq_allocate
            except Exception as e:   # no pynq, no board, no XRT/PL server: say which file
                raise DriverError(f"PYNQ could not load {bit}: {type(e).__name__}: {e} (run "
                                  "this on the PYNQ board, or pass a simulated overlay)") from e
        return cls(overlay, allocate, cfg, max_batch)

    # -- running ---------------------------------------------------------------------------

    def _frames(self, images) -> np.ndarray:
        """Checks the images: uint8 [C, H, W] or [N, C, H, W] with this build's C, H, W."""
        x = np.asarray(images)
        h, w, c = self.inp["shape"]
        if x.dtype != np.uint8:
            raise DriverError(f"images must be uint8 (camera pixels), got {x.dtype}")
        if x.ndim == 3:
            x = x[None]
        if x.ndim != 4 or x.shape[1:] != (c, h, w):
            raise DriverError(f"images must be [N, {c}, {h}, {w}] or [{c}, {h}, {w}] "
                              f"(channels first), got shape {np.asarray(images).shape}")
        if not 1 <= len(x) <= self.max_batch:
            raise DriverError(f"{len(x)} images in one call; this driver's buffers hold "
                              f"1 to {self.max_batch} (Accelerator(..., max_batch=N))")
        return x

    def run_codes(self, images) -> np.ndarray:
        """uint8 images -> the output stream's integer codes [N, H, W, C] (NHWC)."""
        if not self._bufs:
            raise DriverError("the accelerator is closed")
        x = self._frames(images)
        n = len(x)
        ip, op = self.inp, self.out
        n_in, n_out = n * ip["beats_per_frame"], n * op["beats_per_frame"]
        self.in_buf[:n_in] = stream_format.pack_words(x.transpose(0, 2, 3, 1), ip["bits"],
                                                      ip["elems"], ip["dma_word_bytes"])
        self.in_buf.flush()
        # The accelerator ends every output frame with TLAST, which ends an S2MM transfer:
        # one receive per frame, the first armed before sending so the output never waits
        # long; all frames go out in one MM2S transfer.
        frame = op["beats_per_frame"] * op["dma_word_bytes"]
        self.dma.recvchannel.transfer(self.out_buf, start=0, nbytes=frame)
        self.dma.sendchannel.transfer(self.in_buf, nbytes=n_in * ip["dma_word_bytes"])
        for k in range(1, n + 1):
            self.dma.recvchannel.wait()
            if k < n:
                self.dma.recvchannel.transfer(self.out_buf, start=k * frame, nbytes=frame)
        self.dma.sendchannel.wait()
        self.out_buf.invalidate()
        return stream_format.unpack_words(np.asarray(self.out_buf[:n_out]),
                                          (n, *op["shape"]), op["bits"], op["elems"],
                                          op["signed"])

    def heatmaps(self, images) -> np.ndarray:
        """uint8 images -> heatmaps float32 [N, J, H', W'] (the model's output values)."""
        codes = self.run_codes(images).astype(np.float32)
        scale = np.asarray(self.out["scale"], dtype=np.float32)
        bias = np.asarray(self.out["bias"], dtype=np.float32)
        return (codes * scale + bias).transpose(0, 3, 1, 2)

    def landmarks(self, images) -> np.ndarray:
        """uint8 images -> landmarks float32 [N, J, 2], (x, y) in input-image pixels."""
        hm = self.heatmaps(images)
        return landmarks.heatmap_to_image(landmarks.decode_heatmaps(hm),
                                          self.inp["shape"][0], hm.shape[2])

    def landmarks_in_image(self, image, box=None, enlarge: float = 1.0) -> np.ndarray:
        """Landmarks float32 [J, 2] of one photo or camera frame of any size, (x, y) in its
        own pixels: uint8 [H, W, 3] RGB, channels last as PIL and cameras give them (an
        OpenCV frame is BGR: pass frame[..., ::-1]), or grey [H, W]. The frame is
        letterboxed to the input size (or, with `box` = (x0, y0, x1, y1), the square
        around that box, times `enlarge`) exactly as the network's training crops were
        (landmarks.photo_crop), and the landmarks are mapped back."""
        x = np.asarray(image)
        if x.dtype != np.uint8:
            raise DriverError(f"the image must be uint8 (camera pixels), got {x.dtype}")
        if x.ndim == 2:
            x = np.repeat(x[..., None], 3, axis=2)
        h, w, c = self.inp["shape"]
        if x.ndim != 3 or x.shape[2] not in (c, c + 1) or min(x.shape[:2]) < 1:
            raise DriverError(f"the image must be [H, W, {c}] (channels last) or [H, W], got "
                              f"shape {x.shape}")
        if h != w:
            raise DriverError(f"this build's input is {h} x {w}: letterboxing needs a square "
                              "input")
        frame, back = landmarks.photo_crop(x[..., :c], h, box, enlarge)
        pts = self.landmarks(frame.transpose(2, 0, 1))[0]
        return landmarks.apply_matrix(back, pts).astype(np.float32)

    def throughput(self, batch: int | None = None, repeats: int = 5) -> dict:
        """Times run_codes on random frames (as FINN's throughput test): frames per second,
        the latency of one call, and the DMA's bytes per second each way."""
        n = self.max_batch if batch is None else _count(batch, "batch", 1, self.max_batch)
        repeats = _count(repeats, "repeats")
        h, w, c = self.inp["shape"]
        x = np.random.default_rng(0).integers(0, 256, (n, c, h, w), dtype=np.uint8)
        self.run_codes(x)                       # warm up
        t0 = time.perf_counter()
        for _ in range(repeats):
            self.run_codes(x)
        dt = (time.perf_counter() - t0) / repeats
        return {"batch": n, "seconds_per_call": dt, "fps": n / dt,
                "latency_ms": dt * 1e3,
                "dma_in_bytes_per_s": n * self.inp["beats_per_frame"]
                * self.inp["dma_word_bytes"] / dt,
                "dma_out_bytes_per_s": n * self.out["beats_per_frame"]
                * self.out["dma_word_bytes"] / dt}

    # -- buffers ---------------------------------------------------------------------------

    def close(self) -> None:
        """Frees the DMA buffers (idempotent)."""
        while self._bufs:
            self._bufs.pop().freebuffer()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.close()
