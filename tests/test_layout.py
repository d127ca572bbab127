"""flow/ is laid out by stage (flow/__init__.py): every module imports only from its own stage,
the stages before it and the core, and only flow/measure/simulate.py imports sim/."""
from __future__ import annotations

import ast
from pathlib import Path

FLOW = Path(__file__).resolve().parents[1] / "flow"
# the order of the stages; the core is read by all
RANK = {"core": 0, "frontend": 1, "planning": 2, "backends": 3, "measure": 4, "deploy": 5,
        "pipeline": 6, "cli": 7, "examples": 8}
CORE = {"hwgraph", "layers", "golden", "boards", "processes", "encoding"}


def stage_of(parts: list[str]) -> str:
    """Stage of a module given as its path parts under flow/ (e.g. ['planning', 'folding'])."""
    if parts[0] in RANK and parts[0] not in ("core", "cli"):
        return parts[0]
    if parts[0] in CORE:
        return "core"
    if parts[0] in ("build", "bench"):
        return "cli"
    raise AssertionError(f"flow/{'/'.join(parts)}: module in no stage; add it to one")


def imported_flow_modules(path: Path) -> list[tuple[int, list[str]]]:
    """(line, path parts under flow/) of every flow module `path` imports; ('sim', ...) too."""
    tree = ast.parse(path.read_text())
    pkg = list(path.relative_to(FLOW).parent.parts)
    out = []
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg[: len(pkg) - (node.level - 1)] if node.level > 1 else pkg
                mod = base + (node.module.split(".") if node.module else [])
                out.append((node.lineno, mod or [a.name for a in node.names][:1]))
            elif node.module and node.module.split(".")[0] in ("flow", "sim"):
                parts = node.module.split(".")
                out.append((node.lineno, parts[1:] if parts[0] == "flow" else parts))
        elif isinstance(node, ast.Import):
            for a in node.names:
                parts = a.name.split(".")
                if parts[0] in ("flow", "sim"):
                    out.append((node.lineno, parts[1:] if parts[0] == "flow" else parts))
    return out


def test_imports_run_one_way():
    bad = []
    for path in sorted(FLOW.rglob("*.py")):
        rel = path.relative_to(FLOW)
        if "pynq_driver" in rel.parts:
            continue          # copied to the board: imports nothing of flow
        parts = list(rel.with_suffix("").parts)
        if parts[-1] == "__init__":
            parts = parts[:-1]
        if not parts:
            continue
        mine = stage_of(parts)
        for line, mod in imported_flow_modules(path):
            if mod and mod[0] == "sim":
                if rel.as_posix() != "measure/simulate.py":
                    bad.append(f"flow/{rel}:{line} imports sim/ (only measure/simulate.py may)")
                continue
            if not mod:
                continue
            theirs = stage_of(mod)
            if RANK[theirs] > RANK[mine]:
                bad.append(f"flow/{rel}:{line} ({mine}) imports {'.'.join(mod)} ({theirs})")
    assert not bad, "imports that reach back to a later stage:\n" + "\n".join(bad)


def test_every_stage_says_its_contract():
    for stage in RANK:
        if stage in ("core", "cli"):
            continue
        init = FLOW / stage / "__init__.py"
        assert init.is_file() and ast.get_docstring(ast.parse(init.read_text())), stage
