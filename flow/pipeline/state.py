"""What a build folder holds, and who is writing it.

`build_state.json` records, for every step that ran in the folder, the inputs that produced
its output (the source model and its hash, the board, the folding options, the flow's own
code and the tools, each as data: flow/pipeline/inputs.py), its record for the report, and
the report sections it wrote. A build resumed with `--from STEP` keeps the steps before STEP
only if each was made from the inputs the new build would give it: otherwise it refuses,
naming the step, the input and both values, and the step to resume from instead. Every step
from STEP on is forgotten (its outputs deleted) before anything runs, so a build that stops
early or fails never leaves an older result looking like this one's.

`.build.lock` (flock) keeps a second build out of a busy folder; the kernel drops the lock
when its holder dies, however it dies, so a killed build never blocks the next one.
"""
from __future__ import annotations

import json
import os
import shutil
import time
from pathlib import Path

from brevitas_models.files import write_json_atomic

from .inputs import Inputs
from .inputs import describe_change
from .runner import BuildError

STATE_FILE = "build_state.json"
LOCK_FILE = ".build.lock"
FORMAT = "binhg-build-state/1"
# Temporary files and folders a step writes before renaming them into place; one left by a
# killed build is removed when the next build starts in the folder.
TEMP_PATTERNS = (".tmp-*", "**/.*.tmp",
                 ".rtl-*", ".hls-*", ".deploy-*")     # the last three: as earlier versions named them


class BuildLock:
    """An exclusive lock on a build folder (flock on `.build.lock`), held for a build."""

    def __init__(self, out_dir: Path):
        self.path = Path(out_dir) / LOCK_FILE
        self.fd: int | None = None

    def __enter__(self) -> "BuildLock":
        import fcntl

        fd = os.open(self.path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o644)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            holder = os.read(fd, 4096).decode(errors="replace").strip()
            os.close(fd)
            raise BuildError(f"output folder '{self.path.parent}' is in use by another build "
                             f"({holder or 'holder unknown'}); wait for it to finish, or "
                             "build into another --output") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"pid {os.getpid()}, started {time.strftime('%Y-%m-%d %H:%M:%S')}"
                 .encode())
        self.fd = fd
        return self

    def __exit__(self, *exc) -> None:
        if self.fd is not None:
            os.ftruncate(self.fd, 0)
            os.close(self.fd)          # releases the lock
            self.fd = None


def remove_temporaries(out_dir: Path) -> list[str]:
    """Delete what a killed build left half-written (TEMP_PATTERNS); returns their names."""
    gone = []
    for pattern in TEMP_PATTERNS:
        for p in sorted(Path(out_dir).glob(pattern)):
            if p.is_dir() and not p.is_symlink():
                shutil.rmtree(p, ignore_errors=True)
            else:
                p.unlink(missing_ok=True)
            gone.append(str(p.relative_to(out_dir)))
    return gone


def remove_paths(out_dir: Path, paths: list[Path]) -> None:
    """Delete files and folders, then the folders of `out_dir` they leave empty."""
    parents = set()
    for p in paths:
        if p.is_dir() and not p.is_symlink():
            shutil.rmtree(p)
        elif p.exists() or p.is_symlink():
            p.unlink()
        else:
            continue
        parents.update(q for q in p.parents if out_dir in q.parents)
    for d in sorted(parents, key=lambda q: -len(q.parts)):
        if d.is_dir() and not any(d.iterdir()):
            d.rmdir()


class BuildState:
    """build_state.json: {step name: {status, inputs, record, results}}, in step order."""

    def __init__(self, out_dir: Path, steps: dict | None = None, problem: str = ""):
        self.out_dir = Path(out_dir)
        self.steps: dict[str, dict] = steps or {}
        self.problem = problem          # why an existing state file could not be read

    @classmethod
    def load(cls, out_dir: Path) -> "BuildState":
        path = Path(out_dir) / STATE_FILE
        if not path.exists():
            return cls(out_dir, problem=f"'{path}' does not exist")
        try:
            data = json.loads(path.read_text())
            if data.get("format") != FORMAT or not isinstance(data.get("steps"), dict):
                raise ValueError(f"not a {FORMAT} file")
        except (OSError, ValueError, AttributeError) as e:
            return cls(out_dir, problem=f"'{path}' cannot be read ({e})")
        return cls(out_dir, data["steps"])

    def save(self) -> None:
        write_json_atomic(self.out_dir / STATE_FILE, {"format": FORMAT, "steps": self.steps})

    def check_resume(self, kept: list, inputs: Inputs, start: str) -> None:
        """Refuse to keep steps `kept` (those before --from `start`) unless each ran to the
        end in this folder from the inputs this build would give it."""
        for step in kept:
            rec = self.steps.get(step.name)
            if rec is None:
                why = (f"this folder has no build state ({self.problem})" if self.problem
                       else f"step '{step.name}' has not run in this folder")
                raise BuildError(f"--from {start}: {why}; run the build without --from")
            if rec["status"] not in ("done", "skipped"):
                raise BuildError(f"--from {start}: step '{step.name}' {rec['status']} in the "
                                 f"build that made this folder; resume with --from "
                                 f"{step.name}, or run the build without --from")
            changed = [k for k in step.all_inputs if not inputs.same(k, rec["inputs"].get(k))]
            if changed:
                first = changed[0]
                owner = next(s for s in kept if first in s.inputs)
                raise BuildError(
                    f"--from {start}: step '{step.name}' in this folder was made from other "
                    f"inputs than this build's: "
                    + "; ".join(describe_change(k, rec["inputs"].get(k), inputs.get(k))
                                for k in changed)
                    + f". Resume from '{owner.name}' (--from {owner.name}) or run the build "
                    "without --from; or give the options of the build that made the folder")

    def forget(self, steps: list) -> None:
        """Delete the outputs and the records of `steps` (about to run again, or made stale
        by the steps that will), then save: nothing of them is left to look current."""
        from .runner import step_outputs

        paths = []
        for step in steps:
            paths += step_outputs(self.out_dir, step)
            self.steps.pop(step.name, None)
        self.save()
        remove_paths(self.out_dir, paths)

    def record(self, step, inputs: Inputs, record: dict, results: dict) -> None:
        self.steps[step.name] = {"status": record["status"],
                                 "inputs": {k: inputs.get(k) for k in step.all_inputs},
                                 "record": record, "results": results}
        self.save()

    def results(self, steps: list) -> dict:
        """The report sections the recorded `steps` wrote, merged in step order."""
        out = {}
        for step in steps:
            out.update(self.steps.get(step.name, {}).get("results", {}))
        return out
