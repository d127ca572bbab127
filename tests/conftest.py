"""Session-wide cache of each preset's model, QONNX export and FINN graph: exporting and
converting a paper-size network takes minutes, so every test file shares one of each."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

from types import SimpleNamespace

import pytest

# One Verilator compile cache for the session: tests/ and sim/ build identical designs (the
# same preset, same RTL), and builds started as subprocesses inherit it.
os.environ.setdefault("BINHG_SIM_CACHE",
                      str(Path(tempfile.gettempdir()) / "binhg-sim-cache"))

from modelutil import calibrated_model

# BINHG_TORCH_THREADS=N runs the tests with torch on N threads (and the builds they start, by
# OMP_NUM_THREADS): float checks must hold for any thread count, and for any CPU's kernels
# (ATEN_CPU_CAPABILITY=default forces the plain ones), tests/README.md.
if os.environ.get("BINHG_TORCH_THREADS"):
    import torch

    torch.set_num_threads(int(os.environ["BINHG_TORCH_THREADS"]))
    os.environ["OMP_NUM_THREADS"] = os.environ["BINHG_TORCH_THREADS"]


def pytest_report_header(config):
    import torch

    return (f"torch {torch.__version__}: {torch.get_num_threads()} threads, CPU capability "
            f"{torch.backends.cpu.get_cpu_capability()}")


@pytest.fixture(scope="session")
def preset_artifacts(tmp_path_factory):
    cache: dict[str, SimpleNamespace] = {}

    def get(name: str) -> SimpleNamespace:
        if name not in cache:
            from brevitas_models.export import export_qonnx

            m, cfg = calibrated_model(name)
            d = tmp_path_factory.mktemp(name)
            cache[name] = SimpleNamespace(name=name, model=m, cfg=cfg, dir=d,
                                          qonnx=export_qonnx(m, cfg, d / f"{name}.qonnx.onnx"),
                                          finn_path=None)
        return cache[name]

    return get


@pytest.fixture(scope="session")
def finn_graph(preset_artifacts):
    """The preset's graph after the flow's convert_to_finn step (a fresh ModelWrapper)."""
    def get(name: str):
        from qonnx.core.modelwrapper import ModelWrapper

        from flow.frontend.convert import convert_to_finn

        a = preset_artifacts(name)
        if a.finn_path is None:
            path = a.dir / f"{name}.finn.onnx"
            convert_to_finn(ModelWrapper(str(a.qonnx))).save(str(path))
            a.finn_path = path
        return ModelWrapper(str(a.finn_path))

    return get


@pytest.fixture(scope="session")
def tiny_build_pristine(tmp_path_factory):
    """`flow/build.py --board pynq-z2 --model hg-hpm-tiny`, built once per session:
    (output folder, stdout). Tests that change a build work on a copy (shutil.copytree)."""
    import subprocess
    import sys

    out = tmp_path_factory.mktemp("pristine") / "tiny"
    r = subprocess.run([sys.executable, "flow/build.py", "--board", "pynq-z2", "--model",
                        "hg-hpm-tiny", "--output", str(out)], cwd=Path(__file__).parents[1],
                       capture_output=True, text=True, timeout=900)
    assert r.returncode == 0, r.stdout + r.stderr
    return out, r.stdout

