"""deploy/: what goes to the board. The weights-independent PYNQ driver (flow/deploy/pynq_driver/),
the two modules it imports (the stream format and the landmark decoder), an example and a
Jupyter notebook (as PYNQ overlays are delivered), a README for the board, a sample photo
(procedural), accelerator.json (everything build-specific: ports, DMA word sizes, output
dequantization, the landmarks' names, the build id) and, when the build made them, the
bitstream and its .hwh.
"""
from __future__ import annotations

import hashlib
import json
import shutil
from pathlib import Path

import numpy as np

from ..hwgraph import HwGraph
from ..backends.stream_format import port_info

HERE = Path(__file__).resolve().parent
ROOT = HERE.parents[1]
DRIVER_FILES = [HERE / "pynq_driver" / f for f in
                ("binhg_driver.py", "example.py", "README.md", "landmarks.ipynb")]
SHARED_MODULES = [ROOT / "flow" / "backends" / "stream_format.py", ROOT / "brevitas_models" / "landmarks.py"]
DMA_CELL = "dma"        # the AXI DMA's name in vivado/block_design.tcl


def build_id(design_dir: Path) -> str:
    """A hash of the generated design (every file of rtl/ or hls/): names the build an
    overlay belongs to."""
    h = hashlib.sha256()
    for f in sorted(p for p in Path(design_dir).rglob("*") if p.is_file()):
        h.update(f.relative_to(design_dir).as_posix().encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


def deploy_config(g: HwGraph, manifest: dict, design_dir: Path, meta: dict) -> dict:
    """accelerator.json: the ports as the DMA moves them and the output's dequantization."""
    from ..backends.xilinx import dma_stream_width

    (pin,), (pout,) = manifest["inputs"], manifest["outputs"]
    ports = {}
    for key, p in (("input", pin), ("output", pout)):
        info = port_info(g, p["port"], p["tensor"], p["elems"])
        info["dma_word_bytes"] = dma_stream_width(info["tdata_width"]) // 8
        ports[key] = info
    dq = g.dequant[pout["tensor"]]
    c = ports["output"]["shape"][-1]
    ports["output"]["scale"] = np.broadcast_to(np.asarray(dq["scale"], float), (c,)).tolist()
    ports["output"]["bias"] = np.broadcast_to(np.asarray(dq["bias"], float), (c,)).tolist()
    return {"build_id": build_id(design_dir), **meta, "dma": DMA_CELL,
            "bitfile": "accelerator.bit", **ports}


def write_deploy(g: HwGraph, out: Path, build_dir: Path, backend: str, meta: dict) -> dict:
    """Write `out` (deploy/) for the build in `build_dir`; returns accelerator.json's data."""
    design = build_dir / backend
    manifest = json.loads((design / "accelerator.json").read_text())
    cfg = deploy_config(g, manifest, design, meta)
    out.mkdir(parents=True)
    for f in DRIVER_FILES + SHARED_MODULES:
        shutil.copy2(f, out / f.name)
    bits = [build_dir / "bitfile" / f"accelerator.{ext}" for ext in ("bit", "hwh")]
    cfg["bitstream_built"] = all(f.is_file() for f in bits)
    if cfg["bitstream_built"]:
        for f in bits:
            shutil.copy2(f, out / f.name)
    from PIL import Image

    from brevitas_models.photos import sample_photo

    Image.fromarray(sample_photo(meta["num_landmarks"], meta["input_size"])).save(
        out / "sample.png")
    (out / "accelerator.json").write_text(json.dumps(cfg, indent=1) + "\n")
    return cfg
