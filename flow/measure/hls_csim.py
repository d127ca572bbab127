"""C simulation of a generated HLS project (flow/backends/hlsgen.py) with g++: what Vitis HLS's csim
does, on a machine without Vitis.

The arbitrary-precision types and hls::stream come from the Apache-2.0 headers that the hls4ml
wheel ships (installed with --no-deps by flow/install.sh; nothing of hls4ml is imported).
Executables are cached by a hash of the project's sources, so identical designs compile once.
"""
from __future__ import annotations

import hashlib
import importlib.util
import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from ..backends.stream_format import pack_beats
from ..processes import run_tool
from ..backends.stream_format import unpack_beats

CXXFLAGS = ("-std=c++14", "-O1", "-w")
# The hls_stream.h model warns (and returns zeros) when a kernel reads an empty stream, and
# on leftover words at destruction: either means the C++ does not match the stream contract.
STREAM_WARNINGS = ("is read while empty", "contains leftover data")


class CsimError(RuntimeError):
    """The C simulation could not be built or run, or broke the stream contract."""


def ap_types_dir() -> Path:
    """The folder with ap_int.h and hls_stream.h."""
    spec = importlib.util.find_spec("hls4ml")
    if spec is not None and spec.submodule_search_locations:
        d = Path(list(spec.submodule_search_locations)[0]) / "templates" / "vivado" / "ap_types"
        if (d / "ap_int.h").is_file() and (d / "hls_stream.h").is_file():
            return d
    raise CsimError("the ap_int/hls_stream headers are missing: install them with "
                    "'pip install --no-deps hls4ml==1.3.0' (flow/install.sh does)")


def csim_missing() -> str | None:
    """Why C simulation cannot run here, or None."""
    if shutil.which(os.environ.get("CXX", "g++")) is None:
        return "no C++ compiler (g++) on PATH"
    try:
        ap_types_dir()
    except CsimError as e:
        return str(e)
    return None


def _digest(hls_dir: Path, flags: tuple[str, ...]) -> str:
    h = hashlib.sha256(" ".join(CXXFLAGS + flags).encode())
    for f in sorted(hls_dir.rglob("*")):
        if f.is_file() and f.suffix in (".cpp", ".hpp", ".h"):
            h.update(str(f.relative_to(hls_dir)).encode())
            h.update(f.read_bytes())
    return h.hexdigest()[:16]


def compile_csim(hls_dir: str | Path, cache: str | Path | None = None,
                 flags: tuple[str, ...] = ()) -> Path:
    """Compile `hls_dir`'s accelerator.cpp + csim_tb.cpp (with extra g++ `flags`, e.g.
    -DNAME); returns the executable."""
    hls_dir = Path(hls_dir)
    cache = Path(cache) if cache else hls_dir / "csim"
    exe = cache / f"csim-{_digest(hls_dir, tuple(flags))}"
    if exe.is_file():
        return exe
    cache.mkdir(parents=True, exist_ok=True)
    cxx = os.environ.get("CXX", "g++")
    tmp = exe.with_name(exe.name + f".tmp{os.getpid()}")
    cmd = [cxx, *CXXFLAGS, *flags, f"-I{hls_dir}", f"-I{ap_types_dir()}", str(hls_dir / "csim_tb.cpp"),
           str(hls_dir / "accelerator.cpp"), "-o", str(tmp)]
    r = run_tool(cmd, capture_output=True, text=True)
    if r.returncode != 0:
        errors = [ln for ln in r.stderr.splitlines() if "error" in ln][:8]
        raise CsimError(f"g++ failed on {hls_dir}:\n" + "\n".join(errors or
                                                                 r.stderr.splitlines()[-8:]))
    tmp.replace(exe)     # atomic: a concurrent or interrupted build leaves no broken binary
    return exe


@dataclass
class CsimResult:
    outputs: dict[str, np.ndarray]      # tensor name -> NHWC int64 codes
    seconds: float


def run_csim(exe: str | Path, manifest: dict, feeds: dict[str, np.ndarray]) -> CsimResult:
    """Stream NHWC input codes {input tensor: [N, H, W, C]} through the compiled top, one call
    per frame; returns every output's codes."""
    import time

    args, frames = [], None
    with tempfile.TemporaryDirectory(prefix="csim-") as d:
        for p in manifest["inputs"]:
            if p["tensor"] not in feeds:
                raise CsimError(f"no frames for input '{p['tensor']}' (port {p['port']})")
            codes = np.asarray(feeds[p["tensor"]])
            if tuple(codes.shape[1:]) != tuple(p["shape"]):
                raise CsimError(f"input '{p['tensor']}' has shape {tuple(p['shape'])}; got "
                                f"frames of {tuple(codes.shape[1:])}")
            frames = len(codes)
            f = Path(d) / f"{p['port']}.hex"
            f.write_text("".join(f"{b:x}\n" for b in pack_beats(codes, p["bits"], p["elems"])))
            args.append(str(f))
        outs = [Path(d) / f"{p['port']}.hex" for p in manifest["outputs"]]
        t0 = time.perf_counter()
        r = run_tool([exe, *args, *outs], capture_output=True, text=True)
        secs = time.perf_counter() - t0
        log = (r.stdout + r.stderr).strip()
        if r.returncode != 0:
            raise CsimError(f"C simulation failed (exit {r.returncode}): {log[-2000:]}")
        bad = [ln for ln in log.splitlines() if any(w in ln for w in STREAM_WARNINGS)]
        if bad:
            raise CsimError("C simulation broke the stream contract: " + "; ".join(bad[:5]))
        result = {}
        for p, f in zip(manifest["outputs"], outs):
            mask = (1 << (p["bits"] * p["elems"])) - 1     # drop the byte padding
            words = [int(w, 16) & mask for w in f.read_text().split()]
            result[p["tensor"]] = unpack_beats(words, (frames, *p["shape"]), p["bits"],
                                               p["elems"], p["signed"])
    return CsimResult(result, secs)
