"""Named, checkpointed build steps, in the shape of FINN's build_dataflow.

Each step takes the BuildContext, may replace `ctx.model` (a qonnx ModelWrapper) and returns a
StepOutcome. After a step that produced a graph, the graph is saved as
`intermediate_models/<step>.onnx`; `--from STEP` resumes from the checkpoint of the step before.
"""
from __future__ import annotations

import time
import traceback
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
from typing import Callable

from brevitas_models.config import HGConfig

from ..boards import Board


class BuildError(RuntimeError):
    """A build that cannot go on; the message says what is at fault and what to do."""


@dataclass
class StepOutcome:
    status: str                      # "done" | "skipped" | "failed"
    reason: str = ""
    info: dict = field(default_factory=dict)


@dataclass
class BuildContext:
    cfg: HGConfig
    board: Board
    out_dir: Path
    weights: str                     # where the weights came from, for the report
    model: object | None = None      # the current graph: qonnx ModelWrapper, then HwGraph
    torch_model: object | None = None
    target_fps: float | None = None
    console: object | None = None    # rich Console, for steps that show progress
    results: dict = field(default_factory=dict)   # steps' top-level report fields
    sim: str = "auto"                # simulate_rtl: "auto" (within budget) | "yes" | "no"
    synth: str = "auto"              # synthesize: "auto" (within budget) | "yes" | "no"
    backend: str = "rtl"             # what the bitstream is built from: "rtl" | "hls"

    @property
    def intermediate_dir(self) -> Path:
        return self.out_dir / "intermediate_models"


def progress(ctx: BuildContext, description: str, total: int):
    """A transient rich progress bar for a long step (nothing when there is no console)."""
    from rich.progress import BarColumn
    from rich.progress import MofNCompleteColumn
    from rich.progress import Progress
    from rich.progress import TimeElapsedColumn

    bar = Progress("    " + description, BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(),
                   console=ctx.console, transient=True, disable=ctx.console is None)
    task = bar.add_task(description, total=total)
    return bar, lambda n=1: bar.advance(task, n)


@dataclass(frozen=True)
class Step:
    name: str
    run: Callable[[BuildContext], StepOutcome]
    saves_graph: bool = True
    doc: str = ""
    graph: str = "finn"              # what its checkpoint holds: "finn" (ONNX) or "hw" (HwGraph)
    artifacts: tuple[str, ...] = ()  # files/folders (globs) it writes besides its checkpoint


def select_steps(steps: list[Step], start: str | None, stop: str | None) -> list[Step]:
    names = [s.name for s in steps]
    for opt, v in (("--from", start), ("--until", stop)):
        if v is not None and v not in names:
            raise BuildError(f"{opt} {v}: no such step; steps are: {', '.join(names)}")
    i = names.index(start) if start else 0
    j = names.index(stop) + 1 if stop else len(steps)
    if i >= j:
        raise BuildError(f"--from {start} comes after --until {stop}")
    return steps[i:j]


def resume_graph(ctx: BuildContext, steps: list[Step], first: Step) -> None:
    """Load the checkpoint written by the last graph-producing step before `first`."""
    from qonnx.core.modelwrapper import ModelWrapper

    before = steps[: [s.name for s in steps].index(first.name)]
    for s in reversed(before):
        if s.saves_graph:
            path = ctx.intermediate_dir / f"{s.name}.onnx"
            if not path.is_file():
                raise BuildError(f"--from {first.name}: checkpoint '{path}' of step '{s.name}' "
                                 "is missing; run the build without --from first")
            if s.graph == "hw":
                from ..hwgraph import HwGraph

                ctx.model = HwGraph.load(path)
            else:
                ctx.model = ModelWrapper(str(path))
            return


def remove_outputs(ctx: BuildContext, selected: list[Step]) -> None:
    """Delete what the steps about to run wrote last time, so that a build that fails
    midway never leaves an older result looking like this run's."""
    import shutil

    for step in selected:
        paths = [ctx.intermediate_dir / f"{step.name}.onnx"]
        for pattern in step.artifacts:
            paths += list(ctx.out_dir.glob(pattern))
        for p in paths:
            if p.is_dir():
                shutil.rmtree(p)
            elif p.exists():
                p.unlink()


def run_steps(ctx: BuildContext, steps: list[Step], selected: list[Step],
              console) -> list[dict]:
    """Run `selected` in order; stop at the first failure. Returns the steps' records."""
    from rich.markup import escape

    records = []
    if selected and selected[0] is not steps[0]:
        resume_graph(ctx, steps, selected[0])
    remove_outputs(ctx, selected)
    for i, step in enumerate(selected, 1):
        console.print(f"[bold cyan][{i}/{len(selected)}][/] {step.name}: {step.doc}")
        t0 = time.perf_counter()
        try:
            outcome = step.run(ctx)
        except BuildError as e:
            outcome = StepOutcome("failed", str(e))
        except Exception as e:  # noqa: BLE001 - report, never leave a half build looking done
            (ctx.out_dir / "logs").mkdir(parents=True, exist_ok=True)
            log = ctx.out_dir / "logs" / f"{step.name}.traceback.txt"
            log.write_text(traceback.format_exc())
            outcome = StepOutcome("failed", f"{type(e).__name__}: {e} (traceback in {log})")
        seconds = time.perf_counter() - t0
        if outcome.status == "done" and step.saves_graph and ctx.model is not None:
            ctx.intermediate_dir.mkdir(parents=True, exist_ok=True)
            ctx.model.save(str(ctx.intermediate_dir / f"{step.name}.onnx"))
        rec = {"name": step.name, "status": outcome.status, "reason": outcome.reason,
               "seconds": round(seconds, 2), **outcome.info}
        records.append(rec)
        color = {"done": "green", "skipped": "yellow", "failed": "red"}[outcome.status]
        msg = f"    [{color}]{outcome.status}[/] in {seconds:.1f} s"
        if outcome.reason:
            msg += f": {escape(outcome.reason)}"   # reasons quote logs, not markup
        console.print(msg)
        if outcome.status == "failed":
            break
    return records


