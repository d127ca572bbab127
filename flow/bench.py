"""Benchmark builds on boards: the command line of flow/measure/bench.py (its docstring says
what is measured and how).

    python flow/bench.py --board pynq-z2 [--board zcu104 ...] [--model PRESET]
                         [--target-fps FPS | --max] [--frames N] [--reuse] [--probes]
"""
import sys
from pathlib import Path

# `python flow/bench.py` puts flow/ itself first on sys.path; put the project root there
# instead, so that `flow` imports as the package.
if sys.path and Path(sys.path[0]).resolve() == Path(__file__).resolve().parent:
    sys.path[0] = str(Path(__file__).resolve().parents[1])

from flow.measure.bench import main  # noqa: E402

if __name__ == "__main__":
    sys.exit(main())
